"""Loss functions, as probabilities (exercises 7.3, 7.4) and fused from logits.

The probability forms (``binary_cross_entropy``, ``categorical_cross_entropy``) mirror the seed and
clip with ``eps`` before the log. The fused forms take raw logits, never form a probability that
could round to 0 or 1, and return ``(loss, dlogits)``: the mean loss over the batch and its exact
gradient, ready for ``backward``.
"""

import numpy as np
from numpy.typing import ArrayLike

from backproplab._typing import FloatArray
from backproplab._validation import as_float
from backproplab.activations import _shifted_exp, sigmoid


def _same_shape(a: FloatArray, b: FloatArray, names: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {a.shape} and {b.shape}")


def binary_cross_entropy(y: ArrayLike, p: ArrayLike, eps: float = 1e-15) -> float:
    """Mean binary cross-entropy ``-mean(y log p + (1 - y) log(1 - p))``.

    Shapes: ``y`` and ``p`` the same shape, e.g. ``(N, 1)`` or ``(N,)``; values of ``p`` in [0, 1].
    """
    y_arr, p_arr = as_float(y, "y"), as_float(p, "p")
    _same_shape(y_arr, p_arr, "y and p")
    p_arr = np.clip(p_arr, eps, 1.0 - eps)
    return float(-np.mean(y_arr * np.log(p_arr) + (1.0 - y_arr) * np.log1p(-p_arr)))


def categorical_cross_entropy(y_true_onehot: ArrayLike, y_pred: ArrayLike, eps: float = 1e-15) -> float:
    """Mean categorical cross-entropy ``-mean_n sum_k y[n,k] log p[n,k]``.

    Shapes: ``y_true_onehot: (N, K)``, ``y_pred: (N, K)`` with rows summing to 1.
    """
    y_arr, p_arr = as_float(y_true_onehot, "y_true_onehot"), as_float(y_pred, "y_pred")
    _same_shape(y_arr, p_arr, "y_true_onehot and y_pred")
    if y_arr.ndim != 2:
        raise ValueError(f"expected (N, K) arrays, got shape {y_arr.shape}")
    return float(-np.mean(np.sum(y_arr * np.log(np.clip(p_arr, eps, 1.0)), axis=1)))


def _check_class_ids(ids: np.ndarray, num_classes: int) -> None:
    if ids.dtype.kind not in "iu":
        raise TypeError(f"class ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"class ids must lie in [0, {num_classes}), got range [{ids.min()}, {ids.max()}]")


def one_hot(labels: ArrayLike, num_classes: int) -> FloatArray:
    """Class ids ``(N,)`` in ``[0, num_classes)`` -> float64 one-hot matrix ``(N, num_classes)``."""
    ids = np.asarray(labels)
    if ids.ndim != 1:
        raise ValueError(f"expected class ids of shape (N,), got shape {ids.shape}")
    _check_class_ids(ids, num_classes)
    out = np.zeros((ids.shape[0], num_classes))
    out[np.arange(ids.shape[0]), ids] = 1.0
    return out


def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> tuple[float, FloatArray]:
    """Softmax + categorical cross-entropy from logits, fused: ``(loss, dlogits)``.

    Shapes: ``logits: (N, K)``; ``labels: (N,)`` integer class ids or ``(N, K)`` one-hot (or any
    probability rows). Returns the mean loss over the batch and ``dlogits: (N, K)``, which is
    ``(softmax(logits) - onehot) / N``.
    """
    z = as_float(logits, "logits")
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {z.shape}")
    n, k = z.shape
    y = np.asarray(labels)
    m, e, s = _shifted_exp(z, axis=1)
    log_s = np.log(s)[:, 0]  # logsumexp(z) = m + log_s
    e /= s * n  # softmax(z) / n, from the same exponentials as the logsumexp
    dlogits = e
    if y.ndim == 1:
        if y.shape[0] != n:
            raise ValueError(f"labels: expected shape ({n},) to match logits {z.shape}, got {y.shape}")
        _check_class_ids(y, k)
        rows = np.arange(n)
        # loss_n = logsumexp(z_n) - z_n[y_n]: never the log of a probability that rounded to 0. Taken as
        # (m_n - z_n[y_n]) + log_s: a confident, right prediction has m_n = z_n[y_n], so its tiny loss keeps
        # full precision instead of the ~1e-16 * |m_n| that m_n + log_s - z_n[y_n] would leave of it.
        loss = float(((m[:, 0] - z[rows, y]) + log_s).sum()) / n
        dlogits[rows, y] -= 1.0 / n
    elif y.shape == z.shape:
        target = as_float(y, "labels")
        loss = float(((m[:, 0] - (target * z).sum(axis=1)) + log_s).sum()) / n
        dlogits -= target / n
    else:
        raise ValueError(f"labels: expected shape ({n},) or {z.shape}, got {y.shape}")
    return loss, dlogits


def sigmoid_binary_cross_entropy(logits: ArrayLike, y: ArrayLike) -> tuple[float, FloatArray]:
    """Sigmoid + binary cross-entropy from logits, fused: ``(loss, dlogits)``.

    Shapes: ``logits`` and ``y`` the same shape, ``(N,)`` or ``(N, 1)`` (any shape works: the mean
    is over all elements, as in ``torch.nn.BCEWithLogitsLoss``). ``dlogits = (sigmoid(z) - y) / size``.
    """
    z, t = as_float(logits, "logits"), as_float(y, "y")
    _same_shape(z, t, "logits and y")
    # log(1 + exp(-|z|)) + max(z, 0) - z*y equals -[y log s(z) + (1-y) log(1-s(z))] without overflow.
    loss = float((np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean())
    dlogits = (sigmoid(z) - t) / z.size
    return loss, dlogits


def mse_loss(pred: ArrayLike, target: ArrayLike) -> tuple[float, FloatArray]:
    """Mean squared error over all elements, ``(loss, dpred)``, as ``torch.nn.MSELoss``.

    Shapes: ``pred`` and ``target`` the same shape, e.g. ``(N, D)``.
    """
    p, t = as_float(pred, "pred"), as_float(target, "target")
    _same_shape(p, t, "pred and target")
    diff = p - t
    return float((diff * diff).mean()), (2.0 / diff.size) * diff
