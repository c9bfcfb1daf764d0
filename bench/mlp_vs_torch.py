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
from collections.abc import Callable

import numpy as np
import torch
from _common import Comparison, alternate, environment_lines
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
        result = Comparison(alternate(runs, args.repeats), args.samples)

    print(f"MLP {'-'.join(map(str, SIZES))}, float32, SGD, batch {args.batch}, {args.samples} samples/epoch")
    print("\n".join(environment))
    print("\n".join(result.lines("samples", "target >= 1.2x")))
    print(json.dumps(result.figures() | {"threads": args.threads}))


if __name__ == "__main__":
    main()
