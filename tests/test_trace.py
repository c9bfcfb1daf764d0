"""The traced training step of exercise 7.4's network: its gradients are the core's, its formulas hold."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.cli import main
from backproplab.trace import PARAMS, render, trace_step


def test_traced_gradients_equal_the_core_backward() -> None:
    t = trace_step()
    assert t.max_grad_diff < 1e-12
    for name in PARAMS:
        np.testing.assert_allclose(t.node(f"d{name}").value, t.gradients[name], rtol=0, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(hidden=st.integers(1, 6), seed=st.integers(0, 1000))
def test_every_gradient_has_its_parameters_shape_and_matches_the_core(hidden: int, seed: int) -> None:
    t = trace_step(hidden=hidden, seed=seed)
    assert t.max_grad_diff < 1e-12
    shapes = {"X": (4, 2), "y": (4, 1), "Z1": (4, hidden), "A1": (4, hidden), "Z2": (4, 1), "P": (4, 1), "L": ()}
    for name, shape in shapes.items():
        assert t.node(name).shape == shape, name
    for name in PARAMS:
        assert t.node(f"d{name}").shape == t.node(name).shape == t.gradients[name].shape


def test_the_traced_gradients_are_torch_autograds() -> None:
    torch = pytest.importorskip("torch")
    t = trace_step(hidden=4, seed=3)
    params = {k: torch.tensor(t.node(k).value, requires_grad=True) for k in PARAMS}
    X, y = (torch.tensor(t.node(k).value) for k in ("X", "y"))
    A1 = torch.relu(X @ params["W1"] + params["b1"])
    P = torch.sigmoid(A1 @ params["W2"] + params["b2"])
    torch.nn.functional.binary_cross_entropy(P, y).backward()
    for k in PARAMS:
        np.testing.assert_allclose(t.node(f"d{k}").value, params[k].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_dz2_is_the_chain_rule_product_of_the_local_derivatives() -> None:
    t = trace_step(seed=1)
    chained = t.node("dL/dP").value * t.node("dP/dZ2").value
    np.testing.assert_allclose(t.node("dZ2").value, chained, rtol=1e-12, atol=1e-15)
    P, y = t.node("P").value, t.node("y").value
    np.testing.assert_allclose(t.node("dZ2").value, (P - y) / 4, rtol=1e-12)


def test_relu_blocks_the_gradient_where_z1_is_not_positive() -> None:
    t = trace_step(hidden=5, seed=2)
    blocked = t.node("Z1").value <= 0
    assert blocked.any()
    assert np.all(t.node("dZ1").value[blocked] == 0)
    np.testing.assert_array_equal(t.node("dZ1").value[~blocked], t.node("dA1").value[~blocked])


def test_dw2_matches_a_central_difference_as_in_the_seed() -> None:
    t = trace_step(seed=4)
    assert np.isclose(t.gradients["W2"][0, 0], t.numeric_dw2, rtol=1e-4, atol=1e-6)


def test_update_is_the_parameter_minus_lr_times_its_gradient_and_lowers_the_loss() -> None:
    t = trace_step(lr=0.5)
    for k in PARAMS:
        np.testing.assert_allclose(t.node(f"{k}'").value, t.node(k).value - 0.5 * t.gradients[k], rtol=1e-12)
    assert t.loss_after < t.loss


def test_render_prints_the_seeds_formulas_next_to_shapes_and_values() -> None:
    text = render(trace_step())
    line = next(line for line in text.splitlines() if line.strip().startswith("dZ2 = (P - y) / n"))
    assert "shape (4, 1)" in line
    for formula in ("Z1 = X @ W1 + b1", "A1 = relu(Z1)", "dW2 = A1.T @ dZ2", "dA1 = dZ2 @ W2.T", "dW1 = X.T @ dZ1"):
        assert formula in text
    for section in ("FORWARD", "LOCAL DERIVATIVES", "BACKWARD", "CHECKS", "UPDATE"):
        assert section in text
    assert "max |difference| 0.0e+00" in text


def test_bad_arguments_raise_naming_the_value() -> None:
    with pytest.raises(ValueError, match="hidden=0"):
        trace_step(hidden=0)
    with pytest.raises(ValueError, match="lr=-1"):
        trace_step(lr=-1.0)


def test_trace_command_prints_the_step_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--hidden", "4", "--seed", "2", "--lr", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "2 -> 4 (ReLU) -> 1 (sigmoid)" in out
    assert "SGD lr = 0.1" in out
    assert "dZ1 = dA1 * relu'(Z1)" in out
