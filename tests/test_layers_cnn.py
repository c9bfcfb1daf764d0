"""The layer classes and whole networks built from a spec, with PyTorch autograd as the oracle.

Networks drawn by hypothesis (convolution, pooling, batch norm, activations, dropout, fc) must give
the output, the input gradient, every parameter gradient and the running statistics of their
``torch.nn`` twin (:func:`~backproplab.training.models.build_model`, loaded with the NumPy weights)
under a random upstream gradient: within ``1e-10`` in float64 and ``1e-4`` in float32, relative to
the largest expected value (never below 1). Small fixed networks must also match five-point central
differences to ``1e-7``. Then the contract of the layer classes (errors, ``backward_params``,
``load_state``, ``train``), the table of layer kinds against the shapes the layers really produce,
and the initial weights of :func:`~backproplab.cnn.spec.build`. The functional backward passes have
their own tests (test_cnn_backward.py, test_batchnorm.py, test_dropout.py).
"""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from cnn_cases import scaled_max_diff
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.cnn import conv2d_forward
from backproplab.cnn.spec import KINDS, build, param_shapes, parse_spec, shape_table
from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Layer,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from backproplab.training.models import build_model
else:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    from backproplab.training.models import build_model

Array = NDArray[Any]
Shape3 = tuple[int, int, int]
TOL = {np.float32: 1e-4, np.float64: 1e-10}  # against torch, relative to the largest expected value
DTYPES = [np.float32, np.float64]
ACTIVATIONS = ("relu", "tanh", "sigmoid")
POOLS = ("pool2", "pool2p1", "avgpool2", "avgpool2p1")
SPREAD_FLOAT32 = 0.05  # smallest batch-norm input spread float32 is compared on in training mode
SPREAD_FLOAT64 = 1e-3  # and float64: constant features are left out
BN_RANGES = {"weight": (0.5, 1.5), "bias": (-0.5, 0.5), "running_mean": (-0.5, 0.5), "running_var": (0.5, 2.0)}


@dataclass(frozen=True)
class NetCase:
    """A network spec, its ``(C, H, W)`` input, a batch size and the seed of its weights and data."""

    spec: str
    input_shape: Shape3
    n: int
    seed: int


def _conv_token(c: int, k: int, s: int, p: int, d: int) -> str:
    """``conv<C>k<K>[s<S>][p<P>][d<D>]``, leaving out the options at their defaults."""
    return f"conv{c}k{k}" + (f"s{s}" if s > 1 else "") + (f"p{p}" if p else "") + (f"d{d}" if d > 1 else "")


@st.composite
def net_cases(draw: st.DrawFn, dropout: bool, min_n: int) -> NetCase:
    """Valid specs: spatial layers, ``flatten`` or ``gap``, then fc, bn and activations, then ``fc<K>``."""
    ints = st.integers
    convs = st.builds(_conv_token, ints(1, 3), ints(1, 3), ints(1, 2), ints(0, 1), ints(1, 2))
    spatial_kinds = (*ACTIVATIONS, *POOLS, "bn", *(("dropout30",) if dropout else ()))
    body = draw(st.lists(st.one_of(convs, st.sampled_from(spatial_kinds)), min_size=1, max_size=5))
    flat_kinds = st.sampled_from(("bn", *ACTIVATIONS, *(("dropout30",) if dropout else ())))
    head = draw(st.lists(st.one_of(flat_kinds, st.builds("fc{}".format, ints(1, 5))), max_size=3))
    spec = ",".join([*body, draw(st.sampled_from(("flatten", "gap"))), *head, f"fc{draw(ints(1, 4))}"])
    input_shape = (draw(ints(1, 3)), draw(ints(4, 10)), draw(ints(4, 10)))
    try:
        shape_table(parse_spec(spec), input_shape)
    except ValueError:
        assume(False)
    return NetCase(spec, input_shape, draw(ints(min_n, 6)), draw(ints(0, 2**32 - 2)))


def _numpy_net(case: NetCase, dtype: type[np.floating]) -> Sequential:
    """``build`` of the case, its batch norms moved off their identity start to random values."""
    net = build(case.spec, case.input_shape, case.seed, dtype=dtype)
    rng = np.random.default_rng(case.seed)
    for key, value in net.state().items():  # views: this writes into the layers
        layer, field = key.split(".")
        if layer.startswith("bn"):
            value[...] = rng.uniform(*BN_RANGES[field], value.shape)
    return net


def _twin(net: Sequential, case: NetCase, dtype: type[np.floating]) -> "nn.Sequential":
    """The ``torch.nn`` twin of ``net`` in ``dtype``, carrying its weights and buffers."""
    model = build_model(case.spec, case.input_shape)
    model = model.double() if dtype == np.float64 else model
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in net.state().items()}
    result = model.load_state_dict(state, strict=False)  # keeps torch's num_batches_tracked
    assert not result.unexpected_keys
    assert all(k.endswith("num_batches_tracked") for k in result.missing_keys)
    return model


def _grad(t: "torch.Tensor") -> Array:
    assert t.grad is not None
    out: Array = t.grad.numpy()
    return out


def _smallest_bn_spread(net: Sequential, x: Array) -> float:
    """The smallest standard deviation over the batch of any channel or feature a batch norm normalises.

    Runs a copy, so ``net``'s running statistics stay as they are.
    """
    spreads = [math.inf]
    for _, layer in copy.deepcopy(net):
        if isinstance(layer, BatchNorm1d | BatchNorm2d):
            spreads.append(float(x.std(axis=(0,) if x.ndim == 2 else (0, 2, 3)).min()))
        x = layer.forward(x)
    return min(spreads)


def _assert_matches_torch(case: NetCase, dtype: type[np.floating], training: bool) -> None:
    """Output, ``dx``, every ``state_grads`` entry and every buffer of the NumPy net against torch's."""
    net = _numpy_net(case, dtype)
    model = _twin(net, case, dtype)
    net.train(training)
    model.train(training)
    rng = np.random.default_rng(case.seed + 1)
    x = rng.standard_normal((case.n, *case.input_shape)).astype(dtype)
    if training:
        # batch statistics of values that barely differ are ill-conditioned: centring them loses most
        # of float32's digits in any implementation (float64 checks those batches). A feature that does
        # not vary at all (a padded border after flatten) multiplies round-off by 1/sqrt(eps) = 316 per
        # batch norm, in float64 too (conv1k1,...,conv1k1p1,flatten,bn,bn,bn,fc1: 4e-9 apart, both ~0).
        assume(_smallest_bn_spread(net, x) >= (SPREAD_FLOAT32 if dtype == np.float32 else SPREAD_FLOAT64))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = net.forward(x)
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = net.backward(dy)
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    y_t = model(x_t)
    y_t.backward(torch.from_numpy(dy))
    tol = TOL[dtype]
    assert y.dtype == dx.dtype == dtype
    assert scaled_max_diff(y, y_t.detach().numpy()) <= tol
    assert scaled_max_diff(dx, _grad(x_t)) <= tol
    params = dict(model.named_parameters())
    grads = net.state_grads()
    assert list(grads) == list(params)
    for key, grad in grads.items():
        assert scaled_max_diff(grad, _grad(params[key])) <= tol, key
    buffers = model.state_dict()
    for key, value in net.buffers.items():  # updated by a training forward, untouched at inference
        assert scaled_max_diff(value, buffers[key].numpy()) <= tol, key


FULL_CASE = NetCase("conv3k3p1d2,bn,relu,pool2p1,conv2k2s2,tanh,avgpool2p1,flatten,fc5,bn,sigmoid,fc3", (2, 9, 7), 3, 0)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=30, deadline=None)
@given(case=net_cases(dropout=False, min_n=2))
@example(case=FULL_CASE)
@example(case=NetCase("conv2k1p1,sigmoid,gap,bn,fc1", (1, 4, 6), 2, 5))
def test_network_gradients_match_torch_autograd_in_training_mode(case: NetCase, dtype: type[np.floating]) -> None:
    _assert_matches_torch(case, dtype, training=True)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=30, deadline=None)
@given(case=net_cases(dropout=True, min_n=1))
@example(case=FULL_CASE)
@example(case=NetCase("dropout30,conv2k3s2,relu,pool2,flatten,dropout30,fc2", (3, 10, 8), 1, 7))
def test_network_gradients_match_torch_autograd_in_eval_mode(case: NetCase, dtype: type[np.floating]) -> None:
    _assert_matches_torch(case, dtype, training=False)


# ----- central differences on small whole networks -------------------------------------------------
def _forward_noting_switches(net: Sequential, x: Array) -> tuple[Array, list[Array]]:
    """``net.forward(x)``, and where each ReLU passes and each max pool routes its gradient.

    A finite difference is only exact while that pattern holds: a stencil that moves a ReLU input
    across 0, or changes a window's maximum, measures a different function.
    """
    switches = []
    for _, layer in net:
        if isinstance(layer, ReLU):
            switches.append(x > 0)
        x = layer.forward(x)
        if isinstance(layer, MaxPool2d):
            switches.append(layer.backward(np.ones_like(x)) != 0)
    return x, switches


GRADCHECK_CASES = [
    NetCase("conv2k3p1,bn,relu,pool2,conv3k2,tanh,avgpool2p1,flatten,fc4", (2, 6, 7), 2, 3),
    NetCase("conv3k2s2,sigmoid,bn,conv2k3p1d2,relu,pool2p1,gap,bn,fc3", (2, 7, 8), 3, 1),
]


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=lambda c: c.spec)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_network_gradients_match_central_differences(case: NetCase, training: bool) -> None:
    net = _numpy_net(case, np.float64)
    net.train(training)
    rng = np.random.default_rng(case.seed + 1)
    x = rng.standard_normal((case.n, *case.input_shape))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y0, base = _forward_noting_switches(net, x)
        dy = rng.standard_normal(y0.shape)
        dx = net.backward(dy)
        analytic = {key: grad.copy() for key, grad in net.grads.items()} | {"x": dx}
        crossed: list[bool] = []

        def loss() -> float:
            # y0 subtracted: the same gradient, but every term the perturbation leaves alone is exactly 0
            y, switches = _forward_noting_switches(net, x)
            crossed.append(any(not np.array_equal(a, b) for a, b in zip(switches, base, strict=True)))
            return float(np.sum((y - y0) * dy))

        checked = 0
        for key, wrt in (net.params | {"x": x}).items():
            crossed.clear()
            numeric = numerical_gradient(loss, wrt)
            # the four evaluations of each element's stencil, in order: skip those that crossed a kink
            smooth = ~np.reshape(crossed, (wrt.size, 4)).any(axis=1).reshape(wrt.shape)
            assert relative_error(analytic[key], numeric)[smooth].max(initial=0.0) <= 1e-7, key
            checked += int(smooth.sum())
    assert checked >= 0.9 * sum(p.size for p in net.params.values()) + 0.9 * x.size


# ----- backward_params and the identity of grads ---------------------------------------------------
def _dense_first() -> tuple[Sequential, Array]:
    rng = np.random.default_rng(2)
    layers: list[tuple[str, Layer]] = [
        ("fc1", Dense(4, 5, "pytorch", rng, np.float64)),
        ("tanh1", Tanh()),
        ("bn1", BatchNorm1d(5, dtype=np.float64)),
        ("fc2", Dense(5, 3, "pytorch", rng, np.float64)),
    ]
    return Sequential(layers), rng.standard_normal((6, 4))


def _conv_first() -> tuple[Sequential, Array]:
    net = build("conv2k3,bn,relu,pool2,flatten,fc3", (2, 6, 5), seed=1, dtype=np.float64)
    return net, np.random.default_rng(2).standard_normal((4, 2, 6, 5))


@pytest.mark.parametrize("make", [_dense_first, _conv_first], ids=["dense-first", "conv-first"])
def test_backward_params_fills_the_grads_backward_fills_and_returns_none(
    make: Callable[[], tuple[Sequential, Array]],
) -> None:
    net, x = make()
    dy = np.random.default_rng(3).standard_normal(net.forward(x).shape)
    net.backward(dy)
    expected = {key: grad.copy() for key, grad in net.grads.items()}
    for grad in net.grads.values():
        grad.fill(np.nan)
    net.forward(x)
    backward_params: Callable[[Array], object] = net.backward_params  # typed -> None; checked at runtime
    assert backward_params(dy) is None
    for key, grad in net.grads.items():
        np.testing.assert_array_equal(grad, expected[key], err_msg=key)


def test_grads_keep_their_identity_across_steps_so_an_optimizer_can_hold_them() -> None:
    net, x = _conv_first()
    rng = np.random.default_rng(4)
    params, grads = list(net.params.values()), list(net.grads.values())
    assert all(a is b for a, b in zip(grads, [g for _, layer in net for g in layer.grads.values()], strict=True))
    steps = []
    for _ in range(2):
        dy = rng.standard_normal(net.forward(x).shape)
        net.backward(dy)
        assert all(a is b for a, b in zip(net.grads.values(), grads, strict=True))
        assert all(any(np.shares_memory(v, g) for g in grads) for v in net.state_grads().values())
        steps.append([g.copy() for g in grads])
        for p, g in zip(params, grads, strict=True):  # plain SGD on the held lists
            p -= 0.1 * g
    assert all(not np.array_equal(a, b) for a, b in zip(*steps, strict=True))


# ----- the contract of the layer classes -----------------------------------------------------------
LAYERS: dict[str, Callable[[], Layer]] = {
    "Conv2d": lambda: Conv2d(1, 2, 3),
    "MaxPool2d": lambda: MaxPool2d(2),
    "AvgPool2d": lambda: AvgPool2d(2),
    "GlobalAvgPool2d": GlobalAvgPool2d,
    "Flatten": Flatten,
    "Dense": lambda: Dense(3, 2),
    "BatchNorm1d": lambda: BatchNorm1d(3),
    "BatchNorm2d": lambda: BatchNorm2d(3),
    "Dropout": Dropout,
    "ReLU": ReLU,
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
}


@pytest.mark.parametrize("name", LAYERS)
def test_backward_before_forward_raises_runtime_error_naming_the_class(name: str) -> None:
    with pytest.raises(RuntimeError, match=rf"^{name}\.backward called before forward"):
        LAYERS[name]().backward(np.ones((2, 3), dtype=np.float32))


def test_sequential_backward_before_forward_names_the_last_layer() -> None:
    net = build("conv2k3,relu,flatten,fc2", (1, 5, 5))
    with pytest.raises(RuntimeError, match=r"^Dense\.backward called before forward"):
        net.backward(np.ones((2, 2), dtype=np.float32))


@pytest.mark.parametrize(("name", "expected"), [("Flatten", (2, 12)), ("GlobalAvgPool2d", (2, 3))])
def test_backward_with_a_wrong_dy_shape_names_both_shapes(name: str, expected: tuple[int, int]) -> None:
    layer = LAYERS[name]()
    layer.forward(np.ones((2, 3, 2, 2)))
    with pytest.raises(ValueError, match=rf"^{name}\.backward") as info:
        layer.backward(np.ones((2, 5)))
    assert str(expected) in str(info.value)
    assert "(2, 5)" in str(info.value)


@pytest.mark.parametrize(
    ("layers", "message"),
    [([("relu", ReLU()), ("relu", ReLU())], r"unique names, got \['relu', 'relu'\]"), ([], r"at least one layer")],
)
def test_sequential_rejects_duplicate_names_and_no_layers(layers: list[tuple[str, Layer]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sequential(layers)


LOAD_SPEC, LOAD_SHAPE = "conv2k3,bn,relu,flatten,fc4,bn,fc3", (2, 5, 4)


def _snapshot(net: Sequential) -> dict[str, Array]:
    return {key: value.copy() for key, value in net.state().items()}


def test_load_state_copies_pytorch_layouts_in_place_and_ignores_extra_keys() -> None:
    net = build(LOAD_SPEC, LOAD_SHAPE, seed=0, dtype=np.float64)
    other = _numpy_net(NetCase(LOAD_SPEC, LOAD_SHAPE, 3, 1), np.float64)
    held = dict(net.params)
    net.load_state(other.state() | {"bn1.num_batches_tracked": np.array(3)})
    assert all(net.params[key] is held[key] for key in held)
    for key, value in other.state().items():
        np.testing.assert_array_equal(net.state()[key], value, err_msg=key)
    net.train(False)
    other.train(False)
    x = np.random.default_rng(0).standard_normal((3, *LOAD_SHAPE))
    np.testing.assert_array_equal(net.forward(x), other.forward(x))


@pytest.mark.parametrize("key", ["conv1.weight", "bn1.running_var", "fc2.bias"])
def test_load_state_without_a_key_names_it_and_changes_nothing(key: str) -> None:
    net = build(LOAD_SPEC, LOAD_SHAPE, dtype=np.float64)
    before = _snapshot(net)
    state = {k: v + 1.0 for k, v in net.state().items() if k != key}
    with pytest.raises(ValueError, match=rf"lacks \['{key}'\]"):
        net.load_state(state)
    for k, v in net.state().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@pytest.mark.parametrize(
    ("key", "bad", "expected"),
    [
        ("fc2.weight", np.zeros((4, 3)), r"fc2\.weight must be a float array of shape \(3, 4\), got float64 \(4, 3\)"),
        ("bn2.bias", np.zeros(5), r"bn2\.bias must be a float array of shape \(4,\), got float64 \(5,\)"),
        ("fc2.bias", np.zeros(3, dtype=np.int64), r"fc2\.bias must be a float array of shape \(3,\), got int64"),
    ],
)
def test_load_state_with_a_wrong_array_names_key_and_shapes_and_changes_nothing(
    key: str, bad: Array, expected: str
) -> None:
    net = build(LOAD_SPEC, LOAD_SHAPE, dtype=np.float64)
    before = _snapshot(net)
    state = {k: v + 1.0 for k, v in net.state().items()} | {key: bad}  # every other key valid and new
    with pytest.raises(ValueError, match=expected):
        net.load_state(state)
    for k, v in net.state().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_train_false_reaches_every_layer_and_train_restores_it() -> None:
    net = build("conv3k3p1,bn,relu,pool2,dropout50,conv2k1,tanh,gap,fc4,bn,sigmoid,dropout50,fc3", (2, 6, 6))
    x = np.random.default_rng(0).standard_normal((4, 2, 6, 6)).astype(np.float32)
    buffers = {key: value.copy() for key, value in net.buffers.items()}
    net.train(False)
    assert not net.training
    assert all(not layer.training for _, layer in net)
    y = net.forward(x)
    np.testing.assert_array_equal(net.forward(x), y)  # no dropout, batch norm on its running statistics
    for key, value in net.buffers.items():
        np.testing.assert_array_equal(value, buffers[key], err_msg=key)
    net.train()
    assert net.training
    assert all(layer.training for _, layer in net)
    assert not np.array_equal(net.forward(x), y)
    assert all(not np.array_equal(value, buffers[key]) for key, value in net.buffers.items())


# ----- the table of layer kinds ---------------------------------------------------------------------
SPEC_OF_KIND = {
    "conv": "conv3k3s2p1d2,flatten,fc2",
    "pool": "pool2p1,flatten,fc2",
    "avgpool": "avgpool2,flatten,fc2",
    "bn": "bn,flatten,fc3,bn,fc2",
    "dropout": "dropout50,flatten,fc2",
    "gap": "gap,fc2",
    "flatten": "flatten,fc2",
    "fc": "flatten,fc3,fc2",
    "relu": "relu,flatten,fc2",
    "tanh": "tanh,flatten,fc2",
    "sigmoid": "sigmoid,flatten,fc2",
}
TABLE_SHAPE = (2, 7, 6)


def test_every_kind_in_the_table_has_a_spec_here() -> None:
    assert set(SPEC_OF_KIND) == set(KINDS)
    assert all(kind in {t.kind for t in parse_spec(spec)} for kind, spec in SPEC_OF_KIND.items())


@pytest.mark.parametrize("kind", SPEC_OF_KIND)
def test_numpy_and_torch_state_have_the_keys_and_shapes_of_param_shapes(kind: str) -> None:
    spec = SPEC_OF_KIND[kind]
    net, model = build(spec, TABLE_SHAPE), build_model(spec, TABLE_SHAPE)
    expected = list(param_shapes(parse_spec(spec), TABLE_SHAPE).items())
    torch_state = model.state_dict().items()
    assert [(k, v.shape) for k, v in net.state().items()] == expected
    assert [(k, tuple(v.shape)) for k, v in torch_state if not k.endswith("num_batches_tracked")] == expected
    torch_grads = [(k, tuple(p.shape)) for k, p in model.named_parameters()]
    assert [(k, v.shape) for k, v in net.state_grads().items()] == torch_grads


@pytest.mark.parametrize("kind", SPEC_OF_KIND)
def test_shape_table_rows_are_the_shapes_each_layer_produces(kind: str) -> None:
    spec = SPEC_OF_KIND[kind]
    rows = shape_table(parse_spec(spec), TABLE_SHAPE)[1:]
    net, model = build(spec, TABLE_SHAPE, dtype=np.float64), build_model(spec, TABLE_SHAPE).double()
    assert [row.name for row in rows] == [name for name, _ in net] == [name for name, _ in model.named_children()]
    x: Array = np.random.default_rng(0).standard_normal((3, *TABLE_SHAPE))
    x_t = torch.from_numpy(x)
    with torch.no_grad():
        for row, (name, layer), child in zip(rows, net, model.children(), strict=True):
            x, x_t = layer.forward(x), child(x_t)
            assert x.shape == (3, *row.shape) == tuple(x_t.shape), name
            assert row.params == sum(p.size for p in layer.params.values()), name


# ----- build: seeded, and PyTorch's initialisation ----------------------------------------------------
INIT_SPEC, INIT_SHAPE = "conv8k3,bn,relu,dropout50,flatten,fc16,fc10", (3, 6, 5)
FAN_IN = {"conv1": 3 * 3 * 3, "fc1": 8 * 4 * 3, "fc2": 16}


def test_build_is_deterministic_for_a_seed_and_differs_across_seeds() -> None:
    a, b, c = (build(INIT_SPEC, INIT_SHAPE, seed=s) for s in (7, 7, 8))
    for key, value in a.state().items():
        np.testing.assert_array_equal(value, b.state()[key], err_msg=key)
    for key in ("conv1.weight", "conv1.bias", "fc1.weight", "fc2.bias"):
        assert not np.array_equal(a.state()[key], c.state()[key]), key
    x = np.random.default_rng(0).standard_normal((4, *INIT_SHAPE)).astype(np.float32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))  # the dropout masks are seeded too
    assert not np.array_equal(a.forward(x), c.forward(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_build_starts_from_pytorchs_default_initialisation(dtype: type[np.floating]) -> None:
    state = build(INIT_SPEC, INIT_SHAPE, seed=0, dtype=dtype).state()
    torch.manual_seed(0)
    theirs = build_model(INIT_SPEC, INIT_SHAPE).state_dict()
    starts = {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0}
    for key, value in state.items():
        assert value.dtype == dtype, key
        layer, field = key.split(".")
        if layer.startswith("bn"):
            np.testing.assert_array_equal(value, np.full(value.shape, starts[field]), err_msg=key)
            continue
        bound = 1.0 / math.sqrt(FAN_IN[layer])  # U(-bound, bound), as nn.Conv2d and nn.Linear
        assert np.abs(theirs[key].numpy()).max() <= bound, key
        assert np.abs(value).max() <= bound, key
        assert np.abs(value).max() >= 0.5 * bound, key
        if value.size >= 100:
            assert 0.8 <= float(np.std(value)) / (bound / math.sqrt(3)) <= 1.2, key


def test_a_nan_inside_a_network_flows_on_to_the_output_while_the_functions_refuse_it() -> None:
    """Layers skip the NaN/inf scans of the functions they call, so the loss's guard can report divergence."""
    net = build("conv2k3p1,bn,relu,pool2,conv2k3,avgpool2,flatten,fc3", (1, 8, 8), seed=0, dtype=np.float64)
    net.params["conv1.weight"][0, 0, 0, 0] = np.nan
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    with np.errstate(invalid="ignore"):
        out = net.forward(x)
        dx = net.backward(np.ones_like(out))
    assert np.isnan(out).all()
    assert np.isnan(dx).any()
    with pytest.raises(ValueError, match="x: expected finite values, found nan"):
        conv2d_forward(np.full((1, 1, 4, 4), np.nan), np.ones((1, 1, 3, 3)))
