"""CNN forward pass in NumPy: convolution, pooling, output shapes and a LeNet (exercise 7.8).

Forward only, by design (the seed's "CNN split approach"): shapes are mastered here in NumPy, and
the same network is trained with PyTorch, whose weights this forward pass runs unchanged.
"""

from backproplab.cnn.conv import conv2d_forward, conv2d_forward_naive
from backproplab.cnn.lenet import LeNet
from backproplab.cnn.network import SpecNet
from backproplab.cnn.pool import avgpool2d_forward, flatten, maxpool2d_forward
from backproplab.cnn.shapes import conv2d_out

__all__ = [
    "LeNet",
    "SpecNet",
    "avgpool2d_forward",
    "conv2d_forward",
    "conv2d_forward_naive",
    "conv2d_out",
    "flatten",
    "maxpool2d_forward",
]
