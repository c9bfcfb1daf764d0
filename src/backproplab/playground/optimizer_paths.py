"""SGD vs Momentum vs Adam on a 2-D loss surface (the seed's exercise 7.6, drawn).

Exercise 7.6 minimises ``f(w) = (w - 3)^2``. In two dimensions with one direction ten times
steeper, ``f(w) = (w1 - 3)^2 + 10 (w2 - 3)^2``, the optimizers differ visibly: SGD zigzags across
the steep direction (and diverges for ``lr > 0.1``), momentum overshoots and swings back, Adam takes
steps of about ``lr`` in every direction. Each optimizer is :mod:`backproplab.optim`'s own, run on
the 2-vector ``w``.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from backproplab._typing import FloatArray
from backproplab.optim import SGD, Adam, Momentum, Optimizer
from backproplab.playground.boundary import COLOURS, Extent, png_bytes
from backproplab.playground.config import OPTIMIZERS, OptimizerName

MAX_PATH_STEPS = 2000
ESCAPED = 1e6  # a path that gets this far from the origin has diverged; it stops there


@dataclass(frozen=True)
class Surface:
    """A loss ``f(W: (M, 2)) -> (M,)`` with its gradient ``grad(w: (2,)) -> (2,)``, where its minimum
    lies, a start point, the window to draw and learning rates that show each optimizer at its best."""

    name: str
    formula: str
    f: Callable[[FloatArray], FloatArray]
    grad: Callable[[FloatArray], FloatArray]
    minimum: tuple[float, float]
    start: tuple[float, float]
    extent: Extent
    lrs: dict[OptimizerName, float]


def _quadratic(W: FloatArray) -> FloatArray:
    out: FloatArray = (W[:, 0] - 3.0) ** 2 + 10.0 * (W[:, 1] - 3.0) ** 2
    return out


def _quadratic_grad(w: FloatArray) -> FloatArray:
    return np.array([2.0 * (w[0] - 3.0), 20.0 * (w[1] - 3.0)])


def _rosenbrock(W: FloatArray) -> FloatArray:
    out: FloatArray = (1.0 - W[:, 0]) ** 2 + 100.0 * (W[:, 1] - W[:, 0] ** 2) ** 2
    return out


def _rosenbrock_grad(w: FloatArray) -> FloatArray:
    return np.array([-2.0 * (1.0 - w[0]) - 400.0 * w[0] * (w[1] - w[0] ** 2), 200.0 * (w[1] - w[0] ** 2)])


SURFACES = {
    s.name: s
    for s in (
        Surface(
            "quadratic (exercise 7.6)",
            "f(w) = (w1 - 3)^2 + 10 (w2 - 3)^2",
            _quadratic,
            _quadratic_grad,
            (3.0, 3.0),
            (-1.0, 1.0),
            (-2.0, 5.0, 0.0, 5.0),
            {"sgd": 0.09, "momentum": 0.02, "adam": 0.3},
        ),
        Surface(
            "rosenbrock",
            "f(w) = (1 - w1)^2 + 100 (w2 - w1^2)^2",
            _rosenbrock,
            _rosenbrock_grad,
            (1.0, 1.0),
            (-1.5, 2.0),
            (-2.0, 2.0, -1.0, 3.0),
            {"sgd": 0.001, "momentum": 0.0005, "adam": 0.05},
        ),
    )
}


def _optimizer(name: OptimizerName, lr: float) -> Optimizer:
    if name == "sgd":
        return SGD(lr)
    return Momentum(lr) if name == "momentum" else Adam(lr)


def trajectory(surface: Surface, optimizer: OptimizerName, lr: float, steps: int) -> FloatArray:
    """``w_0 = surface.start, w_1, ..., w_steps``: ``(steps + 1, 2)``, or fewer rows if it diverged
    (the path ends at the first point that is not finite or lies ``ESCAPED`` from the origin)."""
    if not 1 <= steps <= MAX_PATH_STEPS:
        raise ValueError(f"steps must lie in [1, {MAX_PATH_STEPS}], got {steps}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    opt = _optimizer(optimizer, lr)
    w = np.array(surface.start, dtype=np.float64)
    path = [w.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            opt.step([w], [surface.grad(w)])
            path.append(w.copy())
            if not np.all(np.isfinite(w)) or np.abs(w).max() > ESCAPED:
                break
    return np.array(path)


def render_paths(surface: Surface, paths: dict[OptimizerName, FloatArray]) -> bytes:
    """PNG: the paths ``(T_i, 2)`` over the contours of ``log f``, and ``f(w_t)`` against ``t``."""
    fig = Figure(figsize=(8.4, 3.8), dpi=85, layout="constrained")
    ax, curve = fig.subplots(1, 2)
    x0, x1, y0, y1 = surface.extent
    g1, g2 = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    F = surface.f(np.column_stack([g1.ravel(), g2.ravel()])).reshape(g1.shape)
    ax.contour(g1, g2, np.log10(F + 1e-3), levels=20, cmap="Greys", linewidths=0.6)
    ax.plot(*surface.minimum, marker="*", color="black", markersize=12, linestyle="none")
    for colour, (name, path) in zip(COLOURS, paths.items(), strict=False):
        ax.plot(path[:, 0], path[:, 1], ".-", color=colour, markersize=3, linewidth=1, label=name)
        with np.errstate(over="ignore", invalid="ignore"):
            curve.semilogy(np.maximum(surface.f(path), 1e-16), color=colour, label=name)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="w1", ylabel="w2", title=surface.formula)
    ax.legend(fontsize=8)
    curve.set(xlabel="step t", ylabel="f(w_t)", title="loss along the path")
    return png_bytes(fig)


def paths_png(surface_name: str, lrs: tuple[tuple[OptimizerName, float], ...], steps: int) -> bytes:
    """The picture of :func:`render_paths` for each ``(optimizer, lr)`` on the surface named ``surface_name``,
    from plain arguments (so a page can memoise it)."""
    if surface_name not in SURFACES:
        raise ValueError(f"surface must be one of {list(SURFACES)}, got {surface_name!r}")
    surface = SURFACES[surface_name]
    return render_paths(surface, {opt: trajectory(surface, opt, lr, steps) for opt, lr in lrs})
