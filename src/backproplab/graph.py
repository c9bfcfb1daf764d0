"""The computation graph of an MLP, as Graphviz DOT: the forward pass and the gradient flowing back.

For ``layer_sizes = [2, 3, 1]`` with a sigmoid output (exercise 7.4's network) the nodes are::

    X (N, 2)   W1 (2, 3)   b1 (3,)   ->  Z1 (N, 3)  ->  A1 (N, 3)
    W2 (3, 1)  b2 (1,)               ->  Z2 (N, 1)  ->  P (N, 1)  ->  L ()  <-  y (N, 1)

Forward edges are solid and point from a node to the node computed from it; gradient edges are
dashed, red, and point the other way, labelled with the delta they carry (``dZ2 = (P - y) / N``,
``dW2 = A1.T @ dZ2``, ...). :func:`mlp_graph` and :func:`to_dot` are pure; :func:`render` runs
Graphviz's ``dot`` executable to draw the DOT text as SVG or PNG.
"""

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from backproplab._io import atomic_write
from backproplab.neural_network import Activation, Output

ACTIVATIONS: tuple[str, ...] = get_args(Activation)  # the MLP's own choices, so the two cannot drift apart
OUTPUTS: tuple[str, ...] = get_args(Output)
FORMATS = ("dot", "svg", "png")
# each activation's local derivative, written with the names of its input {Z} and output {A}
_DERIVATIVE = {
    "relu": "({Z} > 0)",
    "leaky_relu": "where({Z} > 0, 1, alpha)",
    "tanh": "(1 - {A}^2)",
    "sigmoid": "{A} (1 - {A})",
}


@dataclass(frozen=True)
class GraphNode:
    """A node: ``kind`` is ``"input"``, ``"param"``, ``"value"`` (computed) or ``"loss"``."""

    name: str
    shape: str
    kind: str
    formula: str = ""


@dataclass(frozen=True)
class Edge:
    """``src -> dst``; ``gradient`` edges carry ``label``, the delta flowing back."""

    src: str
    dst: str
    gradient: bool = False
    label: str = ""


@dataclass
class Graph:
    """Nodes and edges of one MLP's forward and backward pass."""

    title: str
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _shape(*dims: int | str) -> str:
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def mlp_graph(layer_sizes: list[int], activation: str = "relu", output: str = "sigmoid") -> Graph:
    """The graph of ``MLP(layer_sizes, activation, output)`` on a batch of ``N`` samples.

    Shapes follow the core: ``X: (N, d0)``, ``Wk: (d_{k-1}, d_k)``, ``bk: (d_k,)``, ``Zk, Ak: (N, d_k)``.
    The output is ``P = sigmoid(Z)`` or ``softmax(Z)`` (cross-entropy) or ``Z`` itself (mean squared error).
    """
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise ValueError(f"layer sizes: expected at least 2 sizes, all >= 1, got {layer_sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output: expected one of {', '.join(OUTPUTS)}, got {output!r}")
    if output == "softmax" and layer_sizes[-1] < 2:
        raise ValueError(f"a softmax output needs >= 2 units, got {layer_sizes[-1]}")
    arch = " -> ".join(map(str, layer_sizes))
    g = Graph(f"MLP {arch}, {activation} hidden, {output} output")
    depth = len(layer_sizes) - 1
    g.nodes.append(GraphNode("X", _shape("N", layer_sizes[0]), "input", "input batch"))
    inp = "X"  # the input of layer k: X, then A1, A2, ...
    for k in range(1, depth + 1):
        d_in, d_out = layer_sizes[k - 1], layer_sizes[k]
        W, b, Z = f"W{k}", f"b{k}", f"Z{k}"
        g.nodes += [
            GraphNode(W, _shape(d_in, d_out), "param"),
            GraphNode(b, _shape(d_out), "param"),
            GraphNode(Z, _shape("N", d_out), "value", f"{inp} @ {W} + {b}"),
        ]
        g.edges += [Edge(inp, Z), Edge(W, Z), Edge(b, Z)]
        # the delta dZk reaches Wk and bk and, past the first layer, flows on into the layer's input
        g.edges += [Edge(Z, W, True, f"d{W} = {inp}.T @ d{Z}"), Edge(Z, b, True, f"d{b} = sum(d{Z}, axis=0)")]
        if k > 1:
            g.edges.append(Edge(Z, inp, True, f"d{inp} = d{Z} @ {W}.T"))
        if k < depth:
            A = f"A{k}"
            local = _DERIVATIVE[activation].format(Z=Z, A=A)
            g.nodes.append(GraphNode(A, _shape("N", d_out), "value", f"{activation}({Z})"))
            g.edges += [Edge(Z, A), Edge(A, Z, True, f"d{Z} = d{A} * {local}")]
            inp = A
    _add_loss(g, f"Z{depth}", layer_sizes[-1], output)
    return g


def _add_loss(g: Graph, Z: str, d_out: int, output: str) -> None:
    out = _shape("N", d_out)
    g.nodes.append(GraphNode("y", out if output != "softmax" else _shape("N") + " class ids", "input", "targets"))
    if output == "linear":
        g.nodes.append(GraphNode("L", "()", "loss", f"mean(({Z} - y)^2)"))
        g.edges += [Edge(Z, "L"), Edge("y", "L"), Edge("L", Z, True, f"d{Z} = 2 ({Z} - y) / (N * {d_out})")]
        return
    loss = "-mean(y log P + (1 - y) log(1 - P))" if output == "sigmoid" else "-mean(log P[n, y_n])"
    g.nodes += [GraphNode("P", out, "value", f"{output}({Z})"), GraphNode("L", "()", "loss", loss)]
    target = "y" if output == "sigmoid" else "onehot(y)"
    # the mean runs over every output of every sample: N * d_out of them for sigmoid units, N for softmax rows
    count = f"(N * {d_out})" if output == "sigmoid" and d_out > 1 else "N"
    g.edges += [
        Edge(Z, "P"),
        Edge("P", "L"),
        Edge("y", "L"),
        Edge("L", "P", True, "dL/dP"),
        Edge("P", Z, True, f"d{Z} = (P - {target}) / {count}"),
    ]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_STYLE = {
    "input": 'shape=box, style="rounded,filled", fillcolor="#e8eef7"',
    "param": 'shape=box, style=filled, fillcolor="#fff2cc"',
    "value": "shape=ellipse",
    "loss": 'shape=box, peripheries=2, style=filled, fillcolor="#f4cccc"',
}


def to_dot(graph: Graph) -> str:
    """``graph`` as DOT text: forward edges solid black, gradient edges dashed red, labelled."""
    lines = [
        "digraph mlp {",
        f"  label={_quote(graph.title + ' (solid: forward; dashed red: gradient flowing back)')};",
        '  labelloc=t; rankdir=LR; fontname="Helvetica";',
        '  node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        label = f"{node.name}\\n{node.shape}" + (f"\\n{node.formula}" if node.formula else "")
        lines.append(f'  {_quote(node.name)} [label="{label}", {_STYLE[node.kind]}];')
    for e in graph.edges:
        if e.gradient:
            attrs = f'color="#c0392b", fontcolor="#c0392b", style=dashed, constraint=false, label={_quote(e.label)}'
            lines.append(f"  {_quote(e.src)} -> {_quote(e.dst)} [{attrs}];")
        else:
            lines.append(f"  {_quote(e.src)} -> {_quote(e.dst)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt: str, path: str | Path, timeout: float = 60.0) -> Path:
    """Draw ``dot_text`` as ``fmt`` (``"svg"`` or ``"png"``) into ``path``, atomically, with Graphviz's ``dot``.

    Raises ``FileNotFoundError`` naming the missing executable when ``dot`` is not installed,
    ``RuntimeError`` with dot's message when it rejects the text or hangs, and ``ValueError`` when the
    folder of ``path`` does not exist.
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"format: expected 'svg' or 'png', got {fmt!r}")
    _check_folder(Path(path))
    exe = shutil.which("dot")
    if exe is None:
        raise FileNotFoundError(
            f"rendering {fmt} needs Graphviz's `dot` executable, which is not on PATH "
            "(apt-get install graphviz, brew install graphviz); --format dot needs nothing"
        )
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"dot -T{fmt} did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
    target = Path(path)
    with atomic_write(target) as f:
        f.write(done.stdout)
    return target


def _check_folder(path: Path) -> None:
    if not path.parent.is_dir():
        raise ValueError(f"{path}: its folder {path.parent} does not exist")


def write_text(dot_text: str, path: str | Path) -> Path:
    """Write DOT text to ``path``, atomically (``ValueError`` if its folder does not exist)."""
    target = Path(path)
    _check_folder(target)
    with atomic_write(target) as f:
        f.write(dot_text.encode())
    return target
