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
import torch
from torch import nn

from backproplab._typing import FloatArray
from backproplab.cnn.network import SpecNet
from backproplab.cnn.spec import KINDS, TorchModule, parse_spec, shape_table


def _module(modules: list[TorchModule]) -> nn.Module:
    """The ``torch.nn`` module(s) that the table of layer kinds names for one layer (several in a Sequential)."""
    built = [getattr(nn, name)(*args, **kwargs) for name, args, kwargs in modules]
    return built[0] if len(built) == 1 else nn.Sequential(*built)


def build_model(spec: str, input_shape: tuple[int, int, int]) -> nn.Sequential:
    """``spec`` as an ``nn.Sequential`` for ``(N, C, H, W)`` inputs of ``input_shape`` ``(C, H, W)``.

    Weights get PyTorch's default initialisation (seed with ``torch.manual_seed`` first).
    """
    layers = parse_spec(spec)
    rows = shape_table(layers, input_shape)
    children = OrderedDict(
        (row.name, _module(KINDS[layer.kind].torch(layer, before.shape)))
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


def from_numpy(net: SpecNet) -> nn.Sequential:
    """The PyTorch twin of a NumPy network, carrying its weights and buffers; returned in eval mode.

    The way back from :func:`export_numpy`: a network trained by the NumPy engine runs in PyTorch.
    """
    model = build_model(net.spec, net.input_shape)
    state = model.state_dict()
    for key, value in net.params.items():
        state[key] = torch.from_numpy(np.ascontiguousarray(value)).to(state[key].dtype)
    model.load_state_dict(state)
    return model.eval()
