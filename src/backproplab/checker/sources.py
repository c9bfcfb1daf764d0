"""Import a learner's code, in any of the forms ``--impl`` accepts, as a list of modules.

- a ``.py`` file: imported as ``python my_solutions.py`` would see it (its folder first on ``sys.path``);
- a folder (the starter kit ``backproplab init DIR`` writes): every ``*.py`` in it, in sorted order,
  with the folder first on ``sys.path``; a folder with an ``__init__.py`` is imported as a package;
- a package or module name: the module, and for a package every module in it, in sorted order;
- a Jupyter notebook ``.ipynb``: its code cells, in order, run in one module. IPython's cell magics
  (a cell starting with ``%%``) are skipped, and so are line magics ``%...`` and shell lines ``!...``.

Later modules override earlier ones (:func:`~backproplab.checker.learner.load` reads them in order).
Exceptions raised by the learner's code propagate: the worker reports them with their file and line,
a notebook's with its cell (its code is compiled under the name ``NOTEBOOK (code cell N)``).
"""

import importlib
import importlib.util
import json
import linecache
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

CELL_MARK = ".ipynb (code cell "  # in the file name a notebook cell's code runs under: NOTEBOOK (code cell N)


def is_path(spec: str) -> bool:
    """A spec naming a file or folder (``my_solutions.py``, ``dir/x``, ``kit``) rather than a module (``pkg.mod``)."""
    return spec.endswith((".py", ".ipynb")) or "/" in spec or "\\" in spec or Path(spec).exists()


def import_spec(spec: str) -> list[ModuleType]:
    """The learner's modules for ``spec`` (a path from ``resolve``, or a module name), in the order they apply."""
    if not is_path(spec):
        return import_tree(spec)
    path = Path(spec)
    if path.is_dir():
        return import_folder(path)
    if path.suffix == ".ipynb":
        return [import_notebook(path)]
    sys.path.insert(0, str(path.parent))
    return [import_file(path)]


def import_tree(name: str) -> list[ModuleType]:
    """The module ``name``; for a package, it and then each of its modules in sorted order."""
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        return [module]
    children = sorted(info.name for info in pkgutil.iter_modules(module.__path__))
    return [module, *(importlib.import_module(f"{name}.{child}") for child in children)]


def import_folder(folder: Path) -> list[ModuleType]:
    """Every ``*.py`` of ``folder`` in sorted order (a package: :func:`import_tree`), the folder on ``sys.path``."""
    if (folder / "__init__.py").is_file() and folder.name.isidentifier():
        sys.path.insert(0, str(folder.parent))
        return import_tree(folder.name)
    sys.path.insert(0, str(folder))
    return [import_file(path) for path in sorted(folder.glob("*.py"))]


def _free_name(stem: str) -> str:
    """A module name for a learner's file: its stem when that is free, else ``learner_<stem>_<n>``."""
    if stem.isidentifier() and stem not in sys.modules:
        return stem
    base = "learner_" + "".join(c if c.isalnum() else "_" for c in stem)
    return next(f"{base}_{n}" for n in range(1, len(sys.modules) + 2) if f"{base}_{n}" not in sys.modules)


def import_file(path: Path) -> ModuleType:
    """Import one ``.py`` file (already on ``sys.path``'s folder); a file a neighbour imported already is reused."""
    loaded = sys.modules.get(path.stem)
    filename = getattr(loaded, "__file__", None)
    if loaded is not None and filename and Path(str(filename)).resolve() == path.resolve():
        return loaded
    name = _free_name(path.stem)
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"cannot import {path} as Python source")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # registered first, as a normal import does (dataclasses need it)
    module_spec.loader.exec_module(module)
    return module


def code_cells(notebook: dict[str, object]) -> list[str]:
    """The source of each code cell, in order, magics and shell lines made ``pass`` (line numbers kept)."""
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise ValueError("not a Jupyter notebook: no list of cells")
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if text.lstrip().startswith("%%"):  # a cell magic: the whole cell is IPython's, not Python
            sources.append("")
            continue
        lines = [
            line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
            for line in text.split("\n")
        ]
        sources.append("\n".join(lines))
    return sources


def import_notebook(path: Path) -> ModuleType:
    """Run the code cells of the notebook ``path`` in order in one new module, its folder on ``sys.path``.

    Each cell is compiled under the name ``NOTEBOOK (code cell N)`` (N counts code cells from 1), and
    its lines are registered with :mod:`linecache`, so a traceback names the cell and shows the line.
    """
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not a Jupyter notebook (not JSON: {e})") from None
    sources = code_cells(notebook)
    sys.path.insert(0, str(path.parent))
    name = _free_name(path.stem)
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    for number, source in enumerate(sources, 1):
        filename = f"{path.with_suffix('')}{CELL_MARK}{number})"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        exec(compile(source, filename, "exec"), module.__dict__)
    return module
