"""CNN in NumPy: convolution, pooling, output shapes and a LeNet (exercise 7.8).

Convolution and pooling come as forward/backward pairs, each with a loop version to read and to
test against. The LeNet here runs the forward pass with the weights of the PyTorch model, unchanged.
"""

from backproplab.cnn.conv import (
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
)
from backproplab.cnn.lenet import LeNet
from backproplab.cnn.network import SpecNet
from backproplab.cnn.pool import (
    avgpool2d_backward,
    avgpool2d_backward_naive,
    avgpool2d_forward,
    flatten,
    maxpool2d_backward,
    maxpool2d_backward_naive,
    maxpool2d_forward,
)
from backproplab.cnn.shapes import conv2d_out

__all__ = [
    "LeNet",
    "SpecNet",
    "avgpool2d_backward",
    "avgpool2d_backward_naive",
    "avgpool2d_forward",
    "conv2d_backward",
    "conv2d_backward_naive",
    "conv2d_forward",
    "conv2d_forward_naive",
    "conv2d_out",
    "flatten",
    "maxpool2d_backward",
    "maxpool2d_backward_naive",
    "maxpool2d_forward",
]
