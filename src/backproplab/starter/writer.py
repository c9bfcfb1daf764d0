"""The starter kit that ``backproplab init`` writes: five starter files, five notebooks and a README.

The starter files and the notebooks live in this package as Python files (``kit/*.py``, and
``notebooks/*.py`` in jupytext's percent format, which diffs and lints like code); the notebooks
are converted to ``.ipynb`` when the kit is written, which needs jupytext (``backproplab[notebooks]``).
"""

import os
from importlib import resources
from pathlib import Path
from string import Template

from backproplab._io import atomic_write
from backproplab.starter.parts import PARTS, Part

DEFAULT_FOLDER = "backproplab-exercises"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_PACKAGE = resources.files("backproplab.starter")


def starter_file(part: Part) -> str:
    """The text of the part's starter file, ``part1_activations.py`` ..."""
    return (_PACKAGE / "kit" / f"{part.stem}.py").read_text(encoding="utf-8")


def notebook_script(part: Part) -> str:
    """The part's notebook as a jupytext percent script (``# %%`` cells)."""
    return (_PACKAGE / "notebooks" / f"{part.notebook_stem}.py").read_text(encoding="utf-8")


def to_ipynb(script: str) -> str:
    """A percent script converted to an ``.ipynb`` notebook's JSON, without outputs.

    The same script gives the same file: cell ids are numbered, and the metadata is only the Python 3
    kernel (no jupytext pairing, so the notebook stands alone).
    """
    import jupytext  # type: ignore[import-untyped]  # the `notebooks` extra; it ships no type hints

    nb = jupytext.reads(script, fmt="py:percent")
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    text: str = jupytext.writes(nb, fmt="ipynb")
    return text if text.endswith("\n") else text + "\n"


def readme(folder: str) -> str:
    """The kit's README.md, its commands naming ``folder`` as the user typed it."""
    template = (_PACKAGE / "kit" / "README.md").read_text(encoding="utf-8")
    return Template(template).substitute(folder=folder)


def kit_files(folder: str | os.PathLike[str]) -> dict[Path, str]:
    """Every file the kit has, by its path under ``folder``, with its text: converting needs jupytext."""
    root = Path(folder)
    files = {root / f"{p.stem}.py": starter_file(p) for p in PARTS}
    files |= {root / f"{p.notebook_stem}.ipynb": to_ipynb(notebook_script(p)) for p in PARTS}
    files[root / "README.md"] = readme(str(folder))
    return files


def write_kit(files: dict[Path, str]) -> list[Path]:
    """Write ``files`` (from :func:`kit_files`), each atomically, creating their folder; the paths written.

    Raises ``FileExistsError`` naming every one of them that exists already, before writing anything.
    """
    existing = [path for path in files if path.exists()]
    if existing:
        raise FileExistsError(f"not overwriting {', '.join(map(str, existing))}")
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        with atomic_write(path) as f:
            f.write(text.encode("utf-8"))
    return list(files)
