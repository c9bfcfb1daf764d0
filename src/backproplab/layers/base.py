"""The layer contract every NumPy layer follows, and the one weight initialisation they share.

A layer caches what its backward pass needs during ``forward(x)``; ``backward(dy)`` takes the
gradient of the loss with respect to the layer's output and returns the gradient with respect to
its input. Parametrised layers expose ``params`` and ``grads``: dicts with the same names and
shapes. ``backward`` *overwrites* ``grads`` (it does not accumulate), in place, so the arrays keep
their identity and an optimizer can hold on to them. ``buffers`` hold state that is not trained
(batch norm's running statistics). ``training`` switches layers that act differently in training
and at inference (batch norm, dropout), as ``torch.nn.Module.train()`` / ``.eval()`` do.
"""

from typing import Literal

import numpy as np

from backproplab._typing import FloatArray

Init = Literal["he", "xavier", "normal"]


def init_std(init: Init, fan_in: int) -> float:
    """Standard deviation of a weight initialisation for ``fan_in`` inputs per unit.

    ``"he"``: ``sqrt(2 / fan_in)`` (for ReLU, which zeroes half its inputs); ``"xavier"``:
    ``sqrt(1 / fan_in)`` (for tanh/sigmoid); ``"normal"``: 0.01.
    """
    stds = {"he": np.sqrt(2.0 / fan_in), "xavier": np.sqrt(1.0 / fan_in), "normal": 0.01}
    if init not in stds:
        raise ValueError(f"init must be 'he', 'xavier' or 'normal', got {init!r}")
    return float(stds[init])


def init_weight(
    shape: tuple[int, ...], fan_in: int, init: Init, rng: np.random.Generator, dtype: type[np.floating]
) -> FloatArray:
    """A ``shape`` array of normal weights with :func:`init_std` ``(init, fan_in)``, in ``dtype``."""
    return (rng.standard_normal(shape) * init_std(init, fan_in)).astype(dtype)


class Layer:
    """Base class: a layer with no parameters unless it fills ``params`` and ``grads``."""

    params: dict[str, FloatArray]
    grads: dict[str, FloatArray]
    buffers: dict[str, FloatArray]
    training: bool

    def __init__(self) -> None:
        self.params = {}
        self.grads = {}
        self.buffers = {}
        self.training = True

    def train(self, mode: bool = True) -> None:
        """Training mode (``mode=True``) or inference mode (``False``), as in PyTorch."""
        self.training = mode

    def forward(self, x: FloatArray) -> FloatArray:
        """``x: (N, ...)`` -> ``y: (N, ...)``; caches what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy = dL/dy`` with the shape of the last output -> ``dx = dL/dx`` with the shape of the last input."""
        raise NotImplementedError

    def backward_params(self, dy: FloatArray) -> None:
        """Fill ``grads`` from ``dy`` without returning ``dx``: for a network's first layer, whose
        input gradient nothing needs (PyTorch skips it too). Layers that can save work override it."""
        self.backward(dy)

    def _cached(self, cache: FloatArray | None) -> FloatArray:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return cache
