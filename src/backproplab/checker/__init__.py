"""``backproplab check``: the module's completion checklist, run against the library or a learner's own code.

A learner writes the seed's functions (``sigmoid``, ``backward``, ``adam``, ...) in a file, a folder
(the starter kit), a notebook or a package of their own; :mod:`~backproplab.checker.sources` imports
it, :mod:`~backproplab.checker.learner` matches the functions by the names of
:mod:`~backproplab.checker.names`, :mod:`~backproplab.checker.checks` lists one small check per
exercise item (written in ``activation_checks``, ``function_checks``, ``network_checks``,
``layer_checks`` and ``cnn_checks``), the :mod:`~backproplab.checker.runner` runs them in a child
process with a time limit (in a temporary folder, with a memory limit:
:mod:`~backproplab.checker.sandbox`), :mod:`~backproplab.checker.hints` turns each measured failure
into a specific, kind hint, and :mod:`~backproplab.checker.explain` reads the results together for
the :mod:`~backproplab.checker.report`. Without a file, the same checks run against
:mod:`~backproplab.checker.reference`: the library's own functions in the seed's signatures.
"""
