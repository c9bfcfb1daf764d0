"""TensorFlow Playground's regression sets, their picture, and the network drawn as columns of maps."""

import math
from dataclasses import replace

import numpy as np
import pytest

from backproplab.activations import sigmoid
from backproplab.layers import feature_map
from backproplab.neural_network import MLP
from backproplab.playground import boundary, datasets
from backproplab.playground.datasets import Data, DataSpec, make_data, to_csv
from backproplab.playground.network_diagram import (
    NetworkMaps,
    draw_network,
    input_names,
    network_maps,
    network_picture,
    network_weights,
    unit_names,
    weight_table,
)

PLANE = DataSpec(name="plane", n=300, noise=0.0, test_fraction=0.0, seed=4)
GAUSSIANS = replace(PLANE, name="gaussians")
EXTENT = (-6.0, 6.0, -6.0, 6.0)
BLUE, ORANGE, WHITE = [0x08, 0x77, 0xBD], [0xF5, 0x93, 0x22], [255, 255, 255]


def gaussians_oracle(x: float, y: float) -> float:
    """dataset.ts's ``regressGaussian`` ``getLabel``, point by point."""
    label = 0.0
    for cx, cy, sign in [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]:
        new = sign * min(max(1.0 - math.hypot(x - cx, y - cy) / 2.0, 0.0), 1.0)
        if abs(new) > abs(label):
            label = new
    return label


# ----- regression data ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["plane", "gaussians"])
def test_regression_sets_hold_n_float_values_and_no_classes(name: str) -> None:
    data = make_data(DataSpec(name=name, n=250, noise=0.3, test_fraction=0.2, seed=1))
    assert data.X_train.shape == (200, 2)
    assert data.y_test.shape == (50,)
    assert data.y.dtype == np.float64
    assert data.n_classes == 0
    assert data.regression
    assert np.abs(data.X).max() <= 6.0


def test_the_regression_sets_are_listed_with_zero_classes() -> None:
    assert {"plane", "gaussians"} == datasets.REGRESSION
    assert all(datasets.DATASETS[name] == 0 for name in datasets.REGRESSION)
    assert not make_data(DataSpec(name="xor")).regression


def test_plane_without_noise_is_x1_plus_x2_over_10() -> None:
    data = make_data(PLANE)
    np.testing.assert_allclose(data.y, (data.X[:, 0] + data.X[:, 1]) / 10.0, rtol=0, atol=1e-15)
    assert np.abs(data.y).max() <= 1.2  # not clipped: the corners of [-6, 6]^2 reach 1.2, as in dataset.ts


def test_gaussians_without_noise_is_dataset_ts_label_on_the_point() -> None:
    data = make_data(GAUSSIANS)
    expected = [gaussians_oracle(x, y) for x, y in data.X.tolist()]
    np.testing.assert_allclose(data.y, expected, rtol=0, atol=1e-15)
    assert data.y.min() < -0.5 < 0.5 < data.y.max()


@pytest.mark.parametrize("noise", [0.0, 0.5, 1.0])
def test_gaussians_values_lie_in_minus_one_to_one(noise: float) -> None:
    y = make_data(replace(GAUSSIANS, noise=noise)).y
    assert y.min() >= -1.0
    assert y.max() <= 1.0


def test_noise_values_a_point_shifted_by_at_most_six_times_noise_per_coordinate() -> None:
    data = make_data(replace(PLANE, noise=0.5))
    shift = data.y - (data.X[:, 0] + data.X[:, 1]) / 10.0  # (shift_1 + shift_2) / 10
    assert np.abs(shift).max() <= 2 * 6 * 0.5 / 10
    assert np.abs(shift).mean() > 0.05


@pytest.mark.parametrize("name", ["plane", "gaussians"])
def test_regression_sets_are_deterministic_per_seed(name: str) -> None:
    spec = DataSpec(name=name, n=100, noise=0.2, seed=7)
    a, b, c = make_data(spec), make_data(spec), make_data(replace(spec, seed=8))
    assert np.array_equal(a.X_train, b.X_train)
    assert np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


def test_the_limits_allow_a_noisy_set_of_few_points_for_overfitting() -> None:
    for name in ("gaussians", "xor"):
        assert make_data(DataSpec(name=name, n=40, noise=0.5)).X.shape == (40, 2)


def test_regression_csv_has_a_value_column_of_floats() -> None:
    data = make_data(replace(GAUSSIANS, n=20, noise=0.1))
    lines = to_csv(data.X, data.y).decode().splitlines()
    assert lines[0] == "x1,x2,value"
    rows = [tuple(map(float, line.split(","))) for line in lines[1:]]
    assert rows == list(zip(data.X[:, 0].tolist(), data.X[:, 1].tolist(), data.y.tolist(), strict=True))


def test_class_csv_keeps_its_label_column() -> None:
    data = make_data(DataSpec(name="xor", n=20))
    lines = to_csv(data.X, data.y).decode().splitlines()
    assert lines[0] == "x1,x2,label"
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"0", "1"}


# ----- the regression picture ---------------------------------------------------------------------
def test_value_colours_run_orange_white_blue_and_clip() -> None:
    rgb = boundary.value_colours(np.array([-3.0, -1.0, 0.0, 1.0, 3.0, np.nan, np.inf]))
    assert rgb.dtype == np.uint8
    assert rgb.tolist() == [ORANGE, ORANGE, WHITE, BLUE, BLUE, WHITE, WHITE]
    half = boundary.value_colours(np.array([0.5]), scale=0.5)
    assert half.tolist() == [BLUE]


def test_value_image_colours_the_grid_and_the_points_by_value() -> None:
    data = Data(np.array([[-3.0, 0.0]]), np.array([-1.0]), np.array([[3.0, 0.0]]), np.array([-1.0]), 0, "two")
    values = np.ones((10, 10))
    img = boundary.value_image(values, EXTENT, data, size=61).astype(int)
    assert img.shape == (61, 61, 3)
    assert img[2, 2].tolist() == BLUE  # the background: +1
    assert img[30, 15].tolist() == ORANGE  # the training point's centre: its value -1
    assert img[30, 45].tolist() == ORANGE  # the test point's centre
    assert img[30, 19].tolist() == [30, 30, 30]  # dark edge: a training point
    assert img[30, 49].tolist() == WHITE  # white edge: a test point


def test_value_image_draws_minus_one_orange_bottom_row_at_the_bottom() -> None:
    data = make_data(replace(PLANE, n=8))
    values = np.zeros((4, 4))
    values[0] = -1.0  # row 0 of the grid: the bottom of the picture
    img = boundary.value_image(values, EXTENT, replace(data, X_train=data.X[:0], y_train=data.y[:0]), size=40)
    assert img[-1, 0].tolist() == ORANGE
    assert img[0, 0].tolist() == WHITE


def test_value_image_refuses_a_grid_that_is_not_square() -> None:
    data = make_data(PLANE)
    with pytest.raises(ValueError, match=r"\(res, res\) grid, got shape \(3, 4\)"):
        boundary.value_image(np.zeros((3, 4)), EXTENT, data)


# ----- the network's maps -------------------------------------------------------------------------
def featured_net(dropout: float = 0.5) -> MLP:
    return MLP(
        [2, 5, 3, 1], "tanh", "sigmoid", seed=2, dtype=np.float64, features=("x1", "x1^2", "sin(x2)"), dropout=dropout
    )


def test_hidden_maps_come_after_each_activation_with_dropout_off() -> None:
    net = featured_net()
    maps = boundary.hidden_maps(net, EXTENT, res=6)
    grid = boundary.grid_points(EXTENT, 6)
    (W1, b1), (W2, b2) = [(d.params["W"], d.params["b"]) for d in net.dense_layers[:2]]
    A1 = np.tanh(feature_map(grid, ["x1", "x1^2", "sin(x2)"]) @ W1 + b1)  # (36, 5)
    A2 = np.tanh(A1 @ W2 + b2)  # (36, 3)
    assert [m.shape for m in maps] == [(5, 6, 6), (3, 6, 6)]
    np.testing.assert_allclose(maps[0], A1.T.reshape(5, 6, 6), rtol=1e-12)
    np.testing.assert_allclose(maps[1], A2.T.reshape(3, 6, 6), rtol=1e-12)
    assert net.training  # the mode is restored


def test_network_maps_show_the_features_and_the_output_probability() -> None:
    net = featured_net()
    maps = network_maps(net, EXTENT, res=5)
    grid = boundary.grid_points(EXTENT, 5)
    assert input_names(net) == ["x1", "x1^2", "sin(x2)"]
    np.testing.assert_allclose(maps.inputs[1], (grid[:, 0] ** 2).reshape(5, 5))
    p = sigmoid(net.predict_logits(grid))[:, 0]
    np.testing.assert_allclose(maps.output[0], (2 * p - 1).reshape(5, 5), rtol=1e-12)


def test_network_maps_of_softmax_give_each_class_on_minus_one_to_one() -> None:
    net = MLP([2, 4, 3], "relu", "softmax", seed=0, dtype=np.float64)
    maps = network_maps(net, EXTENT, res=7)
    assert input_names(net) == ["x1", "x2"]
    assert maps.inputs.shape == (2, 7, 7)
    assert maps.output.shape == (3, 7, 7)
    np.testing.assert_allclose(((maps.output + 1) / 2).sum(axis=0), 1.0)


def test_network_maps_of_a_linear_output_are_its_values() -> None:
    net = MLP([2, 4, 1], "tanh", "linear", seed=0, dtype=np.float64)
    maps = network_maps(net, EXTENT, res=4)
    np.testing.assert_allclose(maps.output[0], net.predict(boundary.grid_points(EXTENT, 4)).reshape(4, 4))


# ----- the picture of the network -----------------------------------------------------------------
def blank_maps(units: list[int], res: int = 4) -> NetworkMaps:
    """All-zero (white) maps of a net with ``units`` per column, inputs first."""
    return NetworkMaps(
        np.zeros((units[0], res, res)), [np.zeros((u, res, res)) for u in units[1:-1]], np.zeros((units[-1], res, res))
    )


def test_the_picture_is_rgb_bytes_growing_with_the_columns() -> None:
    small = network_picture(MLP([2, 3, 1], "tanh", "sigmoid"), EXTENT)
    deep = network_picture(MLP([2, 3, 3, 3, 1], "tanh", "sigmoid"), EXTENT)
    assert small.dtype == np.uint8
    assert small.ndim == 3
    assert small.shape[2] == 3
    assert deep.shape[0] == small.shape[0]
    assert deep.shape[1] > small.shape[1]


def test_positive_weights_are_blue_negative_orange_and_larger_thicker() -> None:
    weights = [np.array([[2.0, 0.0], [0.0, -0.5]]), np.zeros((2, 1))]  # x1 -> h1.1 blue, x2 -> h1.2 orange
    img = draw_network(blank_maps([2, 2, 1]), weights, ["x1", "x2"]).astype(int)
    r, b = img[..., 0], img[..., 2]
    blue, orange = b > r + 60, r > b + 60  # the tiles are white: only the weights are coloured
    rows_blue, rows_orange = np.nonzero(blue)[0], np.nonzero(orange)[0]
    assert rows_blue.size > 0
    assert rows_orange.size > 0
    assert rows_blue.max() < img.shape[0] / 2 < rows_orange.min()  # unit 1's row above unit 2's
    assert rows_blue.size > 2 * rows_orange.size  # |2| draws a thicker line than |-0.5|


def test_a_net_of_six_layers_of_64_units_shows_8_a_column() -> None:
    """Its draw time is a benchmark figure (bench/playground_step.py), not asserted here."""
    big = MLP([2, *[64] * 6, 2], "tanh", "softmax", seed=0, dtype=np.float64)
    maps, weights = network_maps(big, EXTENT), network_weights(big)
    img = draw_network(maps, weights, input_names(big), max_units=8)
    same_layout = draw_network(
        blank_maps([2, *[8] * 6, 2]), [np.ones((2, 8)), *[np.ones((8, 8))] * 5, np.ones((8, 2))], ["x1", "x2"]
    )
    assert img.shape == same_layout.shape  # 8 tiles a column, whatever the width of the layer


def test_draw_network_names_the_weights_that_do_not_fit_the_maps() -> None:
    maps = blank_maps([2, 3, 1])
    with pytest.raises(ValueError, match=r"W2 must have shape \(3, 1\) to join the maps, got \(2, 1\)"):
        draw_network(maps, [np.ones((2, 3)), np.ones((2, 1))], ["x1", "x2"])
    with pytest.raises(ValueError, match=r"expected 2 weight matrices for 1 hidden layers, got 1"):
        draw_network(maps, [np.ones((2, 3))], ["x1", "x2"])
    with pytest.raises(ValueError, match=r"expected 2 input names, got 1"):
        draw_network(maps, [np.ones((2, 3)), np.ones((3, 1))], ["x1"])


def test_a_diverged_network_is_still_drawn() -> None:
    weights = [np.array([[np.nan, 1.0]]), np.array([[np.inf], [-1.0]])]
    maps = NetworkMaps(np.full((1, 3, 3), np.nan), [np.zeros((2, 3, 3))], np.full((1, 3, 3), np.nan))
    img = draw_network(maps, weights, ["x1"])
    finite = draw_network(blank_maps([1, 2, 1], res=3), [np.ones((1, 2)), np.ones((2, 1))], ["x1"])
    assert img.dtype == np.uint8
    assert img.shape == finite.shape


# ----- naming the weights -------------------------------------------------------------------------
def test_unit_names_follow_the_columns() -> None:
    weights = [np.zeros((3, 2)), np.zeros((2, 4)), np.zeros((4, 3))]
    names = unit_names(["x1", "x1^2", "x1*x2"], weights)
    assert names == [
        ["x1", "x1^2", "x1*x2"],
        ["h1.1", "h1.2"],
        ["h2.1", "h2.2", "h2.3", "h2.4"],
        ["class 0", "class 1", "class 2"],
    ]
    assert unit_names(["x1", "x2"], [np.zeros((2, 1))])[-1] == ["out"]
    with pytest.raises(ValueError, match=r"expected 3 input names for W1 \(3, 2\), got \['x1', 'x2'\]"):
        unit_names(["x1", "x2"], weights)


def test_weight_table_lists_every_weight_of_a_layer_with_its_units() -> None:
    W1, W2 = np.arange(6.0).reshape(2, 3), np.array([[0.5], [-0.25], [2.0]])
    rows = weight_table([W1, W2], 1, ["x1", "x2"])
    assert len(rows) == 6
    assert rows[5] == {"from": "x2", "to": "h1.3", "weight": 5.0}
    assert weight_table([W1, W2], 2, ["x1", "x2"])[1] == {"from": "h1.2", "to": "out", "weight": -0.25}
    with pytest.raises(ValueError, match=r"layer must lie in \[1, 2\], got 3"):
        weight_table([W1, W2], 3, ["x1", "x2"])
