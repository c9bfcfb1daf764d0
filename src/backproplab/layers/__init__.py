"""Layers as forward/backward pairs, the parts of every network here: the MLP and the CNN.

Each layer is a small file a learner reads whole: its forward pass and, right beside it, its
backward pass. :mod:`~backproplab.layers.base` states the contract they all follow.
"""

from backproplab.layers.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from backproplab.layers.base import Init, Layer, init_std, init_weight
from backproplab.layers.dense import Dense, dense_forward

__all__ = [
    "Dense",
    "Init",
    "Layer",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "dense_forward",
    "init_std",
    "init_weight",
]
