"""The layer contract every NumPy layer follows, and the one weight initialisation they share.

A layer caches what its backward pass needs during ``forward(x)``; ``backward(dy)`` takes the
gradient of the loss with respect to the layer's output and returns the gradient with respect to
its input. Parametrised layers expose ``params`` and ``grads``: dicts with the same names and
shapes. ``backward`` *overwrites* ``grads`` (it does not accumulate), in place, so the arrays keep
their identity and an optimizer can hold on to them. ``buffers`` hold state that is not trained
(batch norm's running statistics). ``training`` switches layers that act differently in training
and at inference (batch norm, dropout), as ``torch.nn.Module.train()`` / ``.eval()`` do.
"""

from collections.abc import Mapping
from typing import Literal

import numpy as np

from backproplab._typing import FloatArray

Init = Literal["he", "xavier", "normal", "pytorch"]
WeightInit = tuple[Init, np.random.Generator | None, type[np.floating]]
"""How a layer's weights start: ``(init, rng, dtype)``."""


def init_std(init: Init, fan_in: int) -> float:
    """Standard deviation of a weight initialisation for ``fan_in`` inputs per unit.

    ``"he"``: ``sqrt(2 / fan_in)`` (for ReLU, which zeroes half its inputs); ``"xavier"``:
    ``sqrt(1 / fan_in)`` (for tanh/sigmoid); ``"normal"``: 0.01; ``"pytorch"``: ``sqrt(1 / (3 fan_in))``,
    the standard deviation of ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
    """
    stds = {"he": np.sqrt(2.0 / fan_in), "xavier": np.sqrt(1.0 / fan_in), "normal": 0.01}
    stds["pytorch"] = np.sqrt(1.0 / (3 * fan_in))
    if init not in stds:
        raise ValueError(f"init must be 'he', 'xavier', 'normal' or 'pytorch', got {init!r}")
    return float(stds[init])


def init_weight(
    shape: tuple[int, ...], fan_in: int, init: Init, rng: np.random.Generator, dtype: type[np.floating]
) -> FloatArray:
    """A ``shape`` array of initial weights with :func:`init_std` ``(init, fan_in)``, in ``dtype``.

    Normal for ``"he"``, ``"xavier"`` and ``"normal"``; for ``"pytorch"`` uniform in ``±1/sqrt(fan_in)``,
    what ``nn.Linear`` and ``nn.Conv2d`` start from (``kaiming_uniform_`` with ``a = sqrt(5)``).
    """
    if init == "pytorch":
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(dtype)
    return (rng.standard_normal(shape) * init_std(init, fan_in)).astype(dtype)


def init_bias(size: int, fan_in: int, init: Init, rng: np.random.Generator, dtype: type[np.floating]) -> FloatArray:
    """``(size,)`` initial biases: zeros, except PyTorch's ``U(±1/sqrt(fan_in))`` for ``init="pytorch"``."""
    if init == "pytorch":
        return init_weight((size,), fan_in, init, rng, dtype)
    return np.zeros(size, dtype=dtype)


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

    def _init_weight_and_bias(
        self, sizes: dict[str, int], names: tuple[str, str], shape: tuple[int, ...], fan_in: int, how: WeightInit
    ) -> None:
        """``params``: a weight of ``shape`` and one bias per output (the last of ``sizes``) under ``names``,
        started as ``how = (init, rng, dtype)`` says (:func:`init_weight`, :func:`init_bias`); ``grads``:
        zeros like them. ``sizes`` (``{"d_in": ..., "d_out": ...}``) must all be >= 1."""
        if min(sizes.values()) < 1:
            needs = " and ".join(f"{k} >= 1" for k in sizes)
            got = ", ".join(f"{k}={v}" for k, v in sizes.items())
            raise ValueError(f"{type(self).__name__} needs {needs}, got {got}")
        init, rng, dtype = how
        rng = rng if rng is not None else np.random.default_rng()
        n_out = list(sizes.values())[-1]
        weight = init_weight(shape, fan_in, init, rng, dtype)
        self.params = {names[0]: weight, names[1]: init_bias(n_out, fan_in, init, rng, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def state(self) -> dict[str, FloatArray]:
        """Parameters and buffers under PyTorch's names and in its layouts (views, not copies)."""
        return self.params | self.buffers

    def state_grads(self) -> dict[str, FloatArray]:
        """The gradients of :meth:`state`'s parameters, under the same names and in the same layouts."""
        return self.grads

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy the arrays of :meth:`state` from ``state`` (same keys and shapes) into this layer, in place."""
        for key, target in self.state().items():
            target[...] = state[key]

    def _cached(self, cache: FloatArray | None) -> FloatArray:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return cache
