"""The computation graph of an MLP: valid DOT, every parameter with its shape, gradients flowing back."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab import graph
from backproplab.activations import sigmoid
from backproplab.cli import main
from backproplab.neural_network import MLP

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (.ci/run installs it)"
)
NODE = re.compile(r'^\s*"([^"]+)" \[label="([^"]*)"', re.MULTILINE)
EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)"( \[.*\])?;$', re.MULTILINE)


def _labels(dot_text: str) -> dict[str, list[str]]:
    """Node name -> the lines of its label."""
    return {name: label.split("\\n") for name, label in NODE.findall(dot_text)}


def _edges(dot_text: str) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    """Forward edges, and gradient edges with their labels."""
    forward, gradient = set(), {}
    for src, dst, attrs in EDGE.findall(dot_text):
        if "dashed" in attrs:
            gradient[(src, dst)] = re.search(r'label="([^"]*)"', attrs).group(1)  # type: ignore[union-attr]
        else:
            forward.add((src, dst))
    return forward, gradient


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 50), min_size=2, max_size=5), output=st.sampled_from(["sigmoid", "linear"]))
def test_every_parameter_is_named_with_the_shape_the_mlp_gives_it(sizes: list[int], output: str) -> None:
    labels = _labels(graph.to_dot(graph.mlp_graph(sizes, "tanh", output)))
    params = dict(MLP(sizes, "tanh", output).named_params())  # type: ignore[arg-type]
    for name, p in params.items():
        assert labels[name][1] == str(p.shape), name
    assert labels["X"][1] == f"(N, {sizes[0]})"
    assert labels["L"][1] == "()"


def test_the_74_network_has_its_nodes_shapes_and_formulas() -> None:
    labels = _labels(graph.to_dot(graph.mlp_graph([2, 3, 1], "relu", "sigmoid")))
    assert labels == {
        "X": ["X", "(N, 2)", "input batch"],
        "W1": ["W1", "(2, 3)"],
        "b1": ["b1", "(3,)"],
        "Z1": ["Z1", "(N, 3)", "X @ W1 + b1"],
        "A1": ["A1", "(N, 3)", "relu(Z1)"],
        "W2": ["W2", "(3, 1)"],
        "b2": ["b2", "(1,)"],
        "Z2": ["Z2", "(N, 1)", "A1 @ W2 + b2"],
        "y": ["y", "(N, 1)", "targets"],
        "P": ["P", "(N, 1)", "sigmoid(Z2)"],
        "L": ["L", "()", "-mean(y log P + (1 - y) log(1 - P))"],
    }


def test_gradient_edges_run_every_forward_edge_backwards_with_their_deltas() -> None:
    forward, gradient = _edges(graph.to_dot(graph.mlp_graph([4, 5, 3, 2], "relu", "softmax")))
    for src, dst in gradient:
        assert (dst, src) in forward  # a gradient only flows back along a forward edge
    assert gradient[("Z3", "W3")] == "dW3 = A2.T @ dZ3"
    assert gradient[("Z2", "A1")] == "dA1 = dZ2 @ W2.T"
    assert gradient[("A1", "Z1")] == "dZ1 = dA1 * (Z1 > 0)"
    assert gradient[("P", "Z3")] == "dZ3 = (P - onehot(y)) / N"
    # every parameter receives its gradient; nothing flows back into the data
    assert {dst for _, dst in gradient} >= {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert not {dst for _, dst in gradient} & {"X", "y"}


@pytest.mark.parametrize(
    ("sizes", "activation", "output", "message"),
    [
        ([3], "relu", "sigmoid", "at least 2 sizes"),
        ([2, 0, 1], "relu", "sigmoid", "all >= 1"),
        ([2, 3, 1], "gelu", "sigmoid", "activation: expected one of relu"),
        ([2, 3, 1], "relu", "softmax", "softmax output needs >= 2 units"),
        ([2, 3, 1], "relu", "hinge", "output: expected one of softmax, sigmoid, linear"),
    ],
)
def test_bad_architectures_raise_naming_what_was_expected(
    sizes: list[int], activation: str, output: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        graph.mlp_graph(sizes, activation, output)


@needs_dot
@pytest.mark.parametrize(("activation", "output"), [("relu", "sigmoid"), ("tanh", "softmax"), ("leaky_relu", "linear")])
def test_dot_parses_the_graph_and_draws_every_node(activation: str, output: str) -> None:
    sizes = [2, 3, 4, 2]
    dot_text = graph.to_dot(graph.mlp_graph(sizes, activation, output))
    done = subprocess.run(["dot", "-Tsvg"], input=dot_text.encode(), capture_output=True, check=True, timeout=60)
    assert done.stderr == b""  # no warnings either
    svg = ET.fromstring(done.stdout)
    titles = {el.text for el in svg.iter("{http://www.w3.org/2000/svg}title")}
    assert {"X", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "A2", "W3", "b3", "Z3", "L", "y"} <= titles


def test_graph_command_prints_dot_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph mlp {")
    assert _labels(out)["W1"] == ["W1", "(2, 3)"]


@needs_dot
def test_graph_command_renders_svg_and_png(tmp_path: Path) -> None:
    svg, png, dot = tmp_path / "g.svg", tmp_path / "g.png", tmp_path / "g.dot"
    assert main(["graph", "--layers", "2,4,1", "--format", "svg", "--out", str(svg)]) == 0
    assert main(["graph", "--layers", "2,4,1", "--format", "png", "--out", str(png)]) == 0
    assert main(["graph", "--layers", "2,4,1", "--out", str(dot)]) == 0
    root = ET.fromstring(svg.read_bytes())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "(2, 4)" in svg.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    assert dot.read_text() == graph.to_dot(graph.mlp_graph([2, 4, 1]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.png", "g.svg"]  # no temporary files left


def test_rendering_without_dot_names_the_missing_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="Graphviz's `dot` executable"):
        graph.render("digraph {}", "svg", tmp_path / "g.svg")
    assert main(["graph", "--format", "png", "--out", str(tmp_path / "g.png")]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


@needs_dot
def test_dot_rejecting_the_text_raises_with_its_message(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="dot -Tsvg failed"):
        graph.render("digraph { a -> }", "svg", tmp_path / "bad.svg")
    assert not (tmp_path / "bad.svg").exists()


def test_graph_command_errors_are_clear(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--layers", "2,x,1"]) == 2
    assert "--layers: expected comma-separated integers" in capsys.readouterr().err
    assert main(["graph", "--format", "svg"]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "expected"), [("trace", "--hidden"), ("graph", "--layers"), ("plots", "--only")])
def test_the_learning_commands_have_useful_help(
    command: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert expected in capsys.readouterr().out


def test_a_sigmoid_output_of_several_units_divides_by_every_output() -> None:
    """The label must match the core's gradient: BCE's mean runs over N * d_out numbers."""
    net = MLP([2, 3, 2], output="sigmoid", seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 2)), rng.integers(0, 2, (5, 2)).astype(float)
    logits = net.forward(X)
    _, dlogits = net.loss(logits, y)
    np.testing.assert_allclose(dlogits, (sigmoid(logits) - y) / (5 * 2), rtol=1e-12)
    labels = {e.label for e in graph.mlp_graph([2, 3, 2], "relu", "sigmoid").edges if e.gradient}
    assert "dZ2 = (P - y) / (N * 2)" in labels
    assert "dZ2 = (P - y) / N" in {e.label for e in graph.mlp_graph([2, 3, 1], "relu", "sigmoid").edges}


@pytest.mark.parametrize("fmt", ["dot", "svg"])
def test_writing_into_a_missing_folder_names_it_and_writes_nothing(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no" / f"g.{fmt}"
    assert main(["graph", "--format", fmt, "--out", str(out)]) == 2
    assert f"its folder {out.parent} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_a_dot_that_hangs_is_stopped_with_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def hang(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        raise subprocess.TimeoutExpired(cmd, 0.1)

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(subprocess, "run", hang)
    with pytest.raises(RuntimeError, match=r"dot -Tsvg did not finish within 0.1 s"):
        graph.render("digraph {}", "svg", tmp_path / "g.svg", timeout=0.1)
    assert not (tmp_path / "g.svg").exists()
