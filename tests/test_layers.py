"""Layers: dense_forward, Dense construction, and every layer's backward against finite differences."""

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.layers import Dense, Layer, LeakyReLU, ReLU, Sigmoid, Tanh, dense_forward

FArr = NDArray[np.floating]
seeds = st.integers(0, 2**32 - 1)

ACTIVATION_LAYERS: dict[str, Callable[[], Layer]] = {
    "ReLU": ReLU,
    "LeakyReLU": LeakyReLU,
    "LeakyReLU_alpha_0.1": lambda: LeakyReLU(alpha=0.1),
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
}
ALL_LAYERS: dict[str, Callable[[], Layer]] = {
    "Dense": lambda: Dense(3, 2, rng=np.random.default_rng(0)),
    **ACTIVATION_LAYERS,
}


def _dense(d_in: int, d_out: int, rng: np.random.Generator) -> Dense:
    """A float64 Dense layer with a random, non-zero bias so that the forward pass exercises it."""
    layer = Dense(d_in, d_out, init="xavier", rng=rng)
    layer.params["b"][:] = rng.standard_normal(d_out)
    return layer


def _max_rel_error(analytic: FArr, layer: Layer, x: FArr, dy: FArr, wrt: FArr) -> float:
    """Max relative error of ``analytic`` against the five-point difference of ``sum(forward(x) * dy)`` in ``wrt``.

    The scalar is taken as ``sum((forward(x) - y0) * dy)`` with ``y0`` the unperturbed output: a constant
    shift, so the same gradient, but every term the perturbation does not touch is exactly 0. Summed whole,
    a value near 20 carries round-off of about 1e-15, which the difference turns into 1e-12: as large as
    the 1e-7 bound allows at the error's 1e-5 floor.
    """
    y0 = layer.forward(x).copy()
    numeric = numerical_gradient(lambda: float(np.sum((layer.forward(x) - y0) * dy)), wrt, h=1e-3)
    return float(relative_error(analytic, numeric).max())


# --- dense_forward ------------------------------------------------------------------------------


@given(n=st.integers(1, 5), d_in=st.integers(1, 4), d_out=st.integers(1, 4), seed=seeds)
@example(n=1, d_in=1, d_out=1, seed=0)
def test_dense_forward_matches_the_loop_version(n: int, d_in: int, d_out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    Z_loop = np.zeros((n, d_out))
    for i in range(n):
        for j in range(d_out):
            Z_loop[i, j] = b[j] + sum(X[i, k] * W[k, j] for k in range(d_in))
    Z = dense_forward(X, W, b)
    assert Z.shape == (n, d_out)
    np.testing.assert_allclose(Z, Z_loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape"),
    [
        ((5, 3), (4, 2), (2,)),  # d_in disagrees
        ((5, 3), (3, 2), (3,)),  # d_out disagrees
        ((5, 3), (2, 3), (2,)),  # W given as (d_out, d_in)
        ((3,), (3, 2), (2,)),  # unbatched x
        ((5, 3), (3, 2), (1, 2)),  # b as a row matrix
    ],
)
def test_dense_forward_rejects_mismatched_shapes_naming_them(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], b_shape: tuple[int, ...]
) -> None:
    pattern = ".*".join(re.escape(str(s)) for s in (x_shape, w_shape, b_shape))
    with pytest.raises(ValueError, match=pattern):
        dense_forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape))


# --- Dense construction -------------------------------------------------------------------------


def test_dense_parameters_have_batch_first_shapes() -> None:
    layer = Dense(3, 5, rng=np.random.default_rng(0))
    assert layer.params["W"].shape == (3, 5)
    assert layer.params["b"].shape == (5,)


def test_dense_bias_starts_at_zero() -> None:
    np.testing.assert_array_equal(Dense(3, 5, rng=np.random.default_rng(0)).params["b"], np.zeros(5))


def test_dense_grads_have_the_names_and_shapes_of_params() -> None:
    layer = Dense(4, 2, rng=np.random.default_rng(0))
    assert layer.grads.keys() == layer.params.keys()
    for name, p in layer.params.items():
        assert layer.grads[name].shape == p.shape
        assert layer.grads[name].dtype == p.dtype


@pytest.mark.parametrize(
    ("init", "d_in", "std"),
    [
        ("he", 400, np.sqrt(2 / 400)),
        ("xavier", 400, np.sqrt(1 / 400)),
        ("normal", 400, 0.01),
        ("he", 50, np.sqrt(2 / 50)),
    ],
)
def test_dense_init_std_matches_its_rule(init: Any, d_in: int, std: float) -> None:
    # d_out differs from d_in so that a rule using d_out (e.g. Glorot's 2 / (d_in + d_out)) would show
    W = Dense(d_in, 250, init=init, rng=np.random.default_rng(0)).params["W"]
    assert W.std() == pytest.approx(std, rel=0.03)
    assert abs(W.mean()) < 0.03 * std


def test_dense_with_the_same_seed_gives_the_same_weights() -> None:
    W1 = Dense(6, 4, rng=np.random.default_rng(7)).params["W"]
    W2 = Dense(6, 4, rng=np.random.default_rng(7)).params["W"]
    np.testing.assert_array_equal(W1, W2)


def test_dense_rejects_an_unknown_init() -> None:
    init: Any = "glorot_uniform"
    with pytest.raises(ValueError, match="glorot_uniform"):
        Dense(3, 2, init=init)


@pytest.mark.parametrize(("d_in", "d_out"), [(0, 2), (2, 0), (-1, 2)])
def test_dense_rejects_sizes_below_one(d_in: int, d_out: int) -> None:
    with pytest.raises(ValueError, match=f"d_in={d_in}, d_out={d_out}"):
        Dense(d_in, d_out)


# --- backward against finite differences --------------------------------------------------------

layer_sizes = {"n": st.integers(1, 8), "d_in": st.integers(1, 6), "d_out": st.integers(1, 6), "seed": seeds}


@settings(deadline=None)
@given(**layer_sizes)
@example(n=1, d_in=1, d_out=1, seed=0)
@example(n=8, d_in=6, d_out=1, seed=1)
def test_dense_input_gradient_matches_numerical_gradient(n: int, d_in: int, d_out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = _dense(d_in, d_out, rng)
    x, dy = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    layer.forward(x)
    dx = layer.backward(dy)
    assert _max_rel_error(dx, layer, x, dy, wrt=x) <= 1e-7


@settings(deadline=None)
@given(**layer_sizes)
@example(n=1, d_in=1, d_out=1, seed=0)
@example(n=1, d_in=6, d_out=6, seed=1)
def test_dense_weight_gradient_matches_numerical_gradient(n: int, d_in: int, d_out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = _dense(d_in, d_out, rng)
    x, dy = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    layer.forward(x)
    layer.backward(dy)
    dW = layer.grads["W"].copy()
    assert _max_rel_error(dW, layer, x, dy, wrt=layer.params["W"]) <= 1e-7


@settings(deadline=None)
@given(**layer_sizes)
@example(n=1, d_in=1, d_out=1, seed=0)
def test_dense_bias_gradient_matches_numerical_gradient(n: int, d_in: int, d_out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = _dense(d_in, d_out, rng)
    x, dy = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    layer.forward(x)
    layer.backward(dy)
    db = layer.grads["b"].copy()
    assert _max_rel_error(db, layer, x, dy, wrt=layer.params["b"]) <= 1e-7


@pytest.mark.parametrize("name", ACTIVATION_LAYERS)
@settings(deadline=None, max_examples=40)
@given(n=st.integers(1, 8), d=st.integers(1, 6), seed=seeds)
@example(n=1, d=1, seed=0)
def test_activation_layer_gradient_matches_numerical_gradient(name: str, n: int, d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = ACTIVATION_LAYERS[name]()
    x = rng.uniform(-3.0, 3.0, size=(n, d))
    if isinstance(layer, ReLU):  # and LeakyReLU: keep |x| >= 0.01 so no stencil straddles the kink
        x = np.copysign(np.maximum(np.abs(x), 0.01), x)
    dy = rng.standard_normal((n, d))
    layer.forward(x)
    dx = layer.backward(dy)
    assert dx.shape == x.shape
    assert _max_rel_error(dx, layer, x, dy, wrt=x) <= 1e-7


def test_relu_layer_passes_no_gradient_at_zero() -> None:
    layer = ReLU()
    layer.forward(np.array([[0.0, 1.0, -1.0]]))
    np.testing.assert_array_equal(layer.backward(np.array([[0.7, 0.3, 0.9]])), [[0.0, 0.3, 0.0]])


# --- grads are overwritten in place -------------------------------------------------------------


def test_dense_backward_keeps_the_identity_of_grad_arrays() -> None:
    rng = np.random.default_rng(0)
    layer = _dense(3, 2, rng)
    before = dict(layer.grads)
    for _ in range(2):
        layer.forward(rng.standard_normal((4, 3)))
        layer.backward(rng.standard_normal((4, 2)))
    assert all(layer.grads[name] is before[name] for name in before)


def test_dense_backward_overwrites_grads_instead_of_accumulating() -> None:
    rng = np.random.default_rng(1)
    layer = _dense(3, 2, rng)
    layer.forward(rng.standard_normal((4, 3)))
    dy = rng.standard_normal((4, 2))
    layer.backward(dy)
    first = {name: g.copy() for name, g in layer.grads.items()}
    layer.backward(dy)
    for name, g in layer.grads.items():
        np.testing.assert_array_equal(g, first[name])


def test_dense_backward_uses_the_input_of_the_latest_forward() -> None:
    rng = np.random.default_rng(2)
    layer = _dense(3, 2, rng)
    x_old, x_new, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x_old)
    layer.forward(x_new)
    layer.backward(dy)
    np.testing.assert_allclose(layer.grads["W"], x_new.T @ dy, rtol=1e-14)


@pytest.mark.parametrize("name", ALL_LAYERS)
def test_backward_before_forward_raises_runtime_error(name: str) -> None:
    layer = ALL_LAYERS[name]()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.random.default_rng(0).standard_normal((4, 2)))


# --- dtype --------------------------------------------------------------------------------------


def test_float32_dense_layer_stays_float32() -> None:
    rng = np.random.default_rng(3)
    layer = Dense(3, 2, rng=rng, dtype=np.float32)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(rng.standard_normal((4, 2)).astype(np.float32))
    assert {p.dtype for p in layer.params.values()} == {np.dtype(np.float32)}
    assert {g.dtype for g in layer.grads.values()} == {np.dtype(np.float32)}
    assert y.dtype == np.float32
    assert dx.dtype == np.float32


@pytest.mark.parametrize("name", ACTIVATION_LAYERS)
def test_float32_activation_layer_stays_float32(name: str) -> None:
    rng = np.random.default_rng(4)
    layer = ACTIVATION_LAYERS[name]()
    y = layer.forward(rng.standard_normal((4, 3)).astype(np.float32))
    dx = layer.backward(rng.standard_normal((4, 3)).astype(np.float32))
    assert y.dtype == np.float32
    assert dx.dtype == np.float32
