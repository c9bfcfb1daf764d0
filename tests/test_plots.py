"""The figures: the numbers behind them, and PNG files that exist, open and have real content."""

import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from backproplab import plots
from backproplab.cli import main
from backproplab.cnn.network import SpecNet
from backproplab.data.toy import xor

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path: Path, min_bytes: int = 15_000) -> None:
    """A real picture: the PNG signature, matplotlib reads it, a sensible size, not one flat colour."""
    assert path.read_bytes()[:8] == PNG_MAGIC, path
    assert path.stat().st_size > min_bytes, (path, path.stat().st_size)
    img = matplotlib.image.imread(path)
    height, width = img.shape[:2]
    assert 250 <= height <= 1500, (path, img.shape)
    assert 400 <= width <= 2000, (path, img.shape)
    assert img.std() > 0.05, path  # drawn on, not blank


def test_no_straight_line_gets_more_than_3_of_the_4_xor_points() -> None:
    X, y = xor()
    acc, w, b = plots.best_line(X, y)
    assert acc == 0.75
    assert np.mean((X @ w > b) == y.astype(bool)) == 0.75  # the returned line really scores that


def test_best_line_separates_a_linearly_separable_set() -> None:
    X, _ = xor()
    acc, w, b = plots.best_line(X, np.array([0, 0, 0, 1]))  # AND
    assert acc == 1.0
    assert np.array_equal(X @ w > b, np.array([False, False, False, True]))


def test_the_optimizer_trajectories_start_at_10_and_reach_3() -> None:
    paths = plots.quadratic_trajectories()
    assert set(paths) == {"SGD lr=0.1", "Momentum lr=0.05, beta=0.9", "Adam lr=0.2"}
    for label, w in paths.items():
        assert w.shape == (201,)
        assert w[0] == 10.0
        assert abs(w[-1] - 3.0) < 1e-2, label
    np.testing.assert_allclose(paths["SGD lr=0.1"], 3.0 + 7.0 * 0.8 ** np.arange(201))  # w_t - 3 = 0.8^t (w_0 - 3)


def test_untrained_lenet_starts_from_pytorchs_initialisation_and_says_so() -> None:
    net, source = plots.lenet_for_digits(train=False)
    assert source == "initial weights, untrained"
    w = net.params["conv2.weight"]  # (16, 6, 5, 5): fan_in 150, U(-1/sqrt(150), 1/sqrt(150))
    assert w.shape == (16, 6, 5, 5)
    assert np.abs(w).max() <= 1 / np.sqrt(150)
    assert abs(w.std() - np.sqrt(1 / 450)) < 0.01
    assert net.forward(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape == (2, 10)


def test_the_plots_never_import_torch() -> None:
    code = "import sys, backproplab.plots; assert 'torch' not in sys.modules, 'backproplab.plots imported torch'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", ["activations", "xor_boundary", "optimizers", "training_curves"])
def test_each_quick_figure_is_a_real_png(name: str, tmp_path: Path) -> None:
    path = plots.write_figure(name, tmp_path)
    assert path == tmp_path / f"{name}.png"
    _check_png(path)
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.png"]  # written atomically: no temporary left


def test_feature_maps_figure_with_untrained_weights_names_them_in_the_title(tmp_path: Path) -> None:
    fig = plots.feature_maps_figure(train=False)
    assert "initial weights, untrained" in fig.get_suptitle()
    _check_png(plots.save_png(fig, tmp_path / "maps.png"))


def test_unknown_figures_and_folders_raise_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown figure\(s\) \['loss'\]; expected some of activations"):
        plots.figure_names(["loss"])
    with pytest.raises(FileNotFoundError, match="no such folder"):
        plots.write_figure("activations", tmp_path / "missing")


def test_plots_command_prints_a_line_per_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figs"
    assert main(["plots", "--out", str(out), "--only", "activations", "optimizers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"[1/2] activations: {plots.FIGURES['activations'].description} -> {out / 'activations.png'}",
        f"[2/2] optimizers: {plots.FIGURES['optimizers'].description} -> {out / 'optimizers.png'}",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["activations.png", "optimizers.png"]
    assert main(["plots", "--out", str(out), "--only", "nope"]) == 2


@pytest.mark.slow
def test_plots_command_writes_every_figure_with_a_trained_lenet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = []
    lenet_for_digits = plots.lenet_for_digits

    def spy(train: bool = True) -> tuple[SpecNet, str]:
        net, source = lenet_for_digits(train)
        sources.append(source)
        return net, source

    monkeypatch.setattr(plots, "lenet_for_digits", spy)
    assert main(["plots", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name in plots.FIGURES)
    for name in plots.FIGURES:
        _check_png(tmp_path / f"{name}.png")
    [source] = sources
    assert source.startswith("weights trained 15 epochs in NumPy, test accuracy")
    accuracy = float(source.rsplit(" ", 1)[1].rstrip("%")) / 100
    assert accuracy > 0.85


def test_drawing_figures_never_touches_pyplot_or_the_backend(tmp_path: Path) -> None:
    """A notebook that imports backproplab.plots keeps its own backend and open figures."""
    code = (
        "import sys, matplotlib\n"
        "before = dict.__getitem__(matplotlib.rcParams, 'backend')  # reading rcParams['backend'] imports pyplot\n"
        "import backproplab.plots as p\n"
        f"p.write_figure('activations', {str(tmp_path)!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "assert dict.__getitem__(matplotlib.rcParams, 'backend') == before\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "activations.png").stat().st_size > 10_000
