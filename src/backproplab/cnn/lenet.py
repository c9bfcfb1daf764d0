"""A LeNet-5-style network, forward pass in NumPy, built from the weights of the PyTorch model.

Architecture (for one ``C x H x W`` image; ``same`` padding keeps 8x8 digits big enough)::

    conv1  C -> 6,  5x5, padding 2    (6, H, W)
    relu1, pool1  max 2x2, stride 2   (6, H/2, W/2)
    conv2  6 -> 16, 5x5, padding 2    (16, H/2, W/2)
    relu2, pool2  max 2x2, stride 2   (16, H/4, W/4)
    flatten                           (16 * H/4 * W/4,)
    fc1 -> 120, relu3, fc2 -> 84, relu4, fc3 -> num_classes

It is the spec :data:`~backproplab.cnn.spec.LENET_SPEC`: every size comes from
:func:`conv2d_out`, so other input sizes work too. Parameter names and shapes are PyTorch's
``state_dict()`` of the same model: ``conv1.weight (6, C, 5, 5)``, ``fc1.weight (120, 16*h*w)``
(``nn.Linear`` stores ``(out, in)``), ``fc1.bias (120,)``, ...
"""

import os
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from backproplab._io import read_npz
from backproplab.cnn.network import SpecNet, check_arrays
from backproplab.cnn.spec import LENET_SPEC, build, param_shapes, parse_spec


def lenet_spec(num_classes: int) -> str:
    return LENET_SPEC.format(num_classes=num_classes)


class LeNet(SpecNet):
    """LeNet forward pass from a PyTorch-named state dict; ``input_hw`` is the image size it was built for."""

    def __init__(self, params: Mapping[str, ArrayLike], input_hw: tuple[int, int] = (28, 28)) -> None:
        for key in ("conv1.weight", "fc3.weight"):
            if key not in params:
                raise ValueError(f"LeNet state dict lacks {key!r}; it has {sorted(params)}")
        in_channels = int(np.shape(params["conv1.weight"])[1])
        num_classes = int(np.shape(params["fc3.weight"])[0])
        super().__init__(lenet_spec(num_classes), params, (in_channels, *input_hw))
        self.in_channels, self.num_classes, self.input_hw = in_channels, num_classes, input_hw

    @classmethod
    def from_state_dict(cls, state: Mapping[str, ArrayLike], input_hw: tuple[int, int] = (28, 28)) -> "LeNet":
        """From PyTorch-named arrays (``{k: v.numpy() for k, v in model.state_dict().items()}``)."""
        return cls(state, input_hw)

    @classmethod
    def from_npz(cls, path: str | os.PathLike[str], input_hw: tuple[int, int] = (28, 28)) -> "LeNet":
        """From a ``.npz`` of PyTorch-named arrays; never unpickles. Errors name the path, NaN and inf too."""
        state = read_npz(path)
        check_arrays(str(path), state, PARAM_NAMES)
        try:
            return cls(state, input_hw)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from e

    @classmethod
    def random(
        cls, in_channels: int = 1, num_classes: int = 10, input_hw: tuple[int, int] = (28, 28), seed: int = 0
    ) -> "LeNet":
        """Randomly initialised float32 weights, PyTorch's default ``U(±1/sqrt(fan_in))`` (see :func:`build`)."""
        return cls(build(lenet_spec(num_classes), (in_channels, *input_hw), seed).state(), input_hw)


PARAM_NAMES = tuple(param_shapes(parse_spec(lenet_spec(10)), (1, 28, 28)))
"""The state-dict keys of a LeNet: ``conv1.weight``, ``conv1.bias``, ..., ``fc3.bias``."""
