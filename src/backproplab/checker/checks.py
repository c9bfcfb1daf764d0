"""The completion checklist: one check per exercise item, and how one check's outcome is recorded.

A check is a function ``Impl -> str`` (the summary of what held) that raises
:class:`~backproplab.checker.hints.CheckError` when something measured is wrong, or
:class:`~backproplab.checker.learner.NotAttemptedError` when a function it needs is missing (a function that
raises ``NotImplementedError``, a starter kit's stub, counts as missing too).
:func:`run_one` turns each outcome, or any exception (``sys.exit`` included) from the learner's code,
into a :class:`Result`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from backproplab.checker import activation_checks as act
from backproplab.checker import cnn_checks as cnn
from backproplab.checker import function_checks as fn
from backproplab.checker import layer_checks as layer
from backproplab.checker import network_checks as net
from backproplab.checker.hints import CheckError, exception_report, stub_name
from backproplab.checker.learner import Impl, NotAttemptedError
from backproplab.checker.names import FUNCTION_NAMES

Status = Literal["pass", "fail", "not attempted", "error", "timeout"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "not attempted", "error", "timeout")
BEYOND = "beyond"  # the NumPy layers past the seed's exercises: dropout, batch norm, conv and pool backward


@dataclass(frozen=True)
class Check:
    id: str
    exercise: str  # "7.1" ... "7.8", "beyond", or "deliverables"
    title: str
    run: Callable[[Impl], str]
    function: str | None = None  # the one learner's function it grades, if any (for the report's grouping)


def _unit(check_id: str, exercise: str, title: str, run: Callable[[Impl], str], function: str = "") -> Check:
    """A check of one learner's function, by default the one named like the check."""
    return Check(check_id, exercise, title, run, function or check_id)


CHECKS = [
    _unit("sigmoid", "7.1", "sigmoid: values, and no overflow at |z| = 1e4", act.check_sigmoid),
    _unit("sigmoid_deriv", "7.1", "sigmoid_deriv vs finite differences", act.check_sigmoid_deriv),
    _unit("relu", "7.1", "relu: max(0, z)", act.check_relu),
    _unit("relu_deriv", "7.1", "relu_deriv vs finite differences", act.check_relu_deriv),
    _unit("tanh", "7.1", "tanh: values, and no overflow at |z| = 1e4", act.check_tanh),
    _unit("tanh_deriv", "7.1", "tanh_deriv vs finite differences", act.check_tanh_deriv),
    _unit("leaky_relu", "7.1", "leaky_relu: z above 0, alpha z below", act.check_leaky_relu),
    _unit("leaky_relu_deriv", "7.1", "leaky_relu_deriv vs finite differences", act.check_leaky_relu_deriv),
    _unit("num_derivative", "7.1", "num_derivative: central differences", act.check_num_derivative),
    _unit("dense_forward", "7.2", "dense_forward: shape and the loop", fn.check_dense_forward),
    _unit("logsumexp", "7.3", "logsumexp: stable at |z| = 1e4", fn.check_logsumexp),
    _unit("softmax", "7.3", "softmax: sums to 1, stable at |z| = 1e4", fn.check_softmax),
    _unit("cross_entropy", "7.3", "categorical_cross_entropy", fn.check_cross_entropy, "categorical_cross_entropy"),
    _unit("bce", "7.4", "bce: mean binary cross-entropy", fn.check_bce),
    _unit("forward", "7.4", "forward: the two-layer network", net.check_forward),
    _unit("backward", "7.4", "backward: gradient check of dW1, db1, dW2, db2", net.check_backward),
    Check("overfit", "7.5", "overfit test: memorise 16 points with Adam (loss < 0.01)", net.check_overfit),
    Check("network", "7.5", "your gradients alone: memorise 16 points with plain SGD", net.check_network),
    _unit("sgd", "7.6", "sgd reaches w = 3 on (w - 3)^2", fn.check_sgd),
    _unit("momentum", "7.6", "momentum reaches w = 3; first steps exact", fn.check_momentum),
    _unit("adam", "7.6", "adam reaches w = 3; first step equals lr", fn.check_adam),
    _unit("clip_by_norm", "7.7", "clip_by_norm: norm, direction, small kept", fn.check_clip_by_norm),
    _unit("conv2d_out", "7.8", "conv2d_out: padding and stride", fn.check_conv2d_out),
    Check("cnn_vs_torch", "7.8", "NumPy LeNet conv + pool forward equals PyTorch", cnn.check_cnn_vs_torch),
    _unit("dropout_forward", BEYOND, "dropout_forward: fraction dropped, 1 / (1 - p)", layer.check_dropout_forward),
    _unit("dropout_backward", BEYOND, "dropout_backward: through the mask", layer.check_dropout_backward),
    _unit("batchnorm_forward", BEYOND, "batchnorm_forward: per feature over the batch", layer.check_batchnorm_forward),
    _unit("batchnorm_backward", BEYOND, "batchnorm_backward vs finite differences", layer.check_batchnorm_backward),
    _unit("conv2d_backward", BEYOND, "conv2d_backward vs finite differences", cnn.check_conv2d_backward),
    _unit("maxpool2d_backward", BEYOND, "maxpool2d_backward: one maximum per window", cnn.check_maxpool2d_backward),
    Check("xor", "deliverables", "XOR solved from 5 initialisations", net.check_xor),
]
EXERCISES = sorted({c.exercise for c in CHECKS})
BY_ID = {c.id: c for c in CHECKS}
__all__ = ["BY_ID", "CHECKS", "EXERCISES", "FUNCTION_NAMES", "Check", "Result", "run_one", "select"]


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
    uses: list[str] = field(default_factory=list)  # the learner's functions it called, first use first
    function: str | None = None  # the one learner's function it grades, if any

    @classmethod
    def of(
        cls,
        check: Check,
        status: Status,
        detail: str,
        hint: str | None = None,
        seconds: float = 0.0,
        uses: list[str] | None = None,
    ) -> "Result":
        return cls(
            check.id, check.exercise, check.title, status, detail, hint, round(seconds, 3), uses or [], check.function
        )


def run_one(check: Check, impl: Impl) -> Result:
    """Run ``check`` here, in this process; every outcome, the learner's exceptions included, becomes a Result."""
    start = time.perf_counter()
    impl.used.clear()

    def result(status: Status, detail: str, hint: str | None = None) -> Result:
        return Result.of(check, status, detail, hint, time.perf_counter() - start, list(impl.used))

    try:
        summary = check.run(impl)
    except NotAttemptedError as e:
        return result("not attempted", str(e), e.hint)
    except NotImplementedError as e:  # a stub of the starter kit: not written yet, unless raised elsewhere
        stub = stub_name(e)
        if stub is None:
            return result("error", *exception_report(e))
        return result("not attempted", f"{stub} is still a stub: it raises NotImplementedError")
    except CheckError as e:
        return result("fail", e.detail, e.hint)
    except (Exception, SystemExit) as e:  # the learner's code raised or exited: report its line, go on
        return result("error", *exception_report(e))
    return result("pass", summary)
