"""Feature crosses: each column's value, the backward pass against finite differences and PyTorch, errors."""

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.layers import FEATURES, FeatureMap, feature_map

FArr = NDArray[np.floating[Any]]
# every name alone, a few mixes, and all of them (x1 read by four columns: the gradients must add up)
NAME_SETS = [(name,) for name in FEATURES] + [("x1*x2", "x1"), ("sin(x2)", "x2^2", "x1"), FEATURES]


def _points(n: int, seed: int = 0) -> FArr:
    return np.random.default_rng(seed).uniform(-3.0, 3.0, size=(n, 2))


def test_every_column_is_its_formula() -> None:
    X = np.array([[0.5, -2.0], [3.0, 0.25]])
    x1, x2 = X[:, 0], X[:, 1]
    expected = np.column_stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)])
    np.testing.assert_allclose(feature_map(X, FEATURES), expected, rtol=0, atol=1e-15)


def test_columns_follow_the_order_of_the_names() -> None:
    X = _points(5)
    both = feature_map(X, ("sin(x2)", "x1"))
    np.testing.assert_array_equal(both[:, 0], np.sin(X[:, 1]))
    np.testing.assert_array_equal(both[:, 1], X[:, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_float_dtype_is_kept(dtype: type[np.floating]) -> None:
    assert feature_map(_points(3).astype(dtype), FEATURES).dtype == dtype


def test_a_single_point_maps_to_one_row() -> None:
    assert feature_map(np.array([[1.0, 2.0]]), FEATURES).shape == (1, 7)


@pytest.mark.parametrize("names", NAME_SETS, ids=lambda names: ",".join(names))
def test_backward_matches_central_differences(names: tuple[str, ...]) -> None:
    X = _points(6, seed=1)
    dy = np.random.default_rng(2).standard_normal((6, len(names)))  # random upstream gradient
    layer = FeatureMap(names)
    layer.forward(X)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        dx = layer.backward(dy)
        numeric = numerical_gradient(lambda: float(np.sum(feature_map(X, names) * dy)), X)
    assert dx.shape == (6, 2)
    assert relative_error(dx, numeric).max() <= 1e-7


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 8), k=st.integers(1, len(FEATURES)), seed=st.integers(0, 2**32 - 1))
def test_backward_matches_pytorch_autograd(n: int, k: int, seed: int) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    names = tuple(rng.permutation(FEATURES)[:k].tolist())
    X, dy = rng.uniform(-3.0, 3.0, size=(n, 2)), rng.standard_normal((n, k))
    x = torch.tensor(X, requires_grad=True)
    x1, x2 = x[:, 0], x[:, 1]
    columns = {
        "x1": x1,
        "x2": x2,
        "x1^2": x1**2,
        "x2^2": x2**2,
        "x1*x2": x1 * x2,
        "sin(x1)": torch.sin(x1),
        "sin(x2)": torch.sin(x2),
    }
    out = torch.stack([columns[name] for name in names], dim=1)
    out.backward(torch.from_numpy(dy))
    layer = FeatureMap(names)
    np.testing.assert_allclose(layer.forward(X), out.detach().numpy(), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(layer.backward(dy), x.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_the_layer_has_no_parameters_and_refuses_backward_before_forward() -> None:
    layer = FeatureMap(FEATURES)
    assert layer.params == {}
    assert layer.grads == {}
    with pytest.raises(RuntimeError, match=r"FeatureMap\.backward called before forward"):
        layer.backward(np.zeros((1, 7)))


def test_backward_refuses_an_upstream_gradient_of_the_wrong_shape() -> None:
    layer = FeatureMap(("x1", "x1^2"))
    layer.forward(_points(4))
    with pytest.raises(ValueError, match=r"expected dy of shape \(4, 2\), got \(4, 3\)"):
        layer.backward(np.zeros((4, 3)))


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("x1", "x3"), r"unknown names \['x3'\]; expected names from \['x1', 'x2', 'x1\^2'"),
        (("x1²",), r"unknown names \['x1²'\]"),
        (("x1", "x2", "x1"), r"each name at most once, got \['x1'\] repeated"),
        ((), r"expected at least one name from \['x1', 'x2'"),
    ],
    ids=["unknown", "display_name", "duplicate", "empty"],
)
def test_bad_names_are_refused_naming_them_and_the_allowed_list(names: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        feature_map(_points(2), names)
    with pytest.raises(ValueError, match=message):
        FeatureMap(names)


@pytest.mark.parametrize("shape", [(4, 3), (4,), (4, 1), (2, 2, 2)])
def test_inputs_that_are_not_n_by_2_are_refused_with_their_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 2\) .*got " + re.escape(str(shape))):
        feature_map(np.zeros(shape), ("x1",))
