"""What the playground lets a learner take away: the model, the data and a script that uses both.

The model file is exactly what :meth:`MLP.save` writes (architecture and weights, no pickle). The
script rebuilds the network with :meth:`MLP.load`, reads the ``x1,x2,label`` CSV the page also
offers, and prints the accuracy, next to the accuracy the page measured on the same points.
"""

import tempfile
from pathlib import Path

from backproplab.neural_network import MLP

MODEL_FILE = "playground_model.npz"
DATA_FILE = "playground_data.csv"

_SCRIPT = '''"""Rebuild the network trained in the backproplab playground and evaluate it on its data.

Usage: python {script} [{model}] [{data}]   (both files are downloads of the playground)
"""

import sys

import numpy as np

from backproplab.neural_network import MLP

EXPECTED_ACCURACY = {accuracy!r}  # what the playground measured on the same points

model_path = sys.argv[1] if len(sys.argv) > 1 else "{model}"
data_path = sys.argv[2] if len(sys.argv) > 2 else "{data}"
net = MLP.load(model_path)
table = np.loadtxt(data_path, delimiter=",", skiprows=1, ndmin=2)  # columns x1, x2, label
X, y = table[:, :2], table[:, 2].astype(np.int64)
print(net)
accuracy = net.accuracy(X, y)
print(f"accuracy on {{len(y)}} points of {{data_path}}: {{accuracy:.4f}} (playground: {{EXPECTED_ACCURACY:.4f}})")
print("first predictions:", net.predict(X[:10]).tolist())
'''


def model_bytes(net: MLP) -> bytes:
    """The ``.npz`` file :meth:`MLP.save` writes for ``net``, as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_FILE
        net.save(path)
        return path.read_bytes()


def evaluation_script(accuracy: float, script_name: str = "evaluate_playground_model.py") -> str:
    """A runnable Python script: loads the model and the data CSV, prints the accuracy (and ``accuracy``,
    the playground's own figure on the same points, to compare)."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must lie in [0, 1], got {accuracy}")
    return _SCRIPT.format(script=script_name, model=MODEL_FILE, data=DATA_FILE, accuracy=accuracy)
