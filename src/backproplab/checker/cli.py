"""``backproplab check``: its options and its handler (registered by :mod:`backproplab.cli`)."""

import argparse
from typing import Any

from backproplab.checker.checks import EXERCISES, select
from backproplab.checker.learner import resolve
from backproplab.checker.report import exit_code, format_text, to_json
from backproplab.checker.runner import run_checks

DEFAULT_TIMEOUT = 10.0  # seconds per check; the library's slowest check (XOR, 5 runs) takes under 1 s
DEFAULT_MEMORY_MIB = 2048  # MiB of address space; measured: the checks need 130, 589 with PyTorch imported


def cmd_check(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise ValueError(f"--timeout must be > 0 seconds, got {args.timeout}")
    if not args.memory_mib > 0:
        raise ValueError(f"--memory-mib must be > 0, got {args.memory_mib}")
    checks = select(args.exercise)
    label, results = run_checks(resolve(args.impl), checks, args.timeout, args.memory_mib)
    print(to_json(label, results) if args.json else format_text(label, results, args.timeout))
    return exit_code(results)


def add_parser(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser(
        "check",
        help="run the module's completion checklist on the library, or on your own code with --impl",
        description="Run the module's checks (exercises 7.1-7.8, the overfit test, XOR, and the layers beyond "
        "the seed) and print pass, fail, not attempted, error or timeout for each, with a hint for every failure. "
        "With --impl, your functions are found by the seed's names (sigmoid, backward, adam, ...); a missing one, "
        "or one that still raises NotImplementedError, is 'not attempted'. Exit 0 when every attempted check "
        "passes. See docs/checker.md.",
    )
    p.add_argument(
        "--impl",
        metavar="PATH_OR_MODULE",
        help="your solutions: a .py file, a folder of them (the starter kit), a .ipynb notebook, or a module name",
    )
    p.add_argument("--exercise", choices=EXERCISES, help="run only this exercise's checks, e.g. 7.4")
    p.add_argument("--json", action="store_true", help="print the report as JSON, one entry per check")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit per check; code that runs longer is stopped (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--memory-mib",
        type=int,
        default=DEFAULT_MEMORY_MIB,
        metavar="MIB",
        help=f"memory limit of the process running your code; more is an error (default {DEFAULT_MEMORY_MIB})",
    )
    p.set_defaults(func=cmd_check)
