"""Inference throughput of the LeNet conv trunk: backproplab's im2col NumPy convolution against PyTorch
eager and against backproplab's naive loop convolution, on the CPU, same run, same threads.

Workload: the trunk of ``backproplab.cnn.lenet`` (conv 5x5 -> 6, relu, maxpool 2, conv 5x5 -> 16, relu,
maxpool 2, both convs with padding 2), float32, batch 256 of random 1x28x28 images, the weights of
``LeNet.random()`` on all sides. PyTorch runs ``torch.nn.functional`` under ``torch.inference_mode()``;
the naive side runs ``conv2d_forward_naive`` (explicit loops) on a few images only. Each side is warmed
up, then the three alternate for ``--repeats`` rounds and the medians are compared, so background noise
hits all of them. Then the peak extra memory of ``LeNet.forward`` on 10,000 images is read from
``tracemalloc`` (NumPy reports its buffers to it).

    python bench/conv_vs_torch.py [--repeats 10] [--threads N] [--naive-batch 2]

The last line of output is a JSON object with the figures.
"""

import argparse
import json
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import torch
from _common import environment_lines
from threadpoolctl import threadpool_limits

from backproplab._typing import FloatArray
from backproplab.cnn import LeNet, conv2d_forward, conv2d_forward_naive, maxpool2d_forward
from backproplab.cnn.spec import LayerSpec

HW = (28, 28)
MEMORY_IMAGES = 10_000
MEMORY_TARGET_MIB = 1024
TORCH_TARGET, NAIVE_TARGET = 0.6, 300
ATOL = 1e-4  # float32 sums of at most 150 products of values near 1

Conv = Callable[..., FloatArray]
Forward = Callable[[FloatArray], FloatArray]


def trunk_of(net: LeNet) -> list[tuple[str, LayerSpec]]:
    """The layers before ``flatten``, named as in the state dict: ``[("conv1", conv layer), ("relu1", ...), ...]``."""
    kinds = [layer.kind for layer in net.layers]
    end = kinds.index("flatten")
    if not set(kinds[:end]) <= {"conv", "relu", "pool"}:
        raise ValueError(f"the benchmark runs conv, relu and max pool layers only, got {kinds[:end]}")
    return [(row.name, layer) for row, layer in zip(net.rows[1 : end + 1], net.layers[:end], strict=True)]


def numpy_trunk(net: LeNet, conv: Conv) -> Forward:
    """The trunk with backproplab's ``conv`` (fast or naive): ``(N, 1, 28, 28)`` -> ``(N, 16, 7, 7)`` for LeNet."""
    trunk, p = trunk_of(net), net.params

    def run(x: FloatArray) -> FloatArray:
        a = x
        for name, layer in trunk:
            if layer.kind == "conv":
                a = conv(a, p[f"{name}.weight"], p[f"{name}.bias"], layer.stride, layer.padding, layer.dilation)
            elif layer.kind == "relu":
                a = np.maximum(a, 0)
            else:
                a = maxpool2d_forward(a, layer.kernel, layer.stride, layer.padding)
        return a

    return run


def torch_trunk(net: LeNet) -> Forward:
    """The same trunk with ``torch.nn.functional`` on the same arrays (``from_numpy`` shares their memory)."""
    trunk = trunk_of(net)
    p = {name: torch.from_numpy(a) for name, a in net.params.items()}
    F = torch.nn.functional

    def run(x: FloatArray) -> FloatArray:
        with torch.inference_mode():
            a = torch.from_numpy(x)
            for name, layer in trunk:
                if layer.kind == "conv":
                    a = F.conv2d(a, p[f"{name}.weight"], p[f"{name}.bias"], layer.stride, layer.padding, layer.dilation)
                elif layer.kind == "relu":
                    a = F.relu(a)
                else:
                    a = F.max_pool2d(a, layer.kernel, layer.stride, layer.padding)
            out: FloatArray = a.numpy()
        return out

    return run


def timed(fn: Callable[[FloatArray], FloatArray], x: FloatArray) -> float:
    start = time.perf_counter()
    fn(x)
    return time.perf_counter() - start


def peak_extra_mib(net: LeNet, images: int) -> float:
    """Peak memory allocated during ``net.forward`` of ``images`` random images, beyond the input, in MiB."""
    x = np.random.default_rng(1).standard_normal((images, net.in_channels, *net.input_hw), dtype=np.float32)
    tracemalloc.start()
    try:
        net.forward(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256, help="images per forward (default 256)")
    parser.add_argument("--naive-batch", type=int, default=2, help="images per naive forward (default 2)")
    parser.add_argument("--repeats", type=int, default=10, help="timed forwards per side (default 10)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for all sides")
    args = parser.parse_args(argv)

    net = LeNet.random(in_channels=1, input_hw=HW, seed=0)
    x = np.random.default_rng(0).standard_normal((args.batch, 1, *HW), dtype=np.float32)
    x_naive = x[: args.naive_batch]
    runs = {
        "backproplab": (numpy_trunk(net, conv2d_forward), x),
        "torch": (torch_trunk(net), x),
        "naive": (numpy_trunk(net, conv2d_forward_naive), x_naive),
    }

    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        environment = environment_lines(args.threads)
        outputs = {name: run(inputs) for name, (run, inputs) in runs.items()}  # warm-up 1, kept for the check
        for run, inputs in runs.values():  # warm-up 2: allocations, BLAS threads, caches, first-call overheads
            run(inputs)
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, (run, inputs) in runs.items():
                seconds[name].append(timed(run, inputs))
        peak_mib = peak_extra_mib(net, MEMORY_IMAGES)

    images = {name: len(inputs) for name, (_, inputs) in runs.items()}
    rate = {name: images[name] / statistics.median(s) for name, s in seconds.items()}
    ratio_torch = rate["backproplab"] / rate["torch"]
    ratio_naive = rate["backproplab"] / rate["naive"]
    # each round ran the three sides back to back: their per-round ratios cancel slow drifts of the machine
    per_image = {name: [t / images[name] for t in s] for name, s in seconds.items()}
    paired_torch = [t / b for b, t in zip(per_image["backproplab"], per_image["torch"], strict=True)]
    paired_naive = [v / b for b, v in zip(per_image["backproplab"], per_image["naive"], strict=True)]
    paired_torch_median, paired_naive_median = statistics.median(paired_torch), statistics.median(paired_naive)
    diff_torch = float(np.max(np.abs(outputs["backproplab"] - outputs["torch"])))
    diff_naive = float(np.max(np.abs(outputs["backproplab"][: args.naive_batch] - outputs["naive"])))
    agree = diff_torch <= ATOL and diff_naive <= ATOL

    trunk = ",".join(name for name, _ in trunk_of(net))
    print(
        f"LeNet trunk {trunk} ({net.spec.split(',flatten')[0]}), float32, 1x{HW[0]}x{HW[1]} images, "
        f"batch {args.batch} (naive {args.naive_batch})"
    )
    print("\n".join(environment))
    for name, s in seconds.items():
        spread = ", ".join(f"{t:.3f}" for t in s)
        print(f"  {name:<12} {rate[name]:>10,.1f} images/s  (forwards of {images[name]} images: {spread} s)")
    print(f"  ratio backproplab / torch: {ratio_torch:.2f}x of the medians (target >= {TORCH_TARGET}x)")
    print(f"    per-round ratios: {', '.join(f'{r:.2f}' for r in paired_torch)}; median {paired_torch_median:.2f}x")
    print(f"  ratio backproplab / naive: {ratio_naive:.0f}x of the medians (target >= {NAIVE_TARGET}x)")
    print(f"    per-round ratios: {', '.join(f'{r:.0f}' for r in paired_naive)}; median {paired_naive_median:.0f}x")
    print(
        f"  outputs agree: {'yes' if agree else 'NO'} (max abs diff vs torch {diff_torch:.2e}, "
        f"vs naive {diff_naive:.2e}; tolerance {ATOL:.0e})"
    )
    print(
        f"  peak extra memory, LeNet.forward of {MEMORY_IMAGES:,} images: {peak_mib:.1f} MiB "
        f"(target < {MEMORY_TARGET_MIB} MiB)"
    )
    print(
        json.dumps(
            {
                "images_per_s": round(rate["backproplab"], 1),
                "torch_images_per_s": round(rate["torch"], 1),
                "naive_images_per_s": round(rate["naive"], 2),
                "ratio_vs_torch": round(ratio_torch, 3),
                "ratio_vs_naive": round(ratio_naive, 1),
                "paired_ratio_vs_torch_median": round(paired_torch_median, 3),
                "paired_ratio_vs_naive_median": round(paired_naive_median, 1),
                "max_abs_diff_vs_torch": diff_torch,
                "max_abs_diff_vs_naive": diff_naive,
                "outputs_agree": agree,
                "peak_extra_mib_10k": round(peak_mib, 1),
                "threads": args.threads,
            }
        )
    )


if __name__ == "__main__":
    main()
