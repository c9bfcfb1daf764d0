"""Toy datasets: shapes, dtypes, labels, determinism and argument checks."""

from collections.abc import Callable

import numpy as np
import pytest

from backproplab.data.toy import Dataset, blobs, circles, moons, spirals, xor, xor_blobs

GENERATORS: list[Callable[..., Dataset]] = [moons, circles, spirals, blobs, xor_blobs]


def test_xor_is_the_truth_table() -> None:
    X, y = xor()
    assert X.shape == (4, 2)
    assert np.array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(int))


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n", [1, 2, 101])
def test_generators_return_n_points_with_int_labels(make: Callable[..., Dataset], n: int) -> None:
    X, y = make(n=n, seed=0)
    assert X.shape == (n, 2)
    assert X.dtype == np.float64
    assert y.shape == (n,)
    assert y.dtype == np.int64
    assert np.isfinite(X).all()


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(make: Callable[..., Dataset]) -> None:
    a, b, c = make(n=50, seed=3), make(n=50, seed=3), make(n=50, seed=4)
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_classes_are_balanced() -> None:
    assert np.bincount(moons(n=100)[1]).tolist() == [50, 50]
    assert np.bincount(circles(n=100)[1]).tolist() == [50, 50]
    assert np.bincount(spirals(n=99, n_classes=3)[1]).tolist() == [33, 33, 33]
    assert np.bincount(blobs(n=100, centers=4)[1]).tolist() == [25, 25, 25, 25]


def test_noise_zero_puts_circles_exactly_on_their_radii() -> None:
    X, y = circles(n=40, noise=0.0, factor=0.3)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(radius[y == 0], 1.0)
    assert np.allclose(radius[y == 1], 0.3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: moons(n=0), "n must be >= 1"),
        (lambda: moons(noise=-0.1), "noise must be >= 0"),
        (lambda: circles(factor=1.5), r"factor must lie in \(0, 1\)"),
        (lambda: spirals(n_classes=1), "n_classes must be >= 2"),
        (lambda: blobs(centers=1), "centers must be >= 2"),
    ],
)
def test_bad_arguments_raise(call: Callable[[], Dataset], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
