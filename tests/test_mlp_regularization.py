"""The MLP's TensorFlow-Playground options: feature crosses, the L1/L2 penalty, dropout, and their files.

Gradients are checked against five-point central differences in float64 and against PyTorch autograd
on the same weights, the same explicit penalty and the same dropout masks.
"""

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backproplab._io import load_npz, save_npz
from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.layers import FEATURES, Dropout
from backproplab.neural_network import MLP, Activation, Output, dropout_rng
from backproplab.optim import SGD

OUTPUTS: tuple[Output, ...] = ("softmax", "sigmoid", "linear")
OPTIONS: dict[str, dict[str, Any]] = {
    "l1": {"l1": 0.05},
    "l2": {"l2": 0.1},
    "features": {"features": FEATURES},
    "dropout": {"dropout": 0.3},
    "all": {"features": ("x1*x2", "sin(x1)", "x2^2", "x1"), "l1": 0.02, "l2": 0.03, "dropout": 0.25},
}


def _net(output: Output, activation: Activation = "tanh", seed: int = 0, **options: Any) -> MLP:
    d_out = 3 if output == "softmax" else 1
    return MLP([2, 5, 4, d_out], activation, output, seed=seed, dtype=np.float64, **options)


def _batch(output: Output, n: int = 7, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n, 2))
    if output == "softmax":
        return X, rng.integers(0, 3, n)
    if output == "sigmoid":
        return X, rng.integers(0, 2, n).astype(np.float64)
    return X, rng.standard_normal(n)


def _fix_masks(net: MLP, seed: int = 11) -> None:
    """Give every dropout layer one fresh generator: the next forward draws the same masks every time."""
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        if isinstance(layer, Dropout):
            layer.rng = rng


# ----- gradients ------------------------------------------------------------------------------------
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("output", OUTPUTS)
def test_backprop_matches_finite_differences_of_the_objective(output: Output, option: str) -> None:
    net = _net(output, **OPTIONS[option])
    X, y = _batch(output)

    def objective() -> float:
        _fix_masks(net)  # dropout's mask held fixed: the same linear map at every evaluation
        return net.loss(net.forward(X), y)[0]

    _fix_masks(net)
    loss, dlogits = net.loss(net.forward(X), y)
    net.backward(dlogits)
    analytic = [g.copy() for g in net.grads]
    floor = 1e-5 * max(1.0, abs(loss))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for (name, p), a in zip(net.named_params(), analytic, strict=True):
            numeric = numerical_gradient(objective, p)
            err = relative_error(a, numeric, floor)
            if net.l1:  # |w| has a kink at 0: leave out weights the stencil (4h wide) could straddle
                err = err[np.abs(p) > 2.5e-3] if name.startswith("W") else err
            assert err.max(initial=0.0) <= 1e-7, f"{name}: relative error {err.max():.2e} in {net}"


def test_the_penalty_is_l1_sum_abs_plus_half_l2_sum_squares_of_the_weights_only() -> None:
    net = _net("softmax", l1=0.3, l2=0.7)
    weights = [p for name, p in net.named_params() if name.startswith("W")]
    expected = sum(0.3 * np.abs(W).sum() + 0.7 * 0.5 * (W * W).sum() for W in weights)
    assert net.penalty() == pytest.approx(expected, rel=1e-14)
    for name, p in net.named_params():
        if name.startswith("b"):
            p[...] = 100.0  # biases are never penalised
    assert net.penalty() == pytest.approx(expected, rel=1e-14)
    assert _net("softmax").penalty() == 0.0


def test_loss_is_the_data_loss_plus_the_penalty_and_shares_its_gradient() -> None:
    net = _net("sigmoid", l1=0.1, l2=0.2)
    X, y = _batch("sigmoid")
    logits = net.forward(X)
    objective, dlogits = net.loss(logits, y)
    data, ddata = net.data_loss(logits, y)
    assert objective == pytest.approx(data + net.penalty(), rel=1e-15)
    assert objective > data
    np.testing.assert_array_equal(dlogits, ddata)


def test_backward_adds_l1_sign_w_plus_l2_w_to_each_weight_gradient_but_not_to_biases() -> None:
    net = _net("linear", l1=0.1, l2=0.2)
    X, _ = _batch("linear")
    logits = net.forward(X)
    net.backward(np.zeros_like(logits))  # no data gradient: what is left is the penalty's
    for (name, p), g in zip(net.named_params(), net.grads, strict=True):
        expected = 0.1 * np.sign(p) + 0.2 * p if name.startswith("W") else np.zeros_like(p)
        np.testing.assert_allclose(g, expected, rtol=1e-15, atol=0)


def test_a_train_step_returns_the_objective_before_the_update() -> None:
    net = _net("softmax", l2=0.5)
    X, y = _batch("softmax")
    before = net.loss(net.forward(X), y)[0]
    loss, _ = net.train_step(X, y, SGD(0.1))
    assert loss == pytest.approx(before, rel=1e-15)
    assert net.loss(net.forward(X), y)[0] < before


# ----- the PyTorch oracle -------------------------------------------------------------------------
def _torch_objective(torch: Any, net: MLP, X: np.ndarray, y: np.ndarray) -> tuple[Any, list[Any]]:
    """``net``'s objective written in PyTorch on leaf copies of its weights, with the masks the NumPy
    net draws (``dropout_rng(seed)``, layer by layer in forward order): ``(loss, leaves)``."""
    F = torch.nn.functional
    leaves = [torch.tensor(p, requires_grad=True) for p in net.params]
    x = torch.from_numpy(X)
    x1, x2 = x[:, 0], x[:, 1]
    columns = {
        "x1": x1,
        "x2": x2,
        "x1^2": x1 * x1,
        "x2^2": x2 * x2,
        "x1*x2": x1 * x2,
        "sin(x1)": torch.sin(x1),
        "sin(x2)": torch.sin(x2),
    }
    h = torch.stack([columns[n] for n in net.features], dim=1) if net.features else x
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "leaky_relu": F.leaky_relu}
    masks = dropout_rng(net.seed)
    for i in range(0, len(leaves), 2):
        h = h @ leaves[i] + leaves[i + 1]
        if i < len(leaves) - 2:
            h = act[net.hidden_activation](h)
            if net.dropout:
                keep = masks.random(tuple(h.shape)) >= net.dropout
                h = h * torch.from_numpy(keep.astype(np.float64) / (1.0 - net.dropout))
    if net.output == "softmax":
        data = F.cross_entropy(h, torch.from_numpy(y))
    elif net.output == "sigmoid":
        data = F.binary_cross_entropy_with_logits(h[:, 0], torch.from_numpy(y))
    else:
        data = F.mse_loss(h[:, 0], torch.from_numpy(y))
    weights = leaves[::2]
    penalty = sum(net.l1 * W.abs().sum() + net.l2 * 0.5 * (W * W).sum() for W in weights)
    return data + penalty, leaves


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("output", OUTPUTS)
def test_loss_and_gradients_equal_pytorch_autograd(output: Output, option: str, activation: Activation) -> None:
    torch = pytest.importorskip("torch")
    net = _net(output, activation, seed=4, **OPTIONS[option])
    X, y = _batch(output, n=9, seed=5)
    expected, leaves = _torch_objective(torch, net, X, y)  # draws its masks from its own dropout_rng(4)
    expected.backward()
    loss, dlogits = net.loss(net.forward(X), y)  # the net's first forward: its first masks
    net.backward(dlogits)
    assert loss == pytest.approx(expected.item(), rel=1e-10, abs=1e-12)
    for (name, _), g, leaf in zip(net.named_params(), net.grads, leaves, strict=True):
        np.testing.assert_allclose(g, leaf.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


# ----- dropout and evaluation mode ----------------------------------------------------------------
def test_dropout_layers_follow_each_hidden_activation() -> None:
    net = MLP([2, 4, 3, 2], "relu", seed=0, features=("x1", "x2^2"), dropout=0.5)
    assert net.net.names == ["features", "fc1", "relu1", "drop1", "fc2", "relu2", "drop2", "fc3"]
    assert [p.shape for p in net.params] == [(2, 4), (4,), (4, 3), (3,), (3, 2), (2,)]


def test_dropout_does_not_change_the_initial_weights() -> None:
    plain, dropped = _net("softmax", seed=3), _net("softmax", seed=3, dropout=0.4)
    assert all(np.array_equal(a, b) for a, b in zip(plain.params, dropped.params, strict=True))


def test_evaluation_has_no_dropout_and_keeps_the_mode() -> None:
    X, y = _batch("softmax", n=50)
    plain, dropped = _net("softmax", seed=3), _net("softmax", seed=3, dropout=0.5)
    assert dropped.training
    expected = plain.forward(X)
    np.testing.assert_array_equal(dropped.predict_logits(X), expected)
    np.testing.assert_array_equal(dropped.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_array_equal(dropped.predict(X), plain.predict(X))
    assert dropped.accuracy(X, y) == plain.accuracy(X, y)
    assert dropped.training  # restored
    assert not np.allclose(dropped.forward(X), expected)  # training mode drops units
    dropped.train(False)
    np.testing.assert_array_equal(dropped.forward(X), expected)
    np.testing.assert_array_equal(dropped.predict_logits(X), expected)
    assert not dropped.training


def test_evaluating_draws_no_masks_so_training_masks_stay_reproducible() -> None:
    X, _ = _batch("linear", n=20)
    a, b = _net("linear", dropout=0.5), _net("linear", dropout=0.5)
    a.predict_logits(X)
    a.predict(X)
    a.hidden_activations(X)
    np.testing.assert_array_equal(a.forward(X), b.forward(X))


def test_the_masks_come_from_dropout_rng_of_the_seed_in_forward_order() -> None:
    net = MLP([2, 6, 5, 1], "tanh", "linear", seed=9, dtype=np.float64, dropout=0.3)
    X, _ = _batch("linear", n=8)
    W1, b1, W2, b2, W3, b3 = net.params
    rng = dropout_rng(9)
    h1 = np.tanh(X @ W1 + b1) * ((rng.random((8, 6)) >= 0.3) / 0.7)
    h2 = np.tanh(h1 @ W2 + b2) * ((rng.random((8, 5)) >= 0.3) / 0.7)
    np.testing.assert_allclose(net.forward(X), h2 @ W3 + b3, rtol=1e-14)


def test_fit_validates_in_evaluation_mode_and_reports_objectives() -> None:
    X, y = _batch("softmax", n=40)
    net = _net("softmax", l2=0.05, dropout=0.5)
    history = net.fit(X, y, SGD(0.1), epochs=1, batch_size=8, verbose=False, validation=(X, y))
    assert net.training
    assert history.val_loss[0] == pytest.approx(net.loss(net.predict_logits(X), y)[0], rel=1e-12)
    assert history.val_accuracy[0] == net.accuracy(X, y)


def test_hidden_activations_are_each_hidden_layers_output_in_evaluation_mode() -> None:
    net = _net("sigmoid", features=FEATURES, dropout=0.5)
    X, _ = _batch("sigmoid", n=6)
    outputs = net.hidden_activations(X)
    assert [a.shape for a in outputs] == [(6, 5), (6, 4)]
    W3, b3 = net.params[4:]
    np.testing.assert_allclose(outputs[1] @ W3 + b3, net.predict_logits(X), rtol=1e-14)
    assert MLP([2, 1], output="sigmoid").hidden_activations(X) == []


# ----- settings -----------------------------------------------------------------------------------
def test_features_widen_the_first_weight_matrix_and_need_two_raw_inputs() -> None:
    net = _net("sigmoid", features=FEATURES)
    assert net.params[0].shape == (7, 5)
    assert net.forward(np.zeros((3, 2))).shape == (3, 1)
    with pytest.raises(ValueError, match=r"layer_sizes\[0\] must be 2, got 3"):
        MLP([3, 4, 2], features=("x1",))
    with pytest.raises(ValueError, match=r"unknown names \['x1\*\*2'\]"):
        MLP([2, 4, 2], features=("x1**2",))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"l1": -0.1}, r"l1 must be a finite number >= 0, got -0.1"),
        ({"l2": float("nan")}, r"l2 must be a finite number >= 0, got nan"),
        ({"dropout": 1.0}, r"dropout must lie in \[0, 1\), got 1.0"),
        ({"dropout": -0.2}, r"dropout must lie in \[0, 1\), got -0.2"),
    ],
)
def test_out_of_range_options_are_refused_naming_them(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MLP([2, 3, 2], **options)


def test_repr_mentions_features_regularisation_and_dropout_when_set() -> None:
    text = repr(_net("softmax", **OPTIONS["all"]))
    assert "features=(x1*x2, sin(x1), x2^2, x1)" in text
    assert "l1=0.02, l2=0.03, dropout=0.25" in text
    plain = repr(_net("softmax"))
    assert plain.startswith("MLP(2-5-4-3, hidden=tanh, output=softmax, ")
    assert "features" not in plain
    assert "dropout" not in plain


# ----- files --------------------------------------------------------------------------------------
def test_save_and_load_keep_every_option(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    net = _net("linear", seed=2, **OPTIONS["all"])
    net.save(path)
    loaded = MLP.load(path)
    assert (loaded.features, loaded.l1, loaded.l2, loaded.dropout) == (net.features, 0.02, 0.03, 0.25)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.params, net.params, strict=True))
    X, _ = _batch("linear")
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.penalty() == net.penalty()
    assert repr(loaded) == repr(net)
    assert load_npz(path, "backproplab.MLP")[0]["version"] == 2


def test_a_version_1_file_still_loads_without_options(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    net = _net("softmax", seed=6)
    net.save(path)
    meta, arrays = load_npz(path, "backproplab.MLP")
    old = {k: v for k, v in meta.items() if k not in ("features", "l1", "l2", "dropout")} | {"version": 1}
    save_npz(path, old, arrays)
    loaded = MLP.load(path)
    assert (loaded.features, loaded.l1, loaded.l2, loaded.dropout) == (None, 0.0, 0.0, 0.0)
    X, _ = _batch("softmax")
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("features", ["x1", "x3"], "null or a list of distinct names from"),
        ("features", ["x1", "x1"], "null or a list of distinct names from"),
        ("features", [], "null or a list of distinct names from"),
        ("features", "x1", "null or a list of distinct names from"),
        ("features", [["x1"]], "null or a list of distinct names from"),
        ("l1", -1.0, "a finite number >= 0"),
        ("l2", "0.1", "a finite number >= 0"),
        ("l2", True, "a finite number >= 0"),
        ("dropout", 1.0, "a number in [0, 1)"),
    ],
)
def test_load_refuses_options_out_of_range_naming_the_path_and_field(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    path = tmp_path / "net.npz"
    _net("softmax", features=("x1", "x2")).save(path)
    meta, arrays = load_npz(path, "backproplab.MLP")
    save_npz(path, meta | {field: value}, arrays)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: {field} must be {re.escape(expected)}"):
        MLP.load(path)


def test_a_version_2_file_must_name_every_option(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    _net("softmax").save(path)
    meta, arrays = load_npz(path, "backproplab.MLP")
    del meta["dropout"]
    save_npz(path, meta, arrays)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: meta lacks 'dropout'"):
        MLP.load(path)


def test_a_file_whose_first_weights_do_not_fit_its_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    _net("softmax", features=FEATURES).save(path)
    meta, arrays = load_npz(path, "backproplab.MLP")
    save_npz(path, meta | {"features": ["x1", "x2"]}, arrays)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: W1 should be a float array of shape \(2, 5\)"):
        MLP.load(path)
