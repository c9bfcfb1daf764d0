"""CNN forward pass in NumPy: output shapes, naive vs im2col convolution, pooling, validation, LeNet.

The comparisons with PyTorch live in ``test_cnn_torch.py``; this file needs NumPy only. Sizes are
checked against an independent count of the window positions, the fast convolution against the
loop version, and every bad input against the message a learner would need to fix the call.
"""

import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cnn_cases import ConvCase, FArr, conv_cases, hw_pair, pairs, scaled_max_diff
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.cnn import (
    LeNet,
    avgpool2d_forward,
    conv2d_forward,
    conv2d_forward_naive,
    conv2d_out,
    flatten,
    maxpool2d_forward,
)
from backproplab.cnn.network import CHUNK
from backproplab.cnn.shapes import Pair

Forward = Callable[..., FArr]
CONVS: dict[str, Forward] = {"im2col": conv2d_forward, "naive": conv2d_forward_naive}
POOLS: dict[str, Forward] = {"max": maxpool2d_forward, "avg": avgpool2d_forward}


# ----- conv2d_out ---------------------------------------------------------------------------------
def test_seed_exercise_7_8_assertions_hold() -> None:
    assert conv2d_out(28, 28, 5, 5, stride=1, padding=0) == (24, 24)
    assert conv2d_out(28, 28, 5, 5, stride=1, padding=2) == (28, 28)


def _positions(size: int, k: int, s: int, p: int, d: int) -> int:
    """How many window starts fit: counted, not derived from the closed formula."""
    field = d * (k - 1) + 1
    return len(range(0, size + 2 * p - field + 1, s))


@settings(max_examples=200, deadline=None)
@given(
    hw=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    kernel=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    stride=pairs(1, 4),
    padding=pairs(0, 4),
    dilation=pairs(1, 3),
)
@example(hw=(28, 20), kernel=(5, 3), stride=(1, 2), padding=(2, 0), dilation=(1, 2))
@example(hw=(1, 1), kernel=(1, 1), stride=1, padding=0, dilation=1)
def test_conv2d_out_counts_window_positions_per_dimension(
    hw: tuple[int, int], kernel: tuple[int, int], stride: Pair, padding: Pair, dilation: Pair
) -> None:
    expected = tuple(
        _positions(n, k, s, p, d)
        for n, k, s, p, d in zip(hw, kernel, hw_pair(stride), hw_pair(padding), hw_pair(dilation), strict=True)
    )
    if min(expected) == 0:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv2d_out(*hw, *kernel, stride, padding, dilation)
    else:
        assert conv2d_out(*hw, *kernel, stride, padding, dilation) == expected


@pytest.mark.parametrize(("k", "d"), [(1, 3), (2, 2), (3, 2), (5, 3)])
def test_dilation_spreads_the_kernel_to_a_receptive_field_of_d_times_k_minus_1_plus_1(k: int, d: int) -> None:
    field = d * (k - 1) + 1
    assert conv2d_out(field, field, k, k, dilation=d) == (1, 1)
    assert conv2d_out(field + 4, field + 1, k, k, dilation=d) == (5, 2)
    if field > 1:
        with pytest.raises(ValueError, match=f"receptive field {field}x{field}"):
            conv2d_out(field - 1, field, k, k, dilation=d)


def test_conv2d_out_treats_height_and_width_separately() -> None:
    assert conv2d_out(28, 20, 5, 3, stride=(1, 2), padding=(2, 0), dilation=(1, 2)) == (28, 8)
    assert conv2d_out(20, 28, 3, 5, stride=(2, 1), padding=(0, 2), dilation=(2, 1)) == (8, 28)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"stride": 0}, "stride"),
        ({"stride": (1, -1)}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": 0}, "dilation"),
    ],
)
def test_conv2d_out_rejects_out_of_range_hyperparameters_naming_them(kwargs: dict[str, Pair], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        conv2d_out(8, 8, 3, 3, **kwargs)


# ----- conv2d_forward against the loop version ----------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@settings(max_examples=40, deadline=None)
@given(case=conv_cases(max_kernel=3, max_padding=2, max_hw=7, max_channels=3, max_n=2))
@example(case=ConvCase(1, 1, 1, (1, 1), (1, 1), 1, 0, 1, seed=0))  # N=1, C=1, 1x1 everything
@example(case=ConvCase(2, 2, 3, (3, 2), (3, 2), 1, 0, 1, seed=1))  # kernel equals the input: 1x1 output
@example(case=ConvCase(1, 3, 2, (1, 3), (3, 3), (2, 1), (1, 0), (1, 1), seed=2))  # kernel equals the padded input
@example(case=ConvCase(2, 1, 2, (5, 6), (3, 2), (2, 3), (0, 1), (2, 1), seed=3))  # every option a non-square pair
def test_conv2d_forward_matches_the_loop_version(case: ConvCase, bias: bool) -> None:
    x, w, b = case.arrays(np.float64, bias)
    args = (case.stride, case.padding, case.dilation)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        fast, naive = conv2d_forward(x, w, b, *args), conv2d_forward_naive(x, w, b, *args)
    assert fast.shape == (case.n, case.c_out, *conv2d_out(*case.hw, *case.kernel, *args))
    assert fast.dtype == naive.dtype == np.float64
    assert scaled_max_diff(fast, naive) <= 1e-12


def test_conv2d_forward_of_a_non_contiguous_view_equals_that_of_its_copy() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6, 2, 3)).transpose(2, 3, 1, 0)  # (2, 3, 6, 5), not C-contiguous
    w = rng.standard_normal((4, 3, 3, 2))
    assert not x.flags.c_contiguous
    np.testing.assert_array_equal(conv2d_forward(x, w, stride=(1, 2)), conv2d_forward(x.copy(), w, stride=(1, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_forward_keeps_the_float_dtype(dtype: type[np.floating]) -> None:
    x, w, b = ConvCase(2, 3, 4, (6, 5), (3, 2), 1, 1, 1, seed=0).arrays(dtype, bias=True)
    assert conv2d_forward(x, w, b).dtype == dtype


# ----- convolution: bad input ---------------------------------------------------------------------
def _shapes_pattern(*parts: object) -> str:
    """A regex matching the ``str`` of each part, in order, anywhere in a message."""
    return ".*".join(re.escape(str(p)) for p in parts)


@pytest.mark.parametrize("conv", sorted(CONVS))
@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "pattern"),
    [
        ((1, 1, 4, 4), (1, 1, 7, 3), {"padding": 1}, _shapes_pattern("kernel 7x3", "padded input 6x6")),
        ((1, 1, 5, 9), (1, 1, 3, 3), {"dilation": (3, 1)}, _shapes_pattern("receptive field 7x3", "padded input 5x9")),
        ((2, 3, 8, 8), (4, 2, 3, 3), {}, _shapes_pattern("channel mismatch", (2, 3, 8, 8), (4, 2, 3, 3))),
        ((3, 8, 8), (4, 3, 3, 3), {}, _shapes_pattern("(N, C_in, H, W)", (3, 8, 8))),
        ((2, 3, 8, 8), (3, 3, 3), {}, _shapes_pattern("(C_out, C_in, KH, KW)", (3, 3, 3))),
        ((1, 1, 4, 4), (1, 1, 3, 3), {"stride": 0}, "stride.*0"),
        ((1, 1, 4, 4), (1, 1, 3, 3), {"stride": (1, -2)}, "stride.*-2"),
        ((1, 1, 4, 4), (1, 1, 3, 3), {"padding": -1}, "padding.*-1"),
        ((1, 1, 4, 4), (1, 1, 3, 3), {"padding": (0, -1)}, "padding.*-1"),
    ],
)
def test_conv_rejects_bad_shapes_and_hyperparameters_naming_them(
    conv: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...], kwargs: dict[str, Pair], pattern: str
) -> None:
    x, w = np.zeros(x_shape), np.zeros(w_shape)
    with pytest.raises(ValueError, match=pattern):
        CONVS[conv](x, w, **kwargs)


@pytest.mark.parametrize("conv", sorted(CONVS))
@pytest.mark.parametrize("b_shape", [(3,), (5,), (1, 4), ()])
def test_conv_rejects_a_bias_of_the_wrong_shape_naming_both(conv: str, b_shape: tuple[int, ...]) -> None:
    x, w, b = np.zeros((1, 2, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(b_shape)
    with pytest.raises(ValueError, match=_shapes_pattern((4,), (4, 2, 3, 3), b_shape)):
        CONVS[conv](x, w, b)


@pytest.mark.parametrize("conv", sorted(CONVS))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_conv_rejects_non_finite_input_naming_where(conv: str, bad: float) -> None:
    x = np.ones((2, 1, 4, 5))
    x[1, 0, 2, 3] = bad
    with pytest.raises(ValueError, match=re.escape("(1, 0, 2, 3)")):
        CONVS[conv](x, np.ones((1, 1, 3, 3)))


@pytest.mark.parametrize("conv", sorted(CONVS))
@pytest.mark.parametrize(("x_dtype", "w_dtype"), [(np.int64, np.float64), (np.float64, np.int32), (bool, np.float32)])
def test_conv_rejects_non_float_arrays_with_type_error(
    conv: str, x_dtype: type[np.generic], w_dtype: type[np.generic]
) -> None:
    x, w = np.ones((1, 1, 4, 4), dtype=x_dtype), np.ones((1, 1, 3, 3), dtype=w_dtype)
    with pytest.raises(TypeError, match="float"):
        CONVS[conv](x, w)


# ----- pooling ------------------------------------------------------------------------------------
def test_maxpool_takes_the_max_of_each_window() -> None:
    x = np.arange(24, dtype=np.float64).reshape(1, 1, 4, 6)
    np.testing.assert_array_equal(maxpool2d_forward(x, 2)[0, 0], [[7, 9, 11], [19, 21, 23]])
    np.testing.assert_array_equal(maxpool2d_forward(x, (2, 3), stride=(2, 1))[0, 0], [[8, 9, 10, 11], [20, 21, 22, 23]])


def test_maxpool_pads_with_minus_infinity_so_padding_never_wins() -> None:
    x = -np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(maxpool2d_forward(x, 3, stride=1, padding=1), x)


def test_avgpool_counts_the_zero_padding_in_the_average() -> None:
    out = avgpool2d_forward(np.ones((1, 1, 2, 2)), 3, stride=1, padding=1)
    np.testing.assert_allclose(out[0, 0], np.full((2, 2), 4 / 9), rtol=1e-15)


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_stride_defaults_to_the_kernel(pool: str) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 9))
    np.testing.assert_array_equal(POOLS[pool](x, (2, 3)), POOLS[pool](x, (2, 3), stride=(2, 3)))
    assert POOLS[pool](x, (2, 3)).shape == (2, 3, 3, 3)


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize(
    ("kernel", "padding", "pattern"), [(3, 2, "2x2.*3x3"), ((4, 2), (1, 2), "1x2.*4x2"), (1, 1, "1x1")]
)
def test_pool_rejects_padding_over_half_the_kernel(pool: str, kernel: Pair, padding: Pair, pattern: str) -> None:
    with pytest.raises(ValueError, match=f"padding {pattern}"):
        POOLS[pool](np.zeros((1, 1, 8, 8)), kernel, padding=padding)


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize(
    ("x_shape", "kwargs", "pattern"),
    [
        ((1, 1, 3, 8), {"kernel": 4}, _shapes_pattern("kernel 4x4", "padded input 3x8")),
        ((1, 3, 3), {"kernel": 2}, _shapes_pattern("(N, C, H, W)", (1, 3, 3))),
        ((1, 1, 4, 4), {"kernel": 2, "stride": 0}, "stride.*0"),
        ((1, 1, 4, 4), {"kernel": 0}, "kernel.*0"),
        ((1, 1, 4, 4), {"kernel": 2, "padding": -1}, "padding.*-1"),
    ],
)
def test_pool_rejects_bad_shapes_and_hyperparameters_naming_them(
    pool: str, x_shape: tuple[int, ...], kwargs: dict[str, Pair], pattern: str
) -> None:
    with pytest.raises(ValueError, match=pattern):
        POOLS[pool](np.zeros(x_shape), **kwargs)


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_rejects_non_finite_input(pool: str) -> None:
    x = np.zeros((1, 2, 4, 4))
    x[0, 1, 3, 0] = np.nan
    with pytest.raises(ValueError, match=re.escape("(0, 1, 3, 0)")):
        POOLS[pool](x, 2)


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_rejects_non_float_input_with_type_error(pool: str) -> None:
    with pytest.raises(TypeError, match="int64"):
        POOLS[pool](np.ones((1, 1, 4, 4), dtype=np.int64), 2)


def test_flatten_keeps_the_batch_axis_in_channel_row_column_order() -> None:
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)
    out = flatten(x)
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out[1], np.arange(12, 24))


def test_flatten_rejects_an_array_without_a_batch_axis() -> None:
    with pytest.raises(ValueError, match=re.escape("(5,)")):
        flatten(np.zeros(5))


# ----- LeNet --------------------------------------------------------------------------------------
def _state(in_channels: int = 1, num_classes: int = 10, input_hw: tuple[int, int] = (8, 8)) -> dict[str, NDArray[Any]]:
    """Float64 weights of a random LeNet for ``input_hw`` images."""
    net = LeNet.random(in_channels, num_classes, input_hw, seed=7)
    return {k: v.astype(np.float64) for k, v in net.params.items()}


def _savez(path: Path, state: dict[str, NDArray[Any]]) -> None:
    kwds: dict[str, Any] = dict(state)  # so mypy does not read a key as savez's allow_pickle
    np.savez(path, **kwds)


def test_lenet_layer_shapes_follow_the_architecture_for_28x28_digits() -> None:
    net = LeNet.random()
    assert net.layer_shapes() == [
        ("input", (1, 28, 28)),
        ("conv1", (6, 28, 28)),
        ("relu1", (6, 28, 28)),
        ("pool1", (6, 14, 14)),
        ("conv2", (16, 14, 14)),
        ("relu2", (16, 14, 14)),
        ("pool2", (16, 7, 7)),
        ("flatten", (784,)),
        ("fc1", (120,)),
        ("relu3", (120,)),
        ("fc2", (84,)),
        ("relu4", (84,)),
        ("fc3", (10,)),
    ]
    assert net.params["fc1.weight"].shape == (120, 784)


def test_lenet_predict_is_the_argmax_of_the_logits() -> None:
    net = LeNet.from_state_dict(_state(num_classes=7), input_hw=(8, 8))
    x = np.random.default_rng(0).standard_normal((50, 1, 8, 8))
    labels = net.predict(x)
    np.testing.assert_array_equal(labels, net.forward(x).argmax(axis=1))
    assert len(set(labels.tolist())) > 1  # the argmax is not trivially constant


def test_lenet_forward_over_several_chunks_equals_forward_on_each_half() -> None:
    net = LeNet.from_state_dict(_state(), input_hw=(8, 8))
    n = CHUNK + 189
    assert n // 2 < CHUNK < n  # the whole batch is chunked, each half is not
    x = np.random.default_rng(1).standard_normal((n, 1, 8, 8))
    whole = net.forward(x)
    halves = np.concatenate([net.forward(x[: n // 2]), net.forward(x[n // 2 :])])
    assert whole.shape == (n, 10)
    assert scaled_max_diff(whole, halves) <= 1e-12


@pytest.mark.parametrize("missing", ["conv1.weight", "fc2.bias"])
def test_lenet_rejects_a_state_dict_missing_a_key_naming_it(missing: str) -> None:
    state = _state()
    del state[missing]
    with pytest.raises(ValueError, match=rf"lacks\W*{re.escape(missing)}"):
        LeNet.from_state_dict(state, input_hw=(8, 8))


def test_lenet_rejects_weights_trained_for_another_input_size_naming_key_and_shapes() -> None:
    with pytest.raises(ValueError, match=_shapes_pattern("fc1.weight", (120, 64), (120, 784))):
        LeNet.from_state_dict(_state(input_hw=(28, 28)), input_hw=(8, 8))


def test_lenet_rejects_integer_weights_naming_key_and_dtype() -> None:
    state = _state()
    state["conv2.bias"] = np.zeros(16, dtype=np.int64)
    with pytest.raises(ValueError, match=_shapes_pattern("conv2.bias", "int64")):
        LeNet.from_state_dict(state, input_hw=(8, 8))


@pytest.mark.parametrize(
    "x_shape", [(2, 1, 8, 7), (2, 3, 8, 8), (1, 8, 8), (0, 1, 8, 8), (2, 1, 8, 8, 1)], ids=lambda s: str(s)
)
def test_lenet_forward_rejects_the_wrong_input_shape_naming_the_expected_one(x_shape: tuple[int, ...]) -> None:
    net = LeNet.from_state_dict(_state(), input_hw=(8, 8))
    with pytest.raises(ValueError, match=_shapes_pattern("(N, 1, 8, 8)", x_shape)):
        net.forward(np.zeros(x_shape))


def test_lenet_from_npz_round_trips_the_logits(tmp_path: Path) -> None:
    state, path = _state(in_channels=2, num_classes=5, input_hw=(12, 20)), tmp_path / "lenet.npz"
    _savez(path, state)
    x = np.random.default_rng(2).standard_normal((3, 2, 12, 20))
    expected = LeNet.from_state_dict(state, input_hw=(12, 20)).forward(x)
    np.testing.assert_array_equal(LeNet.from_npz(path, input_hw=(12, 20)).forward(x), expected)


def _flip_byte(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :]


def _first_member_data_offset(path: Path) -> int:
    """Where the stored (for a compressed archive: deflated) bytes of the first array start."""
    with zipfile.ZipFile(path) as archive:
        offset = archive.infolist()[0].header_offset
    raw = path.read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[offset + 26 : offset + 30])  # fixed-size local header: 30 bytes
    return int(offset + 30 + name_len + extra_len)


def _corrupt(kind: str, path: Path) -> None:
    """Write a broken ``.npz`` of kind ``kind`` at ``path``."""
    if kind == "compressed_flipped_byte":  # corrupt deflate data: zlib fails before any CRC check
        kwds: dict[str, Any] = _state()
        np.savez_compressed(path, **kwds)
        path.write_bytes(_flip_byte(path.read_bytes(), _first_member_data_offset(path)))
        return
    _savez(path, _state())
    raw = path.read_bytes()
    broken = {
        "empty": b"",
        "not_a_zip": b"these are not the weights you are looking for\n" * 4,
        "truncated": raw[: len(raw) // 2],
        "flipped_byte": _flip_byte(raw, len(raw) // 2),
    }[kind]
    path.write_bytes(broken)


@pytest.mark.parametrize("kind", ["empty", "not_a_zip", "truncated", "flipped_byte", "compressed_flipped_byte"])
def test_lenet_from_npz_of_a_corrupt_file_raises_value_error_naming_the_path(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.npz"
    _corrupt(kind, path)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        LeNet.from_npz(path, input_hw=(8, 8))


def test_lenet_from_npz_without_a_key_names_the_path_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "partial.npz"
    _savez(path, {k: v for k, v in _state().items() if k != "fc3.weight"})
    with pytest.raises(ValueError, match=_shapes_pattern(path, "fc3.weight")):
        LeNet.from_npz(path, input_hw=(8, 8))


def test_lenet_from_npz_of_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LeNet.from_npz(tmp_path / "nowhere.npz")


def test_numpy_integers_are_accepted_as_stride_padding_and_dilation() -> None:
    sizes = conv2d_out(8, 8, 3, 3, np.int64(2), np.int32(1), np.int64(1))  # type: ignore[arg-type]
    assert sizes == (4, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": (1, 2, 3)}, r"stride must be an int or an \(h, w\) pair of ints >= 1, got \(1, 2, 3\)"),
        ({"padding": True}, r"padding must be an int or an \(h, w\) pair of ints >= 0, got True"),
        ({"dilation": 1.5}, r"dilation must be an int or an \(h, w\) pair of ints >= 1, got 1.5"),
    ],
)
def test_malformed_hyperparameters_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        conv2d_out(8, 8, 3, 3, **kwargs)  # type: ignore[arg-type]


def test_a_bias_given_as_a_list_is_checked_like_an_array() -> None:
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\) for w \(2, 1, 3, 3\), got \(1,\)"):
        conv2d_forward(x, np.zeros((2, 1, 3, 3)), [1.0])  # type: ignore[arg-type]
    out = conv2d_forward(x, np.zeros((2, 1, 3, 3)), [1.0, 2.0])  # type: ignore[arg-type]
    assert out[0, :, 0, 0].tolist() == [1.0, 2.0]
