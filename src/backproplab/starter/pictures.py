"""The starter notebooks' pictures, drawn with the learner's own functions.

Each function takes the learner's module (``import part1_activations as mine``) and draws what its
functions compute. A function that still raises ``NotImplementedError`` is left out and named in
the title ("not written yet: ..."), so every notebook runs top to bottom from the first day; any
other exception is the learner's bug and propagates with its traceback.
"""

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from backproplab._typing import FloatArray
from backproplab.checker.network_checks import init_params
from backproplab.data.toy import xor

# Gradient descent on XOR with the seed's 7.4 network: these settings solve it (loss < 0.05, 4/4) from
# every one of the seeds 0-9, with the seed's own forward and backward and with the library's.
XOR_HIDDEN = 8  # hidden units
XOR_LR = 0.5
XOR_STEPS = 1000
XOR_SEED = 0  # the initialisation: init_params(2, XOR_HIDDEN, XOR_SEED), as the checker's XOR check draws it


class NotWrittenError(Exception):
    """A function the picture needs still raises ``NotImplementedError``."""


def call(module: ModuleType, name: str, *args: Any) -> Any:
    """``module.name(*args)``; :class:`NotWrittenError` if it is missing or raises ``NotImplementedError``."""
    fn = getattr(module, name, None)
    if not callable(fn):
        raise NotWrittenError(name)
    try:
        result = fn(*args)
    except NotImplementedError:
        raise NotWrittenError(name) from None
    if result is None:
        raise TypeError(f"{name} returned None: is a `return` missing?")
    return result


def _title(fig: Figure, title: str, missing: list[str]) -> None:
    names = list(dict.fromkeys(missing))  # each name once, in order
    fig.suptitle(title + (f"\nnot written yet: {', '.join(names)}" if names else ""))


def _plot(ax: Any, missing: list[str], x: FloatArray, module: ModuleType, name: str, *args: Any, **style: Any) -> bool:
    """Plot ``module.name(*args)`` against ``x`` on ``ax``; if it is not written, add its name to ``missing``."""
    try:
        y = call(module, name, *args)
    except NotWrittenError as e:
        missing.append(str(e))
        return False
    ax.plot(x, y, **style)
    return True


def _bound(fn: Callable[..., Any], *extra: Any) -> Callable[[FloatArray], Any]:
    """``z -> fn(z, *extra)``: an element-wise function of ``z`` alone, for ``num_derivative``."""
    return lambda z: fn(z, *extra)


def activations(module: ModuleType) -> Figure:
    """Each activation and its derivative on ``[-5, 5]``; dots: ``num_derivative`` of the activation."""
    z = np.linspace(-5.0, 5.0, 401)
    dots = z[::25]
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_f, ax_d = fig.subplots(1, 2)
    missing: list[str] = []
    for k, (name, extra) in enumerate([("sigmoid", ()), ("relu", ()), ("tanh", ()), ("leaky_relu", (0.1,))]):
        label = name + (f" (alpha={extra[0]})" if extra else "")
        written = _plot(ax_f, missing, z, module, name, z, *extra, color=f"C{k}", label=label)
        _plot(ax_d, missing, z, module, f"{name}_deriv", z, *extra, color=f"C{k}", label=f"{label}'")
        if written:
            f = _bound(getattr(module, name), *extra)
            _plot(ax_d, missing, dots, module, "num_derivative", f, dots, color=f"C{k}", marker="o", linestyle="none")
    ax_f.set(title="activations f(z)", xlabel="z", ylim=(-1.2, 2.2))
    ax_d.set(title="derivatives f'(z); dots: num_derivative(f, z)", xlabel="z", ylim=(-0.1, 1.2))
    for ax in (ax_f, ax_d):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    _title(fig, "your activations (part1_activations.py)", missing)
    return fig


def softmax(module: ModuleType, z: tuple[float, ...] = (2.0, 1.0, 0.1, -1.0)) -> Figure:
    """The logits ``z`` and ``softmax(z)``; ``softmax(z + 1000)`` as dots, equal when it is stable."""
    logits = np.array([z])  # (1, K): one example
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax_z, ax_p = fig.subplots(1, 2)
    classes = np.arange(len(z))
    ax_z.bar(classes, logits[0], color="C0")
    ax_z.axhline(0.0, color="k", linewidth=0.8)
    ax_z.set(title="logits z", xlabel="class k", xticks=classes)
    missing: list[str] = []
    try:
        p = np.asarray(call(module, "softmax", logits))
        shifted = np.asarray(call(module, "softmax", logits + 1000.0))
        ax_p.bar(classes, p.ravel(), color="C1", label="softmax(z)")
        ax_p.plot(classes, shifted.ravel(), "ko", label="softmax(z + 1000)")
        ax_p.legend()
        ax_p.set(title=f"softmax(z): sums to {p.sum():.6f}")
    except NotWrittenError as e:
        missing.append(str(e))
        ax_p.set(title="softmax(z)")
    ax_p.set(xlabel="class k", xticks=classes, ylim=(0.0, 1.0))
    _title(fig, "your softmax (part2_dense_softmax.py)", missing)
    return fig


def train_xor(module: ModuleType) -> tuple[list[FloatArray], list[float]]:
    """Train the seed's 7.4 network on XOR with the learner's ``forward`` and ``backward``.

    Full-batch gradient descent, ``p <- p - lr * dp`` for each of ``W1, b1, W2, b2``, with the
    settings ``XOR_*`` above. Returns the trained ``[W1 (2, h), b1 (h,), W2 (h, 1), b2 (1,)]``
    and the loss (mean BCE) before each step.
    """
    X, labels = xor()
    y = labels[:, None].astype(float)  # (4, 1)
    params = init_params(2, XOR_HIDDEN, XOR_SEED)
    losses = []
    for _ in range(XOR_STEPS):
        P, cache = call(module, "forward", X, *params)
        P = np.clip(P, 1e-15, 1 - 1e-15)
        losses.append(float(-np.mean(y * np.log(P) + (1 - y) * np.log(1 - P))))
        grads = call(module, "backward", y, cache, params[2])
        for p, g in zip(params, grads, strict=True):
            p -= XOR_LR * g
    return params, losses


def xor_boundary(module: ModuleType) -> Figure:
    """The loss while :func:`train_xor` trains, and the trained network's decision boundary ``P = 0.5``."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_loss, ax_xor = fig.subplots(1, 2)
    X, labels = xor()
    for label, marker in ((0, "o"), (1, "s")):
        ax_xor.scatter(*X[labels == label].T, s=120, marker=marker, edgecolor="k", label=f"y = {label}", zorder=3)
    ax_xor.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="x1", ylabel="x2", aspect="equal")
    missing: list[str] = []
    try:
        params, losses = train_xor(module)
    except NotWrittenError as e:
        missing.append(str(e))
        ax_xor.set(title="XOR")
    else:
        gx, gy = np.meshgrid(np.linspace(-0.5, 1.5, 101), np.linspace(-0.5, 1.5, 101))
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (101 * 101, 2)
        P = np.asarray(call(module, "forward", grid, *params)[0]).reshape(gx.shape)
        ax_xor.contourf(gx, gy, P, levels=[0.0, 0.5, 1.0], colors=["C0", "C1"], alpha=0.25)
        ax_xor.contour(gx, gy, P, levels=[0.5], colors="k", linewidths=1)
        ax_xor.set(title="decision boundary P = 0.5")
        ax_loss.plot(losses)
        ax_loss.set(yscale="log", title=f"loss (mean BCE): {losses[0]:.3f} -> {losses[-1]:.4f}")
    ax_xor.legend(loc="upper center", ncol=2)
    ax_loss.set(xlabel="gradient descent step")
    ax_loss.grid(alpha=0.3)
    _title(fig, f"your network 2-{XOR_HIDDEN}-1 trained on XOR, gradient descent lr={XOR_LR}", missing)
    return fig


def optimizers(module: ModuleType, w0: float = 10.0, steps: int = 100) -> Figure:
    """``w_t`` for ``t = 0..steps`` of the learner's ``sgd``, ``momentum`` and ``adam`` on ``(w - 3)^2``.

    ``w_t`` is the optimizer's result after ``t`` steps from ``w0``, so each function is called
    ``steps + 1`` times. Learning rates: the seed's 0.1 (SGD) and 0.2 (Adam); 0.05 for Momentum.
    """
    settings: list[tuple[str, str, tuple[float, ...]]] = [
        ("sgd", "SGD lr=0.1", (0.1,)),
        ("momentum", "Momentum lr=0.05, beta=0.9", (0.05,)),
        ("adam", "Adam lr=0.2", (0.2,)),
    ]
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    missing: list[str] = []
    for name, label, (lr,) in settings:
        try:
            path = [float(call(module, name, w0, lr, t)) for t in range(steps + 1)]
        except NotWrittenError as e:
            missing.append(str(e))
            continue
        ax.plot(path, label=label)
    ax.axhline(3.0, color="k", linestyle=":", label="minimum w = 3")
    ax.set(xlabel="step t", ylabel="w_t")
    ax.grid(alpha=0.3)
    ax.legend()
    _title(fig, f"your optimizers minimising (w - 3)^2 from w = {w0:g}", missing)
    return fig


def shapes_image() -> FloatArray:
    """A ``(1, 1, 28, 28)`` image of a disk and a square: edges in every direction."""
    yy, xx = np.mgrid[0:28, 0:28]
    disk = (xx - 9) ** 2 + (yy - 9) ** 2 < 36
    square = (xx >= 14) & (xx < 24) & (yy >= 14) & (yy < 24)
    image: FloatArray = (disk | square).astype(float)
    return image[None, None]


EDGE_KERNELS = np.array(  # (2, 1, 3, 3): C_out = 2 kernels on C_in = 1 channel
    [
        [[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]],  # Sobel: vertical edges
        [[[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]],  # its transpose: horizontal edges
    ]
)


def feature_maps(module: ModuleType) -> Figure:
    """An image, its two edge feature maps ``relu(conv2d_forward(x, w, b, 1, 1))``, and those max-pooled 2x2."""
    x = shapes_image()  # (1, 1, 28, 28)
    b = np.zeros(len(EDGE_KERNELS))
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    axes = fig.subplots(1, 5)
    axes[0].imshow(x[0, 0], cmap="gray_r")
    axes[0].set(title=f"input\n{'x'.join(map(str, x.shape))}")
    missing: list[str] = []
    try:
        maps = np.maximum(np.asarray(call(module, "conv2d_forward", x, EDGE_KERNELS, b, 1, 1)), 0.0)
        for c, name in enumerate(("vertical", "horizontal")):
            axes[1 + c].imshow(maps[0, c], cmap="viridis")
            axes[1 + c].set(title=f"{name} edges\n{'x'.join(map(str, maps.shape))}")
        pooled = np.asarray(call(module, "maxpool2d_forward", maps, 2, 2))
        for c in range(2):
            axes[3 + c].imshow(pooled[0, c], cmap="viridis")
            axes[3 + c].set(title=f"max-pooled\n{'x'.join(map(str, pooled.shape))}")
    except NotWrittenError as e:
        missing.append(str(e))
    for ax in axes:
        ax.set(xticks=[], yticks=[])
    _title(fig, "your conv2d_forward (two 3x3 edge kernels, padding 1), relu, maxpool2d_forward 2x2", missing)
    return fig
