"""``backproplab check --impl`` reads every form a learner's code comes in, and names what it cannot use.

A folder (the starter kit), a package, a Jupyter notebook; a stub that raises ``NotImplementedError`` is
"not attempted"; a function with a near-miss name is pointed at; a function called with the wrong
arguments is told the expected signature. Learner files are written into ``tmp_path``.
"""

import inspect
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backproplab.checker import reference
from backproplab.checker.checks import BY_ID, CHECKS, Result, run_one
from backproplab.checker.learner import Impl
from backproplab.checker.names import SIGNATURES, near_miss
from backproplab.checker.sources import code_cells
from backproplab.cli import main

SOLUTIONS = Path(__file__).parent / "learner_solutions"
SIGMOID = "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))\n"
RELU = "def relu(z):\n    return np.maximum(0.0, z)\n"
STUB = "def {name}(z):\n    raise NotImplementedError('write {name}')\n"


def check_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Result]]:
    """Run ``backproplab check --json ARGV``; the exit code and the results by check id."""
    code = main(["check", "--json", *argv])
    report = json.loads(capsys.readouterr().out)
    return code, {entry["id"]: Result(**entry) for entry in report["checks"]}


def statuses(results: dict[str, Result], *ids: str) -> dict[str, str]:
    return {i: results[i].status for i in ids}


# ----- a folder, a package --------------------------------------------------------------------------
def test_a_folder_of_files_is_read_in_sorted_order_and_later_files_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit = tmp_path / "backprop-kit"  # not a module name: only a folder
    kit.mkdir()
    (kit / "part1_activations.py").write_text(
        "import numpy as np\n\n" + STUB.format(name="sigmoid") + "\n" + RELU + "\n" + STUB.format(name="relu_deriv")
    )
    # a later file imports its neighbour (the folder is on sys.path) and replaces its stub
    (kit / "part2_more.py").write_text("import numpy as np\nfrom part1_activations import relu\n\n" + SIGMOID)
    code, results = check_json(capsys, "--impl", str(kit), "--exercise", "7.1")
    assert code == 0
    assert statuses(results, "sigmoid", "relu", "relu_deriv") == {
        "sigmoid": "pass",
        "relu": "pass",
        "relu_deriv": "not attempted",
    }


def test_a_package_folder_is_imported_as_a_package_with_every_module_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "my_kit"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "activations.py").write_text("import numpy as np\n\n" + RELU)
    (package / "derivatives.py").write_text("from .activations import np, relu\n\n" + STUB.format(name="relu_deriv"))
    _, results = check_json(capsys, "--impl", str(package), "--exercise", "7.1")
    assert statuses(results, "relu", "relu_deriv") == {"relu": "pass", "relu_deriv": "not attempted"}


def test_a_package_name_brings_its_modules_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "__init__.py").write_text("")
    (tmp_path / "course" / "week7.py").write_text("import numpy as np\n\n" + RELU)
    monkeypatch.chdir(tmp_path.parent)  # `course` is no folder here: only a module name found on sys.path
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    _, results = check_json(capsys, "--impl", "course", "--exercise", "7.1")
    assert results["relu"].status == "pass"


# ----- a notebook -----------------------------------------------------------------------------------
def notebook(tmp_path: Path, *cells: tuple[str, str]) -> Path:
    """A minimal ``.ipynb`` (nbformat 4) of ``(cell_type, source)`` cells, sources stored as lists of lines."""
    path = tmp_path / "week 7 exercises.ipynb"
    content = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
            | ({"execution_count": None, "outputs": []} if kind == "code" else {})
            for kind, source in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(content))
    return path


def test_a_notebooks_code_cells_run_in_order_with_magics_and_shell_lines_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = notebook(
        tmp_path,
        ("markdown", "# Exercise 7.1\nWrite `sigmoid`."),
        ("code", "%matplotlib inline\n!pip install numpy\nimport numpy as np"),
        ("code", "%%time\nthis cell is IPython's, not Python"),
        ("code", SIGMOID + "\nif True:\n    %timeit sigmoid(0.0)\n"),
        ("code", RELU),
    )
    code, results = check_json(capsys, "--impl", str(path), "--exercise", "7.1")
    assert code == 0
    assert statuses(results, "sigmoid", "relu") == {"sigmoid": "pass", "relu": "pass"}


def test_magics_become_pass_and_line_numbers_are_kept() -> None:
    cells = code_cells(
        {
            "cells": [
                {"cell_type": "code", "source": ["%%bash\n", "ls\n"]},
                {"cell_type": "code", "source": "x = 1\n  !ls\n%time y = 2"},
                {"cell_type": "raw", "source": "x = 3"},
            ]
        }
    )
    assert cells == ["", "x = 1\n  pass\npass"]


def test_a_notebook_cell_that_fails_is_named_by_its_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = notebook(
        tmp_path, ("code", "import numpy as np"), ("markdown", "Now test it:"), ("code", "x = 1\nprint(undefined)")
    )
    code, results = check_json(capsys, "--impl", str(path), "--exercise", "7.1")
    assert code == 1
    relu = results["relu"]
    assert relu.status == "error"
    assert relu.detail == "could not import the implementation: NameError: name 'undefined' is not defined"
    assert "week 7 exercises.ipynb (code cell 2), line 2, in <module>: print(undefined)" in (relu.hint or "")
    assert "code cells in order" in (relu.hint or "")


def test_a_syntax_error_in_a_notebook_cell_is_named_by_its_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = notebook(tmp_path, ("code", "import numpy as np"), ("code", "def relu(z)\n    return z"))
    _, results = check_json(capsys, "--impl", str(path), "--exercise", "7.1")
    assert "SyntaxError" in results["relu"].detail
    assert "(code cell 2), line 1" in (results["relu"].hint or "")


# ----- stubs ----------------------------------------------------------------------------------------
def outcome(check_id: str, **functions: Callable[..., Any]) -> Result:
    return run_one(BY_ID[check_id], Impl("test", dict(functions)))


def test_a_stub_is_not_attempted_and_named() -> None:
    def sigmoid(z: Any) -> Any:
        raise NotImplementedError("write sigmoid")

    result = outcome("sigmoid", sigmoid=sigmoid)
    assert result.status == "not attempted"
    assert result.detail == "sigmoid is still a stub: it raises NotImplementedError"


def test_a_stub_called_by_another_function_is_the_one_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (SOLUTIONS / "solutions_ok.py").read_text()
    relu_stub = "def relu(z: ArrayLike) -> Array:\n    raise NotImplementedError\n\n\ndef relu_deriv("
    path = tmp_path / "my_solutions.py"
    path.write_text(source.replace("def relu_deriv(", relu_stub, 1))
    code, results = check_json(capsys, "--impl", str(path), "--exercise", "7.4")
    assert code == 0  # nothing attempted fails: the stubs are not attempted yet
    assert results["forward"].status == "not attempted"
    assert results["forward"].detail == "relu is still a stub: it raises NotImplementedError"
    assert results["bce"].status == "pass"


def test_not_implemented_raised_inside_a_library_is_an_error_not_a_stub() -> None:
    def relu(z: Any) -> Any:
        return logging.Handler().emit(logging.makeLogRecord({}))  # the standard library raises it

    result = outcome("relu", relu=relu)
    assert result.status == "error"
    assert result.detail.startswith("NotImplementedError")


# ----- names and signatures -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wanted", "defined", "meant"),
    [
        ("sigmoid_deriv", "sigmoid_prime", "sigmoid_prime"),
        ("sigmoid_deriv", "sigmoidDeriv", "sigmoidDeriv"),
        ("sigmoid_deriv", "sigmoid_derivative", "sigmoid_derivative"),
        ("sigmoid_deriv", "d_sigmoid", "d_sigmoid"),
        ("relu", "Relu", "Relu"),
        ("relu_deriv", "dReLU", "dReLU"),
        ("leaky_relu_deriv", "leaky_relu_grad", "leaky_relu_grad"),
        ("softmax", "soft_max", "soft_max"),
        ("backward", "grad_f", None),
        ("dense_forward", "dense", None),
    ],
)
def test_a_near_miss_name_is_found(wanted: str, defined: str, meant: str | None) -> None:
    assert near_miss(wanted, [defined, "helper"]) == meant


def test_a_missing_function_with_a_near_miss_name_is_pointed_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "my_solutions.py"
    path.write_text(
        "import numpy as np\n\n\ndef sigmoid_prime(z):\n    s = 1 / (1 + np.exp(-z))\n    return s * (1 - s)\n\n\n"
        "def Relu(z):\n    return np.maximum(0, z)\n\n\ndef helper(z):\n    return z\n"
    )
    _, results = check_json(capsys, "--impl", str(path), "--exercise", "7.1")
    deriv, relu = results["sigmoid_deriv"], results["relu"]
    assert deriv.status == relu.status == "not attempted"
    assert deriv.detail == "no function named sigmoid_deriv; did you mean sigmoid_prime?"
    assert (
        deriv.hint == "the checker finds your functions by their exact names: rename sigmoid_prime to sigmoid_deriv(z)"
    )
    assert relu.detail == "no function named relu; did you mean Relu?"
    assert results["tanh"].detail == "no function named tanh"  # nothing close


def test_a_call_that_does_not_fit_the_signature_names_both_signatures() -> None:
    def conv2d_out(h: int, k: int) -> tuple[int, int]:
        return h - k + 1, h - k + 1

    result = outcome("conv2d_out", conv2d_out=conv2d_out)
    assert result.status == "fail"
    assert result.detail == "conv2d_out(H, W, KH, KW, stride=1, padding=0) expected; yours is conv2d_out(h, k)"
    assert "the checker called conv2d_out(28, 28, 5, 5, 1, 0)" in (result.hint or "")


def test_a_type_error_inside_the_learners_code_stays_an_error_at_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "my_solutions.py"
    path.write_text("import numpy as np\n\n\ndef relu(z):\n    return np.maximum(z)\n")
    _, results = check_json(capsys, "--impl", str(path), "--exercise", "7.1")
    relu = results["relu"]
    assert relu.status == "error"
    assert relu.detail.startswith("TypeError")
    assert "line 5, in relu: return np.maximum(z)" in (relu.hint or "")


def test_every_graded_function_has_a_signature_and_the_library_accepts_its_calls() -> None:
    assert {c.function for c in CHECKS if c.function} <= set(SIGNATURES)
    for name, expected in SIGNATURES.items():
        parts = expected.strip("()").split(", ")
        required = [p for p in parts if "=" not in p]
        signature = inspect.signature(getattr(reference, name))
        signature.bind(*parts)  # the checks pass arguments by position: all of them,
        signature.bind(*required)  # or only those without a default
        assert len(signature.parameters) >= len(parts), name


def test_the_checks_record_the_learners_functions_they_use(capsys: pytest.CaptureFixture[str]) -> None:
    _, results = check_json(capsys, "--impl", str(SOLUTIONS / "solutions_ok.py"), "--exercise", "7.4")
    assert results["bce"].uses == ["bce"]
    assert results["forward"].uses[0] == "forward"
    assert {"relu", "sigmoid"} <= set(results["forward"].uses)  # called by the learner's forward itself
