"""A correct learner solution file, written the way the seed's exercises 7.1-7.8 write it, with the
starter kit's extensions (tanh, leaky ReLU, momentum, dropout, batch norm, conv and pool backward).

``backproplab check --impl tests/learner_solutions/solutions_ok.py`` passes every check. The other
files in this folder import everything from here and redefine exactly one function with one of the
seed's "common mistakes", so each shows what the checker says about that mistake.
"""

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
Cache = tuple[Array, Array, Array, Array, Array]


# ----- 7.1 activations and derivatives -----------------------------------------------------------
def sigmoid(z: ArrayLike) -> Array:
    z = np.asarray(z, dtype=float)
    z = np.clip(z, -500, 500)
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_deriv(z: ArrayLike) -> Array:
    a = sigmoid(z)
    return a * (1.0 - a)


def relu(z: ArrayLike) -> Array:
    return np.maximum(0.0, np.asarray(z, dtype=float))


def relu_deriv(z: ArrayLike) -> Array:
    z = np.asarray(z, dtype=float)
    return (z > 0.0).astype(float)


def tanh(z: ArrayLike) -> Array:
    return np.tanh(np.asarray(z, dtype=float))


def tanh_deriv(z: ArrayLike) -> Array:
    return 1.0 - tanh(z) ** 2


def leaky_relu(z: ArrayLike, alpha: float = 0.01) -> Array:
    z = np.asarray(z, dtype=float)
    return np.where(z > 0.0, z, alpha * z)


def leaky_relu_deriv(z: ArrayLike, alpha: float = 0.01) -> Array:
    z = np.asarray(z, dtype=float)
    return np.where(z > 0.0, 1.0, alpha)


def num_derivative(f: Callable[[Array], Array], z: ArrayLike, h: float = 1e-6) -> Array:
    z = np.asarray(z, dtype=float)
    return (f(z + h) - f(z - h)) / (2.0 * h)


# ----- 7.2 dense layer ---------------------------------------------------------------------------
def dense_forward(X: Array, W: Array, b: Array) -> Array:
    return X @ W + b


# ----- 7.3 stable softmax and cross-entropy ------------------------------------------------------
def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> Array:
    z = np.asarray(z, dtype=float)
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z: ArrayLike, axis: int = -1) -> Array:
    z = np.asarray(z, dtype=float)
    lse = logsumexp(z, axis=axis, keepdims=True)
    return np.exp(z - lse)


def categorical_cross_entropy(y_true: ArrayLike, y_pred: ArrayLike, eps: float = 1e-15) -> float:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.clip(np.asarray(y_pred, dtype=float), eps, 1.0)
    return float(-np.mean(np.sum(y_true * np.log(y_pred), axis=1)))


# ----- 7.4 two-layer network: forward, loss, backward --------------------------------------------
def bce(y: Array, p: Array, eps: float = 1e-15) -> float:
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def forward(X: Array, W1: Array, b1: Array, W2: Array, b2: Array) -> tuple[Array, Cache]:
    Z1 = X @ W1 + b1
    A1 = relu(Z1)
    Z2 = A1 @ W2 + b2
    P = sigmoid(Z2)
    cache = (X, Z1, A1, Z2, P)
    return P, cache


def backward(y: Array, cache: Cache, W2: Array) -> tuple[Array, Array, Array, Array]:
    X, Z1, A1, _, P = cache
    n = X.shape[0]
    dZ2 = (P - y) / n
    dW2 = A1.T @ dZ2
    db2 = np.sum(dZ2, axis=0)
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * relu_deriv(Z1)
    dW1 = X.T @ dZ1
    db1 = np.sum(dZ1, axis=0)
    return dW1, db1, dW2, db2


# ----- 7.6 optimizers on f(w) = (w - 3)^2 ---------------------------------------------------------
def grad_f(w: float) -> float:
    return 2.0 * (w - 3.0)


def sgd(w0: float, lr: float, steps: int) -> float:
    w = float(w0)
    for _ in range(steps):
        w -= lr * grad_f(w)
    return w


def momentum(w0: float, lr: float, steps: int, beta: float = 0.9) -> float:
    w = float(w0)
    v = 0.0
    for _ in range(steps):
        v = beta * v + grad_f(w)
        w -= lr * v
    return w


def adam(w0: float, lr: float, steps: int, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> float:
    w = float(w0)
    m = 0.0
    v = 0.0
    for t in range(1, steps + 1):
        g = grad_f(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g**2)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


# ----- 7.7 gradient clipping ---------------------------------------------------------------------
def clip_by_norm(g: ArrayLike, max_norm: float) -> Array:
    g = np.asarray(g, dtype=float)
    n = np.linalg.norm(g)
    if n == 0.0:
        return g
    if n <= max_norm:
        return g
    return g * (max_norm / n)


# ----- 7.8 convolution shapes, and the NumPy CNN forward the module asks for ---------------------
def conv2d_out(H: int, W: int, KH: int, KW: int, stride: int = 1, padding: int = 0) -> tuple[int, int]:
    H_out = (H + 2 * padding - KH) // stride + 1
    W_out = (W + 2 * padding - KW) // stride + 1
    return int(H_out), int(W_out)


def conv2d_forward(x: Array, w: Array, b: Array, stride: int = 1, padding: int = 0) -> Array:
    """``x: (N, C_in, H, W)``, ``w: (C_out, C_in, KH, KW)``, ``b: (C_out,)`` -> ``(N, C_out, H_out, W_out)``."""
    N, _, H, W = x.shape
    C_out, _, KH, KW = w.shape
    H_out, W_out = conv2d_out(H, W, KH, KW, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, C_out, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            patch = xp[:, :, i * stride : i * stride + KH, j * stride : j * stride + KW]  # (N, C_in, KH, KW)
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))  # (N, C_out)
    return out + b[None, :, None, None]


def maxpool2d_forward(x: Array, kernel: int) -> Array:
    """``(N, C, H, W)`` -> ``(N, C, H // kernel, W // kernel)``, max over non-overlapping windows."""
    N, C, H, W = x.shape
    H_out, W_out = H // kernel, W // kernel
    windows = x[:, :, : H_out * kernel, : W_out * kernel].reshape(N, C, H_out, kernel, W_out, kernel)
    return windows.max(axis=(3, 5))


# ----- beyond the seed: convolution and pooling backward ------------------------------------------
def conv2d_backward(dout: Array, x: Array, w: Array, stride: int = 1, padding: int = 0) -> tuple[Array, Array, Array]:
    """Each output value was one window of the padded x times w: its gradient flows back to both."""
    _, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            g = dout[:, :, i, j]  # (N, C_out)
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))  # (N, C_in, KH, KW)
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))  # (C_out, C_in, KH, KW)
    dx = dxp[:, :, padding : padding + x.shape[2], padding : padding + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def maxpool2d_backward(dout: Array, x: Array, kernel: int = 2, stride: int = 2) -> Array:
    """Each window's gradient goes to its first maximum (np.argmax), as PyTorch routes it."""
    dx = np.zeros_like(x)
    N, C, H_out, W_out = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]
    return dx


# ----- beyond the seed: dropout and batch normalisation ------------------------------------------
def dropout_forward(x: Array, p: float, rng: np.random.Generator) -> tuple[Array, Array]:
    mask = (rng.random(x.shape) >= p) / (1.0 - p)  # inverted dropout: kept values scaled by 1 / (1 - p)
    return x * mask, mask


def dropout_backward(dout: Array, mask: Array) -> Array:
    return dout * mask


def batchnorm_forward(
    x: Array, gamma: Array, beta: Array, eps: float = 1e-5
) -> tuple[Array, tuple[Array, Array, Array]]:
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


def batchnorm_backward(dout: Array, cache: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
    x_hat, inv_std, gamma = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = inv_std / N * (N * dxhat - dxhat.sum(axis=0) - x_hat * (dxhat * x_hat).sum(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
