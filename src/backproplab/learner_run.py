"""A learner's 7.4 network, run by the library's demonstrations: ``--impl`` of ``gradcheck`` and ``overfit``.

The learner's file (or module) provides the seed's two functions, found by name with the checker's
loader::

    forward(X, W1, b1, W2, b2) -> (P, cache)      X: (n, d_in), W1: (d_in, d_h), b1: (d_h,),
                                                  W2: (d_h, d_out), b2: (d_out,) -> P: (n, d_out)
    backward(y, cache, W2) -> (dW1, db1, dW2, db2)  y: (n, d_out); each gradient its parameter's shape

Their code runs in this process, with no time limit (Ctrl-C stops it). Whatever goes wrong in it,
an exception or a result of the wrong kind or shape, becomes a :class:`CheckError` that says what
and where, never a traceback of the library.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.hints import CheckError, as_array, compare, exception_report, import_error_report
from backproplab.checker.learner import NotAttemptedError, load, resolve
from backproplab.checker.network_checks import PARAM_NAMES, init_params
from backproplab.demos import SOLVED_LOSS, tiny_dataset
from backproplab.gradcheck import ParamCheck, check_gradients
from backproplab.losses import binary_cross_entropy
from backproplab.optim import Adam

SIGNATURES = (
    "forward(X, W1, b1, W2, b2) -> (P, cache) and backward(y, cache, W2) -> (dW1, db1, dW2, db2), "
    "the seed's exercise 7.4"
)
Fn = Callable[..., Any]


@dataclass(frozen=True)
class LearnerNet:
    """A learner's ``forward`` and ``backward``, and where they came from (``label``)."""

    label: str
    forward: Fn
    backward: Fn

    def run(self, X: FloatArray, params: list[FloatArray]) -> tuple[np.ndarray, Any]:
        """``(P, cache)`` of the learner's forward; ``P`` checked to be ``(n, d_out)``."""
        out = _call("forward", self.forward, X, *params)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise CheckError(f"forward returned {type(out).__name__}, expected the pair (P, cache)")
        P = as_array("P from forward", out[0])
        compare_shape("P", P, (X.shape[0], params[2].shape[1]))
        return P, out[1]

    def gradients(self, y: FloatArray, cache: Any, params: list[FloatArray]) -> list[np.ndarray]:
        """The learner's ``[dW1, db1, dW2, db2]`` as arrays (any shapes: the callers check them)."""
        grads = _call("backward", self.backward, y, cache, params[2])
        if not (isinstance(grads, tuple | list) and len(grads) == 4):
            raise CheckError(f"backward returned {type(grads).__name__}, expected the 4 arrays (dW1, db1, dW2, db2)")
        return [as_array(f"d{name}", g) for name, g in zip(PARAM_NAMES, grads, strict=True)]


def _call(name: str, fn: Fn, *args: Any) -> Any:
    try:
        return fn(*args)
    except CheckError:  # the loader's own: arguments that do not fit the learner's parameters
        raise
    except Exception as e:  # the learner's bug, reported with its line
        detail, hint = exception_report(e)
        raise CheckError(f"your {name} raised {detail}", hint) from None


def compare_shape(name: str, got: np.ndarray, shape: tuple[int, ...]) -> None:
    """:class:`CheckError` with the checker's shape hint (a transpose, a missing sum) unless ``got`` is ``shape``."""
    if got.shape != shape:
        compare(name, got, np.zeros(shape))


def load_net(spec: str) -> LearnerNet:
    """Import ``spec`` (a file or module) and take its ``forward`` and ``backward``.

    ``ValueError`` naming the spec when it does not exist, cannot be imported, or lacks either function.
    """
    path = resolve(spec)
    try:
        impl = load(path, ["forward", "backward"])
    except (Exception, SystemExit) as e:  # its top-level code failed: say where, not our traceback
        detail, hint = import_error_report(e)
        raise ValueError(f"--impl: could not import {spec}: {detail}. {hint}") from None
    try:
        forward, backward = impl.get("forward", "backward")
    except NotAttemptedError as e:
        raise ValueError(f"--impl: {spec} has {e}; needed: {SIGNATURES}") from None
    return LearnerNet(impl.label, forward, backward)


def network_sizes(sizes: list[int]) -> tuple[int, int, int]:
    """``[d_in, d_h, 1]`` as a tuple, or ``ValueError``: the seed's network has one hidden layer and one output
    (with more outputs the mean BCE over all entries has a ``1 / (n d_out)`` that ``(P - y) / n`` has not)."""
    if len(sizes) != 3 or sizes[2] != 1:
        raise ValueError(f"--impl checks the seed's 7.4 network: give --sizes d_in,d_h,1, got {sizes}")
    return sizes[0], sizes[1], sizes[2]


def gradcheck(
    net: LearnerNet, sizes: tuple[int, int, int], samples: int, seed: int, h: float, tol: float
) -> list[ParamCheck]:
    """The learner's gradients against central differences of the BCE of the learner's own ``forward``.

    ``sizes = (d_in, d_h, d_out)`` (see :func:`network_sizes`); ``samples`` random float64 inputs with
    random 0/1 targets;
    He-initialised weights, small random biases (``seed``). One :class:`ParamCheck` per parameter.
    """
    d_in, d_h, d_out = sizes
    rng = np.random.default_rng([seed, 1])
    X = rng.standard_normal((samples, d_in))
    y = rng.integers(0, 2, (samples, d_out)).astype(np.float64)
    params = init_params(d_in, d_h, seed, d_out)
    P, cache = net.run(X, params)
    analytic = net.gradients(y, cache, params)

    def loss() -> float:
        return binary_cross_entropy(y, net.run(X, params)[0])

    def kink_signs() -> np.ndarray:  # the ReLU's input Z1, computed here: the learner's may be named anything
        return np.asarray(X @ params[0] + params[1] > 0)

    named = list(zip(PARAM_NAMES, params, strict=True))
    return check_gradients(named, analytic, loss, binary_cross_entropy(y, P), kink_signs, h, tol)


@dataclass(frozen=True)
class Fit:
    """The overfit test's outcome: the loss before each epoch's step, then after the last one."""

    losses: list[float]
    final_loss: float
    correct: int
    total: int

    @property
    def solved(self) -> bool:
        return self.final_loss < SOLVED_LOSS and self.correct == self.total


def overfit(net: LearnerNet, seed: int, n: int, epochs: int, lr: float, hidden: int = 64) -> Fit:
    """Full-batch Adam on the learner's gradients, ``2 -> hidden -> 1``, on :func:`~backproplab.demos.tiny_dataset`.

    Adam's step does not depend on the gradient's scale, so success tests the gradients' directions
    (a missing ``/ n`` still passes; the gradient check catches it). ``CheckError`` when a gradient has
    the wrong shape or the numbers stop being finite.
    """
    X, labels = tiny_dataset(n, seed)
    y = labels[:, None].astype(np.float64)  # (n, 1), like P
    params = init_params(2, hidden, seed)
    optimizer = Adam(lr)
    losses = []
    for _ in range(epochs):
        P, cache = net.run(X, params)
        losses.append(binary_cross_entropy(y, P))
        grads = net.gradients(y, cache, params)
        for name, g, p in zip(PARAM_NAMES, grads, params, strict=True):
            compare_shape(f"d{name}", g, p.shape)
        if not all(np.isfinite(g).all() for g in grads):
            raise CheckError(f"a gradient became NaN or inf at epoch {len(losses)}")
        optimizer.step(params, [g.astype(np.float64) for g in grads])
    P, _ = net.run(X, params)
    return Fit(losses, binary_cross_entropy(y, P), int(np.sum((P >= 0.5) == (y == 1))), n)
