"""Training throughput of the ``lenet`` preset: backproplab's NumPy engine against PyTorch eager on the CPU.

Workload: the LeNet spec (conv 5x5 -> 6, ReLU, max-pool 2, conv 5x5 -> 16, ReLU, max-pool 2, fc 120, 84,
10) on batches of 128 random 1x28x28 float32 images: forward, softmax cross-entropy, backward and an
Adam step, the same weights on both sides at the start. Same thread count on both sides; the two sides
alternate round by round (``--steps`` training steps each) and the medians are compared, so background
noise hits both. Also reported: the peak extra memory of one NumPy training step (``tracemalloc``) and
how far the NumPy gradients are from PyTorch's on the same batch and weights.

    python bench/cnn_train_vs_torch.py [--repeats 7] [--steps 20] [--threads N]

The last line of output is a JSON object with the figures.
"""

import argparse
import json
import os
import tracemalloc
from collections.abc import Callable

import numpy as np
import torch
from _common import Comparison, alternate, environment_lines
from threadpoolctl import threadpool_limits

from backproplab.cnn.spec import build
from backproplab.layers import Sequential
from backproplab.losses import softmax_cross_entropy
from backproplab.optim import Adam
from backproplab.training.config import preset_spec
from backproplab.training.models import build_model
from backproplab.training.numpy_engine import train_step

SHAPE = (1, 28, 28)
TARGET, MOONSHOT = 0.5, 1.0
LR = 1e-3


def twins() -> tuple[Sequential, torch.nn.Sequential]:
    """The NumPy LeNet and its PyTorch twin with the same float32 weights."""
    spec = preset_spec("lenet", 10)
    net = build(spec, SHAPE, seed=0)
    model = build_model(spec, SHAPE)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in net.state().items()})
    return net, model


def numpy_steps(net: Sequential, batches: list[tuple[np.ndarray, np.ndarray]]) -> Callable[[], None]:
    opt = Adam(LR)

    def run() -> None:
        for x, target in batches:
            train_step(net, opt, x, target)

    return run


def torch_steps(model: torch.nn.Module, batches: list[tuple[np.ndarray, np.ndarray]]) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    tensors = [(torch.from_numpy(x), torch.from_numpy(t)) for x, t in batches]

    def run() -> None:
        for x, target in tensors:
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), target).backward()
            opt.step()

    return run


def gradient_gap(batch: int) -> float:
    """Largest |NumPy gradient - PyTorch gradient| relative to the gradient's scale, one batch, fresh twins."""
    net, model = twins()
    rng = np.random.default_rng(1)
    x = rng.random((batch, *SHAPE), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    _, dlogits = softmax_cross_entropy(net.forward(x), y)
    net.backward_params(dlogits)
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()  # type: ignore[no-untyped-call]
    gaps = []
    for (name, p), g in zip(model.named_parameters(), net.state_grads().values(), strict=True):
        assert p.grad is not None, name
        ref = p.grad.numpy()
        gaps.append(float(np.abs(g - ref).max() / (np.abs(ref).max() + 1e-12)))
    return max(gaps)


def peak_step_mib(net: Sequential, batch: tuple[np.ndarray, np.ndarray]) -> float:
    """Peak memory allocated by one NumPy training step beyond what was held before it, in MiB."""
    opt = Adam(LR)
    train_step(net, opt, *batch)  # optimizer state and layer buffers exist from here on
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    train_step(net, opt, *batch)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed round (default 20)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per side (default 7)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both sides")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    batches = []
    for _ in range(args.steps):
        x = rng.random((args.batch, *SHAPE), dtype=np.float32)
        target = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.batch)]
        batches.append((x, target))

    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        environment = environment_lines(args.threads)
        net, model = twins()
        runs = {"backproplab": numpy_steps(net, batches), "torch": torch_steps(model, batches)}
        result = Comparison(alternate(runs, args.repeats), args.batch * args.steps)
        gap = gradient_gap(args.batch)
        peak = peak_step_mib(build(preset_spec("lenet", 10), SHAPE, seed=0), batches[0])

    print(f"lenet training step on 1x28x28 float32, Adam, batch {args.batch}, {args.steps} steps per round")
    print("\n".join(environment))
    print("\n".join(result.lines("samples", f"target >= {TARGET}x, moonshot >= {MOONSHOT}x")))
    print(f"  peak extra memory of one NumPy step: {peak:.1f} MiB; gradients vs PyTorch: max relative gap {gap:.1e}")
    figures = result.figures() | {"peak_extra_mib": round(peak, 2), "grad_max_rel_gap": gap, "threads": args.threads}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
