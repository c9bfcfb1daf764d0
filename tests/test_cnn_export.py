"""Every training preset built in ``torch.nn`` and run by the NumPy ``SpecNet`` on its exported weights.

PyTorch is the oracle: in eval mode (batch norm on its running statistics, dropout off) the float32
logits of the two must agree within ``1e-4`` and give the same argmax on at least 99.9% of 1000 random
inputs, and so must every layer's output. Batch norm gets random weights and running statistics, so
that it is never the identity it is at initialisation.
"""

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from numpy.typing import NDArray

from backproplab.cnn import SpecNet
from backproplab.cnn.spec import LayerSpec, param_shapes, parse_spec, shape_table
from backproplab.layers import BatchNorm1d

if TYPE_CHECKING:
    import torch
    from torch import nn

    from backproplab.training.config import PRESETS, preset_spec
    from backproplab.training.models import build_model, export_numpy, state_dict_arrays
else:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    from backproplab.training.config import PRESETS, preset_spec
    from backproplab.training.models import build_model, export_numpy, state_dict_arrays

Array = NDArray[Any]
LOGIT_TOL = 1e-4  # float32, absolute
ARGMAX_AGREEMENT = 0.999
N_INPUTS = 1000
SHAPES = [(1, 28, 28), (1, 8, 8)]  # MNIST digits and sklearn's 8x8 digits
BN_RANGES = {"weight": (0.5, 1.5), "bias": (-0.5, 0.5), "running_mean": (-0.5, 0.5), "running_var": (0.5, 2.0)}
CASES = [pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}") for name in PRESETS for shape in SHAPES]


def _model(spec: str, input_shape: tuple[int, int, int], seed: int = 0) -> "nn.Sequential":
    """``build_model`` in eval mode, its batch norms given random weights and running statistics."""
    torch.manual_seed(seed)
    model = build_model(spec, input_shape)
    for key, tensor in model.state_dict().items():  # detached tensors sharing the model's memory
        layer, _, field = key.partition(".")
        if layer.startswith("bn") and field in BN_RANGES:
            tensor.uniform_(*BN_RANGES[field])
    return model.eval()


def _inputs(n: int, input_shape: tuple[int, int, int], seed: int = 0) -> Array:
    return np.random.default_rng(seed).standard_normal((n, *input_shape)).astype(np.float32)


def _logits(model: "nn.Module", x: Array) -> Array:
    with torch.no_grad():
        out: Array = model(torch.from_numpy(x)).numpy()
    return out


def _assert_same_logits(ours: Array, theirs: Array) -> None:
    assert ours.shape == theirs.shape
    assert ours.dtype == np.float32
    assert np.abs(ours - theirs).max() <= LOGIT_TOL
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).mean() >= ARGMAX_AGREEMENT


# ----- every preset in NumPy and in PyTorch -------------------------------------------------------
@pytest.mark.parametrize(("preset", "input_shape"), CASES)
def test_exported_preset_logits_match_torch(preset: str, input_shape: tuple[int, int, int]) -> None:
    spec = preset_spec(preset, 10)
    model = _model(spec, input_shape)
    x = _inputs(N_INPUTS, input_shape)
    _assert_same_logits(export_numpy(model, spec, input_shape).forward(x), _logits(model, x))


@pytest.mark.parametrize(("preset", "input_shape"), CASES)
def test_exported_preset_matches_torch_layer_by_layer(preset: str, input_shape: tuple[int, int, int]) -> None:
    spec = preset_spec(preset, 10)
    model = _model(spec, input_shape, seed=1)
    x = _inputs(32, input_shape, seed=1)
    ours = export_numpy(model, spec, input_shape).activations(x)
    a = torch.from_numpy(x)
    assert [name for name, _ in ours] == [name for name, _ in model.named_children()]
    with torch.no_grad():
        for (name, ours_a), child in zip(ours, model.children(), strict=True):
            a = child(a)
            assert ours_a.shape == tuple(a.shape), name
            assert np.abs(ours_a - a.numpy()).max() <= LOGIT_TOL, name


@pytest.mark.parametrize(("preset", "input_shape"), CASES)
def test_state_dict_keys_and_shapes_are_param_shapes(preset: str, input_shape: tuple[int, int, int]) -> None:
    spec = preset_spec(preset, 10)
    state = build_model(spec, input_shape).state_dict()
    ours = {k: tuple(v.shape) for k, v in state.items() if not k.endswith(".num_batches_tracked")}
    assert list(ours.items()) == list(param_shapes(parse_spec(spec), input_shape).items())


@pytest.mark.parametrize(("preset", "input_shape"), CASES)
def test_shape_table_counts_the_learnable_parameters_of_the_torch_model(
    preset: str, input_shape: tuple[int, int, int]
) -> None:
    spec = preset_spec(preset, 10)
    model = build_model(spec, input_shape)
    assert sum(row.params for row in shape_table(parse_spec(spec), input_shape)) == sum(
        p.numel() for p in model.parameters()
    )


def test_a_full_torch_state_dict_with_num_batches_tracked_is_accepted() -> None:
    spec, shape = preset_spec("fast", 10), (1, 8, 8)
    model = _model(spec, shape)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    assert state["bn1.num_batches_tracked"].dtype == np.int64
    x = _inputs(N_INPUTS, shape)
    _assert_same_logits(SpecNet(spec, state, shape).forward(x), _logits(model, x))


def test_state_dict_arrays_are_float32_copies_without_the_counters() -> None:
    model = build_model("conv2k3,bn,flatten,fc3", (1, 4, 4))
    arrays = state_dict_arrays(model)
    assert "bn1.num_batches_tracked" not in arrays
    assert all(a.dtype == np.float32 for a in arrays.values())
    arrays["conv1.weight"][...] = 7.0
    assert not torch.any(model.state_dict()["conv1.weight"] == 7.0)


# ----- the layers this grammar adds: bn, gap, dropout ---------------------------------------------
def test_parse_spec_reads_bn_gap_and_dropout() -> None:
    assert parse_spec("bn, gap, dropout25") == [LayerSpec("bn"), LayerSpec("gap"), LayerSpec("dropout", 25)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("conv4k3,dropout", "cannot read layer 'dropout'"),
        ("conv4k3,dropout0", "dropout layer 'dropout0': write the percentage dropped, 1 to 99"),
        ("conv4k3,dropout100", "1 to 99"),
        ("conv4k3,dropout5k3", "dropout layer 'dropout5k3'"),
        ("conv4k3,bn2", "cannot read layer 'bn2'"),
        ("conv4k3,flatten,gap", r"gap1 needs a \(C, H, W\) input, got \(144,\); put it before flatten"),
    ],
)
def test_bad_specs_name_the_layer(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        shape_table(parse_spec(spec), (1, 8, 8))


def test_shape_table_of_the_fast_preset_for_28x28_digits() -> None:
    rows = shape_table(parse_spec(preset_spec("fast", 10)), (1, 28, 28))
    assert [(r.name, r.shape, r.params) for r in rows] == [
        ("input", (1, 28, 28), 0),
        ("conv1", (16, 28, 28), 16 * (9 + 1)),
        ("pool1", (16, 14, 14), 0),
        ("bn1", (16, 14, 14), 2 * 16),
        ("relu1", (16, 14, 14), 0),
        ("conv2", (32, 14, 14), 32 * (16 * 9 + 1)),
        ("pool2", (32, 7, 7), 0),
        ("bn2", (32, 7, 7), 2 * 32),
        ("relu2", (32, 7, 7), 0),
        ("conv3", (48, 7, 7), 48 * (32 * 9 + 1)),
        ("bn3", (48, 7, 7), 2 * 48),
        ("relu3", (48, 7, 7), 0),
        ("flatten", (48 * 7 * 7,), 0),
        ("fc1", (128,), 48 * 7 * 7 * 128 + 128),
        ("relu4", (128,), 0),
        ("fc2", (10,), 128 * 10 + 10),
    ]
    assert sum(r.params for r in rows) == 321_338
    assert (rows[3].description, rows[3].formula) == (
        "batch norm over 16 channels",
        "2*16 learnable; running mean, var: buffers",
    )


def test_bn_on_a_flat_input_is_batchnorm1d_and_matches_torch() -> None:
    spec, shape = "flatten,fc16,bn,relu,fc3", (2, 4, 4)
    model = _model(spec, shape)
    assert isinstance(model.bn1, nn.BatchNorm1d)
    assert model.bn1.eps == BatchNorm1d(16).eps == 1e-5
    assert shape_table(parse_spec(spec), shape)[3].description == "batch norm over 16 features"
    x = _inputs(N_INPUTS, shape)
    _assert_same_logits(export_numpy(model, spec, shape).forward(x), _logits(model, x))


def test_bn_on_feature_maps_is_batchnorm2d_normalising_each_channel() -> None:
    model = _model("conv3k3,bn,flatten", (1, 5, 5))
    assert isinstance(model.bn1, nn.BatchNorm2d)
    net = export_numpy(model, "conv3k3,bn,flatten", (1, 5, 5))
    (_, conv), (_, bn), _ = net.activations(_inputs(4, (1, 5, 5)))
    p = net.params
    c = 1  # one channel by hand: (x - mean) / sqrt(var + eps) * weight + bias
    expected = (conv[:, c] - p["bn1.running_mean"][c]) / np.sqrt(p["bn1.running_var"][c] + 1e-5)
    np.testing.assert_allclose(bn[:, c], expected * p["bn1.weight"][c] + p["bn1.bias"][c], rtol=1e-6, atol=1e-6)


def test_dropout_is_the_identity_at_eval_and_drops_units_in_training() -> None:
    spec, shape = "conv4k3,relu,dropout50,flatten,fc3", (1, 6, 6)
    model = _model(spec, shape)
    assert isinstance(model.dropout1, nn.Dropout)
    assert model.dropout1.p == 0.5
    x = _inputs(N_INPUTS, shape)
    net = export_numpy(model, spec, shape)
    _assert_same_logits(net.forward(x), _logits(model, x))
    acts = dict(net.activations(x[:8]))
    np.testing.assert_array_equal(acts["dropout1"], acts["relu1"])
    assert not np.allclose(_logits(model.train(), x), _logits(model.eval(), x))


def test_gap_averages_each_feature_map_to_one_number() -> None:
    model = _model("conv5k3,gap", (2, 7, 9))
    x = _inputs(3, (2, 7, 9))
    (_, maps), (_, pooled) = export_numpy(model, "conv5k3,gap", (2, 7, 9)).activations(x)
    assert pooled.shape == (3, 5)
    np.testing.assert_allclose(pooled, maps.mean(axis=(2, 3)))
    assert np.abs(pooled - _logits(model, x)).max() <= LOGIT_TOL


# ----- presets ------------------------------------------------------------------------------------
def test_preset_spec_fills_in_the_number_of_classes() -> None:
    assert preset_spec("lenet", 7).endswith(",fc7")
    assert preset_spec("fast", 3).endswith(",flatten,fc128,relu,fc3")


def test_unknown_preset_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown preset 'resnet'; choose one of fast, lenet"):
        preset_spec("resnet", 10)


# ----- a whole network in one .npz ----------------------------------------------------------------
def test_save_npz_from_npz_round_trip_gives_identical_logits(tmp_path: Path) -> None:
    spec, shape, classes = preset_spec("fast", 4), (1, 8, 8), ["cat", "dog", "emu", "yak"]
    net = export_numpy(_model(spec, shape), spec, shape)
    path = tmp_path / "fast.npz"
    net.save_npz(path, classes=classes)
    back = SpecNet.from_npz(path)
    assert (back.spec, back.input_shape, back.classes) == (spec, shape, classes)
    x = _inputs(50, shape)
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_save_npz_keeps_the_classes_the_network_was_built_with(tmp_path: Path) -> None:
    net = export_numpy(_model("flatten,fc2", (1, 2, 2)), "flatten,fc2", (1, 2, 2))
    net.classes = ["no", "yes"]
    net.save_npz(tmp_path / "net.npz")
    assert SpecNet.from_npz(tmp_path / "net.npz").classes == ["no", "yes"]


def test_save_npz_rejects_classes_that_do_not_match_the_outputs(tmp_path: Path) -> None:
    net = export_numpy(_model("flatten,fc3", (1, 2, 2)), "flatten,fc3", (1, 2, 2))
    with pytest.raises(ValueError, match=r"classes must be \(3,\) names"):
        net.save_npz(tmp_path / "net.npz", classes=["a", "b"])


def test_from_npz_missing_a_weight_names_the_key_and_the_path(tmp_path: Path) -> None:
    spec, shape = preset_spec("fast", 10), (1, 8, 8)
    path = tmp_path / "fast.npz"
    export_numpy(_model(spec, shape), spec, shape).save_npz(path)
    with np.load(path) as data:
        arrays: dict[str, Any] = {k: data[k] for k in data.files if k != "bn2.running_var"}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: .*lacks \['bn2\.running_var'\]"):
        SpecNet.from_npz(path)


def test_from_npz_of_a_plain_state_dict_names_the_path_and_the_format(tmp_path: Path) -> None:
    path = tmp_path / "state.npz"
    arrays: dict[str, Any] = state_dict_arrays(build_model("flatten,fc2", (1, 2, 2)))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: not a backproplab backproplab.SpecNet file"):
        SpecNet.from_npz(path)
