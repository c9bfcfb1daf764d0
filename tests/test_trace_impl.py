"""``trace``, ``gradcheck`` and ``overfit`` with ``--impl``: a learner's forward and backward, run and diagnosed."""

import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from backproplab.cli import main
from backproplab.learner_run import load_net
from backproplab.learner_trace import capture_locals, trace_learner
from backproplab.trace import STEPS, trace_step

SOLUTIONS = Path(__file__).parent / "learner_solutions"
SEED = str(SOLUTIONS / "seed_solutions.py")
TRANSPOSED = str(SOLUTIONS / "broken_transposed.py")
MISSING_N = str(SOLUTIONS / "broken_missing_n.py")


def _node_line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"  {name} = "))


def test_trace_of_the_seeds_solutions_finds_every_node_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--impl", SEED]) == 0
    out = capsys.readouterr().out
    assert f"computed by your forward and backward ({SEED})" in out
    for step in STEPS:
        assert "   ok" in _node_line(out, step.name), step.name
    assert "every intermediate was found in your code" in out
    assert "no difference" in out
    assert "FIRST DIFFERENCE" not in out


def test_trace_shows_the_learners_values_and_the_references_step() -> None:
    learner = trace_learner(load_net(SEED), hidden=4, lr=0.1, seed=2)
    reference = trace_step(hidden=4, lr=0.1, seed=2)
    assert learner.passed
    for name in ("Z1", "P", "L", "dZ2", "dA1", "dW1", "W2'"):
        np.testing.assert_allclose(learner.trace.node(name).value, reference.node(name).value, rtol=1e-12)
    assert learner.trace.loss_after == pytest.approx(reference.loss_after, rel=1e-12)
    assert learner.trace.numeric_dw2 == pytest.approx(reference.numeric_dw2, rel=1e-9)


def test_trace_marks_the_transposed_dw1_as_the_first_difference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--impl", TRANSPOSED]) == 1
    out = capsys.readouterr().out
    assert _node_line(out, "dW1").endswith("shape (3, 2)   <-- FIRST DIFFERENCE")
    for name in ("Z1", "A1", "Z2", "P", "dZ2", "dW2", "db2", "dA1", "dZ1", "db1"):
        assert "   ok" in _node_line(out, name), name
    assert "FIRST DIFFERENCE: dW1 = X.T @ dZ1" in out
    assert "expected shape (2, 3), got (3, 2)" in out
    assert "your dW1 has shape (3, 2), the transpose of (2, 3)" in out
    assert "is it dZ1.T @ X, the transpose?" in out
    assert "UPDATE: not taken" in out


def test_trace_marks_dz2_first_when_the_mean_is_not_divided_by_n(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--impl", MISSING_N]) == 1
    out = capsys.readouterr().out
    assert _node_line(out, "dZ2").endswith("<-- FIRST DIFFERENCE")
    assert "   ok" in _node_line(out, "P")
    assert _node_line(out, "dW1").endswith("differs")  # later nodes inherit the factor, but are not first
    assert out.count("FIRST DIFFERENCE") == 2  # the mark and the explanation
    assert "every entry of your dZ2 is n = 4 times too large" in out
    assert "it should be (P - y) / n" in out


def test_trace_finds_other_capitalisations_and_points_at_nodes_it_could_not_find() -> None:
    learner = trace_learner(load_net(str(SOLUTIONS / "trace_inlined_delta.py")))
    assert not learner.passed
    assert learner.missing == ["dA1", "dZ1"]  # dz2 was found as dZ2
    assert learner.first is not None
    assert learner.first.name == "dW1"
    assert "dA1 and dZ1, on the way, could not be found in your code" in learner.first.hint
    assert "dA1 should be dZ2 @ W2.T" in learner.first.hint
    assert "is W2 transposed?" in learner.first.hint


def test_trace_compares_what_a_crashing_backward_computed_and_names_its_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["trace", "--impl", str(SOLUTIONS / "trace_untransposed_w2.py")]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    for name in ("dZ2", "dW2", "db2"):
        assert "   ok" in _node_line(captured.out, name), name
    assert "your backward raised ValueError: matmul" in captured.out
    assert "line 19, in backward: dA1 = dZ2 @ W2" in captured.out
    assert "the first node it did not compute, in the seed's order: dA1 should be dZ2 @ W2.T" in captured.out


def test_capture_locals_sees_a_return_and_a_raise_and_restores_the_profiler() -> None:
    def square(x: NDArray[np.float64]) -> NDArray[np.float64]:
        Z1 = x * x
        return Z1

    def fails(x: NDArray[np.float64]) -> None:
        dA1 = x + 1  # noqa: F841 (read by the hook)
        raise ValueError("no")

    before = sys.getprofile()
    x = np.array([1.0, 2.0])
    with capture_locals({"forward": square, "backward": fails}) as seen:
        result = square(x)
        with pytest.raises(ValueError, match="no"):
            fails(x)
    result += 100  # written in place after the return: what was seen stays as it was
    assert sys.getprofile() is before
    np.testing.assert_array_equal(seen["forward"]["Z1"], [1.0, 4.0])
    np.testing.assert_array_equal(seen["backward"]["dA1"], [2.0, 3.0])


def test_gradcheck_passes_the_seeds_solutions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--impl", SEED]) == 0
    out = capsys.readouterr().out
    assert "your backward" in out
    assert "against your forward + BCE, [3, 5, 1]" in out
    for name, shape in (("W1", "(3, 5)"), ("b1", "(5,)"), ("W2", "(5, 1)"), ("b2", "(1,)")):
        assert f"  {name:<6} {shape:<10}" in out
    assert "gradient check PASSED" in out


def test_gradcheck_fails_every_gradient_that_lacks_the_1_over_n(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--impl", MISSING_N, "--sizes", "2,4,1", "--samples", "6"]) == 1
    out = capsys.readouterr().out
    assert out.count("  FAIL") == 4
    assert "8.33e-01  wrong" in out  # (6 - 1) / 6: every entry 6 times too large
    assert "gradient check FAILED for W1, b1, W2, b2" in out


def test_gradcheck_names_a_transposed_gradient(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--impl", TRANSPOSED]) == 1
    out = capsys.readouterr().out
    assert "W1: dW1 has shape (5, 3) (its transpose), but a gradient has its parameter's shape (3, 5)" in out
    assert "gradient check FAILED for W1 (tolerance" in out


def test_gradcheck_impl_refuses_another_network(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--impl", SEED, "--output", "softmax"]) == 2
    assert "--impl checks the seed's 7.4 network, ReLU then sigmoid" in capsys.readouterr().err
    for sizes in ("4,12,8,3", "3,5,2"):
        assert main(["gradcheck", "--impl", SEED, "--sizes", sizes]) == 2
        assert "give --sizes d_in,d_h,1" in capsys.readouterr().err


def test_overfit_memorises_with_the_seeds_solutions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overfit", "--impl", SEED]) == 0
    out = capsys.readouterr().out
    assert "Overfit test: your forward and backward" in out
    assert "2-64-1 ReLU/sigmoid, on 16 points with random labels" in out
    assert "loss < 0.01: first at epoch" in out
    assert "Overfit test SOLVED" in out
    assert "16/16 correct" in out


def test_overfit_reports_a_transposed_gradient_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overfit", "--impl", TRANSPOSED]) == 1
    err = capsys.readouterr().err
    assert "error: dW1 has shape (64, 2), expected (2, 64)" in err
    assert "hint: wrong transpose" in err


def test_overfit_fails_when_the_epochs_are_too_few(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overfit", "--impl", SEED, "--epochs", "3"]) == 1
    out = capsys.readouterr().out
    assert "Overfit test NOT SOLVED" in out
    assert "has a bug" in out


@pytest.mark.parametrize("command", ["trace", "gradcheck", "overfit"])
def test_impl_names_what_is_missing(command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main([command, "--impl", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    only_forward = tmp_path / "only_forward.py"
    only_forward.write_text("def forward(X, W1, b1, W2, b2):\n    return X, None\n")
    assert main([command, "--impl", str(only_forward)]) == 2
    err = capsys.readouterr().err
    assert "no function named backward" in err
    assert "backward(y, cache, W2) -> (dW1, db1, dW2, db2)" in err


def test_impl_reports_an_import_that_fails_with_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "top_level_assert.py"
    broken.write_text("def forward(X, W1, b1, W2, b2):\n    return X, None\n\nassert 1 == 2, 'my own test'\n")
    assert main(["trace", "--impl", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "could not import" in err
    assert "AssertionError: my own test" in err
    assert "line 4" in err


def test_trace_names_a_forward_that_returns_the_wrong_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    flat = tmp_path / "flat_p.py"
    flat.write_text(
        "import numpy as np\n\n"
        "def forward(X, W1, b1, W2, b2):\n"
        "    P = 1 / (1 + np.exp(-(np.maximum(X @ W1 + b1, 0) @ W2 + b2)))\n"
        "    return P.ravel(), None\n\n"
        "def backward(y, cache, W2):\n"
        "    return ()\n"
    )
    assert main(["trace", "--impl", str(flat)]) == 1
    err = capsys.readouterr().err
    assert "error: P has shape (4,), expected (4, 1)" in err
    assert "Traceback" not in err
