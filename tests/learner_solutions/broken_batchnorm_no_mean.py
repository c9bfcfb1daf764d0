"""Batch norm's backward pass without the terms through the batch mean and variance. Everything else is
solutions_ok.py.

``dx = dout * gamma / sqrt(var + eps)`` treats the mean and the variance as constants; they depend on
every x_i of the batch. dgamma and dbeta are right.
"""

from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array


def batchnorm_backward(dout: Array, cache: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
    x_hat, inv_std, gamma = cache
    dx = dout * gamma * inv_std  # the mistake: the mean and variance terms are missing
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
