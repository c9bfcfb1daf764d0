"""What the benchmarks share (imported by the scripts in bench/): where they ran, and timing both sides
in alternation."""

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_info


def environment_lines(threads: int) -> list[str]:
    """The machine, the thread count and the library versions (call inside the thread limits)."""
    blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info()]
    return [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; threads {threads}",
        f"numpy {np.__version__} [{'; '.join(blas)}], torch {torch.__version__}",
    ]


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (its result is dropped)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(runs: dict[str, Callable[[], None]], repeats: int, warmups: int = 2) -> dict[str, list[float]]:
    """Warm every side up, then time them in turn ``repeats`` times: the seconds of each run, by side.

    Alternating makes background noise hit every side alike, and each round's ratios cancel slow
    drifts of the machine.
    """
    for _ in range(warmups):  # allocations, BLAS threads, caches, torch's first-call overheads
        for run in runs.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds[name].append(timed(run))
    return seconds


@dataclass(frozen=True)
class Comparison:
    """backproplab against torch from :func:`alternate`'s seconds, for ``work`` samples per run."""

    seconds: dict[str, list[float]]
    work: int

    @property
    def rate(self) -> dict[str, float]:
        return {name: self.work / statistics.median(s) for name, s in self.seconds.items()}

    @property
    def ratio(self) -> float:
        """backproplab's rate over torch's, from the medians."""
        return self.rate["backproplab"] / self.rate["torch"]

    @property
    def paired(self) -> list[float]:
        """The ratio of each round: torch's seconds over backproplab's, measured back to back."""
        return [t / b for b, t in zip(self.seconds["backproplab"], self.seconds["torch"], strict=True)]

    def lines(self, unit: str, target: str) -> list[str]:
        """A line per side, the ratio of the medians against ``target``, and the per-round ratios."""
        out = []
        for name, s in self.seconds.items():
            spread = ", ".join(f"{t:.3f}" for t in s)
            out.append(f"  {name:<12} {self.rate[name]:>10,.0f} {unit}/s  (runs: {spread} s)")
        out.append(f"  ratio backproplab / torch: {self.ratio:.2f}x of the medians ({target})")
        paired = ", ".join(f"{r:.2f}" for r in self.paired)
        out.append(f"  per-round ratios: {paired}; median {statistics.median(self.paired):.2f}x")
        return out

    def figures(self) -> dict[str, float]:
        """The JSON figures every throughput benchmark reports."""
        return {
            "samples_per_s": round(self.rate["backproplab"]),
            "torch_samples_per_s": round(self.rate["torch"]),
            "ratio_vs_torch": round(self.ratio, 3),
            "paired_ratio_median": round(statistics.median(self.paired), 3),
        }
