"""``backproplab init [DIR]``: write the starter kit (registered by :mod:`backproplab.cli`)."""

import argparse
import sys
from pathlib import Path

from backproplab._deps import missing
from backproplab.starter.writer import DEFAULT_FOLDER, kit_files, write_kit


def cmd_init(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        print(f"error: {folder} exists and is not a folder", file=sys.stderr)
        return 1
    install = "pip install 'backproplab[notebooks]' (or pip install jupytext==1.19.6); nothing was written"
    if missing("jupytext", "writing the notebooks", install):
        return 1
    try:
        written = write_kit(kit_files(args.dir))
    except FileExistsError as e:
        print(f"error: {e}; nothing was written (remove them, or choose another folder)", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(
        f"next: open {folder / 'part1_activations_notebook.ipynb'}, write the functions of part1_activations.py, "
        f"then run: backproplab check --impl {args.dir}  (see {folder / 'README.md'})"
    )
    return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register the ``init`` subcommand."""
    p = sub.add_parser(
        "init",
        help="write the module's exercises to a folder: five files to fill in, five notebooks, a README",
        description="Write the starter kit: for each part of the module (7.1-7.8) a .py file whose functions "
        "have the seed's names and signatures and raise NotImplementedError until you write them, and a "
        "notebook that explains the exercise, checks your functions and draws them. Never overwrites a file: "
        "if any exists, nothing is written and the exit status is 1. Check your work with "
        "`backproplab check --impl DIR`.",
    )
    p.add_argument(
        "dir", nargs="?", default=DEFAULT_FOLDER, metavar="DIR", help=f"the folder to write (default {DEFAULT_FOLDER})"
    )
    p.set_defaults(func=cmd_init)
