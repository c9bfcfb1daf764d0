"""Batch normalisation: each feature (or channel) normalised over the batch, then scaled and shifted.

``x: (N, D)`` is normalised per feature over its ``M = N`` values; ``x: (N, C, H, W)`` per channel over
its ``M = N*H*W`` values. ``gamma`` (PyTorch's ``weight``) and ``beta`` (``bias``) are ``(D,)`` or ``(C,)``.

In training the layer uses the statistics of the batch it sees and keeps running averages of them;
at inference it uses those running averages, so one sample's output no longer depends on the others
(``torch.nn.BatchNorm1d`` / ``BatchNorm2d``, whose names and defaults the classes here share).
"""

from dataclasses import dataclass

import numpy as np

from backproplab._typing import FloatArray
from backproplab._validation import check_finite
from backproplab.layers.base import Layer


@dataclass(frozen=True)
class BatchNormCache:
    """What :func:`batchnorm_backward` and :func:`update_running_stats` need from a training forward.

    ``x_hat`` has ``x``'s shape; the four others are ``(C,)`` (``(D,)`` for 2-D input).
    """

    x_hat: FloatArray  # (x - mean) * inv_std
    inv_std: FloatArray  # 1 / sqrt(var + eps)
    gamma: FloatArray
    mean: FloatArray  # the batch mean
    var: FloatArray  # the batch variance, biased (divided by M), as the normalisation uses it


def _stat_axes(x: FloatArray) -> tuple[int, ...]:
    """The axes one feature's values lie along: ``(0,)`` for ``(N, D)``, ``(0, 2, 3)`` for ``(N, C, H, W)``."""
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _per_channel(v: FloatArray, ndim: int) -> FloatArray:
    """A ``(C,)`` vector shaped to broadcast over the input: ``(C,)`` for ``(N, C)``, ``(C, 1, 1)`` for 4-D."""
    return v.reshape((-1,) + (1,) * (ndim - 2))


def _check_input(x: FloatArray, name: str, **vectors: FloatArray) -> None:
    """``x`` of rank 2 or 4 and finite; every one of ``vectors`` of shape ``(C,)``."""
    if x.ndim not in (2, 4):
        raise ValueError(f"{name} expects x of shape (N, D) or (N, C, H, W), got {x.shape}")
    expected = (x.shape[1],)
    for vec_name, vec in vectors.items():
        if vec.shape != expected:
            raise ValueError(f"{name}: {vec_name} must have shape {expected} to match x {x.shape}, got {vec.shape}")
    check_finite(x, "x")


def batchnorm_forward(
    x: FloatArray, gamma: FloatArray, beta: FloatArray, eps: float = 1e-5
) -> tuple[FloatArray, BatchNormCache]:
    """Training-mode batch norm: ``out = gamma * (x - mean) / sqrt(var + eps) + beta`` with the batch's statistics.

    ``x: (N, D)`` or ``(N, C, H, W)``; ``gamma, beta: (D,)`` or ``(C,)`` -> ``out`` of ``x``'s shape and
    a :class:`BatchNormCache`. ``var`` is the biased variance (divided by ``M``), as in PyTorch.
    """
    _check_input(x, "batchnorm_forward", gamma=gamma, beta=beta)
    return _train_forward(x, gamma, beta, eps)


def _train_forward(x: FloatArray, gamma: FloatArray, beta: FloatArray, eps: float) -> tuple[FloatArray, BatchNormCache]:
    """:func:`batchnorm_forward` of a checked ``x``."""
    axes = _stat_axes(x)
    M = x.size // x.shape[1]  # values per feature
    if M < 2:
        raise ValueError(f"Expected more than 1 value per channel when training, got input of shape {x.shape}")
    mean = x.mean(axis=axes)
    centred = x - _per_channel(mean, x.ndim)
    var = (centred * centred).mean(axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = centred * _per_channel(inv_std, x.ndim)
    out = x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out, BatchNormCache(x_hat=x_hat, inv_std=inv_std, gamma=gamma, mean=mean, var=var)


def _describe(obj: object) -> str:
    if isinstance(obj, np.ndarray):
        return f"an ndarray of shape {obj.shape} (a dropout mask?)"
    if isinstance(obj, tuple):
        return f"a tuple of {len(obj)} items (another layer's cache?)"
    return f"a {type(obj).__name__}"


def batchnorm_backward(dout: FloatArray, cache: BatchNormCache) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of training-mode batch norm: ``dout`` of ``x``'s shape -> ``(dx, dgamma, dbeta)``.

    ``dx`` has ``x``'s shape, ``dgamma`` and ``dbeta`` are ``(C,)``. With ``dxhat = dout * gamma``,
    sums over one feature's ``M`` values and ``s = inv_std``:

    ``dx = s / M * (M * dxhat - sum(dxhat) - x_hat * sum(dxhat * x_hat))``

    Derivation: ``x_hat_j = (x_j - mean) * s`` where ``mean`` and ``s = (var + eps)^(-1/2)`` both depend
    on every ``x_i``. ``d mean / d x_i = 1/M``, and ``d var / d x_i = 2 (x_i - mean) / M`` (the term
    through ``mean`` vanishes, since the ``x_j - mean`` sum to 0), so ``d s / d x_i = -s^3 (x_i - mean) / M``.
    Hence ``d x_hat_j / d x_i = s (delta_ij - 1/M) - s x_hat_j x_hat_i / M``; summing
    ``dxhat_j * d x_hat_j / d x_i`` over ``j`` gives the formula.
    """
    if not isinstance(cache, BatchNormCache):
        raise ValueError(
            f"batchnorm_backward expects the BatchNormCache that batchnorm_forward returns, got {_describe(cache)}"
        )
    x_hat = cache.x_hat
    if dout.shape != x_hat.shape:
        raise ValueError(f"batchnorm_backward: dout must have the shape of x, {x_hat.shape}, got {dout.shape}")
    check_finite(dout, "dout")
    return _train_backward(dout, cache)


def _train_backward(dout: FloatArray, cache: BatchNormCache) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`batchnorm_backward` of a checked ``dout``."""
    x_hat = cache.x_hat
    axes = _stat_axes(x_hat)
    M = x_hat.size // x_hat.shape[1]
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dxhat = dout * _per_channel(cache.gamma, dout.ndim)
    sum_dxhat = _per_channel(dxhat.sum(axis=axes), dout.ndim)
    sum_dxhat_xhat = _per_channel((dxhat * x_hat).sum(axis=axes), dout.ndim)
    dx = _per_channel(cache.inv_std / M, dout.ndim) * (M * dxhat - sum_dxhat - x_hat * sum_dxhat_xhat)
    return dx, dgamma, dbeta


def batchnorm_eval(
    x: FloatArray,
    weight: FloatArray,
    bias: FloatArray,
    running_mean: FloatArray,
    running_var: FloatArray,
    eps: float = 1e-5,
) -> FloatArray:
    """Inference-mode batch norm: ``(x - running_mean) / sqrt(running_var + eps) * weight + bias``.

    ``x: (N, D)`` or ``(N, C, H, W)``; the four others ``(D,)`` or ``(C,)`` -> ``out`` of ``x``'s shape.
    """
    _check_input(x, "batchnorm_eval", weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    return _eval_forward(x, weight, bias, running_mean, running_var, eps)


def _eval_forward(
    x: FloatArray, weight: FloatArray, bias: FloatArray, running_mean: FloatArray, running_var: FloatArray, eps: float
) -> FloatArray:
    """:func:`batchnorm_eval` of a checked ``x``."""
    inv_std = 1.0 / np.sqrt(running_var + eps)
    x_hat = (x - _per_channel(running_mean, x.ndim)) * _per_channel(inv_std, x.ndim)
    out: FloatArray = x_hat * _per_channel(weight, x.ndim) + _per_channel(bias, x.ndim)
    return out


def batchnorm_eval_backward(
    dout: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    running_mean: FloatArray,
    running_var: FloatArray,
    eps: float = 1e-5,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of :func:`batchnorm_eval` at input ``x``: ``dout`` of ``x``'s shape -> ``(dx, dweight, dbias)``.

    With fixed statistics the op is affine in ``x``: ``dx = dout * weight / sqrt(running_var + eps)``,
    ``dweight = sum(dout * x_hat)``, ``dbias = sum(dout)`` (sums over each feature's values).
    """
    _check_input(x, "batchnorm_eval_backward", weight=weight, running_mean=running_mean, running_var=running_var)
    if dout.shape != x.shape:
        raise ValueError(f"batchnorm_eval_backward: dout must have the shape of x, {x.shape}, got {dout.shape}")
    check_finite(dout, "dout")
    return _eval_backward(dout, x, weight, running_mean, running_var, eps)


def _eval_backward(
    dout: FloatArray, x: FloatArray, weight: FloatArray, running_mean: FloatArray, running_var: FloatArray, eps: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`batchnorm_eval_backward` of checked ``dout`` and ``x``."""
    axes = _stat_axes(x)
    inv_std = 1.0 / np.sqrt(running_var + eps)
    x_hat = (x - _per_channel(running_mean, x.ndim)) * _per_channel(inv_std, x.ndim)
    dx = dout * _per_channel(weight * inv_std, x.ndim)
    return dx, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)


def _check_momentum(momentum: float) -> None:
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must lie in [0, 1], got {momentum}")


def update_running_stats(
    running_mean: FloatArray, running_var: FloatArray, cache: BatchNormCache, momentum: float = 0.1
) -> None:
    """Move the running statistics ``(C,)`` towards the batch's, in place, as PyTorch does.

    ``running = (1 - momentum) * running + momentum * batch_stat``, with the *unbiased* batch variance
    ``var * M / (M - 1)`` for ``running_var`` (the biased one normalises the batch itself).
    """
    _check_momentum(momentum)
    if running_mean.shape != cache.mean.shape or running_var.shape != cache.var.shape:
        raise ValueError(
            f"update_running_stats: running_mean and running_var must have shape {cache.mean.shape}, "
            f"got {running_mean.shape} and {running_var.shape}"
        )
    M = cache.x_hat.size // cache.mean.size
    running_mean *= 1.0 - momentum
    running_mean += momentum * cache.mean
    running_var *= 1.0 - momentum
    running_var += momentum * (cache.var * (M / (M - 1)))


class _BatchNorm(Layer):
    """Batch norm over features ``(N, D)`` or channels ``(N, C, H, W)``; subclasses fix the rank."""

    ndim = 0  # the rank of the input, set by each subclass
    expected_shape = ""  # the input's shape in words, with {C} for num_features

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype: type[np.floating] = np.float32
    ) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"num_features must be >= 1, got {num_features}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        _check_momentum(momentum)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.params = {"weight": np.ones(num_features, dtype=dtype), "bias": np.zeros(num_features, dtype=dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.buffers = {
            "running_mean": np.zeros(num_features, dtype=dtype),
            "running_var": np.ones(num_features, dtype=dtype),
        }
        # the last forward leaves one of these: the cache in training, the input at inference
        self._cache: BatchNormCache | None = None
        self._x: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        """``x`` of the subclass's rank -> ``out`` of the same shape; in training, updates the running stats."""
        if x.ndim != self.ndim or x.shape[1] != self.num_features:
            expected = self.expected_shape.format(C=self.num_features)
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects x of shape {expected}, got {x.shape}")
        p, b = self.params, self.buffers
        if self.training:
            out, self._cache = _train_forward(x, p["weight"], p["bias"], self.eps)
            update_running_stats(b["running_mean"], b["running_var"], self._cache, self.momentum)
            self._x = None
        else:
            out = _eval_forward(x, p["weight"], p["bias"], b["running_mean"], b["running_var"], self.eps)
            self._cache, self._x = None, x
        return out

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy`` of the last output's shape -> ``dx``; fills ``grads``, by the rule of the last forward's mode."""
        if self._cache is not None:
            dx, dweight, dbias = _train_backward(self._checked(dy, self._cache.x_hat), self._cache)
        else:
            p, b = self.params, self.buffers
            x = self._cached(self._x)
            dx, dweight, dbias = _eval_backward(
                self._checked(dy, x), x, p["weight"], b["running_mean"], b["running_var"], self.eps
            )
        self.grads["weight"][...] = dweight
        self.grads["bias"][...] = dbias
        return dx

    def _checked(self, dy: FloatArray, x: FloatArray) -> FloatArray:
        """``dy`` if it has the shape of the last input ``x``. No NaN/inf scan: inside a network a NaN flows
        on to the loss, whose guard reports a diverging run."""
        if dy.shape != x.shape:
            raise ValueError(f"{type(self).__name__}.backward: dy must have the shape of x, {x.shape}, got {dy.shape}")
        return dy


class BatchNorm1d(_BatchNorm):
    """Batch norm per feature of ``x: (N, D)``, ``D = num_features``, as ``torch.nn.BatchNorm1d``."""

    ndim, expected_shape = 2, "(N, {C})"


class BatchNorm2d(_BatchNorm):
    """Batch norm per channel of ``x: (N, C, H, W)``, ``C = num_features``, as ``torch.nn.BatchNorm2d``."""

    ndim, expected_shape = 4, "(N, {C}, H, W)"
