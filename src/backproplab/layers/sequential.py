"""A network as a list of named layers applied in order: the model of both the MLP and the CNN.

Names follow the children of a ``torch.nn.Sequential`` (``conv1``, ``relu1``, ``fc1``, ...), so
:meth:`Sequential.state_dict` has the keys and layouts of PyTorch's ``state_dict()`` of the same
model (``fc1.weight (out, in)``, ``bn1.running_mean``, ...) and weights move between the two
without renaming.
"""

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from backproplab._typing import FloatArray
from backproplab.layers.base import Layer


class Sequential(Layer):
    """``y = layer_k(... layer_2(layer_1(x)))``; backward runs the layers in reverse.

    ``params``, ``grads`` and ``buffers`` are the layers' own arrays (not copies) under
    ``"<layer name>.<array name>"``, in layer order: an optimizer given ``list(params.values())`` and
    ``list(grads.values())`` updates the layers in place.
    """

    def __init__(self, layers: Sequence[tuple[str, Layer]]) -> None:
        super().__init__()
        names = [name for name, _ in layers]
        if not layers or len(set(names)) != len(names):
            raise ValueError(f"Sequential needs at least one layer and unique names, got {names}")
        self.names = names
        self.layers = [layer for _, layer in layers]
        for name, layer in layers:
            self.params |= {f"{name}.{k}": v for k, v in layer.params.items()}
            self.grads |= {f"{name}.{k}": v for k, v in layer.grads.items()}
            self.buffers |= {f"{name}.{k}": v for k, v in layer.buffers.items()}

    def __iter__(self) -> Iterator[tuple[str, Layer]]:
        return zip(self.names, self.layers, strict=True)

    def train(self, mode: bool = True) -> None:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)

    def forward(self, x: FloatArray) -> FloatArray:
        """``x: (N, ...)`` through every layer -> the last layer's output ``(N, ...)``."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy`` (shape of the last output) back through every layer -> ``dx`` (shape of the input)."""
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def backward_params(self, dy: FloatArray) -> None:
        """As :meth:`backward`, without the gradient of the network's input, which nothing needs."""
        for layer in reversed(self.layers[1:]):
            dy = layer.backward(dy)
        self.layers[0].backward_params(dy)

    def state(self) -> dict[str, FloatArray]:
        """PyTorch's ``state_dict()`` of the twin model: every parameter and buffer, named and laid out as there."""
        return {f"{name}.{k}": v for name, layer in self for k, v in layer.state().items()}

    def state_grads(self) -> dict[str, FloatArray]:
        """The gradients of :meth:`state`'s parameters, named and laid out as PyTorch's ``param.grad``."""
        return {f"{name}.{k}": v for name, layer in self for k, v in layer.state_grads().items()}

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy the arrays of :meth:`state`'s keys from ``state`` (extra keys are ignored); ``ValueError``
        names a missing key or a wrong shape, and nothing is changed then."""
        own = self.state()
        missing = [k for k in own if k not in state]
        if missing:
            raise ValueError(f"state lacks {missing}; this network needs {list(own)}")
        for key, target in own.items():
            a = np.asarray(state[key])
            if a.shape != target.shape or a.dtype.kind != "f":
                raise ValueError(f"{key} must be a float array of shape {target.shape}, got {a.dtype} {a.shape}")
        for name, layer in self:
            layer.load_state({k: np.asarray(state[f"{name}.{k}"]) for k in layer.state()})
