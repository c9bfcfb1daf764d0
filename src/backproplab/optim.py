"""Optimizers and gradient clipping (exercises 7.6, 7.7).

An optimizer sees only two parallel lists of arrays, ``params`` and ``grads``, and updates the
params in place. Its state (velocities, moments) is kept per position in the list, so pass the
same parameters in the same order at every step. The update rules follow ``torch.optim``
exactly, so the same hyperparameters give the same trajectory.
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from backproplab._blas import axpy
from backproplab._typing import FloatArray
from backproplab._validation import as_float


class Optimizer:
    """Base class: validates the lists and creates per-position state on the first step.

    ``STATE`` names the lists of per-parameter arrays a subclass keeps (Adam's ``m`` and ``v``), so
    :meth:`state` and :meth:`load_state` can save and restore any optimizer for a checkpoint.
    """

    STATE: tuple[str, ...] = ()

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"learning rate must be a finite number > 0, got {lr}")
        if not (weight_decay >= 0 and math.isfinite(weight_decay)):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
        self.lr = lr  # read at every step, so a schedule may change it between steps
        self.weight_decay = weight_decay
        self._shapes: list[tuple[int, ...]] | None = None
        self.t = 0  # number of steps taken

    def _check(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} params but {len(grads)} grads")
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if p.shape != g.shape:
                raise ValueError(f"param {i} has shape {p.shape} but its grad has shape {g.shape}")
        shapes = [p.shape for p in params]
        if self._shapes is None:
            self._shapes = shapes
            self._init_state(params)
        elif shapes != self._shapes:
            raise ValueError(
                f"{type(self).__name__} keeps state per position: expected param shapes {self._shapes}, "
                f"got {shapes}; use a new optimizer for a new set of parameters"
            )
        self.t += 1

    def _init_state(self, params: Sequence[FloatArray]) -> None:
        """Allocate state arrays for ``params`` (none for plain SGD)."""

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shape)."""
        raise NotImplementedError

    def set_hyperparameters(self, lr: float, momentum: float | None = None) -> None:
        """What a schedule changes between steps: the learning rate and, when given, the momentum
        (Momentum's ``beta``, Adam's ``beta1``; plain SGD has none and ignores it)."""
        self.lr = lr
        if momentum is not None:
            self._set_momentum(momentum)

    def _set_momentum(self, momentum: float) -> None:
        """Plain SGD keeps no momentum."""

    def state(self) -> dict[str, np.ndarray]:
        """The step count ``t`` and every state array, as ``"m.0"``, ``"m.1"``, ... (the arrays, not copies)."""
        arrays: dict[str, np.ndarray] = {"t": np.array(self.t)}
        for name in self.STATE:
            arrays |= {f"{name}.{i}": a for i, a in enumerate(getattr(self, name))}
        return arrays

    def load_state(self, state: Mapping[str, np.ndarray], params: Sequence[FloatArray]) -> None:
        """Restore what :meth:`state` returned, for these ``params``; ``ValueError`` names what does not fit."""
        t = int(state["t"]) if "t" in state else -1
        if t < 0:
            raise ValueError(f"{type(self).__name__} state needs a step count 't' >= 0, got {sorted(state)}")
        self.t, self._shapes = t, None
        if t == 0:
            return
        self._shapes = [p.shape for p in params]
        self._init_state(params)
        for name in self.STATE:
            for i, target in enumerate(getattr(self, name)):
                a = state.get(f"{name}.{i}")
                if a is None or a.shape != target.shape:
                    found = None if a is None else a.shape
                    raise ValueError(
                        f"{type(self).__name__} state {name}.{i}: expected shape {target.shape}, got {found}"
                    )
                target[...] = a

    def _apply_weight_decay(self, p: FloatArray, g: FloatArray) -> FloatArray:
        """The gradient the update uses: ``g + weight_decay * p`` (L2, ``torch.optim``'s ``weight_decay``).

        A new array when ``weight_decay > 0``: the caller's gradient is never modified.
        """
        return g + self.weight_decay * p if self.weight_decay else g


class SGD(Optimizer):
    """Plain gradient descent: ``p <- p - lr * g``, with ``g <- g + weight_decay * p`` first."""

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        self._check(params, grads)
        for p, g in zip(params, grads, strict=True):
            d_p = self._apply_weight_decay(p, g)
            axpy(-self.lr, d_p, p)  # p -= lr * d_p in one pass over memory where NumPy's BLAS allows (_blas.py)


class Momentum(Optimizer):
    """SGD with momentum, as ``torch.optim.SGD(momentum=beta, nesterov=...)``.

    ``g <- g + weight_decay * p``; ``v <- beta * v + g``; then ``p <- p - lr * v``, or with Nesterov
    ``p <- p - lr * (g + beta * v)``.
    """

    def __init__(self, lr: float, beta: float = 0.9, nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay)
        if not 0 <= beta < 1:
            raise ValueError(f"beta must lie in [0, 1), got {beta}")
        self.beta = beta
        self.nesterov = nesterov
        self.velocity: list[FloatArray] = []

    STATE = ("velocity",)

    def _set_momentum(self, momentum: float) -> None:
        self.beta = momentum

    def _init_state(self, params: Sequence[FloatArray]) -> None:
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        self._check(params, grads)
        for p, g, v in zip(params, grads, self.velocity, strict=True):
            d_p = self._apply_weight_decay(p, g)
            v *= self.beta
            v += d_p
            axpy(-self.lr, d_p + self.beta * v if self.nesterov else v, p)


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba), as ``torch.optim.Adam``.

    ``g <- g + weight_decay * p`` (L2; see :class:`AdamW` for decoupled decay),
    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.
    m and v start at 0, so early on they underestimate the gradient's moments; the correction
    makes the first step exactly ``lr`` in size. Correcting only v would make it ``(1 - b1) = 0.1``
    times too small; correcting neither would make it about 3.16 times too large.
    """

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr, weight_decay)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {beta}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m: list[FloatArray] = []
        self.v: list[FloatArray] = []

    STATE = ("m", "v")

    def _set_momentum(self, momentum: float) -> None:
        self.beta1 = momentum

    def _init_state(self, params: Sequence[FloatArray]) -> None:
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        self._check(params, grads)
        b1, b2 = self.beta1, self.beta2
        bias1 = 1.0 - b1**self.t
        bias2 = 1.0 - b2**self.t
        for p, g_in, m, v in zip(params, grads, self.m, self.v, strict=True):
            g = self._apply_weight_decay(p, g_in)
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            m_hat = m / bias1
            v_hat = v / bias2
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    ``p <- p * (1 - lr * weight_decay)``, then Adam's update from the gradient alone. With L2 decay
    (:class:`Adam`'s ``weight_decay``) the decay term passes through ``sqrt(v_hat)`` and is shrunk
    wherever gradients are large; decoupled, every weight decays at the same rate.
    """

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 1e-2
    ) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay)

    def _apply_weight_decay(self, p: FloatArray, g: FloatArray) -> FloatArray:
        """Decay ``p`` itself, in place, and leave the gradient as it is."""
        p *= 1.0 - self.lr * self.weight_decay
        return g


def clip_by_norm(g: ArrayLike, max_norm: float) -> FloatArray:
    """Rescale one gradient array so its L2 norm is at most ``max_norm`` (exercise 7.7).

    Returns a new array of ``g``'s shape: ``g * (max_norm / ||g||)`` when ``||g|| > max_norm``,
    otherwise an unchanged copy. Clipping by the norm keeps the direction; clipping each element
    would not.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    arr = as_float(g, "g").copy()  # a new array: the caller's gradient is never modified
    norm = float(np.linalg.norm(arr))
    if norm > max_norm:
        arr *= max_norm / norm
    return arr


def global_norm(grads: Sequence[FloatArray]) -> float:
    """The L2 norm of all gradients together, ``sqrt(sum_i ||g_i||^2)``; inf or NaN if any entry is."""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))


def clip_grad_norm(grads: Sequence[FloatArray], max_norm: float) -> float:
    """Clip all gradients together by their global L2 norm, in place; return the norm before clipping.

    Like ``torch.nn.utils.clip_grad_norm_``: the total norm is ``sqrt(sum_i ||g_i||^2)`` and every
    gradient is scaled by ``min(1, max_norm / (total + 1e-6))``, so the direction of the whole
    update is kept.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    total = global_norm(grads)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total
