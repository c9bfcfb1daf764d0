"""The playground's data: seeded toy sets split into train and test, CSV upload and download.

Every set is 2-D so its decision boundary can be drawn: ``X: (n, 2)`` float64 and ``y: (n,)``, either
int64 class ids ``0 .. n_classes - 1`` or, for the regression sets (:data:`REGRESSION`, ``n_classes``
0), float64 values. The classification generators are :mod:`backproplab.data.toy`'s; the regression
sets are TensorFlow Playground's (its ``dataset.ts``). This module chooses the generators' arguments,
splits the points, and reads and writes the ``x1,x2,label`` (or ``x1,x2,value``) CSV format.
"""

import io
import math
from dataclasses import dataclass

import numpy as np

from backproplab._typing import FloatArray, IntArray
from backproplab.data import toy

# Bounds that keep every request cheap enough for a shared server (checked here, not only in the UI).
MAX_POINTS = 5000
MIN_POINTS = 8
MAX_NOISE = 1.0
MAX_CLASSES = 8
MAX_TEST_FRACTION = 0.5
MAX_CSV_BYTES = 1_000_000

Targets = FloatArray | IntArray  # class ids (int64) or regression values (float64)

# name -> how many classes it has (None: the user chooses, 3 or more; 0: a regression set)
DATASETS: dict[str, int | None] = {
    "xor": 2,
    "circles": 2,
    "moons": 2,
    "spirals": 2,
    "blobs": 2,
    "multiclass spirals": None,
    "multiclass blobs": None,
    "plane": 0,
    "gaussians": 0,
}
REGRESSION = frozenset(name for name, k in DATASETS.items() if k == 0)  # sets with values, not classes
REGRESSION_RADIUS = 6.0  # the regression sets' points lie in [-6, 6]^2, as in TensorFlow Playground
# the regression set "gaussians": (x1, x2, sign) of each centre
GAUSSIANS = (
    (-4.0, 2.5, 1.0),
    (0.0, 2.5, -1.0),
    (4.0, 2.5, 1.0),
    (-4.0, -2.5, -1.0),
    (0.0, -2.5, 1.0),
    (4.0, -2.5, -1.0),
)


@dataclass(frozen=True)
class DataSpec:
    """What to generate: dataset ``name``, ``n`` points, Gaussian ``noise``, ``classes`` (multiclass sets
    only), the fraction held out for testing, and the seed of both the points and the split."""

    name: str = "xor"
    n: int = 200
    noise: float = 0.1
    classes: int = 3
    test_fraction: float = 0.2
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first argument outside the playground's limits."""
        if self.name not in DATASETS:
            raise ValueError(f"dataset must be one of {list(DATASETS)}, got {self.name!r}")
        if not MIN_POINTS <= self.n <= MAX_POINTS:
            raise ValueError(f"n must lie in [{MIN_POINTS}, {MAX_POINTS}], got {self.n}")
        if not 0 <= self.noise <= MAX_NOISE:
            raise ValueError(f"noise must lie in [0, {MAX_NOISE}], got {self.noise}")
        if DATASETS[self.name] is None and not 3 <= self.classes <= MAX_CLASSES:
            raise ValueError(f"classes must lie in [3, {MAX_CLASSES}] for {self.name}, got {self.classes}")
        if not 0 <= self.test_fraction <= MAX_TEST_FRACTION:
            raise ValueError(f"test_fraction must lie in [0, {MAX_TEST_FRACTION}], got {self.test_fraction}")


@dataclass(frozen=True)
class Data:
    """Points split into a training and a test set: ``X_*: (n_*, 2)`` float64, ``y_*: (n_*,)`` int64
    class ids, or float64 values when the set is a regression set (``n_classes == 0``)."""

    X_train: FloatArray
    y_train: Targets
    X_test: FloatArray
    y_test: Targets
    n_classes: int
    name: str

    @property
    def regression(self) -> bool:
        """True for values to fit (``n_classes == 0``), False for classes."""
        return self.n_classes == 0

    @property
    def X(self) -> FloatArray:
        """All points, training first: ``(n_train + n_test, 2)``."""
        return np.vstack([self.X_train, self.X_test])

    @property
    def y(self) -> Targets:
        """All labels (or values), training first: ``(n_train + n_test,)``."""
        return np.concatenate([self.y_train, self.y_test])


def _xor_clusters(n: int, noise: float, seed: int) -> toy.Dataset:
    """``n`` points jittered around the four corners of :func:`toy.xor`'s truth table, scaled to ``[-1, 1]^2``."""
    corners, labels = toy.xor()
    rng = np.random.default_rng(seed)
    which = np.arange(n) % 4
    X = (2.0 * corners[which] - 1.0) + rng.normal(0.0, noise, size=(n, 2))
    order = rng.permutation(n)
    return X[order], labels[which][order]


def plane_value(X: FloatArray) -> FloatArray:
    """TensorFlow Playground's "plane": ``(x1 + x2) / 10`` at each point of ``X: (n, 2)`` -> ``(n,)``.

    The linear map of ``[-10, 10]`` onto ``[-1, 1]``, not clipped: as there, the corners of
    ``[-6, 6]^2`` reach ``±1.2``."""
    value: FloatArray = (X[:, 0] + X[:, 1]) / 10.0
    return value


def gaussians_value(X: FloatArray) -> FloatArray:
    """TensorFlow Playground's "gaussians" at each point of ``X: (n, 2)`` -> ``(n,)`` in ``[-1, 1]``.

    Each centre of :data:`GAUSSIANS` gives ``sign * clip(1 - distance / 2, 0, 1)``; the value is the
    one of largest absolute value (the first centre's on a tie)."""
    centres = np.array([c[:2] for c in GAUSSIANS])  # (6, 2)
    signs = np.array([c[2] for c in GAUSSIANS])  # (6,)
    dist = np.linalg.norm(X[:, None, :] - centres[None, :, :], axis=2)  # (n, 6)
    each = signs * np.clip(1.0 - dist / 2.0, 0.0, 1.0)  # (n, 6)
    value: FloatArray = each[np.arange(X.shape[0]), np.abs(each).argmax(axis=1)]
    return value


def _regression(name: str, n: int, noise: float, seed: int) -> tuple[FloatArray, FloatArray]:
    """TensorFlow Playground's ``regressPlane`` / ``regressGaussian``: ``n`` points uniform in
    ``[-6, 6]^2``, each valued at the point shifted by ``uniform(-6, 6) * noise`` in each coordinate."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-REGRESSION_RADIUS, REGRESSION_RADIUS, size=(n, 2))
    shifted = X + noise * rng.uniform(-REGRESSION_RADIUS, REGRESSION_RADIUS, size=(n, 2))
    return X, plane_value(shifted) if name == "plane" else gaussians_value(shifted)


def generate(spec: DataSpec) -> tuple[FloatArray, Targets]:
    """All ``spec.n`` points of the dataset: ``X: (n, 2)``, ``y: (n,)`` (before the split); ``y`` is
    float64 values for a set of :data:`REGRESSION`, else int64 class ids."""
    spec.validate()
    n, noise, seed = spec.n, spec.noise, spec.seed
    if spec.name in REGRESSION:
        return _regression(spec.name, n, noise, seed)
    if spec.name == "xor":
        return _xor_clusters(n, noise, seed)
    if spec.name == "circles":
        return toy.circles(n, noise=noise, seed=seed)
    if spec.name == "moons":
        return toy.moons(n, noise=noise, seed=seed)
    if spec.name == "spirals":
        return toy.spirals(n, noise=noise, seed=seed)
    if spec.name == "blobs":
        return toy.blobs(n, centers=2, std=0.4 + noise, seed=seed)
    if spec.name == "multiclass spirals":
        return toy.spirals(n, noise=noise, n_classes=spec.classes, seed=seed)
    return toy.blobs(n, centers=spec.classes, std=0.4 + noise, seed=seed)


def split(X: FloatArray, y: Targets, test_fraction: float, seed: int, name: str) -> Data:
    """Shuffle ``X: (n, 2)``, ``y: (n,)`` with ``seed`` and hold out ``round(test_fraction * n)`` points.

    Float ``y`` are regression values (``n_classes`` 0); integer ``y`` are class ids ``0 .. K-1``."""
    if not 0 <= test_fraction <= MAX_TEST_FRACTION:
        raise ValueError(f"test_fraction must lie in [0, {MAX_TEST_FRACTION}], got {test_fraction}")
    n = X.shape[0]
    order = np.random.default_rng([seed, 1]).permutation(n)  # a stream apart from the points' own
    n_test = round(test_fraction * n)
    train, test = order[n_test:], order[:n_test]
    n_classes = 0 if y.dtype.kind == "f" else int(y.max()) + 1
    return Data(X[train], y[train], X[test], y[test], n_classes, name)


def make_data(spec: DataSpec) -> Data:
    """Generate ``spec``'s points and split them (deterministic for a given spec)."""
    X, y = generate(spec)
    return split(X, y, spec.test_fraction, spec.seed, spec.name)


class CSVError(ValueError):
    """An uploaded CSV file that is not a valid ``x1,x2,label`` table; the message says where and why."""


def _parse_row(line_no: int, fields: list[str]) -> tuple[float, float, int]:
    names = ("x1", "x2", "label")
    if len(fields) != 3:
        raise CSVError(f"line {line_no}: expected 3 values (x1,x2,label), got {len(fields)}: {','.join(fields)!r}")
    values = []
    for name, text in zip(names, fields, strict=True):
        try:
            value = float(text)
        except ValueError:
            raise CSVError(f"line {line_no}, column {name}: expected a number, got {text.strip()!r}") from None
        if not math.isfinite(value):
            raise CSVError(f"line {line_no}, column {name}: expected a finite number, got {text.strip()!r}")
        values.append(value)
    label = values[2]
    if label != round(label) or not 0 <= label < MAX_CLASSES:
        raise CSVError(
            f"line {line_no}, column label: expected a whole number in [0, {MAX_CLASSES - 1}], "
            f"got {fields[2].strip()!r}"
        )
    return values[0], values[1], int(label)


def parse_csv(content: bytes, test_fraction: float = 0.2, seed: int = 0, name: str = "uploaded CSV") -> Data:
    """Read an uploaded ``x1,x2,label`` table (an optional header line first) and split it.

    Labels are class ids ``0 .. K-1`` with every class present and ``2 <= K <= MAX_CLASSES``; the
    table holds ``MIN_POINTS`` to ``MAX_POINTS`` rows. Raises :class:`CSVError` naming the line,
    the column and the value at fault.
    """
    if len(content) > MAX_CSV_BYTES:
        raise CSVError(f"the file has {len(content):,} bytes; the limit is {MAX_CSV_BYTES:,}")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CSVError(f"the file is not UTF-8 text (byte {e.start} is {content[e.start : e.start + 1]!r})") from None
    rows: list[tuple[float, float, int]] = []
    for line_no, line in enumerate(io.StringIO(text), 1):
        fields = [f.strip() for f in line.strip().split(",")]
        if fields == [""]:
            continue  # blank lines
        if not rows and line_no == 1 and [f.lower() for f in fields] == ["x1", "x2", "label"]:
            continue  # the header
        rows.append(_parse_row(line_no, fields))
        if len(rows) > MAX_POINTS:
            raise CSVError(f"line {line_no}: more than {MAX_POINTS} points; the limit is {MAX_POINTS}")
    if len(rows) < MIN_POINTS:
        raise CSVError(f"expected at least {MIN_POINTS} points, got {len(rows)}")
    X = np.array([(r[0], r[1]) for r in rows], dtype=np.float64)
    y = np.array([r[2] for r in rows], dtype=np.int64)
    present = set(y.tolist())
    k = int(y.max()) + 1
    missing = sorted(set(range(k)) - present)
    if k < 2 or missing:
        raise CSVError(
            f"labels must be class ids 0..K-1 with every class present and K >= 2; found labels {sorted(present)}"
            + (f", missing {missing}" if missing else "")
        )
    return split(X, y, test_fraction, seed, name)


def to_csv(X: FloatArray, y: Targets) -> bytes:
    """``X: (n, 2)``, ``y: (n,)`` as CSV bytes with a header: ``x1,x2,label`` for integer class ids
    (:func:`parse_csv` reads it back), ``x1,x2,value`` for float regression values."""
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"expected X (n, 2) and y (n,), got X {X.shape} and y {y.shape}")
    rows = zip(X[:, 0].tolist(), X[:, 1].tolist(), y.tolist(), strict=True)
    if y.dtype.kind == "f":
        lines = ["x1,x2,value"] + [f"{a!r},{b!r},{c!r}" for a, b, c in rows]
    else:
        lines = ["x1,x2,label"] + [f"{a!r},{b!r},{int(c)}" for a, b, c in rows]
    return ("\n".join(lines) + "\n").encode()
