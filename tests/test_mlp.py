"""The MLP: gradients of whole networks, training, predictions, bad input, divergence, persistence."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.data.toy import blobs, moons
from backproplab.fit import DivergenceError
from backproplab.gradcheck import check_mlp_gradients
from backproplab.neural_network import MLP, Activation, Output
from backproplab.optim import SGD, Adam, Optimizer
from backproplab.schedules import make_schedule


@st.composite
def mlp_problems(draw: st.DrawFn) -> tuple[MLP, np.ndarray, np.ndarray]:
    """A float64 MLP of random depth and width, with a batch of inputs and matching targets."""
    output: Output = draw(st.sampled_from(["softmax", "sigmoid", "linear"]))
    activation: Activation = draw(st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu"]))
    hidden = draw(st.lists(st.integers(1, 7), min_size=0, max_size=3))
    d_in = draw(st.integers(1, 5))
    d_out = draw(st.integers(2, 4)) if output == "softmax" else draw(st.integers(1, 3))
    n = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    net = MLP([d_in, *hidden, d_out], activation, output, seed=seed, dtype=np.float64)
    X = rng.standard_normal((n, d_in))
    y: np.ndarray
    if output == "softmax":
        y = rng.integers(0, d_out, n)
    elif output == "sigmoid":
        y = rng.integers(0, 2, (n, d_out)).astype(np.float64)
    else:
        y = rng.standard_normal((n, d_out))
    return net, X, y


@settings(max_examples=60, deadline=None)
@given(mlp_problems())
def test_backprop_matches_finite_differences_for_random_mlps(problem: tuple[MLP, np.ndarray, np.ndarray]) -> None:
    net, X, y = problem
    results = check_mlp_gradients(net, X, y)
    assert [r.name for r in results] == [name for name, _ in net.named_params()]
    for r in results:
        assert r.max_rel_error <= 1e-7, f"{r.name}: relative error {r.max_rel_error:.2e} in {net}"
    checked = sum(r.checked for r in results)
    assert checked >= 0.5 * sum(r.checked + r.near_kink for r in results)


def test_params_and_grads_are_parallel_and_named_like_the_seed() -> None:
    net = MLP([3, 5, 4, 2], seed=1)
    names = [name for name, _ in net.named_params()]
    assert names == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [p.shape for p in net.params] == [(3, 5), (5,), (5, 4), (4,), (4, 2), (2,)]
    assert [g.shape for g in net.grads] == [p.shape for p in net.params]


def test_forward_returns_logits_of_shape_n_by_d_out() -> None:
    net = MLP([3, 4, 5], seed=0)
    assert net.forward(np.zeros((7, 3))).shape == (7, 5)


def test_same_seed_gives_same_weights_and_different_seed_does_not() -> None:
    a, b, c = MLP([4, 8, 3], seed=7), MLP([4, 8, 3], seed=7), MLP([4, 8, 3], seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params, strict=True))
    assert not np.array_equal(a.params[0], c.params[0])


def test_float32_model_stays_float32_through_training() -> None:
    X, y = moons(n=64, seed=0)
    net = MLP([2, 8, 2], seed=0, dtype=np.float32)
    net.fit(X, y, optimizer=Adam(0.01), epochs=3, verbose=False)
    assert all(p.dtype == np.float32 for p in net.params)
    assert net.forward(X).dtype == np.float32


def test_fit_learns_moons_with_softmax() -> None:
    X, y = moons(n=300, noise=0.1, seed=0)
    net = MLP([2, 32, 32, 2], seed=0)
    history = net.fit(X, y, optimizer=Adam(0.01), epochs=100, batch_size=32, verbose=False)
    assert history.loss[-1] < 0.25 * history.loss[0]
    assert net.accuracy(X, y) > 0.97
    assert len(history.loss) == len(history.accuracy) == 100


def test_fit_learns_three_blobs_with_one_hot_targets() -> None:
    X, y = blobs(n=300, centers=3, std=0.4, seed=1)
    onehot = np.eye(3)[y]
    net = MLP([2, 16, 3], hidden_activation="tanh", seed=0)
    net.fit(X, onehot, optimizer=Adam(0.02), epochs=60, verbose=False)
    assert net.accuracy(X, y) > 0.97
    assert net.accuracy(X, onehot) == net.accuracy(X, y)


def test_linear_output_fits_a_regression() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 1))
    y = np.sin(3 * X)
    net = MLP([1, 32, 1], hidden_activation="tanh", output="linear", seed=0)
    history = net.fit(X, y, optimizer=Adam(0.01), epochs=300, batch_size=50, verbose=False)
    assert history.loss[-1] < 0.01
    assert history.accuracy == []
    assert net.predict(X).shape == (200, 1)


def test_predict_proba_rows_sum_to_one_and_predict_is_their_argmax() -> None:
    X, _ = blobs(n=50, centers=4, seed=0)
    net = MLP([2, 6, 4], seed=3)
    proba = net.predict_proba(X)
    assert proba.shape == (50, 4)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.array_equal(net.predict(X), proba.argmax(axis=1))


def test_sigmoid_predict_thresholds_at_one_half() -> None:
    X, _ = moons(n=40, seed=0)
    net = MLP([2, 5, 1], output="sigmoid", seed=0)
    proba = net.predict_proba(X)
    assert proba.shape == (40, 1)
    assert np.array_equal(net.predict(X), (proba[:, 0] >= 0.5).astype(int))


def test_predict_proba_of_a_regressor_raises() -> None:
    net = MLP([2, 3, 1], output="linear")
    with pytest.raises(ValueError, match="predict_proba needs a classifier"):
        net.predict_proba(np.zeros((1, 2)))


def test_train_step_lowers_the_loss_on_its_batch() -> None:
    X, y = moons(n=32, seed=0)
    net = MLP([2, 16, 2], seed=0, dtype=np.float64)
    opt = SGD(0.5)
    first, _ = net.train_step(X, y, opt)
    for _ in range(20):
        last, _ = net.train_step(X, y, opt)
    assert last < first


# ----- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((4, 3)), r"X: expected shape \(N, 2\) with N >= 1, got \(4, 3\)"),
        (np.zeros(4), r"X: expected shape \(N, 2\) with N >= 1, got \(4,\)"),
        (np.zeros((0, 2)), r"X: expected shape \(N, 2\) with N >= 1, got \(0, 2\)"),
        (np.array([[0.0, np.nan]]), r"X: expected finite values, found nan at index \(0, 1\)"),
        (np.array([[np.inf, 0.0]]), r"X: expected finite values, found inf at index \(0, 0\)"),
    ],
)
def test_bad_features_raise_value_error_naming_expected_and_actual(X: np.ndarray, message: str) -> None:
    net = MLP([2, 3, 2])
    with pytest.raises(ValueError, match=message):
        net.forward(X)
    with pytest.raises(ValueError, match=message):
        net.fit(X, np.zeros(len(X), dtype=int), verbose=False)


def test_non_numeric_features_raise_type_error_naming_the_dtype() -> None:
    net = MLP([2, 3, 2])
    with pytest.raises(TypeError, match=r"X: expected a numeric dtype .* got <U1"):
        net.forward(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="X: expected a numeric dtype"):
        net.forward(np.array([[object(), object()]]))


def test_mismatched_lengths_of_x_and_y_raise() -> None:
    net = MLP([2, 3, 2])
    with pytest.raises(ValueError, match=r"X has 5 rows, y has shape \(4,\)"):
        net.fit(np.zeros((5, 2)), np.zeros(4, dtype=int), verbose=False)


@pytest.mark.parametrize(
    ("output", "y", "message"),
    [
        ("softmax", np.array([0, 1, 3]), r"class ids must lie in \[0, 3\) .* got range \[0, 3\]"),
        ("softmax", np.array([0.0, 1.5, 2.0]), "class ids must be whole numbers"),
        ("softmax", np.zeros((3, 2)), r"expected class ids \(3,\) or one-hot \(3, 3\), got \(3, 2\)"),
        ("sigmoid", np.array([0.0, 2.0, 1.0]), r"sigmoid targets must lie in \[0, 1\]"),
        ("sigmoid", np.zeros((3, 2)), r"expected shape \(3, 1\) for 1 output units, got \(3, 2\)"),
        ("linear", np.array([0.0, np.inf, 1.0]), "y: expected finite values"),
    ],
)
def test_bad_targets_raise_value_error(output: str, y: np.ndarray, message: str) -> None:
    net = MLP([2, 4, 3 if output == "softmax" else 1], output=output)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        net.fit(np.zeros((3, 2)), y, verbose=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"layer_sizes": [3]}, ValueError, "at least 2 sizes"),
        ({"layer_sizes": [3, 0, 2]}, ValueError, "all >= 1"),
        ({"layer_sizes": [3, 1], "output": "softmax"}, ValueError, "softmax output needs >= 2 units"),
        ({"layer_sizes": [3, 2], "hidden_activation": "gelu"}, ValueError, "hidden_activation must be one of"),
        ({"layer_sizes": [3, 2], "output": "logits"}, ValueError, "output must be one of"),
        ({"layer_sizes": [3, 2], "dtype": np.float16}, TypeError, "float32 or float64, got float16"),
    ],
)
def test_invalid_architectures_are_rejected(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        MLP(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"epochs": 0}, "epochs must be >= 1"), ({"batch_size": 0}, "batch_size")]
)
def test_invalid_fit_settings_are_rejected(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MLP([2, 2]).fit(np.zeros((2, 2)), np.array([0, 1]), verbose=False, **kwargs)  # type: ignore[arg-type]


def test_fit_scores_the_validation_set_after_every_epoch() -> None:
    X, y = moons(n=96, seed=0)
    X_val, y_val = moons(n=40, seed=1)
    net = MLP([2, 8, 2], seed=0, dtype=np.float64)
    history = net.fit(X, y, optimizer=Adam(0.05), epochs=4, verbose=False, validation=(X_val, y_val))
    assert len(history.val_loss) == len(history.val_accuracy) == 4
    loss, _ = net.loss(net.forward(X_val), y_val)  # the last epoch's scores are those of the final model
    assert history.val_loss[-1] == pytest.approx(loss, rel=1e-12)
    assert history.val_accuracy[-1] == net.accuracy(X_val, y_val)
    assert history.val_loss[-1] < history.val_loss[0]


def test_a_regressors_validation_has_a_loss_and_no_accuracy() -> None:
    X = np.linspace(-1, 1, 32)[:, None]
    net = MLP([1, 4, 1], output="linear", seed=0, dtype=np.float64)
    history = net.fit(X, 2 * X, epochs=3, verbose=False, validation=(X[:8], 2 * X[:8]))
    assert len(history.val_loss) == 3
    assert history.val_accuracy == history.accuracy == []


def test_bad_validation_data_is_refused_naming_it() -> None:
    X, y = moons(n=32, seed=0)
    with pytest.raises(ValueError, match=r"validation X: expected shape \(N, 2\) with N >= 1, got \(5, 3\)"):
        MLP([2, 4, 2]).fit(X, y, epochs=1, verbose=False, validation=(np.zeros((5, 3)), np.zeros(5)))


def test_a_schedule_sets_the_learning_rate_of_every_step() -> None:
    X, y = moons(n=64, seed=0)
    seen: list[float] = []

    class Recording(SGD):
        def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:  # type: ignore[override]
            seen.append(self.lr)
            super().step(params, grads)

    schedule = make_schedule("cosine", 0.1, 8)
    history = MLP([2, 4, 2], seed=0).fit(
        X, y, optimizer=Recording(0.1), epochs=2, batch_size=16, verbose=False, schedule=schedule
    )
    assert seen == [schedule(step)[0] for step in range(8)]
    assert history.lr == [seen[3], seen[7]]


# ----- divergence ------------------------------------------------------------------------------


def test_a_diverging_run_stops_with_an_error_naming_the_epoch_and_a_smaller_learning_rate() -> None:
    X, y = moons(n=64, seed=0)
    net = MLP([2, 16, 2], seed=0, dtype=np.float32)
    with pytest.raises(DivergenceError, match=r"loss became (nan|inf) at epoch \d+ .*smaller learning rate") as info:
        net.fit(X * 1e3, y, optimizer=SGD(1e6), epochs=50, verbose=False)
    assert info.value.epoch >= 1
    assert all(np.isfinite(p).all() for p in net.params)


class _Saboteur(Optimizer):
    """SGD that writes NaN into the first weight at its ``bad_step``-th step."""

    def __init__(self, bad_step: int) -> None:
        super().__init__(lr=0.1)
        self.bad_step = bad_step
        self.history: list[list[np.ndarray]] = []  # the parameters before each step

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:  # type: ignore[override]
        self._check(params, grads)
        self.history.append([p.copy() for p in params])
        if self.t == self.bad_step:
            params[0][0, 0] = np.nan
            return
        for p, g in zip(params, grads, strict=True):
            p -= self.lr * g


def test_divergence_with_non_finite_parameters_restores_those_of_the_epoch_start() -> None:
    X, y = moons(n=40, seed=0)
    net = MLP([2, 8, 2], seed=0, dtype=np.float64)
    opt = _Saboteur(bad_step=7)  # 5 batches per epoch: step 7 is the second of epoch 2
    with pytest.raises(DivergenceError, match=r"loss became nan at epoch 2 .*restored .* start of epoch 2") as info:
        net.fit(X, y, optimizer=opt, epochs=5, batch_size=8, verbose=False)
    assert info.value.epoch == 2
    assert len(info.value.history.loss) == 1  # the one epoch that finished
    epoch_2_start = opt.history[5]
    for p, kept in zip(net.params, epoch_2_start, strict=True):
        assert np.array_equal(p, kept)


def test_divergence_with_finite_parameters_keeps_them() -> None:
    X, y = moons(n=40, seed=0)
    net = MLP([2, 8, 2], output="softmax", seed=0, dtype=np.float64)
    X_huge = X * 1e300  # the parameters stay finite; the logits overflow
    with pytest.raises(DivergenceError, match="keeps its current parameters, which are finite") as info:
        net.fit(X_huge, y, optimizer=SGD(0.1), epochs=3, verbose=False)
    assert info.value.epoch == 1
    assert all(np.isfinite(p).all() for p in net.params)


# ----- progress --------------------------------------------------------------------------------


def test_verbose_fit_prints_one_line_per_epoch_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = moons(n=32, seed=0)
    MLP([2, 4, 2]).fit(X, y, epochs=3, verbose=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3  loss ")
    assert "acc" in lines[-1]


def test_quiet_fit_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = moons(n=32, seed=0)
    MLP([2, 4, 2]).fit(X, y, epochs=3, verbose=False)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


# ----- persistence -----------------------------------------------------------------------------


def test_save_and_load_round_trip_architecture_and_predictions(tmp_path: Path) -> None:
    X, y = blobs(n=60, centers=3, seed=0)
    net = MLP([2, 7, 5, 3], hidden_activation="tanh", output="softmax", seed=4, dtype=np.float64)
    net.fit(X, y, optimizer=Adam(0.01), epochs=5, verbose=False)
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = MLP.load(path)
    assert (loaded.layer_sizes, loaded.hidden_activation, loaded.output) == ([2, 7, 5, 3], "tanh", "softmax")
    assert np.dtype(loaded.dtype) == np.float64
    assert np.array_equal(loaded.forward(X), net.forward(X))


def test_save_overwrites_atomically_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2], seed=0).save(path)
    second = MLP([2, 3, 2], seed=1)
    second.save(path)
    assert np.array_equal(MLP.load(path).params[0], second.params[0])
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_a_save_that_fails_midway_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "net.npz"
    first = MLP([2, 3, 2], seed=0)
    first.save(path)

    def broken_savez(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        MLP([2, 3, 2], seed=1).save(path)
    monkeypatch.undo()
    assert np.array_equal(MLP.load(path).params[0], first.params[0])
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_save_requires_the_npz_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"ending in \.npz"):
        MLP([2, 2]).save(tmp_path / "net.bin")


def test_loading_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.npz"):
        MLP.load(tmp_path / "nope.npz")


def test_loading_a_corrupt_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match=r"garbage\.npz: not a readable \.npz file"):
        MLP.load(path)


def test_loading_a_truncated_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 8, 2]).save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"net\.npz"):
        MLP.load(path)


def test_loading_a_foreign_npz_says_so(tmp_path: Path) -> None:
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"not a backproplab backproplab\.MLP file .*\['weights'\]"):
        MLP.load(path)


def test_loading_a_file_with_wrong_shapes_names_the_array(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    MLP([2, 3, 2]).save(path)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["W2"] = np.zeros((4, 2))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"W2 should be a float array of shape \(3, 2\), got float64 \(4, 2\)"):
        MLP.load(path)


_UNPICKLED: list[str] = []


def _record_unpickling() -> str:
    _UNPICKLED.append("ran")
    return "payload"


class _Trap:
    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (_record_unpickling, ())


def test_loading_never_runs_pickle(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Trap()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.npy", buffer.getvalue())
    with pytest.raises(ValueError, match=r"evil\.npz: refused to load .*never contain pickled objects"):
        MLP.load(path)
    assert _UNPICKLED == []


def test_backprop_of_a_saturated_softmax_network_matches_finite_differences() -> None:
    """Hypothesis's find: one sample predicted right with loss 1.9e-6, where gradients are ~1e-5."""
    net = MLP([1, 1, 3, 2], "relu", "softmax", seed=23223, dtype=np.float64)
    X = np.random.default_rng(23223).standard_normal((1, 1))
    results = check_mlp_gradients(net, X, np.array([0]))
    assert max(r.max_rel_error for r in results) <= 1e-7


def test_the_relative_error_floor_grows_with_the_loss() -> None:
    """Hypothesis's find: squared error 10.7, dW2 entries of 8e-6; against a fixed 1e-5 floor the
    stencil's round-off (~1e-16 * |L| / h) read 1.9e-7 there."""
    net = MLP([1, 7, 5, 1], "leaky_relu", "linear", seed=102, dtype=np.float64)
    rng = np.random.default_rng(102)
    X, y = rng.standard_normal((1, 1)), rng.standard_normal((1, 1))
    assert net.loss(net.forward(X), y)[0] > 10
    results = check_mlp_gradients(net, X, y)
    assert max(r.max_rel_error for r in results) <= 1e-7
