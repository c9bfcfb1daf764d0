"""A spec as a ``torch.nn`` model whose ``state_dict()`` the NumPy :class:`~backproplab.cnn.SpecNet` runs.

The children of the ``nn.Sequential`` are named as the rows of :func:`~backproplab.cnn.spec.shape_table`
(``conv1``, ``bn1``, ``relu1``, ``pool1``, ..., ``flatten``, ``fc1``), so the state-dict keys are those of
:func:`~backproplab.cnn.spec.param_shapes` (plus PyTorch's ``bnK.num_batches_tracked`` counters)::

    model = build_model(preset_spec("fast", 10), (1, 28, 28))
    ...  # train it, then model.eval()
    net = export_numpy(model, preset_spec("fast", 10), (1, 28, 28))  # the same logits in NumPy
"""

from collections import OrderedDict

import numpy as np
from torch import nn

from backproplab._typing import FloatArray
from backproplab.cnn.network import BN_EPS, SpecNet
from backproplab.cnn.spec import LENET_SPEC, Layer, parse_spec, shape_table

PRESETS: dict[str, str] = {
    "lenet": LENET_SPEC,  # LeNet-5 with ReLU and max pooling, about 108k parameters at 28x28
    # pooling straight after each conv: batch norm and ReLU run on maps 4x smaller; about 92% on
    # Fashion-MNIST in 5 epochs of ~14 s on 2 cores (bench/train_time_to_accuracy.py)
    "fast": "conv16k3p1,pool2,bn,relu,conv32k3p1,pool2,bn,relu,conv64k3p1,bn,relu,flatten,fc{num_classes}",
}
"""Training presets as spec strings; ``{num_classes}`` is filled in by :func:`preset_spec`."""
_ELEMENTWISE: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def preset_spec(name: str, num_classes: int) -> str:
    """The spec of preset ``name`` for ``num_classes`` outputs; ``ValueError`` lists the presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    return PRESETS[name].format(num_classes=num_classes)


def _module(layer: Layer, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> nn.Module:
    """The ``torch.nn`` module of one layer that maps one ``in_shape`` input to ``out_shape``."""
    k, s, p = layer.kernel, layer.stride, layer.padding
    if layer.kind == "conv":
        return nn.Conv2d(in_shape[0], layer.size, k, stride=s, padding=p, dilation=layer.dilation)
    if layer.kind == "pool":
        return nn.MaxPool2d(k, stride=s, padding=p)
    if layer.kind == "avgpool":
        return nn.AvgPool2d(k, stride=s, padding=p)  # count_include_pad=True, as avgpool2d_forward
    if layer.kind == "bn":  # per channel of (C, H, W) maps, per feature of (D,) vectors
        batch_norm = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
        return batch_norm(in_shape[0], eps=BN_EPS)
    if layer.kind == "gap":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (N, C, H, W) -> (N, C, 1, 1) -> (N, C)
    if layer.kind == "dropout":
        return nn.Dropout(layer.size / 100)
    if layer.kind == "flatten":
        return nn.Flatten()
    if layer.kind == "fc":
        return nn.Linear(in_shape[0], out_shape[0])
    return _ELEMENTWISE[layer.kind]()


def build_model(spec: str, input_shape: tuple[int, int, int]) -> nn.Sequential:
    """``spec`` as an ``nn.Sequential`` for ``(N, C, H, W)`` inputs of ``input_shape`` ``(C, H, W)``.

    Weights get PyTorch's default initialisation (seed with ``torch.manual_seed`` first).
    """
    layers = parse_spec(spec)
    rows = shape_table(layers, input_shape)
    children = OrderedDict(
        (row.name, _module(layer, before.shape, row.shape))
        for layer, before, row in zip(layers, rows[:-1], rows[1:], strict=True)
    )
    return nn.Sequential(children)


def state_dict_arrays(model: nn.Module) -> dict[str, FloatArray]:
    """Float32 NumPy copies of ``model.state_dict()``, without the ``num_batches_tracked`` counters."""
    return {
        key: value.detach().cpu().numpy().astype(np.float32)
        for key, value in model.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }


def export_numpy(model: nn.Module, spec: str, input_shape: tuple[int, int, int]) -> SpecNet:
    """The NumPy forward pass of ``model`` (built by :func:`build_model` from ``spec`` and ``input_shape``).

    It computes what ``model.eval()`` computes: batch norm with the running statistics, no dropout.
    """
    return SpecNet(spec, state_dict_arrays(model), input_shape)
