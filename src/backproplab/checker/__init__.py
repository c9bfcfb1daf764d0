"""``backproplab check``: the module's completion checklist, run against the library or a learner's own code.

A learner writes the seed's functions (``sigmoid``, ``backward``, ``adam``, ...) in a file of their
own; :mod:`~backproplab.checker.learner` loads it and matches the functions by the seed's names,
:mod:`~backproplab.checker.checks` lists one small check per exercise item, the
:mod:`~backproplab.checker.runner` runs them in a child process with a time limit (in a temporary
folder, with a memory limit: :mod:`~backproplab.checker.sandbox`), and
:mod:`~backproplab.checker.hints` turns each measured failure into a specific, kind hint.
Without a file, the same checks run against :mod:`~backproplab.checker.reference`: the library's
own functions in the seed's signatures.
"""
