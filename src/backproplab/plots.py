"""The module's figures, drawn with matplotlib and written atomically as PNG files.

Each figure in :data:`FIGURES` is computed with the core (activations, ``MLP``, the optimizers, the
NumPy LeNet) and drawn by one function; :func:`write_figure` saves one, :func:`write_figures`
several. The numbers behind the pictures come from small pure functions (:func:`best_line`,
:func:`quadratic_trajectories`, :func:`lenet_for_digits`) that the tests check directly.
"""

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from backproplab._io import atomic_write
from backproplab._typing import FloatArray, IntArray
from backproplab.activations import relu, relu_deriv, sigmoid, sigmoid_deriv, tanh, tanh_deriv
from backproplab.cnn.lenet import lenet_spec
from backproplab.cnn.network import SpecNet
from backproplab.cnn.spec import build
from backproplab.data.images import load_dataset
from backproplab.data.toy import moons, xor
from backproplab.demos import quadratic_path, train_xor
from backproplab.fit import History
from backproplab.neural_network import MLP
from backproplab.optim import SGD, Adam, Momentum, Optimizer
from backproplab.training.config import TrainConfig
from backproplab.training.numpy_engine import train_numpy

DPI = 100  # small files: the figures are committed under docs/img
# the lenet preset on 8x8 digits, trained by the NumPy engine in a few seconds on 2 CPU cores
LENET_TRAINING = TrainConfig(
    engine="numpy",
    dataset="digits",
    preset="lenet",
    epochs=15,
    lr=0.01,
    batch_size=64,
    optimizer="adam",
    download=False,
    verbose=False,
)


def best_line(X: FloatArray, y: IntArray, angles: int = 360) -> tuple[float, FloatArray, float]:
    """The straight line ``w . x = b`` that classifies the most points of ``(X, y)`` right.

    ``X: (n, 2)``, ``y: (n,)`` of 0/1. Tries ``angles`` directions for the unit normal ``w`` and, for
    each, every threshold between two neighbouring projections; returns ``(accuracy, w (2,), b)``
    with class 1 on the side ``w . x > b``, the line farthest from the points among the best. For XOR
    the best is 3 of 4 points: 0.75.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, angles, endpoint=False)
    W = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (A, 2) unit normals; both sides via 2*pi
    proj = np.sort(X @ W.T, axis=0).T  # (A, n) sorted projections per direction
    thresholds = np.concatenate([proj[:, :1] - 1.0, (proj[:, 1:] + proj[:, :-1]) / 2, proj[:, -1:] + 1.0], axis=1)
    scores = X @ W.T  # (n, A)
    pred = scores.T[:, None, :] > thresholds[:, :, None]  # (A, T, n)
    acc = (pred == y.astype(bool)).mean(axis=2)  # (A, T)
    margin = np.abs(scores.T[:, None, :] - thresholds[:, :, None]).min(axis=2)  # (A, T): nearest point
    a, t = np.unravel_index(np.argmax(np.where(acc == acc.max(), margin, -1.0)), acc.shape)  # widest of the best
    return float(acc[a, t]), W[a], float(thresholds[a, t])


def quadratic_trajectories(steps: int = 200, w0: float = 10.0) -> dict[str, FloatArray]:
    """``w_t`` for ``t = 0..steps`` when SGD, Momentum and Adam minimise ``(w - 3)^2`` from ``w0`` (seed 7.6).

    Learning rates: the seed's SGD 0.1 and Adam 0.2; Momentum 0.05 with beta 0.9. 200 steps by default:
    Adam needs about 125 to settle within 1e-2 of 3, not the seed's 50 (docs/errata.md). Each array is ``(steps + 1,)``.
    """
    optimizers: dict[str, Optimizer] = {
        "SGD lr=0.1": SGD(0.1),
        "Momentum lr=0.05, beta=0.9": Momentum(0.05, beta=0.9),
        "Adam lr=0.2": Adam(0.2),
    }
    return {label: quadratic_path(opt, w0, steps) for label, opt in optimizers.items()}


def lenet_for_digits(train: bool = True) -> tuple[SpecNet, str]:
    """A NumPy LeNet for 8x8 digits and a line saying where its weights come from.

    With ``train``: the ``lenet`` preset trained by the NumPy engine as :data:`LENET_TRAINING` says,
    on scikit-learn's digits (seconds on a CPU; no PyTorch). Otherwise its untrained initial weights
    (PyTorch's default ``U(±1/sqrt(fan_in))``), and the line says so.
    """
    if not train:
        net = build(lenet_spec(10), (1, 8, 8), seed=0)
        return SpecNet(lenet_spec(10), net.state(), (1, 8, 8)), "initial weights, untrained"
    with tempfile.TemporaryDirectory() as tmp:
        result = train_numpy(replace(LENET_TRAINING, out=Path(tmp)))
    accuracy = result.test_accuracy
    return result.export(), f"weights trained {len(result.history)} epochs in NumPy, test accuracy {accuracy:.1%}"


def activations_figure() -> MplFigure:
    z = np.linspace(-5, 5, 501)
    fig = MplFigure(figsize=(9, 3.4), layout="constrained")
    (ax_f, ax_d) = fig.subplots(1, 2)
    for name, f, df in (("sigmoid", sigmoid, sigmoid_deriv), ("ReLU", relu, relu_deriv), ("tanh", tanh, tanh_deriv)):
        ax_f.plot(z, f(z), label=name)
        ax_d.plot(z, df(z), label=f"{name}'")
    ax_f.set(title="activations f(z)", xlabel="z", ylim=(-1.2, 2.2))
    ax_d.set(title="derivatives f'(z): sigmoid' <= 0.25 shrinks gradients", xlabel="z", ylim=(-0.1, 1.2))
    for ax in (ax_f, ax_d):
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def _xor_panel(ax: Any, X: FloatArray, y: IntArray, title: str) -> None:
    for label, marker in ((0, "o"), (1, "s")):
        ax.scatter(*X[y == label].T, s=120, marker=marker, edgecolor="k", label=f"y = {label}", zorder=3)
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.7), xlabel="x1", ylabel="x2", title=title, aspect="equal")
    ax.legend(loc="upper center", ncol=2)


def xor_figure() -> MplFigure:
    X, y = xor()
    acc, w, b = best_line(X, y)
    logistic = MLP([2, 1], output="sigmoid", seed=0, dtype=np.float64)  # no hidden layer: logistic regression
    logistic.fit(X, y, optimizer=Adam(0.1), epochs=500, batch_size=None, verbose=False)
    loss, _ = logistic.loss(logistic.forward(X), y)
    result = train_xor()
    gx, gy = np.meshgrid(np.linspace(-0.5, 1.5, 201), np.linspace(-0.5, 1.7, 221))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    fig = MplFigure(figsize=(9, 4.6), layout="constrained")
    (ax_line, ax_mlp) = fig.subplots(1, 2)
    side = (grid @ w > b).reshape(gx.shape)
    ax_line.contourf(gx, gy, side, levels=[-0.5, 0.5, 1.5], alpha=0.25, colors=["C0", "C1"])
    ax_line.contour(gx, gy, side.astype(float), levels=[0.5], colors="k", linewidths=1)
    _xor_panel(ax_line, X, y, f"best straight line: {acc:.0%} right\n(logistic regression stalls at loss {loss:.3f})")
    proba = result.net.predict_proba(grid)[:, 0].reshape(gx.shape)
    ax_mlp.contourf(gx, gy, proba, levels=[0, 0.5, 1], alpha=0.25, colors=["C0", "C1"])
    ax_mlp.contour(gx, gy, proba, levels=[0.5], colors="k", linewidths=1)
    _xor_panel(ax_mlp, X, y, f"MLP 2-8-1 (tanh): {result.accuracy:.0%} right\n(loss {result.final_loss:.4f})")
    fig.suptitle("XOR is not linearly separable; one hidden layer separates it")
    return fig


def optimizers_figure() -> MplFigure:
    fig = MplFigure(figsize=(7, 3.8), layout="constrained")
    ax = fig.subplots()
    for label, w in quadratic_trajectories().items():
        ax.plot(w, label=label)
    ax.axhline(3.0, color="k", linestyle=":", label="minimum w = 3")
    ax.set(title="minimising (w - 3)^2 from w = 10 (exercise 7.6)", xlabel="step t", ylabel="w_t")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def training_curves_figure() -> MplFigure:
    X, y = moons(n=300, noise=0.2, seed=0)
    runs: dict[str, History] = {}
    for label, opt in (("Adam lr=0.01", Adam(0.01)), ("SGD lr=0.1", SGD(0.1))):
        net = MLP([2, 16, 16, 2], hidden_activation="relu", output="softmax", seed=0)
        runs[label] = net.fit(X, y, optimizer=opt, epochs=150, batch_size=32, verbose=False)
    fig = MplFigure(figsize=(9, 3.6), layout="constrained")
    (ax_loss, ax_acc) = fig.subplots(1, 2)
    for label, history in runs.items():
        ax_loss.plot(range(1, len(history.loss) + 1), history.loss, label=label)
        ax_acc.plot(range(1, len(history.accuracy) + 1), history.accuracy, label=label)
    ax_loss.set(title="training loss (cross-entropy)", xlabel="epoch", yscale="log")
    ax_acc.set(title="training accuracy", xlabel="epoch")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("MLP 2-16-16-2 (ReLU) on 300 noisy moons, batch 32")
    return fig


def feature_maps_figure(train: bool = True) -> MplFigure:
    net, source = lenet_for_digits(train=train)
    data = load_dataset("digits")
    x, label = data.x_test[:1], int(data.y_test[0])  # (1, 1, 8, 8)
    acts = dict(net.activations(x))
    shown = ["relu1", "pool1", "relu2", "pool2"]
    fig = MplFigure(figsize=(10, 6.5), layout="constrained")
    rows = fig.subfigures(len(shown) + 1, 1, height_ratios=[1.6] + [1.0] * len(shown))
    assert isinstance(rows, np.ndarray)  # only a 1x1 grid would come back as a bare SubFigure
    ax_in, ax_out = rows[0].subplots(1, 2, width_ratios=[1, 3])
    ax_in.imshow(x[0, 0], cmap="gray_r")
    ax_in.set(title=f"input 1x8x8 (a {label})", xticks=[], yticks=[])
    scores = acts["fc3"][0]
    ax_out.bar(range(10), scores, color=["C1" if k == label else "C0" for k in range(10)])
    ax_out.set(title=f"fc3 scores: predicts {int(np.argmax(scores))}", xticks=range(10))
    for row, name in zip(rows[1:], shown, strict=True):
        maps = acts[name][0]  # (C, H, W)
        axes = row.subplots(1, 16)
        for c, ax in enumerate(axes):
            ax.set_axis_off()
            if c < len(maps):
                ax.imshow(maps[c], cmap="viridis")
        row.suptitle(f"{name}: {'x'.join(map(str, maps.shape))}", x=0.02, ha="left", fontsize=9)
    fig.suptitle(f"LeNet feature maps for one digit; {source}", fontsize=10)
    return fig


@dataclass(frozen=True)
class Figure:
    """One figure: what it shows, and the function that draws it."""

    description: str
    draw: Callable[[], MplFigure]


FIGURES: dict[str, Figure] = {
    "activations": Figure("sigmoid, ReLU and tanh and their derivatives", activations_figure),
    "xor_boundary": Figure("XOR: the best straight line (75%) vs an MLP (100%)", xor_figure),
    "optimizers": Figure("SGD vs Momentum vs Adam w_t on (w - 3)^2", optimizers_figure),
    "training_curves": Figure("loss and accuracy of an MLP fit on moons", training_curves_figure),
    "lenet_feature_maps": Figure("the LeNet's feature maps for one digit", feature_maps_figure),
}


def save_png(fig: MplFigure, path: Path) -> Path:
    """Write ``fig`` to ``path`` as PNG, atomically.

    The figures are plain ``Figure`` objects, never registered with pyplot: importing this module
    leaves a notebook's backend alone, and nothing stays open when drawing fails.
    """
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=DPI, bbox_inches="tight")
    return path


def write_figure(name: str, out_dir: str | Path) -> Path:
    """Draw figure ``name`` (a key of :data:`FIGURES`) into ``out_dir/<name>.png``; return the path."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; expected one of {', '.join(FIGURES)}")
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    return save_png(FIGURES[name].draw(), folder / f"{name}.png")


def figure_names(only: Sequence[str] | None = None) -> list[str]:
    """``only`` checked against :data:`FIGURES` (all of them when ``None``); ``ValueError`` names unknown ones."""
    names = list(FIGURES) if only is None else list(only)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; expected some of {', '.join(FIGURES)}")
    return names


def write_figures(out_dir: str | Path, only: Sequence[str] | None = None) -> list[Path]:
    """Write every figure (or those named in ``only``) into ``out_dir``, created if missing; return the paths."""
    names = figure_names(only)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return [write_figure(name, out_dir) for name in names]
