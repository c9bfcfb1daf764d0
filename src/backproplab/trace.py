"""One training step of exercise 7.4's network, traced node by node: the chain rule at work.

The network is the seed's (batch-first, ``n`` samples)::

    Z1 = X @ W1 + b1     A1 = relu(Z1)     Z2 = A1 @ W2 + b2     P = sigmoid(Z2)
    L  = -mean(y log(P) + (1 - y) log(1 - P))

:func:`trace_step` runs it on the four XOR points with the core's functions, writes down every
forward value, every local derivative, every delta flowing back and every gradient with the
seed's formula and shape, then lets :class:`~backproplab.neural_network.MLP` do the same step
(``forward``, ``loss``, ``backward``, :class:`~backproplab.optim.SGD`) and records how far apart the
two are: the traced gradients are the core's. Pure logic; :func:`render` turns the trace into text.
"""

from dataclasses import dataclass

import numpy as np

from backproplab._typing import FloatArray
from backproplab.activations import relu, relu_deriv, sigmoid, sigmoid_deriv
from backproplab.data.toy import xor
from backproplab.layers import dense_forward
from backproplab.losses import binary_cross_entropy
from backproplab.neural_network import MLP
from backproplab.optim import SGD

PARAMS = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class Node:
    """One named array of the step: ``name = formula``, its value and the shape that value has."""

    name: str
    formula: str
    value: FloatArray
    note: str = ""  # why the formula holds, or what the shape must equal

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


@dataclass(frozen=True)
class Trace:
    """A traced step. ``gradients`` and ``updated`` are the core's (``MLP.backward``, ``SGD.step``);
    ``max_grad_diff`` is the largest ``|traced - core|`` over the four gradients; ``numeric_dw2`` is
    a central difference of ``L`` for ``dW2[0, 0]``, the seed's "advanced" check."""

    sizes: tuple[int, int, int]
    lr: float
    forward: list[Node]
    local: list[Node]
    backward: list[Node]
    update: list[Node]
    gradients: dict[str, FloatArray]
    max_grad_diff: float
    numeric_dw2: float
    loss_after: float

    def node(self, name: str) -> Node:
        """The node called ``name`` in any section."""
        for node in self.forward + self.local + self.backward + self.update:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r} in the trace")

    @property
    def loss(self) -> float:
        return float(self.node("L").value)


def trace_step(hidden: int = 3, lr: float = 0.5, seed: int = 0) -> Trace:
    """Trace one full-batch SGD step of a ``2 -> hidden -> 1`` ReLU/sigmoid network on XOR.

    Shapes (``n = 4``): ``X: (4, 2)``, ``y: (4, 1)``, ``W1: (2, hidden)``, ``b1: (hidden,)``,
    ``Z1, A1: (4, hidden)``, ``W2: (hidden, 1)``, ``b2: (1,)``, ``Z2, P: (4, 1)``, ``L: ()``.
    Weights are the He initialisation of ``MLP([2, hidden, 1], "relu", "sigmoid", seed=seed)`` in float64.
    """
    if hidden < 1 or not lr > 0:
        raise ValueError(f"hidden must be >= 1 and lr > 0, got hidden={hidden}, lr={lr}")
    X, labels = xor()
    y = labels[:, None].astype(np.float64)  # (4, 1): a column, like P
    n = X.shape[0]
    net = MLP([2, hidden, 1], hidden_activation="relu", output="sigmoid", seed=seed, dtype=np.float64)
    W1, b1, W2, b2 = (p.copy() for p in net.params)  # copies: the core's step below updates its own

    # Forward: every node from its parents.
    Z1 = dense_forward(X, W1, b1)
    A1 = relu(Z1)
    Z2 = dense_forward(A1, W2, b2)
    P = sigmoid(Z2)
    L = binary_cross_entropy(y, P)
    forward = [
        Node("X", "the four XOR inputs", X),
        Node("y", "x1 XOR x2, as a column", y),
        Node("W1", "He init, std sqrt(2 / d_in)", W1),
        Node("b1", "zeros", b1),
        Node("Z1", "X @ W1 + b1", Z1, "b1 broadcasts over the n rows"),
        Node("A1", "relu(Z1)", A1),
        Node("W2", "He init, std sqrt(2 / d_h)", W2),
        Node("b2", "zeros", b2),
        Node("Z2", "A1 @ W2 + b2", Z2),
        Node("P", "sigmoid(Z2)", P),
        Node("L", "-mean(y log(P) + (1 - y) log(1 - P))", np.array(L)),
    ]

    # Local derivatives: each node's derivative with respect to its own input, nothing more.
    dP_dZ2 = sigmoid_deriv(Z2)
    dA1_dZ1 = relu_deriv(Z1)
    local = [
        Node("dL/dP", "-(y / P - (1 - y) / (1 - P)) / n", -(y / P - (1 - y) / (1 - P)) / n, "per sample; mean -> / n"),
        Node("dP/dZ2", "sigmoid'(Z2) = P * (1 - P)", dP_dZ2),
        Node("dZ2/dW2", "A1", A1, "Z2 = A1 @ W2 + b2 is linear in W2"),
        Node("dZ2/dA1", "W2", W2),
        Node("dA1/dZ1", "relu'(Z1) = (Z1 > 0)", dA1_dZ1, "the gradient passes only where Z1 > 0"),
        Node("dZ1/dW1", "X", X),
    ]

    # Backward: each delta is the upstream delta times a local derivative (the chain rule).
    dZ2 = (P - y) / n
    dW2 = A1.T @ dZ2
    db2 = np.sum(dZ2, axis=0)
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * dA1_dZ1
    dW1 = X.T @ dZ1
    db1 = np.sum(dZ1, axis=0)
    chained = local[0].value * dP_dZ2  # dL/dP * dP/dZ2, which simplifies to (P - y) / n
    backward = [
        Node("dZ2", "(P - y) / n", dZ2, f"= dL/dP * dP/dZ2 (max diff {np.max(np.abs(chained - dZ2)):.1e})"),
        Node("dW2", "A1.T @ dZ2", dW2, "the shape of W2"),
        Node("db2", "sum(dZ2, axis=0)", db2, "b2 was broadcast over n rows: its gradient sums them"),
        Node("dA1", "dZ2 @ W2.T", dA1, "the shape of A1"),
        Node("dZ1", "dA1 * relu'(Z1)", dZ1, "elementwise"),
        Node("dW1", "X.T @ dZ1", dW1, "the shape of W1"),
        Node("db1", "sum(dZ1, axis=0)", db1),
    ]
    traced = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    # The core does the same step; its gradients and update are what the trace reports.
    logits = net.forward(X)
    _, dlogits = net.loss(logits, y)
    net.backward(dlogits)
    core = {name: g.copy() for name, g in zip(PARAMS, net.grads, strict=True)}
    max_diff = max(float(np.max(np.abs(traced[k] - core[k]))) for k in PARAMS)
    SGD(lr).step(net.params, net.grads)
    before = dict(zip(PARAMS, (W1, b1, W2, b2), strict=True))
    update = [
        Node(f"{k}'", f"{k} - lr * d{k}", p.copy(), f"changed by {np.max(np.abs(p - before[k])):.2e} at most")
        for k, p in zip(PARAMS, net.params, strict=True)
    ]
    loss_after, _ = net.loss(net.forward(X), y)
    return Trace(
        (2, hidden, 1),
        lr,
        forward,
        local,
        backward,
        update,
        core,
        max_diff,
        _numeric_dW2(X, y, W1, b1, W2, b2),
        loss_after,
    )


def _numeric_dW2(X: FloatArray, y: FloatArray, W1: FloatArray, b1: FloatArray, W2: FloatArray, b2: FloatArray) -> float:
    """``(L(W2 + h E) - L(W2 - h E)) / 2h`` with ``E`` the unit matrix at ``[0, 0]``, as in the seed."""
    h = 1e-6
    E = np.zeros_like(W2)
    E[0, 0] = 1.0

    def loss(W: FloatArray) -> float:
        return binary_cross_entropy(y, sigmoid(dense_forward(relu(dense_forward(X, W1, b1)), W, b2)))

    return (loss(W2 + h * E) - loss(W2 - h * E)) / (2.0 * h)


def _lines(node: Node, indent: str = "      ") -> list[str]:
    head = f"  {node.name} = {node.formula}"
    head = f"{head:<52} shape {node.shape}" + (f"   {node.note}" if node.note else "")
    values = np.array2string(node.value, precision=4, suppress_small=True, max_line_width=100)
    return [head] + [indent + line for line in values.splitlines()]


def render(trace: Trace) -> str:
    """The trace as text: the seed's formulas, shapes and values, forward, local, backward, update."""
    d_in, d_h, d_out = trace.sizes
    dW2 = trace.gradients["W2"][0, 0]
    out = [
        f"One training step of exercise 7.4's network on XOR: {d_in} -> {d_h} (ReLU) -> {d_out} (sigmoid), "
        f"BCE loss, n = 4, SGD lr = {trace.lr:g}",
        "",
        "FORWARD: each node from its parents",
    ]
    for node in trace.forward:
        out += _lines(node)
    out += ["", "LOCAL DERIVATIVES: each node with respect to its own input"]
    for node in trace.local:
        out += _lines(node)
    out += ["", "BACKWARD: delta = upstream delta x local derivative (the chain rule), from L back to W1"]
    for node in trace.backward:
        out += _lines(node)
    out += [
        "",
        "CHECKS",
        f"  traced gradients vs MLP.backward: max |difference| {trace.max_grad_diff:.1e}",
        f"  dW2[0, 0] = {dW2:.8f}, central difference (h = 1e-6) {trace.numeric_dw2:.8f}",
        "",
        "UPDATE: every parameter steps against its gradient",
    ]
    for node in trace.update:
        out += _lines(node)
    out.append(f"  loss {trace.loss:.6f} -> {trace.loss_after:.6f} after the step")
    return "\n".join(out)
