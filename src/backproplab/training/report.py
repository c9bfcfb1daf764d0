"""After PyTorch training: does the NumPy forward reproduce PyTorch?

``agreement`` runs the exported weights through :class:`backproplab.cnn.SpecNet` on the whole test
set and compares with PyTorch overall (argmax, largest logit difference) and layer by layer (the
largest difference of each layer's activations), so a learner sees exactly where two
implementations would part ways.
"""

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from backproplab.cnn.network import SpecNet


@dataclass
class Agreement:
    """NumPy vs PyTorch on the same weights and inputs."""

    argmax_agreement: float  # fraction of test images with the same predicted class
    max_logit_diff: float
    layers: list[tuple[str, float]]  # (layer, max |activation difference|) on the first images
    predictions: np.ndarray  # (N,) the NumPy forward's class ids, for the confusion matrix

    def lines(self) -> list[str]:
        out = [
            f"NumPy vs PyTorch: same prediction on {self.argmax_agreement:.4%} of the test set, "
            f"max |logit difference| {self.max_logit_diff:.2e}",
            "  layer      max |difference| of activations",
        ]
        out += [f"  {name:<10} {diff:.2e}" for name, diff in self.layers]
        return out


@torch.no_grad()
def agreement(model: nn.Module, net: SpecNet, x: np.ndarray, layer_images: int = 256) -> Agreement:
    """Compare ``model`` (eval mode, an ``nn.Sequential`` named like ``net``'s layers) and ``net`` on ``x``.

    The PyTorch side runs on a CPU copy of the model: on a GPU its default TF32 convolutions differ
    from float32 by about 1e-3 (2.4e-3 in the logits, measured on an H200), which would hide an
    export error of that size.
    """
    reference = model if next(model.parameters()).device.type == "cpu" else copy.deepcopy(model).cpu()
    reference.eval()
    model.eval()
    theirs = torch.cat([reference(torch.from_numpy(x[i : i + 1024])) for i in range(0, len(x), 1024)])
    ours = net.forward(x)
    layers = []
    a = torch.from_numpy(x[:layer_images])
    for (name, act), (child_name, child) in zip(
        net.activations(x[:layer_images]), reference.named_children(), strict=True
    ):
        assert name == child_name, f"layer {name} of the NumPy net faces {child_name} of the PyTorch model"
        a = child(a)
        layers.append((name, float(np.abs(act - a.numpy()).max())))
    return Agreement(
        float(np.mean(ours.argmax(1) == theirs.numpy().argmax(1))),
        float(np.abs(ours - theirs.numpy()).max()),
        layers,
        ours.argmax(1),
    )
