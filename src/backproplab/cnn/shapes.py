"""Output sizes of convolution and pooling (exercise 7.8), with stride, padding and dilation.

For each spatial dimension: ``out = floor((in + 2p - d (k - 1) - 1) / s) + 1``. With ``d = 1``
this is the seed's ``(in + 2p - k) // s + 1``; ``d (k - 1) + 1`` is the kernel's *receptive
field*, which dilation spreads out without adding weights.
"""

import numpy as np

Pair = int | tuple[int, int]


def pair(value: Pair, name: str, minimum: int) -> tuple[int, int]:
    """``value`` as an ``(h, w)`` pair of ints, each ``>= minimum``; ``ValueError`` otherwise."""
    arr = np.asarray(value)
    # bool arrays have kind "b", so padding=True is refused rather than read as 1
    if arr.dtype.kind not in "iu" or arr.shape not in ((), (2,)) or (arr < minimum).any():
        raise ValueError(f"{name} must be an int or an (h, w) pair of ints >= {minimum}, got {value!r}")
    h, w = (int(arr), int(arr)) if arr.ndim == 0 else (int(arr[0]), int(arr[1]))
    return h, w


def conv2d_out(
    H: int, W: int, KH: int, KW: int, stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1
) -> tuple[int, int]:
    """``(H_out, W_out)`` of a convolution (or pooling) of an ``H x W`` input with a ``KH x KW`` kernel.

    Raises ``ValueError`` naming the sizes when the kernel's receptive field does not fit in the
    padded input (there would be no output at all).
    """
    sh, sw = pair(stride, "stride", 1)
    ph, pw = pair(padding, "padding", 0)
    dh, dw = pair(dilation, "dilation", 1)
    (kh, kw), (h, w) = pair((KH, KW), "kernel size", 1), pair((H, W), "input size", 1)
    field_h, field_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if field_h > h + 2 * ph or field_w > w + 2 * pw:
        raise ValueError(
            f"kernel {kh}x{kw} (receptive field {field_h}x{field_w} with dilation {dh}x{dw}) is larger than "
            f"the padded input {h + 2 * ph}x{w + 2 * pw} (input {h}x{w}, padding {ph}x{pw})"
        )
    return (h + 2 * ph - field_h) // sh + 1, (w + 2 * pw - field_w) // sw + 1
