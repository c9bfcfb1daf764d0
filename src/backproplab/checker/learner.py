"""Load the functions to check: from a learner's file or module, or the library's own.

Functions are matched by the seed's names (``sigmoid``, ``backward``, ``adam``, ...). A name that
is missing is not an error: the checks that need it are reported "not attempted".
"""

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

LIBRARY = "backproplab.checker.reference"  # the library's functions in the seed's signatures

Fn = Callable[..., Any]


class NotAttemptedError(Exception):
    """The implementation has no function with a name this check needs."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"no function named {', '.join(missing)}")
        self.missing = missing


@dataclass
class Impl:
    """The functions found, by seed name, and where they came from (for the report)."""

    label: str
    functions: dict[str, Fn] = field(default_factory=dict)

    def get(self, *names: str) -> tuple[Fn, ...]:
        """The functions called ``names``, or :class:`NotAttemptedError` listing the missing ones."""
        missing = [name for name in names if name not in self.functions]
        if missing:
            raise NotAttemptedError(missing)
        return tuple(self.functions[name] for name in names)


def is_path(spec: str) -> bool:
    """A spec naming a file (``my_solutions.py``, ``dir/x``) rather than a module (``my_pkg.solutions``)."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec or Path(spec).is_file()


def resolve(spec: str | None) -> str:
    """Validate ``spec`` before starting any process: an existing file (made absolute) or an importable module.

    ``None`` means the library itself. Raises ``ValueError`` naming the path or module otherwise. For
    ``pkg.mod`` only ``pkg`` is looked up: finding ``pkg.mod`` would run ``pkg/__init__.py`` here, in
    this process, with no time limit; the worker imports the rest and reports a missing ``mod``.
    """
    if spec is None:
        return LIBRARY
    if is_path(spec):
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"--impl: no such file {spec} (looked for {path})")
        return str(path)
    sys.path.insert(0, str(Path.cwd()))  # as `python -m` would see it from here
    try:
        found = importlib.util.find_spec(spec.partition(".")[0])  # a top-level name runs no learner's code
    except (ImportError, ValueError):
        found = None
    finally:
        sys.path.pop(0)
    if found is None:
        raise ValueError(f"--impl: {spec!r} is neither a file nor an importable module")
    return spec


def load(spec: str, names: list[str]) -> Impl:
    """Import ``spec`` (a path from :func:`resolve`, or a module name) and collect its functions in ``names``.

    A file's folder goes first on ``sys.path``, as ``python my_solutions.py`` would put it, so the
    file may import its neighbours. Exceptions raised while importing propagate (the runner
    reports them with their line).
    """
    module = _import_file(Path(spec)) if is_path(spec) else importlib.import_module(spec)
    functions = {name: fn for name in names if callable(fn := getattr(module, name, None))}
    label = "backproplab (the library)" if spec == LIBRARY else spec
    return Impl(label, functions)


def _import_file(path: Path) -> ModuleType:
    sys.path.insert(0, str(path.parent))
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else "learner_solutions"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"cannot import {path} as Python source")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # registered first, as a normal import does (dataclasses need it)
    module_spec.loader.exec_module(module)
    return module
