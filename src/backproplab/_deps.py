"""Optional dependencies: a command that needs one says which, and how to install it, in one line."""

import importlib.util
import sys


def missing(module: str, needed_for: str, install: str) -> bool:
    """True, after printing ``error: NEEDED_FOR needs MODULE, which is not installed: INSTALL`` to stderr,
    when ``module`` cannot be found; False when it can (nothing is imported either way)."""
    if importlib.util.find_spec(module) is not None:
        return False
    print(f"error: {needed_for} needs {module}, which is not installed: {install}", file=sys.stderr)
    return True
