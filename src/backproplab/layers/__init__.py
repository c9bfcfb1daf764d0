"""Layers as forward/backward pairs, the parts of every network here: the MLP and the CNN.

Each layer is a small file a learner reads whole: its forward pass and, right beside it, its
backward pass. :mod:`~backproplab.layers.base` states the contract they all follow.
"""

from backproplab.layers.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from backproplab.layers.base import Init, Layer, init_weight
from backproplab.layers.batchnorm import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNormCache,
    batchnorm_backward,
    batchnorm_eval,
    batchnorm_eval_backward,
    batchnorm_forward,
    update_running_stats,
)
from backproplab.layers.conv import AvgPool2d, Conv2d, Flatten, GlobalAvgPool2d, MaxPool2d
from backproplab.layers.dense import Dense, dense_forward
from backproplab.layers.dropout import Dropout, dropout_backward, dropout_forward
from backproplab.layers.features import FEATURES, FeatureMap, check_feature_names, feature_map
from backproplab.layers.sequential import Sequential

__all__ = [
    "FEATURES",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNormCache",
    "Conv2d",
    "Dense",
    "Dropout",
    "FeatureMap",
    "Flatten",
    "GlobalAvgPool2d",
    "Init",
    "Layer",
    "LeakyReLU",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "batchnorm_backward",
    "batchnorm_eval",
    "batchnorm_eval_backward",
    "batchnorm_forward",
    "check_feature_names",
    "dense_forward",
    "dropout_backward",
    "dropout_forward",
    "feature_map",
    "init_weight",
    "update_running_stats",
]
