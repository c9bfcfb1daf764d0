"""What the playground lets a learner take away: the model, the data and a script that uses both.

The model file is exactly what :meth:`MLP.save` writes (architecture, features, penalty, dropout and
weights, no pickle). The script rebuilds the network with :meth:`MLP.load`, reads the ``x1,x2,label``
CSV the page also offers (``x1,x2,value`` for a regression), and prints the accuracy (the mean squared
error for a regression), next to the figure the page measured on the same points.
"""

import tempfile
from pathlib import Path
from typing import Literal

import numpy as np

from backproplab.neural_network import MLP
from backproplab.playground.datasets import Data

MODEL_FILE = "playground_model.npz"
DATA_FILE = "playground_data.csv"

Metric = Literal["accuracy", "mse"]

_SCRIPT = '''"""Rebuild the network trained in the backproplab playground and evaluate it on its data.

Usage: python {script} [{model}] [{data}]   (both files are downloads of the playground)
"""

import sys

import numpy as np

from backproplab.neural_network import MLP

EXPECTED = {score!r}  # the {metric} the playground measured on the same points

model_path = sys.argv[1] if len(sys.argv) > 1 else "{model}"
data_path = sys.argv[2] if len(sys.argv) > 2 else "{data}"
net = MLP.load(model_path)  # with its input features, if any: it computes them from x1, x2
table = np.loadtxt(data_path, delimiter=",", skiprows=1, ndmin=2)  # columns x1, x2, {target}
{evaluate}'''

_ACCURACY = """X, y = table[:, :2], table[:, 2].astype(np.int64)
print(net)
accuracy = net.accuracy(X, y)
print(f"accuracy on {len(y)} points of {data_path}: {accuracy:.4f} (playground: {EXPECTED:.4f})")
print("first predictions:", net.predict(X[:10]).tolist())
"""

_MSE = """X, y = table[:, :2], table[:, 2]
print(net)
predicted = net.predict(X)[:, 0]  # (N,): the network's one output unit
mse = float(np.mean((predicted - y) ** 2))
print(f"mean squared error on {len(y)} points of {data_path}: {mse:.4f} (playground: {EXPECTED:.4f})")
print("first predictions:", predicted[:10].round(4).tolist())
"""


def model_bytes(net: MLP) -> bytes:
    """The ``.npz`` file :meth:`MLP.save` writes for ``net``, as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_FILE
        net.save(path)
        return path.read_bytes()


def score(net: MLP, data: Data) -> tuple[float, Metric]:
    """``(figure, metric)`` of ``net`` on all of ``data``'s points (``X: (n, 2)``, ``y: (n,)``), as the
    evaluation script computes it: the accuracy of a classifier, the mean squared error of a linear output."""
    if net.output == "linear":
        predicted = net.predict(data.X)[:, 0]  # (n,)
        return float(np.mean((predicted - data.y) ** 2)), "mse"
    return net.accuracy(data.X, data.y), "accuracy"


def evaluation_script(
    score: float, metric: Metric = "accuracy", script_name: str = "evaluate_playground_model.py"
) -> str:
    """A runnable Python script: loads the model and the data CSV, prints the ``metric`` (``"accuracy"``
    for a classifier, ``"mse"`` for a regression) and ``score``, the playground's own figure on the same
    points, to compare."""
    if metric == "accuracy":
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"accuracy must lie in [0, 1], got {score}")
        target, evaluate = "label", _ACCURACY
    elif metric == "mse":
        if not 0.0 <= score < float("inf"):
            raise ValueError(f"mse must be a finite number >= 0, got {score}")
        target, evaluate = "value", _MSE
    else:
        raise ValueError(f"metric must be 'accuracy' or 'mse', got {metric!r}")
    return _SCRIPT.format(
        script=script_name,
        model=MODEL_FILE,
        data=DATA_FILE,
        metric="mean squared error" if metric == "mse" else metric,
        score=score,
        target=target,
        evaluate=evaluate,
    )
