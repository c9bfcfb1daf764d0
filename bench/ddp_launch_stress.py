"""How reliably do 2-process torchrun (gloo) launches of our training start and, above all, exit?

Repeats the launch that tests/test_training.py makes — 2 CPU processes, the LeNet on the bundled
digits, one epoch — ``--launches`` times and counts the runs that did not exit 0 or whose two ranks
did not print the same final weights. Target: 0 failures in 30. (2-process gloo runs used to
abort at exit about 1 time in 10 unless every rank released its model and optimizer, passed a
barrier and destroyed the process group before returning; backproplab.training does all three.)

    python bench/ddp_launch_stress.py [--launches 30]

The last line of output is a JSON object with the figures.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from backproplab.training.distributed import torchrun_command

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_cnn_pytorch.py"
ARGS = [
    "--dataset",
    "digits",
    "--preset",
    "lenet",
    "--epochs",
    "1",
    "--batch-size",
    "32",
    "--no-augment",
    "--quiet",
    "--no-download",
]


def launch(out: Path) -> tuple[bool, str, float]:
    """One 2-process run: ``(ok, why not, seconds)``."""
    start = time.perf_counter()
    done = subprocess.run(
        torchrun_command(2, SCRIPT, [*ARGS, "--out", str(out)]),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    seconds = time.perf_counter() - start
    digests = {line.split()[-1] for line in done.stdout.splitlines() if "final weights sha256" in line}
    if done.returncode != 0:
        return False, f"exit status {done.returncode}: {done.stderr.strip().splitlines()[-1:]}", seconds
    if len(digests) != 1:
        return False, f"ranks disagree or did not report: {sorted(digests)}", seconds
    return True, "", seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--launches", type=int, default=30, help="how many 2-process runs (default 30)")
    args = parser.parse_args(argv)
    failures, seconds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.launches):
            ok, why, took = launch(Path(tmp) / f"run{i}")
            seconds.append(took)
            print(f"launch {i + 1:>3}/{args.launches}: {'ok' if ok else 'FAILED ' + why} ({took:.1f} s)", flush=True)
            if not ok:
                failures.append(why)
    print(f"{len(failures)} failures in {args.launches} launches (target 0)")
    print(
        json.dumps(
            {
                "launches": args.launches,
                "failures": len(failures),
                "median_seconds": round(sorted(seconds)[len(seconds) // 2], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
