"""The network and training settings of the playground, and their limits.

The limits are generous enough for real experiments (6 hidden layers of 64 units) yet keep one
training step and one boundary picture in the tens of milliseconds, so no input stalls the server.
"""

import math
from dataclasses import dataclass
from typing import Literal, get_args

from backproplab.layers import FEATURES as FEATURES  # re-exported: the names a page offers
from backproplab.layers import check_feature_names
from backproplab.neural_network import Activation

OptimizerName = Literal["sgd", "momentum", "adam"]
EngineName = Literal["numpy", "torch"]
OutputName = Literal["softmax", "sigmoid", "linear"]
RegularizationName = Literal["none", "l1", "l2"]

MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 64
MAX_BATCH = 5000
MAX_LR = 10.0
MAX_DROPOUT = 0.9
RAW_FEATURES = ("x1", "x2")  # the inputs themselves: no feature map
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # TensorFlow Playground's scale
ACTIVATIONS: tuple[Activation, ...] = ("tanh", "relu", "leaky_relu", "sigmoid")
OPTIMIZERS: tuple[OptimizerName, ...] = get_args(OptimizerName)
ENGINES: tuple[EngineName, ...] = get_args(EngineName)
OUTPUTS: tuple[OutputName, ...] = get_args(OutputName)
REGULARIZATIONS: tuple[RegularizationName, ...] = get_args(RegularizationName)


@dataclass(frozen=True)
class TrainConfig:
    """Network, optimizer and engine.

    ``hidden``: units of each hidden layer, e.g. ``(16, 16)`` (may be empty: a linear model).
    ``output``: ``"softmax"`` (K output units), ``"sigmoid"`` (one unit, two classes only) or
    ``"linear"`` (one unit, mean squared error: regression data, whose ``n_classes`` is 0).
    ``seed`` seeds the weights and the order of the mini-batches. ``clip``: the global gradient norm
    is clipped to it (None: no clipping). ``momentum`` is the beta of the momentum optimizer.
    ``features``: the network's input columns, names from :data:`~backproplab.layers.FEATURES`.
    ``regularization`` and ``reg_rate``: a penalty ``reg_rate * sum |W|`` (``"l1"``) or
    ``reg_rate * sum W**2 / 2`` (``"l2"``) on the weight matrices. ``dropout``: the drop probability
    after every hidden activation while training.

    A run in progress takes a new learning rate, batch size, clipping norm or ``reg_rate``; any other
    change starts it over.
    """

    hidden: tuple[int, ...] = (8, 8)
    activation: Activation = "tanh"
    output: OutputName = "sigmoid"
    seed: int = 0
    optimizer: OptimizerName = "adam"
    lr: float = 0.03
    batch_size: int = 32
    clip: float | None = None
    engine: EngineName = "numpy"
    momentum: float = 0.9
    features: tuple[str, ...] = RAW_FEATURES
    regularization: RegularizationName = "none"
    reg_rate: float = 0.0
    dropout: float = 0.0

    def validate(self, n_classes: int) -> None:
        """Raise ``ValueError`` naming the first setting outside the limits or unfit for ``n_classes``
        (0 for regression data, else the number of classes)."""
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(self.hidden)}")
        if any(not 1 <= u <= MAX_UNITS for u in self.hidden):
            raise ValueError(f"hidden layers need 1 to {MAX_UNITS} units each, got {list(self.hidden)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {self.activation!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {list(OUTPUTS)}, got {self.output!r}")
        if n_classes == 0 and self.output != "linear":
            raise ValueError(f"a {self.output} output needs class labels; the data is for regression: use linear")
        if self.output == "linear" and n_classes != 0:
            raise ValueError(f"a linear output is for regression; the data has {n_classes} classes: use softmax")
        if self.output == "sigmoid" and n_classes != 2:
            raise ValueError(f"a sigmoid output needs 2 classes, the data has {n_classes}; use softmax")
        if self.output == "softmax" and n_classes < 2:
            raise ValueError(f"a softmax output needs 2 or more classes, the data has {n_classes}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}")
        if not (0 < self.lr <= MAX_LR and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must lie in (0, {MAX_LR}], got {self.lr}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch size must lie in [1, {MAX_BATCH}], got {self.batch_size}")
        if self.clip is not None and not (self.clip > 0 and math.isfinite(self.clip)):
            raise ValueError(f"clip must be a finite number > 0 or None, got {self.clip}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {self.engine!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum}")
        check_feature_names(self.features)
        if self.regularization not in REGULARIZATIONS:
            raise ValueError(f"regularization must be one of {list(REGULARIZATIONS)}, got {self.regularization!r}")
        if self.reg_rate not in REG_RATES:
            raise ValueError(f"regularization rate must be one of {list(REG_RATES)}, got {self.reg_rate}")
        if not 0 <= self.dropout <= MAX_DROPOUT:
            raise ValueError(f"dropout must lie in [0, {MAX_DROPOUT}], got {self.dropout}")

    def layer_sizes(self, n_classes: int) -> list[int]:
        """``[2, *hidden, d_out]`` with ``d_out = 1`` for a sigmoid or linear output, else ``n_classes``
        (the raw input stays 2 wide whatever the features: the network computes them)."""
        return [2, *self.hidden, n_classes if self.output == "softmax" else 1]


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"16, 16"`` -> ``(16, 16)``; ``""`` -> ``()``. Raises ``ValueError`` naming the bad entry."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    units = []
    for p in parts:
        if not p.isdigit():
            raise ValueError(f"hidden layers: expected whole numbers separated by commas, got {p!r} in {text!r}")
        units.append(int(p))
    return tuple(units)
