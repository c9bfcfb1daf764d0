"""The functions a learner writes: their names and signatures, and the near misses that name them.

Functions are found by these exact names (the seed's, and the starter kit's for the extensions); a
signature is how the checks call the function. When a name is missing, :func:`near_miss` looks
through the learner's other functions for the one they probably meant (``sigmoid_prime``,
``Relu``, ``sigmoidDeriv``).
"""

import difflib
import inspect
import re
from typing import Any

SIGNATURES = {  # name -> its parameters, as the checks call it
    "sigmoid": "(z)",
    "sigmoid_deriv": "(z)",
    "relu": "(z)",
    "relu_deriv": "(z)",
    "tanh": "(z)",
    "tanh_deriv": "(z)",
    "leaky_relu": "(z, alpha=0.01)",
    "leaky_relu_deriv": "(z, alpha=0.01)",
    "num_derivative": "(f, z, h=1e-6)",
    "dense_forward": "(X, W, b)",
    "logsumexp": "(z, axis=-1, keepdims=False)",
    "softmax": "(z, axis=-1)",
    "categorical_cross_entropy": "(y_true, y_pred)",
    "bce": "(y, p)",
    "forward": "(X, W1, b1, W2, b2)",
    "backward": "(y, cache, W2)",
    "sgd": "(w0, lr, steps)",
    "momentum": "(w0, lr, steps, beta=0.9)",
    "adam": "(w0, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8)",
    "clip_by_norm": "(g, max_norm)",
    "dropout_forward": "(x, p, rng)",
    "dropout_backward": "(dout, mask)",
    "batchnorm_forward": "(x, gamma, beta, eps=1e-5)",
    "batchnorm_backward": "(dout, cache)",
    "conv2d_out": "(H, W, KH, KW, stride=1, padding=0)",
    "conv2d_forward": "(x, w, b, stride=1, padding=0)",
    "conv2d_backward": "(dout, x, w, stride=1, padding=0)",
    "maxpool2d_forward": "(x, kernel)",
    "maxpool2d_backward": "(dout, x, kernel=2, stride=2)",
}
FUNCTION_NAMES = list(SIGNATURES)

# Other ways of saying "derivative": sigmoid_prime, sigmoid_derivative, sigmoid_grad, d_sigmoid, dsigmoid.
_SUFFIX = re.compile(r"_?(prime|derivative|deriv|grad|gradient|diff)$")
_PREFIX = re.compile(r"^d_?")


def _canonical(name: str) -> str:
    """``name`` lower-cased, without underscores, with any word for a derivative as a ``deriv`` suffix."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()  # sigmoidDeriv -> sigmoid_deriv
    stem, found = _SUFFIX.subn("", snake)
    if found:
        return stem.replace("_", "") + "deriv"
    return snake.replace("_", "")


def near_miss(wanted: str, candidates: list[str]) -> str | None:
    """The candidate most likely meant for ``wanted``: the same name up to case, underscores and a synonym
    for "derivative" (``d_sigmoid``), else the closest spelling (difflib, case-insensitive); or ``None``."""
    target = _canonical(wanted)
    for name in candidates:
        canon = _canonical(name)
        if canon == target or (target.endswith("deriv") and _PREFIX.sub("", canon) + "deriv" == target):
            return name
    lowered = {name.lower(): name for name in candidates}
    close = difflib.get_close_matches(wanted.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def expected_call(name: str) -> str:
    """``conv2d_out(H, W, KH, KW, stride=1, padding=0)``: how the checks call ``name``."""
    return f"{name}{SIGNATURES.get(name, '(...)')}"


def actual_signature(name: str, fn: Any) -> str:
    """``conv2d_out(h, k)``: the learner's parameters, without annotations (``conv2d_out(?)`` if unknown)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature
        return f"{name}(?)"
    plain = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return f"{name}{sig.replace(parameters=plain, return_annotation=inspect.Signature.empty)}"


def binds(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``fn`` accepts these arguments (``True`` when its signature cannot be read)."""
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        return False
    except ValueError:
        return True
    return True
