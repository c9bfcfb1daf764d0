"""The file format of a saved :class:`~backproplab.neural_network.MLP`: one ``.npz``, no pickle.

The arrays are the parameters by their seed names (``W1``, ``b1``, ``W2``, ...); the metadata says
how to rebuild the network: ``layer_sizes``, ``hidden_activation``, ``output``, ``dtype`` and, since
version 2, the options ``features``, ``l1``, ``l2`` and ``dropout`` (a version-1 file has none of
them and still loads). Reading checks the metadata and every array against each other before the
network is built, so a crafted file cannot make it allocate more than the file itself holds.
"""

import math
import os
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, get_args

import numpy as np

from backproplab._io import load_npz, save_npz
from backproplab._validation import MetaRules, check_meta, check_weights
from backproplab.layers import FEATURES, check_feature_names
from backproplab.neural_network import MLP, Activation, Output, dense_widths

FORMAT, VERSION = "backproplab.MLP", 2
_MAX_LAYERS, _MAX_UNITS = 64, 100_000  # bounds on a saved file's layer_sizes, checked before building


def save_mlp(net: MLP, path: str | os.PathLike[str]) -> None:
    """Write ``net``'s architecture, options and weights to ``path`` atomically; weights :func:`load_mlp`
    would refuse (NaN, inf, beyond float32) raise ``ValueError`` naming the parameter, and nothing is written."""
    named = dict(net.named_params())
    for name, p in named.items():
        check_weights(f"cannot save {path}: {name}", p, net.dtype)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "layer_sizes": net.layer_sizes,
        "hidden_activation": net.hidden_activation,
        "output": net.output,
        "dtype": np.dtype(net.dtype).name,
        "features": None if net.features is None else list(net.features),
        "l1": net.l1,
        "l2": net.l2,
        "dropout": net.dropout,
    }
    save_npz(path, meta, named)


def load_mlp(path: str | os.PathLike[str], cls: type[MLP] = MLP) -> MLP:
    """Rebuild the network :func:`save_mlp` wrote (as ``cls``); a foreign or damaged file raises
    ``ValueError`` naming the path and the field at fault."""
    meta, arrays = load_npz(path, FORMAT)
    check_meta(str(path), meta, _META_RULES)
    options = dict(_V1_OPTIONS)  # a version-1 file has none of the options
    if meta["version"] >= 2:
        check_meta(str(path), meta, _META_RULES_V2)
        options = {key: meta[key] for key in _V1_OPTIONS}
    expected = _param_shapes(dense_widths(meta["layer_sizes"], options["features"]))
    if sorted(arrays) != sorted(expected):
        raise ValueError(f"{path}: expected arrays {sorted(expected)}, found {sorted(arrays)}")
    dtype = np.dtype(meta["dtype"]).type
    for name, shape in expected.items():
        a = arrays[name]
        if a.shape != shape or a.dtype.kind != "f":
            raise ValueError(f"{path}: {name} should be a float array of shape {shape}, got {a.dtype} {a.shape}")
        check_weights(f"{path}: {name}", a, dtype)
    try:
        net = cls(meta["layer_sizes"], meta["hidden_activation"], meta["output"], dtype=dtype, **options)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: invalid architecture in file ({e!r})") from e
    for name, p in net.named_params():
        p[...] = arrays[name]
    return net


def _param_shapes(widths: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """``{"W1": (d0, d1), "b1": (d1,), "W2": (d1, d2), ...}``: what :meth:`MLP.named_params` holds."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (d_in, d_out) in enumerate(pairwise(widths), 1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (d_in, d_out), (d_out,)
    return shapes


def _sane_sizes(value: object) -> bool:
    return (
        isinstance(value, list)
        and 2 <= len(value) <= _MAX_LAYERS
        and all(type(d) is int and 1 <= d <= _MAX_UNITS for d in value)
    )


def _rate(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _feature_names(value: object) -> bool:
    if value is None:
        return True
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return False
    try:
        check_feature_names(value)
    except ValueError:
        return False
    return True


_META_RULES: MetaRules = {
    "version": (lambda v: type(v) is int and v in (1, VERSION), f"1 or {VERSION}"),
    "layer_sizes": (_sane_sizes, f"a list of 2 to {_MAX_LAYERS} ints, each 1 to {_MAX_UNITS}"),
    "dtype": (lambda v: v in ("float32", "float64"), "'float32' or 'float64'"),
    "hidden_activation": (lambda v: v in get_args(Activation), f"one of {sorted(get_args(Activation))}"),
    "output": (lambda v: v in get_args(Output), f"one of {list(get_args(Output))}"),
}
_META_RULES_V2: MetaRules = {  # the options version 2 added; a version-1 file has the defaults below
    "features": (_feature_names, f"null or a list of distinct names from {list(FEATURES)}"),
    "l1": (_rate, "a finite number >= 0"),
    "l2": (_rate, "a finite number >= 0"),
    "dropout": (lambda v: _rate(v) and v < 1, "a number in [0, 1)"),
}
_V1_OPTIONS: dict[str, Any] = {"features": None, "l1": 0.0, "l2": 0.0, "dropout": 0.0}
