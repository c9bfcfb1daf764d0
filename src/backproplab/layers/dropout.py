"""Inverted dropout: in training, zero each value with probability ``p`` and scale the rest by ``1 / (1 - p)``.

The scaling keeps every value's expectation unchanged, so at inference the layer is the identity
(``torch.nn.Dropout``). ``x`` and the mask share any shape ``(N, ...)``.
"""

import numpy as np

from backproplab._typing import FloatArray
from backproplab.layers.base import Layer


def _check_p(p: float) -> None:
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability p must lie in [0, 1), got {p}")


def dropout_forward(x: FloatArray, p: float, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """``x`` of any shape -> ``(out, mask)``, both of ``x``'s shape and dtype: ``out = x * mask``.

    ``mask`` is ``1 / (1 - p)`` where the value is kept (probability ``1 - p``), 0 where it is dropped.
    """
    _check_p(p)
    keep = rng.random(x.shape) >= p
    mask = keep.astype(x.dtype) / (1.0 - p)
    return x * mask, mask


def dropout_backward(dout: FloatArray, mask: FloatArray) -> FloatArray:
    """``dout`` of the mask's shape -> ``dx = dout * mask``: gradient flows only through the kept values."""
    if dout.shape != mask.shape:
        raise ValueError(f"dropout_backward: dout must have the mask's shape {mask.shape}, got {dout.shape}")
    return dout * mask


class Dropout(Layer):
    """Inverted dropout with drop probability ``p`` in training; the identity at inference.

    ``rng`` draws the masks; replace it (``layer.rng = np.random.default_rng(seed)``) to make a
    batch's mask reproducible.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()
        self._mask: FloatArray | None = None  # None after a forward at inference: backward is the identity too
        self._forward_done = False

    def forward(self, x: FloatArray) -> FloatArray:
        """``x: (N, ...)`` -> ``out`` of the same shape."""
        self._forward_done = True
        if not self.training:
            self._mask = None
            return x
        out, self._mask = dropout_forward(x, self.p, self.rng)
        return out

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy`` of the last output's shape -> ``dx``, by the rule of the last forward's mode."""
        if not self._forward_done:
            raise RuntimeError("Dropout.backward called before forward")
        return dy if self._mask is None else dropout_backward(dy, self._mask)
