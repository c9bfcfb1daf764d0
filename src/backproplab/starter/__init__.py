"""The starter kit: ``backproplab init`` writes the module's exercises as files and notebooks to fill in.

Five parts (:data:`~backproplab.starter.parts.PARTS`), each a starter file whose functions have the
seed's names and signatures and raise ``NotImplementedError`` until written, and a notebook that
explains the exercise, runs the part's checks (:func:`check_part`) and draws the learner's functions
(:mod:`~backproplab.starter.pictures`). :mod:`~backproplab.starter.writer` writes the kit;
:mod:`~backproplab.starter.cli` is the command.
"""

from backproplab.starter.parts import check_part

__all__ = ["check_part"]
