"""The ``backproplab`` command line: thin presentation over the package's functions.

Every subcommand returns an exit status: 0 when what it demonstrates holds, 1 when it does not.
"""

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from backproplab import __version__, learner_run, quiz
from backproplab.checker.cli import add_parser as add_check_parser
from backproplab.checker.cli import cmd_check
from backproplab.checker.hints import CheckError
from backproplab.cnn.lenet import lenet_spec
from backproplab.cnn.spec import parse_shape, parse_spec, shape_table
from backproplab.data.toy import xor
from backproplab.demos import SOLVED_LOSS, RunResult, fit_full_batch, overfit_net, tiny_dataset, xor_net
from backproplab.gradcheck import ParamCheck, check_mlp_gradients
from backproplab.learn_cli import IMPL_HELP, parse_sizes
from backproplab.learn_cli import add_parsers as add_learning_parsers
from backproplab.neural_network import MLP, Activation, Output
from backproplab.playground.cli import add_parser as add_playground_parser
from backproplab.starter.cli import add_parser as add_init_parser

TORCH_MISSING = (
    "train-cnn needs PyTorch: pip install torch==2.13.0 (the CPU build: see the README), or use --engine numpy"
)


def _milestones(losses: list[float]) -> list[str]:
    """Lines showing the loss at epochs 1, 10, 100, ... and the last, then when it crossed 0.1 and 0.01."""
    n = len(losses)
    epochs = sorted({1, n} | {e for e in (10, 50, 100, 200, 500, 1000, 2000, 5000) if e < n})
    lines = ["  epoch      loss"] + [f"  {e:>5}  {losses[e - 1]:8.5f}" for e in epochs]
    for bar in (0.1, SOLVED_LOSS):
        first = next((i + 1 for i, loss in enumerate(losses) if loss < bar), None)
        lines.append(f"  loss < {bar:g}: " + (f"first at epoch {first}" if first else "never reached"))
    return lines


def _predictions(result: RunResult) -> list[str]:
    proba = result.net.predict_proba(result.X)[:, 0]
    lines = ["     x1     x2  target  p(y=1)  predicted"]
    for x, t, p in zip(result.X, result.y, proba, strict=True):
        mark = "ok" if int(p >= 0.5) == t else "WRONG"
        lines.append(f"  {x[0]:5.2f}  {x[1]:5.2f}  {t:6d}  {p:6.4f}  {int(p >= 0.5):9d}  {mark}")
    return lines


def _verdict(result: RunResult | learner_run.Fit, what: str) -> str:
    status = "SOLVED" if result.solved else "NOT SOLVED"
    return (
        f"{what} {status}: final loss {result.final_loss:.5f} (bar < {SOLVED_LOSS}), {result.correct}/{result.total} "
        "correct"
    )


def cmd_xor(args: argparse.Namespace) -> int:
    net = xor_net(args.seed, args.hidden)
    print(f"XOR: {net}, Adam lr={args.lr:g}, {args.epochs} full-batch epochs, seed {args.seed}", flush=True)
    result = fit_full_batch(net, *xor(), lr=args.lr, epochs=args.epochs)
    print("\n".join(_milestones(result.losses)))
    print("\n".join(_predictions(result)))
    print(_verdict(result, "XOR"))
    return 0 if result.solved else 1


def cmd_overfit(args: argparse.Namespace) -> int:
    what = f"on {args.samples} points with random labels, Adam lr={args.lr:g}, {args.epochs} epochs"
    result: RunResult | learner_run.Fit
    if args.impl is None:
        net = overfit_net(args.seed)
        print(f"Overfit test: {net} {what}", flush=True)
        result = fit_full_batch(net, *tiny_dataset(args.samples, args.seed), lr=args.lr, epochs=args.epochs)
    else:
        learner = learner_run.load_net(args.impl)
        print(f"Overfit test: your forward and backward ({learner.label}), 2-64-1 ReLU/sigmoid, {what}", flush=True)
        result = learner_run.overfit(learner, seed=args.seed, n=args.samples, epochs=args.epochs, lr=args.lr)
    print("\n".join(_milestones(result.losses)))
    print(_verdict(result, "Overfit test"))
    if not result.solved:
        print("A network that cannot memorise a handful of points has a bug: run `backproplab gradcheck`.")
    return 0 if result.solved else 1


def run_gradcheck(args: argparse.Namespace) -> list[ParamCheck]:
    how = f"{args.samples} random samples, float64, five-point central differences, h={args.h:g}"
    if args.impl is not None:
        if args.activation or args.output:
            raise ValueError(
                "--impl checks the seed's 7.4 network, ReLU then sigmoid: leave --activation and --output out"
            )
        sizes = learner_run.network_sizes(parse_sizes(args.sizes or "3,5,1", "--sizes"))
        learner = learner_run.load_net(args.impl)
        print(f"Gradient check: your backward ({learner.label}) against your forward + BCE, {list(sizes)}, {how}")
        return learner_run.gradcheck(learner, sizes, args.samples, args.seed, args.h, args.tol)
    layer_sizes = parse_sizes(args.sizes or "4,12,8,3", "--sizes")
    activation: Activation = args.activation or "relu"
    output: Output = args.output or "softmax"
    net = MLP(layer_sizes, activation, output, seed=args.seed, dtype=np.float64)
    # a stream of its own: default_rng(seed) would draw X equal to the weights' own draws
    rng = np.random.default_rng([args.seed, 1])
    X = rng.standard_normal((args.samples, layer_sizes[0]))
    if output == "softmax":
        y: np.ndarray = rng.integers(0, layer_sizes[-1], args.samples)
    elif output == "sigmoid":
        y = rng.integers(0, 2, (args.samples, layer_sizes[-1])).astype(np.float64)
    else:
        y = rng.standard_normal((args.samples, layer_sizes[-1]))
    print(f"Gradient check: {net}, {how}")
    return check_mlp_gradients(net, X, y, h=args.h, tol=args.tol)


def cmd_gradcheck(args: argparse.Namespace) -> int:
    results = run_gradcheck(args)
    print(f"  {'param':<6} {'shape':<10} {'max rel error':>13}  {'band':<10} {'checked':>7}  {'near kink':>9}")
    for r in results:
        print(
            f"  {r.name:<6} {r.shape!s:<10} {r.max_rel_error:13.2e}  {r.band:<10} {r.checked:>7}  {r.near_kink:>9}"
            + ("" if r.passed else "  FAIL")
        )
    for r in results:
        if r.note:
            print(f"  {r.name}: {r.note}")
    print("  bands: > 1e-2 wrong, 1e-2..1e-4 suspicious, 1e-4..1e-7 ok only with kinks, < 1e-7 good")
    kinks = sum(r.near_kink for r in results)
    if kinks:
        print(
            f"  {kinks} entries not judged: their finite difference stepped a ReLU input across its kink at 0,"
            " where the numerical derivative is meaningless (not a bug in the gradient)."
        )
    failed = [r.name for r in results if not r.passed]
    print(f"gradient check {'FAILED for ' + ', '.join(failed) if failed else 'PASSED'} (tolerance {args.tol:g})")
    return 1 if failed else 0


def cmd_shapes(args: argparse.Namespace) -> int:
    shape = parse_shape(args.input)
    if len(shape) != 3:
        raise ValueError(f"--input must be CxHxW, e.g. 1x28x28, got {args.input!r}")
    specs = parse_spec(args.net)
    rows = shape_table(specs, (shape[0], shape[1], shape[2]))
    if args.quiz:
        return _quiz(quiz.questions(specs, rows), args)
    print(f"Shapes for one {args.input} image through {args.net}")
    print(f"  {'layer':<8} {'what':<38} {'output shape':<14} {'params':>7}  how")
    for row in rows:
        print(f"  {row.name:<8} {row.description:<38} {quiz.fmt(row.shape):<14} {row.params:>7}  {row.formula}")
    print(f"  total parameters: {sum(row.params for row in rows):,}")
    return 0


def _quiz(questions: list[quiz.Question], args: argparse.Namespace) -> int:
    """Ask the output shape of every layer that changes it; 0 if all answers were right."""
    asked = [q for q in questions if q.asked]
    right = answered = 0
    print("Shape quiz: type each layer's output shape for ONE image, like 6x28x28 (the batch axis left out).")
    for q in questions:
        if not q.asked:
            print(q.skipped)
            continue
        args.during = f" at question {answered + 1} of {len(asked)} ({right} right so far)"
        try:
            text = input(q.prompt)
        except EOFError:  # the input ended (Ctrl-D, a file or pipe that ran out)
            print(f"\nend of input after {answered} of {len(asked)} questions; score so far: {right}/{answered}")
            return 1
        correct, lines = quiz.grade(text, q)
        right += correct
        answered += 1
        print("\n".join(f"  {line}" for line in lines))
    print(f"score: {right}/{len(asked)}")
    return 0 if right == len(asked) else 1


def cmd_train_cnn(args: argparse.Namespace) -> int:
    from backproplab.training.cli import main as train_main  # imports torch: only when asked for

    try:
        return train_main(args.args)
    except ModuleNotFoundError as e:
        if (e.name or "").partition(".")[0] != "torch":
            raise
        print(f"error: {TORCH_MISSING}", file=sys.stderr)
        return 1


def cmd_demo(args: argparse.Namespace) -> int:
    steps = [
        ("xor", cmd_xor, ["xor"]),
        ("overfit", cmd_overfit, ["overfit"]),
        ("gradcheck", cmd_gradcheck, ["gradcheck"]),
        ("shapes", cmd_shapes, ["shapes"]),
        ("check", cmd_check, ["check"]),
        (
            "train-cnn",
            cmd_train_cnn,
            # the digits defaults (30 epochs, one thread); --overwrite: `make demo` may run again
            [
                "train-cnn",
                "--dataset",
                "digits",
                "--out",
                "runs/demo",
                "--export",
                "runs/demo/model.npz",
                "--overwrite",
            ],
        ),
        (
            "train-cnn --engine numpy",
            cmd_train_cnn,
            ["train-cnn", "--engine", "numpy", "--dataset", "digits", "--out", "runs/demo-numpy", "--overwrite"],
        ),
    ]
    parser = build_parser()
    status: dict[str, int] = {}
    for name, fn, argv in steps:
        print(f"\n=== backproplab {' '.join(argv)} ===")
        args.during = f" during its {name} step"
        status[name] = fn(parse(parser, argv))
        if status[name] == 130:  # train-cnn stopped by Ctrl-C: it said what it saved
            return 130
    print("\n=== summary ===")
    for name, code in status.items():
        print(f"  {name:<24} {'pass' if code == 0 else 'FAIL'}")
    return 0 if all(code == 0 for code in status.values()) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backproplab",
        description="Backpropagation from scratch in NumPy, checked against finite differences and PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"backproplab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "xor",
        help="train an MLP on XOR and show that it is solved",
        description="Train a 2-H-1 tanh MLP on the four XOR points with Adam; print the loss "
        "milestones and the predictions. Exit 0 only if loss < 0.01 and all 4 points are right.",
    )
    p.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")
    p.add_argument("--hidden", type=int, default=8, help="hidden units (default 8)")
    p.add_argument("--lr", type=float, default=0.1, help="Adam learning rate (default 0.1)")
    p.add_argument("--epochs", type=int, default=500, help="full-batch epochs (default 500)")
    p.set_defaults(func=cmd_xor)

    p = sub.add_parser(
        "overfit",
        help="the overfit test: memorise a tiny dataset with random labels",
        description="Train a 2-64-64-1 ReLU MLP on a few points with random labels. A correct "
        "implementation memorises them (loss < 0.01); exit 1 if it does not.",
    )
    p.add_argument("--seed", type=int, default=0, help="data and initialisation seed (default 0)")
    p.add_argument("--samples", type=int, default=16, help="number of points (default 16)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    p.add_argument("--epochs", type=int, default=1000, help="full-batch epochs (default 1000)")
    p.add_argument("--impl", metavar="PATH_OR_MODULE", help=IMPL_HELP + " (a 2-64-1 network)")
    p.set_defaults(func=cmd_overfit)

    p = sub.add_parser(
        "gradcheck",
        help="check every gradient of an MLP against finite differences",
        description="Build a float64 MLP on random data, compare its backprop gradients with "
        "five-point central differences, and print a per-parameter table. Exit 1 if any "
        "parameter's max relative error exceeds the tolerance.",
    )
    p.add_argument("--sizes", help="layer sizes, input first (default 4,12,8,3; with --impl d_in,d_h,1, default 3,5,1)")
    p.add_argument(
        "--activation",
        choices=["relu", "tanh", "sigmoid", "leaky_relu"],
        help="hidden activation (default relu)",
    )
    p.add_argument(
        "--output",
        choices=["softmax", "sigmoid", "linear"],
        help="output and loss (default softmax; sigmoid and BCE with --impl)",
    )
    p.add_argument("--samples", type=int, default=8, help="random samples (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and data (default 0)")
    p.add_argument("--h", type=float, default=1e-3, help="finite-difference step (default 1e-3)")
    p.add_argument("--tol", type=float, default=1e-7, help="max relative error allowed (default 1e-7)")
    p.add_argument("--impl", metavar="PATH_OR_MODULE", help=IMPL_HELP)
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser(
        "shapes",
        help="the layer-by-layer shape table of the LeNet or of any CNN; --quiz to test yourself",
        description="Print each layer's output shape, parameter count and the conv2d_out arithmetic for one "
        "image. --net takes any network as comma-separated layers: conv<C>k<K>[s<S>][p<P>][d<D>], "
        "pool<K>[s<S>][p<P>], avgpool<K>, relu, tanh, sigmoid, flatten, fc<D>. --quiz asks you each shape first.",
    )
    p.add_argument("--input", default="1x28x28", help="one image's shape CxHxW (default 1x28x28)")
    p.add_argument("--net", default=lenet_spec(10), help="the network (default: the LeNet, %(default)s)")
    p.add_argument("--quiz", action="store_true", help="ask for each layer's output shape and check the answers")
    p.set_defaults(func=cmd_shapes)

    p = sub.add_parser(
        "train-cnn",
        add_help=False,
        help="train the CNN with PyTorch or --engine numpy (real images, checkpoints, export, DDP); "
        "train-cnn --help for options",
        description="Same as python scripts/train_cnn_pytorch.py.",
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="options of scripts/train_cnn_pytorch.py")
    p.set_defaults(func=cmd_train_cnn)

    p = sub.add_parser(
        "demo",
        help="run xor, overfit, gradcheck, the LeNet shape table, the module's checklist and a CNN trained on "
        "digits; print a summary",
        description="The main job of `make demo`: XOR, the overfit test, the gradient check, the LeNet's "
        "shapes, the module's completion checklist (backproplab check), and the default CNN trained with "
        "PyTorch on scikit-learn's bundled digits, checked against the "
        "NumPy forward — all on embedded data (no network).",
    )
    p.set_defaults(func=cmd_demo)
    add_playground_parser(sub)

    add_learning_parsers(sub)  # trace, graph, plots
    add_check_parser(sub)
    add_init_parser(sub)  # the starter kit: files and notebooks to work in
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; ``train-cnn`` and ``playground`` pass everything after them on (to the training
    script's own parser, to ``streamlit run``)."""
    args, rest = parser.parse_known_args(argv)
    if args.command in ("train-cnn", "playground"):
        args.args = rest + args.args
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args


def interrupted(args: argparse.Namespace) -> str:
    """The one line Ctrl-C prints: the command, where it was (``args.during``) and what it left (``args.saved``)."""
    during, saved = getattr(args, "during", ""), getattr(args, "saved", "nothing was saved")
    return f"backproplab {args.command}: interrupted (Ctrl-C){during}; {saved}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status. 2: bad input; 130: Ctrl-C, after one line saying what was interrupted."""
    args = parse(build_parser(), argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print(interrupted(args), file=sys.stderr)
        return 130
    except CheckError as e:  # --impl: the learner's code failed, or returned the wrong kind or shape
        print(f"error: {e.detail}" + (f"\n  hint: {e.hint}" if e.hint else ""), file=sys.stderr)
        return 1
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
