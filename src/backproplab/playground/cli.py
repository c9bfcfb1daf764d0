"""``backproplab playground``: open the playground in the browser (runs ``streamlit run`` on its page)."""

import argparse
import subprocess
import sys
from pathlib import Path

from backproplab._deps import missing

APP = Path(__file__).resolve().with_name("app.py")


def streamlit_command(extra: list[str], app: Path = APP) -> list[str]:
    """The command line that serves ``app`` (the page); ``extra`` (e.g. ``--server.port 8502``) goes to streamlit."""
    return [sys.executable, "-m", "streamlit", "run", str(app), *extra]


def cmd_playground(args: argparse.Namespace) -> int:
    if missing(
        "streamlit", "the playground", "pip install 'backproplab[playground]' (or pip install streamlit==1.67.0)"
    ):
        return 1
    if "-h" in args.args or "--help" in args.args:
        print(
            "usage: backproplab playground [STREAMLIT RUN OPTIONS]\n\n"
            "Open the training playground in the browser: the same page as\n"
            "  streamlit run interactive_labs/m07_deep_learning/pytorch_training_playground_app.py\n"
            "Options go to streamlit run, e.g. --server.port 8502 --server.headless true.\n"
            "streamlit run's own help follows.\n",
            flush=True,
        )
    try:
        return subprocess.call(streamlit_command(args.args))
    except KeyboardInterrupt:  # Ctrl-C stops the server: a normal way to leave
        return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register the ``playground`` subcommand; arguments after it are passed to ``streamlit run``."""
    p = sub.add_parser(
        "playground",
        add_help=False,
        help="train an MLP live in the browser (Streamlit); extra options go to streamlit run",
        description="Same as streamlit run interactive_labs/m07_deep_learning/pytorch_training_playground_app.py.",
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="options for streamlit run, e.g. --server.port 8502")
    p.set_defaults(func=cmd_playground)
