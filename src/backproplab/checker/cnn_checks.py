"""The NumPy CNN forward pass against PyTorch (exercise 7.8 and the module's "CNNs (practice)").

The seed asks for a NumPy forward pass of convolution and pooling for a LeNet-like network but
names no functions; the checker looks for ``conv2d_forward(x, w, b, stride, padding)`` and
``maxpool2d_forward(x, kernel)`` (the library's names). PyTorch is imported here, lazily: the
rest of the checker never needs it.
"""

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.hints import CheckError, as_array, compare
from backproplab.checker.learner import Impl, NotAttemptedError

# LeNet's feature extractor on one 28x28 image: conv 5x5 padding 2, pool 2, conv 5x5, pool 2.
FLIPPED = (
    "the kernel is flipped: PyTorch's conv2d (and the module's) is a cross-correlation, "
    "out[i, j] = sum(x[i:i+KH, j:j+KW] * w), with w as it is."
)
STAGES = [("conv", 6, 1, 2), ("pool", 2, 0, 0), ("conv", 16, 1, 0), ("pool", 2, 0, 0)]  # kind, size, stride, pad


def check_cnn_vs_torch(impl: Impl) -> str:
    conv2d_forward, maxpool2d_forward = impl.get("conv2d_forward", "maxpool2d_forward")
    try:
        import torch
    except ImportError:
        raise NotAttemptedError(["torch (PyTorch is not installed: pip install torch)"]) from None
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x: FloatArray = rng.standard_normal((2, 1, 28, 28))
    ours, theirs = x, torch.from_numpy(x)
    for i, (kind, size, stride, pad) in enumerate(STAGES, 1):
        flipped = None
        if kind == "conv":
            w = rng.standard_normal((size, ours.shape[1], 5, 5)) / 5
            b = rng.standard_normal(size)
            call = f"conv2d_forward(x, w {w.shape}, b, stride={stride}, padding={pad})"
            ours = np.maximum(as_array(f"stage {i}: {call}", conv2d_forward(ours, w, b, stride, pad)), 0.0)
            flipped = F.relu(
                F.conv2d(theirs, torch.from_numpy(w[..., ::-1, ::-1].copy()), torch.from_numpy(b), stride, pad)
            )
            theirs = F.relu(F.conv2d(theirs, torch.from_numpy(w), torch.from_numpy(b), stride, pad))
            what = f"stage {i}: relu({call})"
        else:
            what = f"stage {i}: maxpool2d_forward(x, {size})"
            ours = as_array(what, maxpool2d_forward(ours, size))
            theirs = F.max_pool2d(theirs, size)
        expected = theirs.numpy()
        atol = 1e-10 * max(float(np.abs(expected).max()), 1.0)
        try:
            compare(what, ours, expected, rtol=0, atol=atol)
        except CheckError as e:
            if flipped is not None and ours.shape == expected.shape and np.allclose(ours, flipped.numpy(), atol=atol):
                raise CheckError(e.detail + "; it equals PyTorch's with the kernel flipped", FLIPPED) from None
            raise
    return "conv 5x5 (padding 2), pool 2, conv 5x5, pool 2 on 28x28 images: equal to torch, (2, 16, 5, 5) out"
