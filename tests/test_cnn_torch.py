"""PyTorch as the oracle for the CNN forward pass: convolution, pooling, flatten and LeNet.

Configurations are drawn by hypothesis and always valid: the input is drawn no smaller than the
kernel's receptive field minus the padding. Float32 results must agree with torch to ``1e-5`` and
float64 to ``1e-12``, both relative to the largest output (never below an absolute bound).
LeNet is rebuilt in ``torch.nn`` with the same layer names, so its ``state_dict()`` loads unchanged.
"""

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from cnn_cases import ConvCase, PoolCase, conv_cases, pool_cases, scaled_max_diff
from hypothesis import example, given, settings
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from backproplab.cnn import LeNet, avgpool2d_forward, conv2d_forward, flatten, maxpool2d_forward
from backproplab.cnn.lenet import PARAM_NAMES

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")

F = torch.nn.functional
Array = NDArray[Any]
TOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]
LOGIT_TOL = 1e-4  # LeNet in float32, absolute


def _scaled_max_diff(ours: Array, theirs: "torch.Tensor") -> float:
    assert ours.dtype == theirs.numpy().dtype
    return scaled_max_diff(ours, theirs.numpy())


# ----- convolution --------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None)
@given(case=conv_cases(max_kernel=7, max_padding=3, max_hw=32, max_channels=8, max_n=8))
@example(case=ConvCase(1, 1, 1, (1, 1), (1, 1), 1, 0, 1, seed=0))  # N=1, C=1, 1x1 everything
@example(case=ConvCase(3, 2, 4, (7, 5), (7, 5), 1, 0, 1, seed=1))  # kernel equals the input: 1x1 output
@example(case=ConvCase(2, 3, 2, (1, 3), (7, 7), (2, 3), (3, 2), 1, seed=2))  # kernel equals the padded input
@example(case=ConvCase(1, 2, 3, (9, 3), (5, 3), 1, (0, 1), 2, seed=3))  # dilated field equals the padded input
@example(case=ConvCase(2, 1, 2, (4, 30), (3, 4), (3, 2), (0, 1), (1, 2), seed=4))  # stride past the end: H_out 1
def test_conv2d_forward_matches_torch_conv2d(case: ConvCase, dtype: type[np.floating], bias: bool) -> None:
    x, w, b = case.arrays(dtype, bias)
    args = (case.stride, case.padding, case.dilation)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = conv2d_forward(x, w, b, *args)
    theirs = F.conv2d(torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), *args)
    assert _scaled_max_diff(ours, theirs) <= TOL[dtype]


# ----- pooling ------------------------------------------------------------------------------------
POOLS: dict[str, tuple[Callable[..., Array], Callable[..., "torch.Tensor"]]] = {
    "max": (maxpool2d_forward, F.max_pool2d),
    "avg": (avgpool2d_forward, F.avg_pool2d),
}


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None)
@given(case=pool_cases(max_kernel=7, max_hw=32, max_channels=8, max_n=8))
@example(case=PoolCase(1, 1, (1, 1), 1, None, 0, seed=0))  # N=1, C=1, 1x1 everything
@example(case=PoolCase(2, 3, (7, 4), (7, 4), None, 0, seed=1))  # kernel equals the input: 1x1 output
@example(case=PoolCase(2, 2, (3, 1), (5, 3), 1, (1, 1), seed=2))  # kernel equals the padded input
@example(case=PoolCase(1, 2, (9, 8), 3, (2, 3), 1, seed=3))
def test_pooling_matches_torch(case: PoolCase, dtype: type[np.floating], pool: str) -> None:
    ours_fn, theirs_fn = POOLS[pool]
    x = case.x(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = ours_fn(x, case.kernel, case.stride, case.padding)
    theirs = theirs_fn(torch.tensor(x), case.kernel, case.stride, case.padding)
    assert _scaled_max_diff(ours, theirs) <= TOL[dtype]


@settings(max_examples=30, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=5, max_side=4)))
def test_flatten_matches_torch_flatten_from_axis_1(x: Array) -> None:
    np.testing.assert_array_equal(flatten(x), torch.flatten(torch.tensor(x), 1).numpy())


def test_flatten_of_a_non_contiguous_view_matches_torch_flatten() -> None:
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 2)).transpose(0, 3, 1, 2)  # (3, 2, 4, 5)
    np.testing.assert_array_equal(flatten(x), torch.flatten(torch.tensor(x), 1).numpy())


# ----- LeNet --------------------------------------------------------------------------------------
def _torch_lenet(in_channels: int, num_classes: int, hw: tuple[int, int], seed: int) -> "torch.nn.Sequential":
    """The PyTorch LeNet, named so that its ``state_dict()`` keys are ``conv1.weight``, ..., ``fc3.bias``."""
    torch.manual_seed(seed)
    h, w = hw[0] // 2 // 2, hw[1] // 2 // 2  # two 2x2 pools; the 5x5 convolutions keep the size (padding 2)
    nn = torch.nn
    layers: OrderedDict[str, torch.nn.Module] = OrderedDict(
        [
            ("conv1", nn.Conv2d(in_channels, 6, 5, padding=2)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(6, 16, 5, padding=2)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(16 * h * w, 120)),
            ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(120, 84)),
            ("relu4", nn.ReLU()),
            ("fc3", nn.Linear(84, num_classes)),
        ]
    )
    return nn.Sequential(layers).eval()


def _state(model: "torch.nn.Module") -> dict[str, Array]:
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _logits(model: "torch.nn.Module", x: Array) -> Array:
    with torch.no_grad():
        out: Array = model(torch.from_numpy(x)).numpy()
    return out


# (in_channels, num_classes, (H, W)): MNIST digits, sklearn's 8x8 digits, a non-square colour image
LENET_CASES = [(1, 10, (28, 28)), (1, 10, (8, 8)), (3, 7, (12, 20))]


@pytest.mark.parametrize(("in_channels", "num_classes", "hw"), LENET_CASES)
def test_lenet_logits_match_torch(in_channels: int, num_classes: int, hw: tuple[int, int]) -> None:
    model = _torch_lenet(in_channels, num_classes, hw, seed=0)
    net = LeNet.from_state_dict(_state(model), input_hw=hw)
    x = np.random.default_rng(0).standard_normal((16, in_channels, *hw)).astype(np.float32)
    ours, theirs = net.forward(x), _logits(model, x)
    assert ours.shape == theirs.shape == (16, num_classes)
    assert ours.dtype == np.float32
    assert np.abs(ours - theirs).max() <= LOGIT_TOL
    np.testing.assert_array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))


def test_torch_lenet_state_dict_keys_are_the_param_names() -> None:
    assert list(_torch_lenet(1, 10, (28, 28), seed=0).state_dict()) == list(PARAM_NAMES)


@pytest.mark.parametrize(("in_channels", "num_classes", "hw"), LENET_CASES)
def test_lenet_from_npz_logits_match_torch(
    in_channels: int, num_classes: int, hw: tuple[int, int], tmp_path: Path
) -> None:
    model = _torch_lenet(in_channels, num_classes, hw, seed=1)
    path = tmp_path / "lenet.npz"
    state: dict[str, Any] = _state(model)
    np.savez(path, **state)
    x = np.random.default_rng(1).standard_normal((4, in_channels, *hw)).astype(np.float32)
    assert np.abs(LeNet.from_npz(path, input_hw=hw).forward(x) - _logits(model, x)).max() <= LOGIT_TOL


@pytest.mark.parametrize(("in_channels", "num_classes", "hw"), [*LENET_CASES, (2, 3, (13, 21))])
def test_lenet_layer_shapes_match_torch_layer_by_layer(in_channels: int, num_classes: int, hw: tuple[int, int]) -> None:
    model = _torch_lenet(in_channels, num_classes, hw, seed=2)
    a = torch.zeros((1, in_channels, *hw))
    theirs: list[tuple[str, tuple[int, ...]]] = [("input", (in_channels, *hw))]
    with torch.no_grad():
        for name, layer in model.named_children():
            a = layer(a)
            theirs.append((name, tuple(a.shape[1:])))
    net = LeNet.from_state_dict(_state(model), input_hw=hw)
    assert net.layer_shapes(*hw) == theirs
    assert net.layer_shapes() == theirs
