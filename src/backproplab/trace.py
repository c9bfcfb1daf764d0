"""One training step of exercise 7.4's network, traced node by node: the chain rule at work.

The network is the seed's (batch-first, ``n`` samples)::

    Z1 = X @ W1 + b1     A1 = relu(Z1)     Z2 = A1 @ W2 + b2     P = sigmoid(Z2)
    L  = -mean(y log(P) + (1 - y) log(1 - P))

:func:`trace_step` runs it on the four XOR points with the core's functions, writes down every
forward value, every local derivative, every delta flowing back and every gradient with the
seed's formula and shape, then lets :class:`~backproplab.neural_network.MLP` do the same step
(``forward``, ``loss``, ``backward``, :class:`~backproplab.optim.SGD`) and records how far apart the
two are: the traced gradients are the core's. Pure logic; :func:`render` turns the trace into text.

:data:`STEPS` is the computation as data, one named intermediate at a time with its formula, parents
and shape: :func:`run_steps` evaluates it, and :mod:`backproplab.learner_trace` compares a learner's
intermediates with it in the same order.
"""

from collections.abc import Callable, Mapping, Sequence
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
Values = Mapping[str, FloatArray]


@dataclass(frozen=True)
class Step:
    """One intermediate of the seed's computation: ``name = formula`` of its ``parents``, of ``shape``."""

    name: str
    formula: str
    parents: tuple[str, ...]
    compute: Callable[[Values], FloatArray]
    shape: str  # in the seed's symbols, with how it arises
    note: str = ""


STEPS = (
    Step(
        "Z1",
        "X @ W1 + b1",
        ("X", "W1", "b1"),
        lambda v: dense_forward(v["X"], v["W1"], v["b1"]),
        "(n, d_in) @ (d_in, d_h) = (n, d_h)",
        "b1 broadcasts over the n rows",
    ),
    Step("A1", "relu(Z1)", ("Z1",), lambda v: relu(v["Z1"]), "(n, d_h), elementwise"),
    Step(
        "Z2",
        "A1 @ W2 + b2",
        ("A1", "W2", "b2"),
        lambda v: dense_forward(v["A1"], v["W2"], v["b2"]),
        "(n, d_h) @ (d_h, d_out) = (n, d_out)",
    ),
    Step("P", "sigmoid(Z2)", ("Z2",), lambda v: sigmoid(v["Z2"]), "(n, d_out), elementwise"),
    Step("dZ2", "(P - y) / n", ("P", "y"), lambda v: (v["P"] - v["y"]) / len(v["y"]), "(n, d_out), like P"),
    Step(
        "dW2",
        "A1.T @ dZ2",
        ("A1", "dZ2"),
        lambda v: v["A1"].T @ v["dZ2"],
        "(d_h, n) @ (n, d_out) = (d_h, d_out)",
        "the shape of W2",
    ),
    Step(
        "db2",
        "sum(dZ2, axis=0)",
        ("dZ2",),
        lambda v: np.sum(v["dZ2"], axis=0),
        "(d_out,), like b2",
        "b2 was broadcast over n rows: its gradient sums them",
    ),
    Step(
        "dA1",
        "dZ2 @ W2.T",
        ("dZ2", "W2"),
        lambda v: v["dZ2"] @ v["W2"].T,
        "(n, d_out) @ (d_out, d_h) = (n, d_h)",
        "the shape of A1",
    ),
    Step(
        "dZ1",
        "dA1 * relu'(Z1)",
        ("dA1", "Z1"),
        lambda v: v["dA1"] * relu_deriv(v["Z1"]),
        "(n, d_h), elementwise",
        "elementwise",
    ),
    Step(
        "dW1",
        "X.T @ dZ1",
        ("X", "dZ1"),
        lambda v: v["X"].T @ v["dZ1"],
        "(d_in, n) @ (n, d_h) = (d_in, d_h)",
        "the shape of W1",
    ),
    Step("db1", "sum(dZ1, axis=0)", ("dZ1",), lambda v: np.sum(v["dZ1"], axis=0), "(d_h,), like b1"),
)
"""The seed's 7.4 forward and backward, one named array at a time, in the order they are computed."""
STEP = {step.name: step for step in STEPS}


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
    a central difference of ``L`` for ``dW2[0, 0]``, the seed's "advanced" check; ``checks`` says
    both in words. ``update`` is empty when no step could be taken."""

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
    checks: tuple[str, ...] = ()

    def node(self, name: str) -> Node:
        """The node called ``name`` in any section."""
        for node in self.forward + self.local + self.backward + self.update:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r} in the trace")

    @property
    def loss(self) -> float:
        return float(self.node("L").value)


def xor_step_inputs(hidden: int, seed: int) -> dict[str, FloatArray]:
    """``X (4, 2)``, ``y (4, 1)`` and the He-initialised ``W1, b1, W2, b2`` of ``MLP([2, hidden, 1])`` (float64)."""
    if hidden < 1:
        raise ValueError(f"hidden must be >= 1, got hidden={hidden}")
    X, labels = xor()
    net = MLP([2, hidden, 1], hidden_activation="relu", output="sigmoid", seed=seed, dtype=np.float64)
    # copies: a step taken later updates the network's own arrays
    params = {k: p.copy() for k, p in zip(PARAMS, net.params, strict=True)}
    return {"X": X, "y": labels[:, None].astype(np.float64), **params}  # y: a column, like P


def run_steps(inputs: Values) -> dict[str, FloatArray]:
    """``inputs`` (``X, y, W1, b1, W2, b2``) and every intermediate of :data:`STEPS` computed from them."""
    values = dict(inputs)
    for step in STEPS:
        values[step.name] = step.compute(values)
    return values


def forward_nodes(v: Values, notes: Mapping[str, str]) -> list[Node]:
    """``X, y, W1, b1, Z1, A1, W2, b2, Z2, P, L`` from the values ``v``; ``notes`` replace a step's own."""
    inputs = {
        "X": "the four XOR inputs",
        "y": "x1 XOR x2, as a column",
        "W1": "He init, std sqrt(2 / d_in)",
        "b1": "zeros",
        "W2": "He init, std sqrt(2 / d_h)",
        "b2": "zeros",
    }
    order = ("X", "y", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "P")
    nodes = [
        Node(k, inputs[k], v[k]) if k in inputs else Node(k, STEP[k].formula, v[k], notes.get(k, STEP[k].note))
        for k in order
    ]
    return [*nodes, Node("L", "-mean(y log(P) + (1 - y) log(1 - P))", v["L"], notes.get("L", ""))]


def local_nodes(v: Values) -> list[Node]:
    """Each node's derivative with respect to its own input, nothing more."""
    P, y, n = v["P"], v["y"], len(v["y"])
    return [
        Node("dL/dP", "-(y / P - (1 - y) / (1 - P)) / n", -(y / P - (1 - y) / (1 - P)) / n, "per sample; mean -> / n"),
        Node("dP/dZ2", "sigmoid'(Z2) = P * (1 - P)", sigmoid_deriv(v["Z2"])),
        Node("dZ2/dW2", "A1", v["A1"], "Z2 = A1 @ W2 + b2 is linear in W2"),
        Node("dZ2/dA1", "W2", v["W2"]),
        Node("dA1/dZ1", "relu'(Z1) = (Z1 > 0)", relu_deriv(v["Z1"]), "the gradient passes only where Z1 > 0"),
        Node("dZ1/dW1", "X", v["X"]),
    ]


def backward_nodes(v: Values, notes: Mapping[str, str]) -> list[Node]:
    """``dZ2, dW2, db2, dA1, dZ1, dW1, db1`` from the values ``v``; ``notes`` replace a step's own."""
    return [Node(s.name, s.formula, v[s.name], notes.get(s.name, s.note)) for s in STEPS if s.name.startswith("d")]


def trace_step(hidden: int = 3, lr: float = 0.5, seed: int = 0) -> Trace:
    """Trace one full-batch SGD step of a ``2 -> hidden -> 1`` ReLU/sigmoid network on XOR.

    Shapes (``n = 4``): ``X: (4, 2)``, ``y: (4, 1)``, ``W1: (2, hidden)``, ``b1: (hidden,)``,
    ``Z1, A1: (4, hidden)``, ``W2: (hidden, 1)``, ``b2: (1,)``, ``Z2, P: (4, 1)``, ``L: ()``.
    Weights are the He initialisation of ``MLP([2, hidden, 1], "relu", "sigmoid", seed=seed)`` in float64.
    """
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got lr={lr}")
    v = run_steps(xor_step_inputs(hidden, seed))  # every node from its parents, in order
    v["L"] = np.array(binary_cross_entropy(v["y"], v["P"]))
    local = local_nodes(v)
    chained = local[0].value * local[1].value  # dL/dP * dP/dZ2, which simplifies to (P - y) / n
    notes = {"dZ2": f"= dL/dP * dP/dZ2 (max diff {np.max(np.abs(chained - v['dZ2'])):.1e})"}
    traced = {k: v[f"d{k}"] for k in PARAMS}

    # The core does the same step; its gradients and update are what the trace reports.
    net = MLP([2, hidden, 1], hidden_activation="relu", output="sigmoid", seed=seed, dtype=np.float64)
    _, dlogits = net.loss(net.forward(v["X"]), v["y"])
    net.backward(dlogits)
    core = {name: g.copy() for name, g in zip(PARAMS, net.grads, strict=True)}
    max_diff = max(float(np.max(np.abs(traced[k] - core[k]))) for k in PARAMS)
    SGD(lr).step(net.params, net.grads)
    update = [
        Node(f"{k}'", f"{k} - lr * d{k}", p.copy(), f"changed by {np.max(np.abs(p - v[k])):.2e} at most")
        for k, p in zip(PARAMS, net.params, strict=True)
    ]
    loss_after, _ = net.loss(net.forward(v["X"]), v["y"])
    numeric = numeric_dW2(lambda W2: binary_cross_entropy(v["y"], run_steps({**v, "W2": W2})["P"]), v["W2"])
    checks = (
        f"traced gradients vs MLP.backward: max |difference| {max_diff:.1e}",
        f"dW2[0, 0] = {core['W2'][0, 0]:.8f}, central difference (h = 1e-6) {numeric:.8f}",
    )
    return Trace(
        (2, hidden, 1),
        lr,
        forward_nodes(v, {}),
        local,
        backward_nodes(v, notes),
        update,
        core,
        max_diff,
        numeric,
        loss_after,
        checks,
    )


def numeric_dW2(loss: Callable[[FloatArray], float], W2: FloatArray) -> float:
    """``(L(W2 + h E) - L(W2 - h E)) / 2h`` with ``E`` the unit matrix at ``[0, 0]``, as in the seed.

    ``loss(W2)`` is the loss with every other parameter held; ``W2: (d_h, d_out)``.
    """
    h = 1e-6
    E = np.zeros_like(W2)
    E[0, 0] = 1.0
    return (loss(W2 + h * E) - loss(W2 - h * E)) / (2.0 * h)


def node_lines(node: Node, indent: str = "      ") -> list[str]:
    """``name = formula``, its shape and note, then its values: one node of the printed trace."""
    head = f"  {node.name} = {node.formula}"
    head = f"{head:<52} shape {node.shape}" + (f"   {node.note}" if node.note else "")
    values = np.array2string(node.value, precision=4, suppress_small=True, max_line_width=100)
    return [head] + [indent + line for line in values.splitlines()]


def render(trace: Trace, by: str = "", extra: Sequence[str] = ()) -> str:
    """The trace as text: the seed's formulas, shapes and values, forward, local, backward, update.

    ``by`` names whose functions computed it (the library's when empty); ``extra`` lines follow the checks.
    """
    d_in, d_h, d_out = trace.sizes
    out = [
        f"One training step of exercise 7.4's network on XOR: {d_in} -> {d_h} (ReLU) -> {d_out} (sigmoid), "
        f"BCE loss, n = 4, SGD lr = {trace.lr:g}" + (f", computed by {by}" if by else ""),
        "",
        "FORWARD: each node from its parents",
    ]
    for node in trace.forward:
        out += node_lines(node)
    out += ["", "LOCAL DERIVATIVES: each node with respect to its own input"]
    for node in trace.local:
        out += node_lines(node)
    out += ["", "BACKWARD: delta = upstream delta x local derivative (the chain rule), from L back to W1"]
    for node in trace.backward:
        out += node_lines(node)
    out += ["", "CHECKS", *(f"  {line}" for line in trace.checks), *extra, ""]
    if not trace.update:
        return "\n".join([*out, "UPDATE: not taken: there are not four gradients, each of its parameter's shape"])
    out.append("UPDATE: every parameter steps against its gradient")
    for node in trace.update:
        out += node_lines(node)
    out.append(f"  loss {trace.loss:.6f} -> {trace.loss_after:.6f} after the step")
    return "\n".join(out)
