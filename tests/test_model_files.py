"""One validation for every model file: ``MLP.load``, ``SpecNet.from_npz`` and ``LeNet.from_npz``
refuse what they cannot load faithfully, naming the path and the field, before building anything;
``MLP.save`` and ``SpecNet.save_npz`` refuse to write what the loaders would refuse."""

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backproplab._io import load_npz, save_npz
from backproplab.cnn import SpecNet
from backproplab.cnn.lenet import LeNet
from backproplab.cnn.spec import build
from backproplab.neural_network import MLP

SPEC, SHAPE = "conv2k3,relu,flatten,fc3", (1, 4, 4)


def _specnet() -> SpecNet:
    return SpecNet(SPEC, build(SPEC, SHAPE, seed=0).state(), SHAPE)


def _at(path: Path, rest: str) -> str:
    """A ``match`` pattern: the path, then ``rest`` (a regex)."""
    return rf"{re.escape(str(path))}: {rest}"


def _rewrite(path: Path, kind: str, meta_changes: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Rewrite the file at ``path`` with ``meta_changes`` and ``arrays`` replacing its own."""
    meta, old = load_npz(path, kind)
    save_npz(path, meta | meta_changes, old | arrays)


# ----- weights ---------------------------------------------------------------------------------
def test_specnet_from_npz_refuses_nan_weights_naming_path_and_key(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    net = _specnet()
    net.save_npz(path)
    weight = net.params["conv1.weight"].copy()
    weight[0, 0, 1, 2] = np.nan
    _rewrite(path, "backproplab.SpecNet", {}, {"conv1.weight": weight})
    with pytest.raises(ValueError, match=_at(path, r"conv1\.weight: expected finite values, found nan")):
        SpecNet.from_npz(path)


def test_lenet_from_npz_refuses_inf_weights_naming_path_and_key(tmp_path: Path) -> None:
    path = tmp_path / "lenet.npz"
    state: dict[str, Any] = dict(LeNet.random(input_hw=(8, 8)).params)
    state["fc2.bias"] = state["fc2.bias"].copy()
    state["fc2.bias"][3] = -np.inf
    np.savez(path, **state)
    with pytest.raises(ValueError, match=_at(path, r"fc2\.bias: expected finite values, found -inf")):
        LeNet.from_npz(path, input_hw=(8, 8))


def test_mlp_load_refuses_inf_weights_naming_path_and_key(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    net = MLP([2, 3, 2])
    net.save(path)
    b2 = net.params[3].copy()
    b2[1] = np.inf
    _rewrite(path, "backproplab.MLP", {}, {"b2": b2})
    with pytest.raises(ValueError, match=_at(path, r"b2: expected finite values, found inf")):
        MLP.load(path)


def test_mlp_load_refuses_float64_weights_that_overflow_float32(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2], dtype=np.float32).save(path)
    big = np.full((2, 3), 1e300)  # finite in float64, inf once cast to float32
    _rewrite(path, "backproplab.MLP", {}, {"W1": big})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: a RuntimeWarning and a network full of inf
        with pytest.raises(ValueError, match=_at(path, r"W1: expected magnitudes <= 3\.40282e\+38 .*float32.*1e\+300")):
            MLP.load(path)


# ----- metadata --------------------------------------------------------------------------------
def test_mlp_load_refuses_huge_layer_sizes_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2]).save(path)
    _rewrite(path, "backproplab.MLP", {"layer_sizes": [100_000, 100_000, 2]}, {})  # before: MemoryError
    with pytest.raises(ValueError, match=_at(path, r"W1 should be a float array of shape \(100000, 100000\)")):
        MLP.load(path)


@pytest.mark.parametrize(
    "layer_sizes",
    [[10**9, 2], [2], [2] * 65, [2, 0, 2], [2, True, 2], [2.0, 2], "2,3,2"],
    ids=["huge", "one", "too_many", "zero", "bool", "float", "string"],
)
def test_mlp_load_refuses_layer_sizes_out_of_range_naming_the_field(tmp_path: Path, layer_sizes: object) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2]).save(path)
    _rewrite(path, "backproplab.MLP", {"layer_sizes": layer_sizes}, {})
    with pytest.raises(ValueError, match=_at(path, r"layer_sizes must be a list of 2 to 64 ints, each 1 to 100000")):
        MLP.load(path)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("version", 3, "1 or 2"),
        ("version", True, "1 or 2"),
        ("dtype", "float16", "'float32' or 'float64'"),
        ("hidden_activation", "gelu", "one of"),
        ("hidden_activation", ["relu"], "one of"),
        ("output", "softplus", "one of"),
    ],
)
def test_mlp_load_refuses_metadata_out_of_range_naming_the_field(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2]).save(path)
    _rewrite(path, "backproplab.MLP", {field: value}, {})
    with pytest.raises(
        ValueError, match=_at(path, rf"{field} must be {re.escape(expected)}.*got {re.escape(repr(value))}")
    ):
        MLP.load(path)


def test_mlp_load_names_a_missing_metadata_field(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2]).save(path)
    meta, arrays = load_npz(path, "backproplab.MLP")
    del meta["output"]
    save_npz(path, meta, arrays)
    with pytest.raises(ValueError, match=_at(path, r"meta lacks 'output'")):
        MLP.load(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 2}, r"version must be 1, got 2"),
        ({"spec": 7}, r"spec must be a spec string"),
        ({"spec": "conv2,fc3"}, r"spec 'conv2,fc3' on input_shape \[1, 4, 4\]: conv layer 'conv2' needs a kernel"),
        ({"spec": "conv2k5,flatten,fc3"}, r"spec 'conv2k5,flatten,fc3' on input_shape \[1, 4, 4\]: conv1 on a 1x4x4"),
        ({"input_shape": [1, 4]}, r"input_shape must be \[C, H, W\]: 3 ints, each 1 to 4096, got \[1, 4\]"),
        ({"input_shape": [1, 4, 5000]}, r"input_shape must be .*got \[1, 4, 5000\]"),
        ({"input_shape": [1, 0, 4]}, r"input_shape must be .*got \[1, 0, 4\]"),
        (
            {"spec": "flatten,fc1000000", "input_shape": [3, 4096, 4096]},
            r"spec 'flatten,fc1000000' on input_shape \[3, 4096, 4096\] needs 50,331,649,000,000 weights, "
            r"at most 1,000,000,000",
        ),
    ],
    ids=[
        "version",
        "spec_type",
        "spec_unparsable",
        "spec_too_big_for_shape",
        "shape_short",
        "shape_huge",
        "shape_zero",
        "too_many_weights",
    ],
)
def test_specnet_from_npz_refuses_metadata_out_of_range_naming_the_field(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = tmp_path / "net.npz"
    _specnet().save_npz(path)
    _rewrite(path, "backproplab.SpecNet", changes, {})
    with pytest.raises(ValueError, match=_at(path, message)):
        SpecNet.from_npz(path)


# ----- the path itself -------------------------------------------------------------------------
def test_mlp_load_of_a_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=_at(tmp_path, "is a directory, not a file")):
        MLP.load(tmp_path)


def test_specnet_from_npz_of_a_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=_at(tmp_path, "is a directory, not a file")):
        SpecNet.from_npz(tmp_path)


def test_lenet_from_npz_of_a_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=_at(tmp_path, "is a directory, not a file")):
        LeNet.from_npz(tmp_path)


# ----- saving ----------------------------------------------------------------------------------
def test_mlp_save_refuses_nan_weights_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2], seed=0).save(path)
    before = path.read_bytes()
    net = MLP([2, 3, 2], seed=1)
    net.params[2][1, 0] = np.nan
    with pytest.raises(ValueError, match=rf"cannot save {re.escape(str(path))}: W2: expected finite values, found nan"):
        net.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_mlp_save_of_nan_weights_writes_no_new_file(tmp_path: Path) -> None:
    net = MLP([2, 3, 2])
    net.params[1][0] = np.nan
    with pytest.raises(ValueError, match=r"b1: expected finite values"):
        net.save(tmp_path / "net.npz")
    assert list(tmp_path.iterdir()) == []


def test_specnet_save_npz_refuses_nan_weights_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    net = _specnet()
    net.save_npz(path)
    before = path.read_bytes()
    net.params["fc1.bias"][2] = np.nan
    with pytest.raises(
        ValueError, match=rf"cannot save {re.escape(str(path))}: fc1\.bias: expected finite values, found nan"
    ):
        net.save_npz(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


# ----- good files still load -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_round_trip_of_a_good_file_still_works(tmp_path: Path, dtype: type[np.floating]) -> None:
    path = tmp_path / "net.npz"
    net = MLP([3, 5, 4, 2], hidden_activation="leaky_relu", output="sigmoid", seed=3, dtype=dtype)
    net.save(path)
    back = MLP.load(path)
    assert (back.layer_sizes, back.hidden_activation, back.output) == ([3, 5, 4, 2], "leaky_relu", "sigmoid")
    assert np.dtype(back.dtype) == np.dtype(dtype)
    for (name, a), (name_back, b) in zip(net.named_params(), back.named_params(), strict=True):
        assert name == name_back
        np.testing.assert_array_equal(a, b)


def test_specnet_round_trip_of_a_good_file_still_works(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    net = _specnet()
    net.save_npz(path, classes=["a", "b", "c"])
    back = SpecNet.from_npz(path)
    assert (back.spec, back.input_shape, back.classes) == (SPEC, SHAPE, ["a", "b", "c"])
    x = np.random.default_rng(0).standard_normal((5, *SHAPE))
    np.testing.assert_array_equal(back.forward(x), net.forward(x))
