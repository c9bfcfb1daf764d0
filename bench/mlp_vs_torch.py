"""Training throughput: backproplab's NumPy MLP against PyTorch eager on the CPU, same run, same threads.

Workload: MLP 784-256-10 (ReLU, softmax cross-entropy), float32, plain SGD, batch 128, one epoch of
60,000 synthetic samples, shuffled each epoch on both sides. Each side is warmed up, then the two
alternate for ``--repeats`` epochs and the medians are compared, so background noise hits both.

    python bench/mlp_vs_torch.py [--repeats 5] [--threads N]

The last line of output is a JSON object with the figures.
"""

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from _common import environment_lines
from threadpoolctl import threadpool_limits

from backproplab.neural_network import MLP
from backproplab.optim import SGD

SIZES = (784, 256, 10)
LR = 0.01


def backproplab_epoch(X: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], None]:
    net = MLP(list(SIZES), hidden_activation="relu", output="softmax", seed=0, dtype=np.float32)
    opt = SGD(LR)

    def run() -> None:
        net.fit(X, y, optimizer=opt, epochs=1, batch_size=batch, verbose=False)

    return run


def torch_epoch(X: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], None]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(), torch.nn.Linear(SIZES[1], SIZES[2])
    )
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n = Xt.shape[0]

    def run() -> None:
        order = torch.randperm(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return run


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60_000, help="samples per epoch (default 60000)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per side (default 5)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both sides")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.samples, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], args.samples)

    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        environment = environment_lines(args.threads)
        runs = {"backproplab": backproplab_epoch(X, y, args.batch), "torch": torch_epoch(X, y, args.batch)}
        for _ in range(2):  # warm-up: allocations, BLAS threads, caches, torch's first-call overheads
            for run in runs.values():
                run()
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                seconds[name].append(timed(run))

    rate = {name: args.samples / statistics.median(s) for name, s in seconds.items()}
    ratio = rate["backproplab"] / rate["torch"]
    # each torch epoch ran right after a backproplab one: their ratios cancel slow drifts of the machine
    paired = [t / b for b, t in zip(seconds["backproplab"], seconds["torch"], strict=True)]
    print(f"MLP {'-'.join(map(str, SIZES))}, float32, SGD, batch {args.batch}, {args.samples} samples/epoch")
    print("\n".join(environment))
    for name, s in seconds.items():
        spread = ", ".join(f"{t:.3f}" for t in s)
        print(f"  {name:<12} {rate[name]:>10,.0f} samples/s  (median of epochs: {spread} s)")
    print(f"  ratio backproplab / torch: {ratio:.2f}x of the medians (target >= 1.2x)")
    print(f"  per-pair ratios: {', '.join(f'{r:.2f}' for r in paired)}; median {statistics.median(paired):.2f}x")
    print(
        json.dumps(
            {
                "samples_per_s": round(rate["backproplab"]),
                "torch_samples_per_s": round(rate["torch"]),
                "ratio_vs_torch": round(ratio, 3),
                "paired_ratio_median": round(statistics.median(paired), 3),
                "threads": args.threads,
            }
        )
    )


if __name__ == "__main__":
    main()
