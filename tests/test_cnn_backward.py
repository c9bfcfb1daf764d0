"""Backward passes of convolution and pooling: finite differences, PyTorch autograd, loops, bad input.

Configurations are drawn by hypothesis (pairs as well as ints). Finite differences run in float64 on
small sizes and must agree to a relative error of 1e-7; PyTorch's autograd is compared on the full
ranges, to 1e-10 in float64 and 1e-4 in float32, relative to the largest gradient. Max pooling is
fed distinct values (no ties) except in the tests about ties, which check PyTorch's routing: all of
a window's gradient goes to its first maximum in row-major order. Upstream gradients are random.
"""

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from cnn_cases import ConvCase, FArr, PoolCase, conv_cases, hw_pair, pool_cases
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backproplab.cnn import (
    avgpool2d_backward,
    avgpool2d_backward_naive,
    avgpool2d_forward,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_out,
    maxpool2d_backward,
    maxpool2d_backward_naive,
    maxpool2d_forward,
)
from backproplab.cnn.shapes import Pair
from backproplab.gradcheck import numerical_gradient, relative_error

Pool = Callable[..., FArr]
POOLS: dict[str, tuple[Pool, Pool, Pool]] = {  # forward, backward, loop backward
    "max": (maxpool2d_forward, maxpool2d_backward, maxpool2d_backward_naive),
    "avg": (avgpool2d_forward, avgpool2d_backward, avgpool2d_backward_naive),
}
TORCH_TOL = {np.float32: 1e-4, np.float64: 1e-10}
DTYPES = [np.float32, np.float64]

FULL_CONVS = conv_cases(max_kernel=7, max_padding=3, max_hw=32, max_channels=8, max_n=8)
SMALL_CONVS = conv_cases(max_kernel=3, max_padding=2, max_hw=6, max_channels=2, max_n=2)


FULL_POOLS = pool_cases(max_kernel=7, max_hw=32, max_channels=8, max_n=8)
SMALL_POOLS = pool_cases(max_kernel=3, max_hw=6, max_channels=2, max_n=2)


def _upstream(shape: tuple[int, ...], seed: int, dtype: type[np.floating] = np.float64) -> FArr:
    """A random upstream gradient (never all ones: those hide transposed indices)."""
    return np.random.default_rng(seed + 1).standard_normal(shape).astype(dtype)


def _max_rel_error(analytic: FArr, forward: Callable[[], FArr], dout: FArr, wrt: FArr) -> float:
    """Max relative error of ``analytic`` against the five-point difference of ``sum(forward() * dout)`` in ``wrt``.

    The scalar is ``sum((forward() - out0) * dout)`` with ``out0`` the unperturbed output: the same
    gradient, but every output the perturbation does not touch contributes exactly 0, so round-off stays
    near 1e-16 instead of growing with the whole sum (see ``_max_rel_error`` in ``test_layers.py``).
    """
    out0 = forward().copy()
    numeric = numerical_gradient(lambda: float(np.sum((forward() - out0) * dout)), wrt, h=1e-3)
    return float(relative_error(analytic, numeric).max())


def _assert_matches_torch(ours: FArr, theirs: Any, dtype: type[np.floating]) -> None:
    """``ours`` equals the tensor ``theirs`` up to the dtype's tolerance, relative to the largest value."""
    expected = theirs.detach().numpy()
    assert ours.dtype == expected.dtype == dtype
    assert ours.shape == expected.shape
    tol = TORCH_TOL[dtype]
    np.testing.assert_allclose(ours, expected, rtol=tol, atol=tol * max(1.0, float(np.abs(expected).max())))


# ----- convolution --------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(case=SMALL_CONVS)
@example(case=ConvCase(1, 1, 1, (1, 1), (1, 1), 1, 0, 1, seed=0))  # N=1, C=1, 1x1 everything
@example(case=ConvCase(2, 2, 2, (3, 2), (3, 2), 1, 0, 1, seed=1))  # kernel equals the input: 1x1 output
@example(case=ConvCase(2, 2, 1, (5, 6), (3, 2), (2, 3), (0, 1), (2, 1), seed=2))  # every option a non-square pair
@example(case=ConvCase(1, 2, 2, (6, 5), (2, 3), 3, 2, 1, seed=3))  # stride 3 leaves the last padded row unread
def test_conv2d_backward_matches_central_differences(case: ConvCase) -> None:
    x, w, b = case.arrays(np.float64, bias=True)
    assert b is not None
    args = (case.stride, case.padding, case.dilation)
    dout = _upstream(conv2d_forward(x, w, b, *args).shape, case.seed)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        dx, dw, db = conv2d_backward(dout, x, w, *args)

        def forward() -> FArr:  # reads x, w and b as numerical_gradient perturbs them
            return conv2d_forward(x, w, b, *args)

        assert _max_rel_error(dx, forward, dout, wrt=x) <= 1e-7
        assert _max_rel_error(dw, forward, dout, wrt=w) <= 1e-7
        assert _max_rel_error(db, forward, dout, wrt=b) <= 1e-7


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None)
@given(case=FULL_CONVS)
@example(case=ConvCase(1, 1, 1, (1, 1), (1, 1), 1, 0, 1, seed=0))  # N=1, C=1, 1x1 everything
@example(case=ConvCase(3, 2, 4, (7, 5), (7, 5), 1, 0, 1, seed=1))  # kernel equals the input: 1x1 output
@example(case=ConvCase(2, 3, 2, (1, 3), (7, 7), (2, 3), (3, 2), 1, seed=2))  # kernel equals the padded input
@example(case=ConvCase(8, 8, 8, (32, 29), (7, 6), (1, 3), (3, 0), (2, 1), seed=3))  # largest sizes
@example(case=ConvCase(2, 1, 2, (4, 30), (3, 4), (3, 2), (0, 1), (1, 2), seed=4))  # stride past the end: H_out 1
def test_conv2d_backward_matches_torch_autograd(case: ConvCase, dtype: type[np.floating]) -> None:
    torch = pytest.importorskip("torch")
    x, w, b = case.arrays(dtype, bias=True)
    args = (case.stride, case.padding, case.dilation)
    dout = _upstream(conv2d_forward(x, w, b, *args).shape, case.seed, dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        dx, dw, db = conv2d_backward(dout, x, w, *args)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = torch.nn.functional.conv2d(xt, wt, bt, *args)
    for ours, theirs in zip((dx, dw, db), torch.autograd.grad(out, (xt, wt, bt), torch.tensor(dout)), strict=True):
        _assert_matches_torch(ours, theirs, dtype)


@settings(max_examples=25, deadline=None)
@given(case=conv_cases(max_kernel=4, max_padding=2, max_hw=8, max_channels=3, max_n=3))
@example(case=ConvCase(1, 1, 1, (1, 1), (1, 1), 1, 0, 1, seed=0))
@example(case=ConvCase(2, 3, 2, (7, 8), (3, 2), (2, 3), (1, 0), (1, 2), seed=1))
def test_conv2d_backward_equals_the_loop_version(case: ConvCase) -> None:
    x, w, _ = case.arrays(np.float64, bias=False)
    args = (case.stride, case.padding, case.dilation)
    dout = _upstream(conv2d_forward(x, w, None, *args).shape, case.seed)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        fast, naive = conv2d_backward(dout, x, w, *args), conv2d_backward_naive(dout, x, w, *args)
    for a, b, shape in zip(fast, naive, (x.shape, w.shape, (w.shape[0],)), strict=True):
        assert a.shape == b.shape == shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, float(np.abs(b).max())))


def test_conv2d_backward_keeps_the_images_of_a_batch_apart() -> None:
    """Many small images share each block of the grid: no gradient may leak from one into the next."""
    x, w, _ = ConvCase(300, 2, 3, (4, 5), (3, 3), 1, 1, 1, seed=0).arrays(np.float64, bias=False)
    dout = _upstream((300, 3, 4, 5), 0)
    dx, dw, _ = conv2d_backward(dout, x, w, padding=1)
    per_image = [conv2d_backward(dout[i : i + 1], x[i : i + 1], w, padding=1) for i in range(len(x))]
    np.testing.assert_allclose(dx, np.concatenate([g[0] for g in per_image]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, sum(g[1] for g in per_image), rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("block", [1, 7, 100])
def test_conv2d_backward_does_not_depend_on_its_block_size(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    case = ConvCase(3, 2, 3, (7, 6), (3, 2), (2, 1), (1, 2), (1, 2), seed=0)
    x, w, _ = case.arrays(np.float64, bias=False)
    args = (case.stride, case.padding, case.dilation)
    dout = _upstream(conv2d_forward(x, w, None, *args).shape, 0)
    monkeypatch.setattr("backproplab.cnn.conv.GRID_PER_BLOCK", block)
    for ours, loops in zip(conv2d_backward(dout, x, w, *args), conv2d_backward_naive(dout, x, w, *args), strict=True):
        np.testing.assert_allclose(ours, loops, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_backward_keeps_the_float_dtype(dtype: type[np.floating]) -> None:
    x, w, _ = ConvCase(2, 3, 4, (6, 5), (3, 2), 1, 1, 1, seed=0).arrays(dtype, bias=False)
    dout = _upstream((2, 4, 6, 6), 0, dtype)
    assert [g.dtype for g in conv2d_backward(dout, x, w, padding=1)] == [dtype] * 3
    assert [g.dtype for g in conv2d_backward_naive(dout, x, w, padding=1)] == [dtype] * 3


def _shapes_pattern(*parts: object) -> str:
    """A regex matching the ``str`` of each part, in order, anywhere in a message."""
    return ".*".join(re.escape(str(p)) for p in parts)


CONV_BACKWARDS = {"fast": conv2d_backward, "naive": conv2d_backward_naive}


@pytest.mark.parametrize("backward", sorted(CONV_BACKWARDS))
@pytest.mark.parametrize(
    ("dout_shape", "x_shape", "w_shape", "pattern"),
    [
        (
            (2, 4, 5, 5),
            (2, 3, 8, 8),
            (4, 3, 3, 3),
            _shapes_pattern("(N, C_out, H_out, W_out) = (2, 4, 6, 6)", (2, 4, 5, 5)),
        ),
        ((2, 3, 6, 6), (2, 3, 8, 8), (4, 3, 3, 3), _shapes_pattern((2, 4, 6, 6), (2, 3, 6, 6))),
        ((4, 6, 6), (2, 3, 8, 8), (4, 3, 3, 3), _shapes_pattern((2, 4, 6, 6), (4, 6, 6))),
        ((2, 4, 6, 6), (2, 3, 8, 8), (4, 2, 3, 3), _shapes_pattern("channel mismatch", (2, 3, 8, 8), (4, 2, 3, 3))),
        ((2, 4, 6, 6), (3, 8, 8), (4, 3, 3, 3), _shapes_pattern("(N, C_in, H, W)", (3, 8, 8))),
        ((2, 4, 6, 6), (2, 3, 8, 8), (3, 3, 3), _shapes_pattern("(C_out, C_in, KH, KW)", (3, 3, 3))),
    ],
)
def test_conv2d_backward_rejects_mismatched_shapes_naming_them(
    backward: str,
    dout_shape: tuple[int, ...],
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    pattern: str,
) -> None:
    with pytest.raises(ValueError, match=pattern):
        CONV_BACKWARDS[backward](np.zeros(dout_shape), np.zeros(x_shape), np.zeros(w_shape))


@pytest.mark.parametrize("backward", sorted(CONV_BACKWARDS))
@pytest.mark.parametrize(("where", "bad"), [("dout", np.nan), ("dout", np.inf), ("x", -np.inf), ("x", np.nan)])
def test_conv2d_backward_rejects_non_finite_values_naming_array_and_index(
    backward: str, where: str, bad: float
) -> None:
    arrays = {"dout": np.zeros((2, 1, 2, 3)), "x": np.zeros((2, 1, 4, 5))}
    arrays[where][1, 0, 1, 2] = bad
    with pytest.raises(ValueError, match=f"{where}: .*{re.escape('(1, 0, 1, 2)')}"):
        CONV_BACKWARDS[backward](arrays["dout"], arrays["x"], np.ones((1, 1, 3, 3)))


def test_conv2d_backward_rejects_an_integer_dout_with_type_error() -> None:
    with pytest.raises(TypeError, match=r"dout.*int64"):
        conv2d_backward(np.zeros((1, 1, 2, 2), dtype=np.int64), np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)))


# ----- pooling ------------------------------------------------------------------------------------
@pytest.mark.parametrize("pool", sorted(POOLS))
@settings(max_examples=15, deadline=None)
@given(case=SMALL_POOLS)
@example(case=PoolCase(1, 1, (1, 1), 1, None, 0, seed=0))  # N=1, C=1, 1x1 everything
@example(case=PoolCase(2, 2, (3, 2), (3, 2), None, 0, seed=1))  # kernel equals the input: 1x1 output
@example(case=PoolCase(2, 1, (5, 6), (3, 2), (1, 2), (1, 1), seed=2))  # overlapping rows, padding on both sides
def test_pool_backward_matches_central_differences(pool: str, case: PoolCase) -> None:
    forward, backward, _ = POOLS[pool]
    x = case.x(np.float64, distinct=True, spacing=0.01)  # maxima 0.01 apart: +-2h never changes the argmax
    dout = _upstream(forward(x, *case.args).shape, case.seed)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        dx = backward(dout, x, *case.args)
        assert _max_rel_error(dx, lambda: forward(x, *case.args), dout, wrt=x) <= 1e-7


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool", sorted(POOLS))
@settings(max_examples=20, deadline=None)
@given(case=FULL_POOLS)
@example(case=PoolCase(1, 1, (1, 1), 1, None, 0, seed=0))  # N=1, C=1, 1x1 everything
@example(case=PoolCase(3, 2, (7, 5), (7, 5), None, (3, 2), seed=1))  # kernel equals the input: 1x1 output
@example(case=PoolCase(2, 3, (28, 28), 2, None, 0, seed=2))  # LeNet's pool: windows tile the input
@example(case=PoolCase(8, 8, (32, 31), (7, 6), (1, 3), (3, 3), seed=3))  # largest sizes, overlapping rows
@example(case=PoolCase(2, 2, (9, 30), (3, 4), (3, 2), (1, 0), seed=4))  # stride larger than the kernel
def test_pool_backward_matches_torch_autograd(pool: str, dtype: type[np.floating], case: PoolCase) -> None:
    torch = pytest.importorskip("torch")
    forward, backward, _ = POOLS[pool]
    x = case.x(dtype, distinct=pool == "max")
    dout = _upstream(forward(x, *case.args).shape, case.seed, dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        dx = backward(dout, x, *case.args)
    xt = torch.tensor(x, requires_grad=True)
    torch_pool = torch.nn.functional.max_pool2d if pool == "max" else torch.nn.functional.avg_pool2d
    out = torch_pool(xt, *case.args)
    (theirs,) = torch.autograd.grad(out, xt, torch.tensor(dout))
    _assert_matches_torch(dx, theirs, dtype)


@pytest.mark.parametrize("pool", sorted(POOLS))
@settings(max_examples=25, deadline=None)
@given(case=pool_cases(max_kernel=4, max_hw=9, max_channels=3, max_n=3), ties=st.booleans())
@example(case=PoolCase(1, 1, (1, 1), 1, None, 0, seed=0), ties=False)
@example(case=PoolCase(2, 3, (8, 7), (3, 2), 1, (1, 1), seed=1), ties=True)
def test_pool_backward_equals_the_loop_version(pool: str, case: PoolCase, ties: bool) -> None:
    forward, backward, naive = POOLS[pool]
    x = np.floor(case.x(np.float64, distinct=False)) if ties else case.x(np.float64, distinct=True)
    dout = _upstream(forward(x, *case.args).shape, case.seed)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        fast, slow = backward(dout, x, *case.args), naive(dout, x, *case.args)
    assert fast.shape == slow.shape == x.shape
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_maxpool_backward_gives_a_tied_window_all_to_its_first_element() -> None:
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, :, 2:] = [[1.0, 3.0], [3.0, 3.0]]
    dx = maxpool2d_backward(np.array([[[[5.0, 7.0]]]]), x, 2)
    np.testing.assert_array_equal(dx[0, 0], [[5.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]])


def test_maxpool_backward_adds_up_where_overlapping_windows_share_their_maximum() -> None:
    x = np.array([[[[0.0, 9.0, 0.0, 1.0]]]])
    dx = maxpool2d_backward(np.array([[[[2.0, 3.0, 4.0]]]]), x, (1, 2), stride=1)
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 5.0, 0.0, 4.0]])


def _tied_windows(x: FArr, kernel: Pair, stride: Pair | None, padding: Pair) -> int:
    """How many windows hold their maximum more than once, counted window by window."""
    (kh, kw), (sh, sw), (ph, pw) = hw_pair(kernel), hw_pair(stride or kernel), hw_pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    h_out, w_out = conv2d_out(x.shape[2], x.shape[3], kh, kw, (sh, sw), (ph, pw))
    windows = [
        xp[i, c, r * sh : r * sh + kh, s * sw : s * sw + kw] for i, c, r, s in np.ndindex(*x.shape[:2], h_out, w_out)
    ]
    return sum(int((win == win.max()).sum() > 1) for win in windows)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("kind", "args"),
    [
        ("constant", (2, None, 0)),
        ("integers", (3, 1, 1)),
        ("integers", ((2, 3), (1, 2), (1, 0))),
        ("relu", (2, None, 0)),
    ],
)
def test_maxpool_backward_routes_ties_as_torch_does(dtype: type[np.floating], kind: str, args: tuple[Any, ...]) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = {
        "constant": np.full((2, 3, 6, 8), 0.5),
        "integers": rng.integers(0, 3, (2, 3, 9, 8)).astype(np.float64),
        "relu": np.maximum(rng.standard_normal((4, 6, 28, 28)), 0.0),  # all-zero windows, as after a ReLU
    }[kind].astype(dtype)
    dout = _upstream(maxpool2d_forward(x, *args).shape, 0, dtype)
    xt = torch.tensor(x, requires_grad=True)
    (theirs,) = torch.autograd.grad(torch.nn.functional.max_pool2d(xt, *args), xt, torch.tensor(dout))
    assert _tied_windows(x, *args) > 0
    _assert_matches_torch(maxpool2d_backward(dout, x, *args), theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_backward_keeps_the_float_dtype(pool: str, dtype: type[np.floating]) -> None:
    _, backward, naive = POOLS[pool]
    x = PoolCase(2, 3, (6, 5), 3, 2, 1, seed=0).x(dtype, distinct=True)
    dout = _upstream((2, 3, 3, 3), 0, dtype)
    assert backward(dout, x, 3, 2, 1).dtype == naive(dout, x, 3, 2, 1).dtype == dtype


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize("which", ["fast", "naive"])
@pytest.mark.parametrize(
    ("dout_shape", "x_shape", "pattern"),
    [
        ((2, 3, 4, 3), (2, 3, 8, 8), _shapes_pattern("(N, C, H_out, W_out) = (2, 3, 4, 4)", (2, 3, 4, 3))),
        ((2, 4, 4, 4), (2, 3, 8, 8), _shapes_pattern((2, 3, 4, 4), (2, 4, 4, 4))),
        ((3, 4, 4), (2, 3, 8, 8), _shapes_pattern((2, 3, 4, 4), (3, 4, 4))),
        ((2, 3, 4, 4), (3, 8, 8), _shapes_pattern("(N, C, H, W)", (3, 8, 8))),
    ],
)
def test_pool_backward_rejects_mismatched_shapes_naming_them(
    pool: str, which: str, dout_shape: tuple[int, ...], x_shape: tuple[int, ...], pattern: str
) -> None:
    backward = POOLS[pool][1 if which == "fast" else 2]
    with pytest.raises(ValueError, match=pattern):
        backward(np.zeros(dout_shape), np.zeros(x_shape), 2)


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize(("where", "bad"), [("dout", np.nan), ("dout", -np.inf), ("x", np.nan)])
def test_pool_backward_rejects_non_finite_values_naming_array_and_index(pool: str, where: str, bad: float) -> None:
    arrays = {"dout": np.zeros((2, 1, 2, 2)), "x": np.zeros((2, 1, 4, 5))}
    arrays[where][1, 0, 1, 0] = bad
    with pytest.raises(ValueError, match=f"{where}: .*{re.escape('(1, 0, 1, 0)')}"):
        POOLS[pool][1](arrays["dout"], arrays["x"], 2)
