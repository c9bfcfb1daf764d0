"""backproplab: backpropagation from scratch in NumPy, checked against finite differences and PyTorch.

Modules, one idea each: :mod:`~backproplab.activations`, :mod:`~backproplab.losses`,
:mod:`~backproplab.layers`, :mod:`~backproplab.neural_network`, :mod:`~backproplab.optim`,
:mod:`~backproplab.gradcheck`, :mod:`~backproplab.data`, and the command line in :mod:`~backproplab.cli`.
"""

__version__ = "0.1.0"
