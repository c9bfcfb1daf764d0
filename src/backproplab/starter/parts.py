"""The starter kit's five parts, which of the checklist's checks each one runs, and ``check_part`` for notebooks.

Each part is one starter file (``part1_activations.py`` ...) that the learner fills in, and one
notebook next to it that explains the exercise, runs the part's checks and draws its picture.
A check belongs to the part of its exercise (``7.1`` is part 1), except ``bce``: exercise 7.4 asks for
it, but the starter file of part 2 holds it, with the other losses.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from backproplab.checker.checks import CHECKS, Check, Result
from backproplab.checker.cli import DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT
from backproplab.checker.learner import resolve
from backproplab.checker.report import format_text
from backproplab.checker.runner import run_checks
from backproplab.checker.sandbox import MARK


@dataclass(frozen=True)
class Part:
    number: int
    stem: str  # the starter file without ".py"; its notebook is f"{stem}_notebook.ipynb"
    exercises: tuple[str, ...]  # the seed's exercises whose checks the part runs

    @property
    def notebook_stem(self) -> str:
        return f"{self.stem}_notebook"


PARTS = (
    Part(1, "part1_activations", ("7.1",)),
    Part(2, "part2_dense_softmax", ("7.2", "7.3")),
    Part(3, "part3_network", ("7.4", "7.5", "deliverables")),
    Part(4, "part4_optimizers", ("7.6", "7.7")),
    Part(5, "part5_cnn", ("7.8", "beyond")),  # "beyond" the seed: the CNN layers' backward passes, batch norm, dropout
)
MOVED = {"bce": 2}  # check id -> the part whose starter file holds its function, where not its exercise's part


def part(number: int) -> Part:
    """Part ``number`` (1-5); ``ValueError`` for any other."""
    if number not in range(1, len(PARTS) + 1):
        raise ValueError(f"the starter kit has parts 1 to {len(PARTS)}, got {number!r}")
    return PARTS[number - 1]


def part_of(check: Check) -> int | None:
    """The number of the part that runs ``check``; ``None`` for a check of an exercise no part covers."""
    if check.id in MOVED:
        return MOVED[check.id]
    return next((p.number for p in PARTS if check.exercise in p.exercises), None)


def part_checks(number: int) -> list[Check]:
    """The checks part ``number`` runs, in the checklist's order."""
    part(number)
    return [c for c in CHECKS if part_of(c) == number]


def check_part(number: int, folder: str | os.PathLike[str] = ".") -> list[Result]:
    """Run part ``number``'s checks on the starter files in ``folder`` and print the report; the results.

    The checks run as ``backproplab check --impl FOLDER`` runs them: in a child process, with a time
    limit per check, on freshly imported files (an edit is seen without restarting the notebook).
    A function that still raises ``NotImplementedError`` is "not attempted".
    """
    checks = part_checks(number)
    if MARK in os.environ:  # this notebook is being run by `backproplab check` itself: do not start another
        print(f"part {number}: checks skipped (already inside backproplab check)")
        return []
    label, results = run_checks(resolve(str(Path(folder).resolve())), checks, DEFAULT_TIMEOUT, DEFAULT_MEMORY_MIB)
    print(format_text(label, results, DEFAULT_TIMEOUT))
    return results
