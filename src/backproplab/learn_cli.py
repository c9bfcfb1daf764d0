"""The learning commands: ``backproplab trace``, ``graph`` and ``plots`` (presentation only).

:func:`add_parsers` registers them on the ``backproplab`` command line; the logic lives in
:mod:`backproplab.trace` (:mod:`backproplab.learner_trace` for ``trace --impl``), :mod:`backproplab.graph`
and :mod:`backproplab.plots`.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from backproplab import graph
from backproplab.learner_run import SIGNATURES, load_net
from backproplab.learner_trace import trace_learner
from backproplab.trace import render, trace_step

TRACE_TOLERANCE = 1e-10  # traced vs core gradients: the same float64 arithmetic, so ~0 is expected
IMPL_HELP = f"run YOUR {SIGNATURES}, from this file or module instead of the library's network"


def cmd_trace(args: argparse.Namespace) -> int:
    if args.impl is not None:
        learner = trace_learner(load_net(args.impl), hidden=args.hidden, lr=args.lr, seed=args.seed)
        print(learner.render())
        return 0 if learner.passed else 1
    t = trace_step(hidden=args.hidden, lr=args.lr, seed=args.seed)
    print(render(t))
    return 0 if t.max_grad_diff <= TRACE_TOLERANCE else 1


def parse_sizes(text: str, option: str = "--layers") -> list[int]:
    """``"2,3,1"`` -> ``[2, 3, 1]``; ``ValueError`` naming ``option`` and the text otherwise."""
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise ValueError(f"{option}: expected comma-separated integers such as 2,3,1, got {text!r}") from None


def cmd_graph(args: argparse.Namespace) -> int:
    dot_text = graph.to_dot(graph.mlp_graph(parse_sizes(args.layers), args.activation, args.output))
    if args.format == "dot":
        if args.out is None:
            sys.stdout.write(dot_text)
            return 0
        graph.write_text(dot_text, args.out)
    else:
        if args.out is None:
            raise ValueError(f"--format {args.format} writes a file: give its path with --out")
        try:
            graph.render(dot_text, args.format, args.out)
        except (FileNotFoundError, RuntimeError) as e:  # no `dot` on PATH, or dot refused the text
            print(f"error: {e}", file=sys.stderr)
            return 2
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_plots(args: argparse.Namespace) -> int:
    from backproplab import plots  # matplotlib (and maybe torch) load only for this command

    names = plots.figure_names(args.only)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names, 1):
        args.during = f" while drawing {name}"  # for the line Ctrl-C prints (backproplab.cli.main)
        path = plots.write_figure(name, args.out)  # atomic: never a partial file
        args.saved = f"{args.out} holds the {i} finished figure(s), {', '.join(names[:i])}; no partial file"
        print(f"[{i}/{len(names)}] {name}: {plots.FIGURES[name].description} -> {path}", flush=True)
    return 0


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    """Register ``trace``, ``graph`` and ``plots`` on the subparsers of ``backproplab``."""
    p = sub.add_parser(
        "trace",
        help="one training step of exercise 7.4's XOR network, printed as the chain rule at work",
        description="Run one SGD step of the seed's 2-H-1 ReLU/sigmoid network on XOR and print every node's "
        "formula, shape and value, each local derivative, each delta flowing back, the gradients and the update. "
        "Exit 0 when the traced gradients equal MLP.backward's. With --impl, your forward and backward compute the "
        "step and every intermediate found in them (Z1, A1, Z2, P, dZ2, dW2, db2, dA1, dZ1, dW1, db1) is compared "
        "with the reference: exit 1 when one differs.",
    )
    p.add_argument("--hidden", type=int, default=3, help="hidden units (default 3)")
    p.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")
    p.add_argument(
        "--impl",
        metavar="PATH_OR_MODULE",
        help=IMPL_HELP + "; mark the first node whose value differs from the reference, with a hint",
    )
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser(
        "graph",
        help="the computation graph of an MLP as Graphviz DOT (or SVG/PNG)",
        description="Nodes X, W1, b1, Z1, A1, ..., P, L with their shapes; solid edges for the forward pass, "
        "dashed red edges for the gradient flowing back. DOT goes to stdout unless --out is given; svg and png "
        "need Graphviz's `dot` executable.",
    )
    p.add_argument("--layers", default="2,3,1", help="layer sizes, input first (default 2,3,1: exercise 7.4)")
    p.add_argument("--activation", default="relu", choices=graph.ACTIVATIONS, help="hidden activation (relu)")
    p.add_argument("--output", default="sigmoid", choices=graph.OUTPUTS, help="output and loss (sigmoid)")
    p.add_argument("--format", default="dot", choices=graph.FORMATS, help="dot (text), svg or png (default dot)")
    p.add_argument("--out", type=Path, help="file to write (required for svg and png)")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser(
        "plots",
        help="write the module's figures as PNG files",
        description="Activations and derivatives, XOR's best line vs an MLP, SGD/Momentum/Adam on (w - 3)^2, "
        "training curves and the LeNet's feature maps for one digit, as PNG files in --out.",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the PNG files (created if missing)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these figures (default: all)")
    p.set_defaults(func=cmd_plots)
