"""``backproplab trace --impl``: the traced step of exercise 7.4, computed by a learner's forward and backward.

The learner's functions run on the trace's inputs. Every intermediate they compute under the seed's
name (``Z1, A1, Z2`` in ``forward``; ``dZ2, dW2, db2, dA1, dZ1, dW1, db1`` in ``backward``; any
capitalisation) is read from the function's local variables as it returns (:func:`capture_locals`),
or from a cache that is a dict or the seed's tuple ``(X, Z1, A1, Z2, P)``; ``P`` and the four
gradients are the return values. Each one found is compared with the reference
(:data:`~backproplab.trace.STEPS`) in the order of the computation. The first that differs is
explained by measuring it (a factor ``n``, a sign, a transpose, a shape) and by its parents: those
found came earlier and are right, so either its own formula is wrong, or a parent that could not be
found is where the difference starts.
"""

import inspect
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.hints import CheckError
from backproplab.learner_run import Fn, LearnerNet
from backproplab.losses import binary_cross_entropy
from backproplab.trace import (
    PARAMS,
    STEP,
    STEPS,
    Node,
    Step,
    Trace,
    backward_nodes,
    forward_nodes,
    local_nodes,
    numeric_dW2,
    render,
    run_steps,
    xor_step_inputs,
)

SEED_CACHE = ("X", "Z1", "A1", "Z2", "P")  # the seed's forward returns (P, (X, Z1, A1, Z2, P))
RTOL, ATOL = 1e-6, 1e-9  # float64 on the same inputs agrees to ~1e-15; float32 to ~1e-7
QUESTIONS = {  # the usual mistake at each node, asked after the measured hint
    "Z1": "is it X @ W1 (not W1 @ X or W1.T), plus b1?",
    "A1": "relu keeps the positive part: np.maximum(0, Z1).",
    "Z2": "is it A1 (not Z1) @ W2, plus b2?",
    "P": "sigmoid(Z2) = 1 / (1 + exp(-Z2)).",
    "dZ2": "is the / n there, and is it P - y (not y - P)?",
    "dW2": "is it dZ2.T @ A1, the transpose?",
    "db2": "a bias gradient sums over the batch axis 0 (not a mean, not axis=1).",
    "dA1": "is W2 transposed?",
    "dZ1": "relu' of Z1, multiplied elementwise (*), not a matrix product.",
    "dW1": "is it dZ1.T @ X, the transpose?",
    "db1": "a bias gradient sums over the batch axis 0 (not a mean, not axis=1).",
}


@contextmanager
def capture_locals(functions: Mapping[str, Fn]) -> Iterator[dict[str, dict[str, Any]]]:
    """While active, the local variables of each of ``functions`` as it last returned (or raised), by key.

    A profile hook watches the functions' own code objects only; arrays are copied at return, so later
    code that writes into them in place does not change what was seen.
    """
    unwrapped = {key: inspect.unwrap(fn) for key, fn in functions.items()}  # the loader's wrappers record calls
    codes = {code: key for key, fn in unwrapped.items() if (code := getattr(fn, "__code__", None)) is not None}
    seen: dict[str, dict[str, Any]] = {}

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        if event == "return" and frame.f_code in codes:
            seen[codes[frame.f_code]] = {
                k: v.copy() if isinstance(v, np.ndarray) else v for k, v in frame.f_locals.items()
            }

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


def _numeric(value: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):  # ragged lists and the like
        return None
    return arr if arr.dtype.kind in "biuf" else None


def _lookup(name: str, scopes: list[Mapping[str, Any]]) -> np.ndarray | None:
    """``name`` (or the same name in another capitalisation) in the first scope that has it as numbers."""
    for scope in scopes:
        keys = [name] + [k for k in scope if isinstance(k, str) and k != name and k.lower() == name.lower()]
        for key in keys:
            if key in scope and (arr := _numeric(scope[key])) is not None:
                return arr
    return None


def _cache_scope(cache: Any) -> Mapping[str, Any]:
    if isinstance(cache, Mapping):
        return cache
    if isinstance(cache, tuple | list) and len(cache) == len(SEED_CACHE):
        return dict(zip(SEED_CACHE, cache, strict=True))
    return {}


def _found(
    seen: Mapping[str, Mapping[str, Any]], cache: Any, P: np.ndarray, grads: list[np.ndarray] | None
) -> dict[str, np.ndarray]:
    """Every intermediate of :data:`STEPS` the learner computed, by the seed's name."""
    forward, backward = seen.get("forward", {}), seen.get("backward", {})
    found = {"P": P} | (dict(zip([f"d{k}" for k in PARAMS], grads, strict=True)) if grads is not None else {})
    for step in STEPS:
        scopes = [forward, _cache_scope(cache), backward] if not step.name.startswith("d") else [backward]
        if step.name not in found and (arr := _lookup(step.name, scopes)) is not None:
            found[step.name] = arr
    return found


def _same(got: np.ndarray, expected: FloatArray) -> bool:
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=RTOL, atol=ATOL))


def _measured(name: str, got: np.ndarray, expected: FloatArray, n: int) -> str:
    """What measuring ``got`` against ``expected`` says: a shape, a factor n, a sign, a transpose."""
    if got.shape != expected.shape:
        if got.ndim == 2 and got.shape == expected.shape[::-1]:
            return f"your {name} has shape {got.shape}, the transpose of {expected.shape}."
        if expected.ndim == 1 and got.ndim == 2 and got.shape[-1] == expected.shape[0]:
            return f"your {name} has shape {got.shape}, expected {expected.shape}: the batch axis was not summed away."
        if got.size == expected.size:
            return (
                f"your {name} has shape {got.shape}, expected {expected.shape}: the right number of values; "
                "(n, 1) and (n,) broadcast silently into (n, n), so keep columns as (n, 1)."
            )
        return f"your {name} has shape {got.shape}, expected {expected.shape}."

    def close(target: FloatArray) -> bool:
        return bool(np.allclose(got, target, rtol=RTOL, atol=ATOL))

    if n > 1 and close(n * expected):
        return f"every entry of your {name} is n = {n} times too large: the loss is a mean, so its gradient has a 1/n."
    if n > 1 and close(expected / n):
        return f"every entry of your {name} is n = {n} times too small: the 1/n of the mean was applied twice."
    if close(-expected):
        return f"every entry of your {name} has the opposite sign."
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and close(expected.T):
        return f"your {name} holds the transpose of the expected values."
    diff = np.abs(got - expected)
    where = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.ndim else ()
    return f"your {name} differs most at index {where}: {got[where]:.6g} where {expected[where]:.6g} was expected."


def _unseen_ancestors(step: Step, found: Mapping[str, np.ndarray]) -> list[str]:
    """The intermediates ``step`` is computed from, directly or through others, that were not found, in order."""
    unseen, todo = set(), [p for p in step.parents if p in STEP]
    while todo:
        name = todo.pop()
        if name not in found and name not in unseen:
            unseen.add(name)
            todo += [p for p in STEP[name].parents if p in STEP]
    return [s.name for s in STEPS if s.name in unseen]


def explain(step: Step, got: np.ndarray, expected: FloatArray, found: Mapping[str, np.ndarray], n: int) -> str:
    """The hint for the first node that differs: the measurement, then where the difference must start."""
    measured = _measured(step.name, got, expected, n)
    unseen = _unseen_ancestors(step, found)
    if unseen:
        causes = "; ".join(f"{p} should be {STEP[p].formula}, {STEP[p].shape} — {QUESTIONS[p]}" for p in unseen)
        return (
            f"{measured} {step.name} is computed from {', '.join(step.parents)}; {' and '.join(unseen)}, on the way, "
            f"could not be found in your code, so the difference may start there: {causes}"
        )
    return (
        f"{measured} Everything it is computed from ({', '.join(step.parents)}) is right, so {step.name} itself is "
        f"computed differently: it should be {step.formula}, {step.shape} — {QUESTIONS[step.name]}"
    )


@dataclass(frozen=True)
class Difference:
    """The first node whose value differs from the reference's, and the hint that explains it."""

    name: str
    expected: FloatArray
    got: np.ndarray
    hint: str

    def lines(self) -> list[str]:
        def values(arr: np.ndarray) -> list[str]:
            text = np.array2string(arr, precision=4, suppress_small=True, max_line_width=100)
            return ["      " + line for line in text.splitlines()]

        return [
            f"  FIRST DIFFERENCE: {self.name} = {STEP[self.name].formula}",
            f"    expected shape {self.expected.shape}, got {self.got.shape}",
            "    expected:",
            *values(self.expected),
            "    got:",
            *values(self.got),
            f"    hint: {self.hint}",
        ]


@dataclass(frozen=True)
class LearnerTrace:
    """A traced step computed by a learner: the trace, the first difference, the names that differ or
    could not be found, and the learner's error if its ``backward`` raised."""

    trace: Trace
    label: str
    first: Difference | None
    differing: list[str]
    missing: list[str]
    error: CheckError | None = None

    @property
    def passed(self) -> bool:
        return not self.differing and self.error is None

    def render(self) -> str:
        extra = self.first.lines() if self.first else []
        if self.error is not None:
            extra += [f"  {self.error.detail}"] + ([f"    {self.error.hint}"] if self.error.hint else [])
            step = next((STEP[name] for name in self.missing if name.startswith("d")), None)
            if step is not None:
                extra.append(
                    f"    the first node it did not compute, in the seed's order: {step.name} should be "
                    f"{step.formula}, {step.shape} — {QUESTIONS[step.name]}"
                )
        if self.passed:
            extra.append("  no difference: your forward and backward compute every node found as the reference does")
        return render(self.trace, by=f"your forward and backward ({self.label})", extra=extra)


def trace_learner(net: LearnerNet, hidden: int = 3, lr: float = 0.5, seed: int = 0) -> LearnerTrace:
    """One SGD step of the trace (same inputs as :func:`~backproplab.trace.trace_step`) with the learner's code.

    ``CheckError`` if the learner's ``forward`` fails or returns something other than ``(P (4, 1), cache)``.
    """
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got lr={lr}")
    inputs = xor_step_inputs(hidden, seed)
    ref = run_steps(inputs)
    X, y = inputs["X"], inputs["y"]
    params = [inputs[k].copy() for k in PARAMS]  # copies: the learner's code may write into its arguments
    error, grads = None, None
    with capture_locals({"forward": net.forward, "backward": net.backward}) as seen:
        P, cache = net.run(X.copy(), params)
        try:
            grads = net.gradients(y.copy(), cache, params)
        except CheckError as e:
            error = e
    found = _found(seen, cache, P, grads)

    first, differing, notes = None, [], {}
    for step in STEPS:
        got = found.get(step.name)
        if got is None:
            notes[step.name] = "not found in your code: the reference's value shown"
        elif _same(got, ref[step.name]):
            notes[step.name] = "ok" + (f": {step.note}" if step.note else "")
        else:
            differing.append(step.name)
            notes[step.name] = "<-- FIRST DIFFERENCE" if first is None else "differs"
            if first is None:
                first = Difference(step.name, ref[step.name], got, explain(step, got, ref[step.name], found, len(y)))
    shown = {**ref, **found, "L": np.array(binary_cross_entropy(y, P))}
    missing = [s.name for s in STEPS if s.name not in found]
    return LearnerTrace(
        _step_trace(net, shown, ref, grads, lr, notes, missing), net.label, first, differing, missing, error
    )


def _step_trace(
    net: LearnerNet,
    shown: dict[str, Any],
    ref: Mapping[str, FloatArray],
    grads: list[np.ndarray] | None,
    lr: float,
    notes: Mapping[str, str],
    missing: list[str],
) -> Trace:
    """The :class:`Trace` to print: the learner's values where found, its gradients and SGD step if their shapes fit."""
    X, y = ref["X"], ref["y"]
    gradients = {k: g for k, g in zip(PARAMS, grads or [], strict=False) if g.shape == ref[k].shape}
    complete = len(gradients) == len(PARAMS)
    diffs = [float(np.max(np.abs(gradients[k] - ref[f"d{k}"]))) if k in gradients else np.inf for k in PARAMS]
    checks = [f"your gradients vs the reference's: max |difference| {max(diffs):.1e}"]
    update: list[Node] = []
    loss_after = np.nan
    numeric = np.nan
    if complete:
        W1, b1, W2, b2 = (ref[k] for k in PARAMS)
        numeric = numeric_dW2(lambda W: binary_cross_entropy(y, net.run(X, [W1, b1, W, b2])[0]), W2)
        checks.append(
            f"your dW2[0, 0] = {gradients['W2'][0, 0]:.8f}, central difference of your forward's loss {numeric:.8f}"
        )
        new = {k: ref[k] - lr * gradients[k] for k in PARAMS}
        update = [
            Node(f"{k}'", f"{k} - lr * d{k}", new[k], f"changed by {np.max(np.abs(new[k] - ref[k])):.2e} at most")
            for k in PARAMS
        ]
        loss_after = binary_cross_entropy(y, net.run(X, [new[k] for k in PARAMS])[0])
    checks.append(
        "every intermediate was found in your code"
        if not missing
        else f"not found in your code (the reference's values shown): {', '.join(missing)}"
    )
    checks.append("local derivatives shown are the reference's")
    return Trace(
        (X.shape[1], ref["W1"].shape[1], ref["W2"].shape[1]),
        lr,
        forward_nodes(shown, notes),
        local_nodes(ref),
        backward_nodes(shown, notes),
        update,
        gradients,
        max(diffs),
        numeric,
        loss_after,
        tuple(checks),
    )
