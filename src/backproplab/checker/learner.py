"""Load the functions to check: from a learner's file, folder, notebook or module, or the library's own.

Functions are matched by the names of :mod:`~backproplab.checker.names` (``sigmoid``, ``backward``,
``adam``, ...). A name that is missing is not an error: the checks that need it are reported "not
attempted", with the learner's function of a similar name when there is one (``sigmoid_prime``).

:class:`Impl` records which of the learner's functions each check calls, directly (:meth:`Impl.get`)
or through the learner's own code (``forward`` calling ``sigmoid``), so that the report can trace
several failures back to one function.
"""

import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from backproplab.checker.hints import CheckError, outside_library
from backproplab.checker.names import FUNCTION_NAMES, actual_signature, binds, expected_call, near_miss
from backproplab.checker.sources import import_spec, is_path

LIBRARY = "backproplab.checker.reference"  # the library's functions in the seed's signatures

Fn = Callable[..., Any]


class NotAttemptedError(Exception):
    """The implementation has no function with a name this check needs (``near`` maps it to a near miss)."""

    def __init__(self, missing: list[str], near: dict[str, str] | None = None, hint: str | None = None) -> None:
        near = near or {}
        parts = [f"no function named {name}; did you mean {near[name]}?" for name in missing if name in near]
        plain = [name for name in missing if name not in near]
        if plain:
            parts.insert(0, f"no function named {', '.join(plain)}")
        super().__init__("; ".join(parts))
        self.missing = missing
        renames = [f"rename {near[name]} to {expected_call(name)}" for name in missing if name in near]
        self.hint = hint or (
            "the checker finds your functions by their exact names: " + ", ".join(renames) if renames else None
        )


class SignatureError(CheckError):
    """The learner's function cannot be called with the arguments the check passes."""

    def __init__(self, name: str, fn: Fn, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        shown = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
        super().__init__(
            f"{expected_call(name)} expected; yours is {actual_signature(name, fn)}",
            f"the checker called {name}({', '.join(shown)}): give your function the parameters above, in the "
            "same order.",
        )


def _short(value: Any) -> str:
    """An argument as the hint shows it: numbers and short text as they are, arrays by their shape."""
    if isinstance(value, int | float | bool | str) or value is None:
        return repr(value)
    shape = getattr(value, "shape", None)
    return f"<array {tuple(shape)}>" if shape is not None else f"<{type(value).__name__}>"


@dataclass
class Impl:
    """The functions found, by name, where they came from (for the report) and which ones a check used.

    ``others``: the learner's other functions and classes, where a near miss is looked for; ``used``: the
    learner's functions the current check has called, first use first (the caller clears it per check).
    """

    label: str
    functions: dict[str, Fn] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)

    def get(self, *names: str) -> tuple[Fn, ...]:
        """The functions called ``names``, or :class:`NotAttemptedError` listing the missing ones.

        Each comes wrapped: a call whose arguments do not fit its parameters raises :class:`SignatureError`.
        """
        missing = [name for name in names if name not in self.functions]
        if missing:
            near = {name: found for name in missing if (found := near_miss(name, self.others))}
            raise NotAttemptedError(missing, near)
        self.note(*names)
        return tuple(_checked_call(name, self.functions[name]) for name in names)

    def note(self, *names: str) -> None:
        """Record that the current check used the learner's functions ``names``."""
        self.used.extend(name for name in names if name not in self.used)


def _checked_call(name: str, fn: Fn) -> Fn:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TypeError:
            if binds(fn, args, kwargs):  # raised inside the learner's code: theirs to see
                raise
            raise SignatureError(name, fn, args, kwargs) from None

    return call


def _recorded_call(name: str, fn: Fn, impl: Impl) -> Fn:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        impl.note(name)
        return fn(*args, **kwargs)

    return call


def resolve(spec: str | None) -> str:
    """Validate ``spec`` before starting any process: an existing path (made absolute) or an importable module.

    ``None`` means the library itself. Raises ``ValueError`` naming the path or module otherwise. For
    ``pkg.mod`` only ``pkg`` is looked up: finding ``pkg.mod`` would run ``pkg/__init__.py`` here, in
    this process, with no time limit; the worker imports the rest and reports a missing ``mod``.
    """
    if spec is None:
        return LIBRARY
    if is_path(spec):
        path = Path(spec).expanduser().resolve()
        if not path.exists():
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
        raise ValueError(f"--impl: {spec!r} is neither a file, a folder nor an importable module")
    return spec


def load(spec: str, names: list[str] = FUNCTION_NAMES) -> Impl:
    """Import ``spec`` (a path from :func:`resolve`, or a module name) and collect its functions in ``names``.

    Later modules override earlier ones (a folder's files in sorted order). Exceptions raised while
    importing propagate (the runner reports them with their line). Every module imported from the
    learner's files has its references to the functions found replaced by recording ones, so that
    :attr:`Impl.used` also lists the functions the learner's code calls itself.
    """
    if spec == LIBRARY:
        module = importlib.import_module(spec)
        return Impl("backproplab (the library)", _named(module, names))
    before = set(sys.modules)
    modules = import_spec(spec)
    impl = Impl(spec)
    for module in modules:
        impl.functions.update(_named(module, names))
    own = {m.__name__ for m in modules}
    impl.others = sorted(
        {
            key
            for m in modules
            for key, value in vars(m).items()
            if not key.startswith("_")
            and key not in names
            and (inspect.isfunction(value) or inspect.isclass(value))
            and getattr(value, "__module__", None) in own
        }
    )
    learners = [*modules, *(sys.modules[n] for n in set(sys.modules) - before if _from_learner(sys.modules[n]))]
    _record_calls(impl, learners)
    return impl


def _named(module: ModuleType, names: list[str]) -> dict[str, Fn]:
    return {name: fn for name in names if callable(fn := getattr(module, name, None))}


def _from_learner(module: ModuleType) -> bool:
    filename = getattr(module, "__file__", None)
    return isinstance(filename, str) and outside_library(filename)


def _record_calls(impl: Impl, modules: list[ModuleType]) -> None:
    """Replace, in each module's globals, every reference to a function found by one that records its calls."""
    by_id = {id(fn): name for name, fn in impl.functions.items()}
    for module in {id(m): m for m in modules}.values():
        for key, value in list(vars(module).items()):
            if id(value) in by_id:
                name = by_id[id(value)]
                setattr(module, key, _recorded_call(name, impl.functions[name], impl))
