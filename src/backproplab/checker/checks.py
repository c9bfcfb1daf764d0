"""The completion checklist: one check per exercise item, and how one check's outcome is recorded.

A check is a function ``Impl -> str`` (the summary of what held) that raises
:class:`~backproplab.checker.hints.CheckError` when something measured is wrong, or
:class:`~backproplab.checker.learner.NotAttemptedError` when a function it needs is missing.
:func:`run_one` turns each outcome, or any exception (``sys.exit`` included) from the learner's code,
into a :class:`Result`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from backproplab.checker import cnn_checks, function_checks, network_checks
from backproplab.checker.hints import CheckError, exception_report
from backproplab.checker.learner import Impl, NotAttemptedError

Status = Literal["pass", "fail", "not attempted", "error", "timeout"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "not attempted", "error", "timeout")


@dataclass(frozen=True)
class Check:
    id: str
    exercise: str  # "7.1" ... "7.8", or "deliverables"
    title: str
    run: Callable[[Impl], str]


CHECKS = [
    Check("sigmoid", "7.1", "sigmoid: values, and no overflow at |z| = 1e4", function_checks.check_sigmoid),
    Check("sigmoid_deriv", "7.1", "sigmoid_deriv vs finite differences", function_checks.check_sigmoid_deriv),
    Check("relu", "7.1", "relu: max(0, z)", function_checks.check_relu),
    Check("relu_deriv", "7.1", "relu_deriv vs finite differences", function_checks.check_relu_deriv),
    Check("num_derivative", "7.1", "num_derivative: central differences", function_checks.check_num_derivative),
    Check("dense_forward", "7.2", "dense_forward: shape and the loop", function_checks.check_dense_forward),
    Check("logsumexp", "7.3", "logsumexp: stable at |z| = 1e4", function_checks.check_logsumexp),
    Check("softmax", "7.3", "softmax: sums to 1, stable at |z| = 1e4", function_checks.check_softmax),
    Check("cross_entropy", "7.3", "categorical_cross_entropy", function_checks.check_cross_entropy),
    Check("bce", "7.4", "bce: mean binary cross-entropy", function_checks.check_bce),
    Check("forward", "7.4", "forward: the two-layer network", network_checks.check_forward),
    Check("backward", "7.4", "backward: gradient check of dW1, db1, dW2, db2", network_checks.check_backward),
    Check("overfit", "7.5", "overfit test: memorise 16 points (loss < 0.01)", network_checks.check_overfit),
    Check("sgd", "7.6", "sgd reaches w = 3 on (w - 3)^2", function_checks.check_sgd),
    Check("adam", "7.6", "adam reaches w = 3; first step equals lr", function_checks.check_adam),
    Check("clip_by_norm", "7.7", "clip_by_norm: norm, direction, small kept", function_checks.check_clip_by_norm),
    Check("conv2d_out", "7.8", "conv2d_out: padding and stride", function_checks.check_conv2d_out),
    Check("cnn_vs_torch", "7.8", "NumPy conv + pool forward equals PyTorch", cnn_checks.check_cnn_vs_torch),
    Check("xor", "deliverables", "XOR solved from 5 initialisations", network_checks.check_xor),
]
EXERCISES = sorted({c.exercise for c in CHECKS})
BY_ID = {c.id: c for c in CHECKS}

# Every function name a check may ask for: the loader collects these from the learner's module.
FUNCTION_NAMES = [
    "sigmoid",
    "sigmoid_deriv",
    "relu",
    "relu_deriv",
    "num_derivative",
    "dense_forward",
    "logsumexp",
    "softmax",
    "categorical_cross_entropy",
    "bce",
    "forward",
    "backward",
    "sgd",
    "adam",
    "clip_by_norm",
    "conv2d_out",
    "conv2d_forward",
    "maxpool2d_forward",
]


def select(exercise: str | None) -> list[Check]:
    """The checks of one exercise (``"7.4"``), or all of them; ``ValueError`` for an unknown exercise."""
    if exercise is None:
        return list(CHECKS)
    if exercise not in EXERCISES:
        raise ValueError(f"--exercise must be one of {', '.join(EXERCISES)}, got {exercise!r}")
    return [c for c in CHECKS if c.exercise == exercise]


@dataclass
class Result:
    """One check's outcome, as printed and as written by ``--json``."""

    id: str
    exercise: str
    title: str
    status: Status
    detail: str
    hint: str | None = None
    seconds: float = 0.0

    @classmethod
    def of(cls, check: Check, status: Status, detail: str, hint: str | None = None, seconds: float = 0.0) -> "Result":
        return cls(check.id, check.exercise, check.title, status, detail, hint, round(seconds, 3))


def run_one(check: Check, impl: Impl) -> Result:
    """Run ``check`` here, in this process; every outcome, the learner's exceptions included, becomes a Result."""
    start = time.perf_counter()

    def result(status: Status, detail: str, hint: str | None = None) -> Result:
        return Result.of(check, status, detail, hint, time.perf_counter() - start)

    try:
        summary = check.run(impl)
    except NotAttemptedError as e:
        return result("not attempted", str(e))
    except CheckError as e:
        return result("fail", e.detail, e.hint)
    except (Exception, SystemExit) as e:  # the learner's code raised or exited: report its line, go on
        return result("error", *exception_report(e))
    return result("pass", summary)
