"""One playground frame: a training step plus the 100x100 decision-boundary evaluation, per engine.

Workload (issue #5): MLP 2-16-16-1 (tanh, sigmoid output), float64 as the playground runs it, Adam,
batch 32 of 200 moons points; each timed frame is ``Session.step()`` (one mini-batch: forward,
backward, update) followed by ``boundary_grid`` (the model on 10,000 grid points). The engines
alternate frame by frame so background noise hits both; the medians are reported.

    python bench/playground_step.py [--frames 500] [--threads N] [--every-option]

``--every-option`` adds issue 11's options: all 7 input features, an L2 penalty (rate 0.01) and
dropout 0.2 on the hidden layers.

It also times the network diagram of the biggest network allowed (6 x 64 units), which the page
redraws 2.5 times a second. The last line of output is a JSON object with the figures.
"""

import argparse
import json
import os
import statistics
import time
from dataclasses import replace

import torch
from _common import environment_lines, timed
from threadpoolctl import threadpool_limits

from backproplab.layers.features import FEATURES
from backproplab.neural_network import MLP
from backproplab.playground.boundary import boundary_grid, extent_of
from backproplab.playground.config import MAX_HIDDEN_LAYERS, MAX_UNITS, EngineName, TrainConfig
from backproplab.playground.datasets import DataSpec, make_data
from backproplab.playground.network_diagram import network_picture
from backproplab.playground.session import Session

TARGET_MS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=500, help="timed frames per engine (default 500)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both engines")
    parser.add_argument("--every-option", action="store_true", help="all features, L2 0.01 and dropout 0.2")
    args = parser.parse_args()

    data = make_data(DataSpec(name="moons", n=200, noise=0.1))
    extent = extent_of(data.X)
    engines: tuple[EngineName, ...] = ("numpy", "torch")
    config = TrainConfig(hidden=(16, 16), activation="tanh", output="sigmoid", optimizer="adam", batch_size=32)
    if args.every_option:
        config = replace(config, features=FEATURES, regularization="l2", reg_rate=0.01, dropout=0.2)

    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        environment = environment_lines(args.threads)
        runs = {engine: Session(data, replace(config, engine=engine)) for engine in engines}
        ms: dict[str, list[float]] = {engine: [] for engine in engines}
        for frame in range(args.frames + 20):  # the first 20 frames warm up caches and allocators
            for engine, run in runs.items():
                start = time.perf_counter()
                run.step()
                boundary_grid(run.engine.predict_proba, extent, res=100)
                if frame >= 20:
                    ms[engine].append(1000 * (time.perf_counter() - start))
        # the network diagram of the biggest network allowed, which the page redraws 2.5 times a second
        big = MLP([2, *[MAX_UNITS] * MAX_HIDDEN_LAYERS, 2], "tanh", "softmax")
        diagram_ms = 1000 * statistics.median(timed(lambda: network_picture(big, extent)) for _ in range(30))

    median = {engine: statistics.median(t) for engine, t in ms.items()}
    print("playground frame: MLP 2-16-16-1 tanh/sigmoid, float64, Adam, batch 32, + 100x100 boundary")
    if args.every_option:
        print("with all 7 input features, L2 0.01 and dropout 0.2")
    print("\n".join(environment))
    for name, t in ms.items():
        q = statistics.quantiles(t, n=20)
        print(f"  {name:<6} median {median[name]:6.2f} ms  (p5 {q[0]:.2f}, p95 {q[-1]:.2f}; {len(t)} frames)")
    worst = max(median.values())
    print(f"  target <= {TARGET_MS:g} ms median: {'met' if worst <= TARGET_MS else 'NOT met'} (slowest {worst:.2f} ms)")
    print(f"  network diagram of 6 x 64 units: median {diagram_ms:.2f} ms (maps and drawing)")
    figures = {
        "step_ms_median": {k: round(v, 3) for k, v in median.items()},
        "diagram_ms_median": round(diagram_ms, 3),
        "threads": args.threads,
    }
    print(json.dumps(figures | {"every_option": args.every_option}))


if __name__ == "__main__":
    main()
