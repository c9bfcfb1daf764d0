"""Gradient checking: compare analytic gradients with central finite differences (exercise 7.4).

The central difference ``(f(z + h) - f(z - h)) / 2h`` has error O(h^2), against O(h) for the
one-sided form. Use float64: in float32 the rounding error ``eps / h`` swamps the comparison.

Relative error bands, as in CS231n: > 1e-2 the gradient is wrong; 1e-2 .. 1e-4 suspicious;
1e-4 .. 1e-7 acceptable with kinks (ReLU) but not without; < 1e-7 good.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import ArrayLike

from backproplab._typing import BoolArray, FloatArray
from backproplab.layers import ReLU
from backproplab.neural_network import MLP


def num_derivative(f: Callable[[FloatArray], FloatArray], z: ArrayLike, h: float = 1e-6) -> FloatArray:
    """Central difference of an *elementwise* function: ``(f(z + h) - f(z - h)) / 2h``, shape of ``z``."""
    z_arr = np.asarray(z, dtype=np.float64)
    return (f(z_arr + h) - f(z_arr - h)) / (2.0 * h)


def numerical_gradient(f: Callable[[], float], x: FloatArray, h: float = 1e-3) -> FloatArray:
    """Gradient of the scalar ``f()`` with respect to every element of ``x`` (any shape).

    Uses the five-point central difference ``(-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h``,
    whose error is O(h^4): with ``h = 1e-3`` in float64 both its truncation and its round-off stay
    near 1e-13, where the two-point form with ``h = 1e-6`` only reaches about 1e-10. That is what
    lets a check demand a relative error of 1e-7 even for small gradient entries.

    ``x`` is perturbed in place one element at a time and restored, so ``f`` must read ``x``
    (for example a network's weight array). Costs ``4 * x.size`` calls of ``f``.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing to it perturbs x
    for i in range(flat.size):
        old = flat[i]
        values = []
        for step in (2.0, 1.0, -1.0, -2.0):
            flat[i] = old + step * h
            values.append(f())
        flat[i] = old
        f2, f1, fm1, fm2 = values
        # differences first: values this close subtract exactly, so a constant f gives exactly 0
        grad.flat[i] = (8.0 * (f1 - fm1) - (f2 - fm2)) / (12.0 * h)
    return grad


def relative_error(analytic: ArrayLike, numeric: ArrayLike, floor: float = 1e-5) -> FloatArray:
    """Elementwise ``|a - n| / max(|a|, |n|, floor)``.

    The ``floor`` keeps entries that are zero in truth (a dead ReLU unit) from turning the
    finite difference's own round-off (about 1e-13) into a huge relative error: with the default,
    a relative error <= 1e-7 means ``|a - n| <= 1e-7 * max(|a|, |n|)`` or ``|a - n| <= 1e-12``.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)


def band(rel_error: float) -> str:
    """CS231n's reading of a relative error: ``good``, ``ok``, ``suspicious`` or ``wrong``."""
    if rel_error > 1e-2:
        return "wrong"
    if rel_error > 1e-4:
        return "suspicious"
    if rel_error > 1e-7:
        return "ok"
    return "good"


@dataclass
class ParamCheck:
    """Result for one parameter array: the max relative error over the elements that could be checked.

    ``near_kink`` counts elements whose finite-difference stencil moved some ReLU input across 0
    (the input lay within about ``2h`` of the kink); their numerical derivative is meaningless
    there, so they are reported apart instead of failing the check.
    """

    name: str
    shape: tuple[int, ...]
    max_rel_error: float
    checked: int
    near_kink: int
    tol: float
    note: str = ""  # why it could not be checked (a gradient of the wrong shape)

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.tol

    @property
    def band(self) -> str:
        return band(self.max_rel_error)


def _kink_signs(model: MLP) -> BoolArray:
    """Concatenated ``input > 0`` pattern of every ReLU-like layer after the last forward."""
    parts = [
        np.ravel(layer.last_input > 0)
        for layer in model.layers
        if isinstance(layer, ReLU) and layer.last_input is not None
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _loss_noting_kinks(
    loss: Callable[[], float], kink_signs: Callable[[], BoolArray], base_signs: BoolArray, log: list[bool]
) -> float:
    """``loss()``; appends to ``log`` whether any ReLU input changed sign."""
    value = loss()
    log.append(not np.array_equal(kink_signs(), base_signs))
    return value


def check_gradients(
    params: Sequence[tuple[str, FloatArray]],
    analytic: Sequence[np.ndarray],
    loss: Callable[[], float],
    base_loss: float,
    kink_signs: Callable[[], BoolArray],
    h: float = 1e-3,
    tol: float = 1e-7,
) -> list[ParamCheck]:
    """Check each gradient in ``analytic`` against central differences of ``loss()`` in its parameter.

    ``params``: ``(name, array)`` pairs that ``loss()`` reads (each is perturbed in place and restored);
    ``analytic``: their gradients in the same order, computed at the current values, where the loss is
    ``base_loss``. ``kink_signs()``: the ``input > 0`` pattern of every ReLU, now and after each
    ``loss()``, to set apart stencils that cross a kink. A gradient whose shape is not its parameter's
    fails with a note instead of being compared.
    """
    # The stencil's round-off grows with the loss itself (about 1e-16 * |L| / h), so the floor of the
    # relative error does too: "<= 1e-7" then means 7 digits, or 1e-12 * max(1, |L|) absolutely.
    floor = 1e-5 * max(1.0, abs(base_loss))
    base_signs = kink_signs()
    results = []
    for (name, p), a in zip(params, analytic, strict=True):
        if a.shape != p.shape:
            transposed = " (its transpose)" if a.ndim == 2 and a.shape == p.shape[::-1] else ""
            note = f"d{name} has shape {a.shape}{transposed}, but a gradient has its parameter's shape {p.shape}"
            results.append(ParamCheck(name, a.shape, np.inf, 0, 0, tol, note))
            continue
        crossed: list[bool] = []
        numeric = numerical_gradient(partial(_loss_noting_kinks, loss, kink_signs, base_signs, crossed), p, h)
        # four evaluations per element; any one crossing a kink spoils that element's estimate
        kinked = np.array(crossed, dtype=bool).reshape(p.size, -1).any(axis=1).reshape(p.shape)
        err = relative_error(a, numeric, floor)[~kinked]
        results.append(ParamCheck(name, a.shape, float(err.max(initial=0.0)), int(err.size), int(kinked.sum()), tol))
    return results


def check_mlp_gradients(model: MLP, X: ArrayLike, y: ArrayLike, h: float = 1e-3, tol: float = 1e-7) -> list[ParamCheck]:
    """Check every parameter gradient of ``model`` on ``(X, y)`` against central differences.

    Use a float64 model. ``X: (N, d_in)``; ``y`` as in :meth:`MLP.loss`. Returns one
    :class:`ParamCheck` per parameter, in the order of :meth:`MLP.named_params`.
    """
    if np.dtype(model.dtype) != np.float64:
        raise TypeError(f"gradient checking needs a float64 model, got {np.dtype(model.dtype)}")
    X_arr = np.asarray(X, dtype=np.float64)
    logits = model.forward(X_arr)
    loss, dlogits = model.loss(logits, y)
    model.backward(dlogits)
    analytic = [g.copy() for g in model.grads]
    results = check_gradients(
        model.named_params(),
        analytic,
        lambda: model.loss(model.forward(X_arr), y)[0],
        loss,
        lambda: _kink_signs(model),
        h,
        tol,
    )
    model.forward(X_arr)  # leave the caches as the caller's forward left them
    return results
