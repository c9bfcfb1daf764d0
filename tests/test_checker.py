"""``backproplab check``: the library passes; each learner's mistake is caught with its own hint.

The learner files in ``tests/learner_solutions/`` are the correct ``solutions_ok.py`` and one file per
seed "common mistake"; the small files written into ``tmp_path`` below cover the generic failures
(an exception, a wrong shape, NaN, a crash, a file that does not import).
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backproplab.checker import hints, runner
from backproplab.checker.checks import BY_ID, CHECKS, Result, run_one
from backproplab.checker.learner import Impl
from backproplab.cli import main

SOLUTIONS = Path(__file__).parent / "learner_solutions"


def check_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Result]]:
    """Run ``backproplab check --json ARGV``; the exit code and the results by check id."""
    code = main(["check", "--json", *argv])
    report = json.loads(capsys.readouterr().out)
    return code, {entry["id"]: Result(**entry) for entry in report["checks"]}


def failed(results: dict[str, Result]) -> set[str]:
    return {r.id for r in results.values() if r.status != "pass"}


def learner_file(tmp_path: Path, source: str) -> str:
    path = tmp_path / "my_solutions.py"
    path.write_text("import numpy as np\n\n" + source)
    return str(path)


# ----- the library ---------------------------------------------------------------------------------
def test_library_passes_every_check_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"summary: {len(CHECKS)} pass, 0 fail, 0 not attempted, 0 error, 0 timeout" in out
    assert "all attempted checks PASSED" in out


def test_json_report_is_one_entry_per_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, results = check_json(capsys)
    assert code == 0
    assert list(results) == [c.id for c in CHECKS]
    assert all(r.status == "pass" and r.hint is None for r in results.values())


def test_exercise_option_runs_only_that_exercises_checks(capsys: pytest.CaptureFixture[str]) -> None:
    code, results = check_json(capsys, "--exercise", "7.4")
    assert code == 0
    assert set(results) == {"bce", "forward", "backward"}


# ----- the learner's files -------------------------------------------------------------------------
# file -> {check id that must fail: a fragment of its hint}; every other check must pass
BROKEN = {
    "solutions_ok.py": {},
    "broken_missing_n.py": {"backward": "divide by the batch size n", "network": "16 times the true ones"},
    "broken_transposed.py": {
        "backward": "wrong transpose",
        "overfit": "wrong transpose",
        "network": "wrong transpose",
        "xor": "wrong transpose",
    },
    "broken_adam_no_bias.py": {"adam": "bias correction"},
    "broken_clip_elementwise.py": {"clip_by_norm": "changes the direction"},
    "broken_conv_no_2p.py": {"conv2d_out": "+ 2p"},
    "broken_softmax_overflow.py": {"softmax": "subtract the max"},
    "broken_infinite_loop.py": {"sgd": "stopped after 3 s"},
    "broken_conv_backward_no_flip.py": {"conv2d_backward": "flips the kernel"},
    "broken_maxpool_ties.py": {"maxpool2d_backward": "every maximum of the window"},
    "broken_batchnorm_no_mean.py": {"batchnorm_backward": "treats the batch mean"},
    "broken_dropout_no_rescale.py": {"dropout_forward": "1 / (1 - p)"},
}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "expected"), BROKEN.items(), ids=list(BROKEN))
def test_each_learner_file_fails_exactly_its_mistake_with_its_hint(
    name: str, expected: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, results = check_json(capsys, "--impl", str(SOLUTIONS / name), "--timeout", "3")
    assert failed(results) == set(expected)
    for check_id, fragment in expected.items():
        assert fragment in (results[check_id].hint or ""), results[check_id]
    assert code == (1 if expected else 0)


@pytest.mark.slow
def test_the_seeds_own_solutions_pass_every_check_they_attempt(capsys: pytest.CaptureFixture[str]) -> None:
    code, results = check_json(capsys, "--impl", str(SOLUTIONS / "seed_solutions.py"))
    assert code == 0
    # the seed has no conv forward, none of the starter kit's extensions, and nothing beyond its exercises
    extensions = {"tanh", "tanh_deriv", "leaky_relu", "leaky_relu_deriv", "momentum", "cnn_vs_torch"}
    beyond = {c.id for c in CHECKS if c.exercise == "beyond"}
    assert {r.id for r in results.values() if r.status != "pass"} == extensions | beyond
    assert {r.status for r in results.values() if r.id in extensions | beyond} == {"not attempted"}
    assert results["network"].status == "pass"  # its gradients train with plain SGD too


def test_the_seeds_failing_assert_at_import_is_explained_once_with_the_erratum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (SOLUTIONS / "seed_solutions.py").read_text()
    disabled = "# assert abs(w_adam - 3.0) < 1e-2  <- the seed's line, disabled"
    assert disabled in source
    path = tmp_path / "pasted_from_the_seed.py"
    path.write_text(source.replace(disabled, "assert abs(w_adam - 3.0) < 1e-2  #"))
    assert main(["check", "--impl", str(path), "--exercise", "7.1"]) == 1
    out = capsys.readouterr().out
    checks = len([c for c in CHECKS if c.exercise == "7.1"])
    assert out.count("hint:") == 1  # every check of 7.1, one explanation
    assert out.count("(the same as above)") == checks - 1
    assert "raised AssertionError at" in out
    assert 'move your own tests under `if __name__ == "__main__":`' in out
    assert "docs/errata.md" in out


def test_missing_n_is_caught_by_the_gradient_check_as_a_factor_n(capsys: pytest.CaptureFixture[str]) -> None:
    code, results = check_json(capsys, "--impl", str(SOLUTIONS / "broken_missing_n.py"), "--exercise", "7.4")
    assert code == 1
    assert failed(results) == {"backward"}
    assert "exactly n = 8 times too large" in results["backward"].detail
    assert results["backward"].hint == hints.DIVIDE_BY_N


def test_an_infinite_loop_is_stopped_within_the_time_limit_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = time.perf_counter()
    code, results = check_json(
        capsys, "--impl", str(SOLUTIONS / "broken_infinite_loop.py"), "--exercise", "7.6", "--timeout", "1.5"
    )
    elapsed = time.perf_counter() - start
    assert code == 1
    assert results["sgd"].status == "timeout"
    assert "stopped after 1.5 s" in (results["sgd"].hint or "")
    assert results["adam"].status == "pass"  # run by a fresh process after the hung one was killed
    assert elapsed < 1.5 + 8  # the limit, plus two process start-ups on a busy machine


def test_missing_functions_are_not_attempted_and_do_not_fail_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, results = check_json(capsys, "--impl", str(SOLUTIONS / "partial_activations.py"), "--exercise", "7.1")
    assert code == 0
    assert {r.id: r.status for r in results.values()} == {
        "sigmoid": "pass",
        "sigmoid_deriv": "not attempted",
        "relu": "pass",
        "relu_deriv": "not attempted",
        "tanh": "not attempted",
        "tanh_deriv": "not attempted",
        "leaky_relu": "not attempted",
        "leaky_relu_deriv": "not attempted",
        "num_derivative": "not attempted",
    }
    assert results["sigmoid_deriv"].detail == "no function named sigmoid_deriv"


def test_a_file_with_none_of_the_seed_functions_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--impl", learner_file(tmp_path, "x = 1\n"), "--exercise", "7.2"]) == 1
    assert "nothing attempted" in capsys.readouterr().out


def test_a_module_name_is_loaded_like_a_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SOLUTIONS)
    code, results = check_json(capsys, "--impl", "solutions_ok", "--exercise", "7.7")
    assert code == 0
    assert results["clip_by_norm"].status == "pass"


def test_a_package_whose_init_never_returns_is_stopped_by_the_time_limit(tmp_path: Path) -> None:
    package = tmp_path / "loops_on_import"
    package.mkdir()
    (package / "__init__.py").write_text("while True:\n    pass\n")
    (package / "solutions.py").write_text("def relu(z):\n    return z\n")
    # in a process of its own: were the package imported by the parent, this would hang, not fail
    command = "import sys; from backproplab.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["check", "--json", "--impl", "loops_on_import.solutions", "--exercise", "7.7", "--timeout", "1.5"]
    done = subprocess.run(
        [sys.executable, "-c", command, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    [entry] = json.loads(done.stdout)["checks"]
    assert entry["status"] == "timeout"
    assert entry["detail"] == "importing the implementation did not finish"


def test_a_missing_submodule_of_a_package_is_reported_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_course").mkdir()
    (tmp_path / "my_course" / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    code, results = check_json(capsys, "--impl", "my_course.no_such_module", "--exercise", "7.7")
    assert code == 1
    assert results["clip_by_norm"].status == "error"
    assert "No module named 'my_course.no_such_module'" in results["clip_by_norm"].detail
    assert "there is no module my_course.no_such_module" in (results["clip_by_norm"].hint or "")


def test_a_slow_start_of_the_checker_is_not_blamed_on_the_learner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "STARTUP_TIMEOUT", 0.001)  # no Python starts, let alone imports NumPy, this fast
    code, results = check_json(capsys, "--exercise", "7.7")
    assert code == 1
    result = results["clip_by_norm"]
    assert result.status == "timeout"
    assert result.detail.startswith("the checker's worker did not start within 0.001 s")
    assert "before running any of your code" in (result.hint or "")


def test_an_unknown_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--impl", "no/such/file.py"]) == 2
    assert "no such file no/such/file.py" in capsys.readouterr().err


# ----- generic failures, in learner files of a few lines ------------------------------------------
def test_an_exception_shows_its_type_message_and_the_learners_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = learner_file(tmp_path, "def relu(z):\n    return np.maximum(0, z) + bias\n")
    _, results = check_json(capsys, "--impl", path, "--exercise", "7.1")
    relu = results["relu"]
    assert relu.status == "error"
    assert relu.detail == "NameError: name 'bias' is not defined"
    assert f"{path}, line 4, in relu: return np.maximum(0, z) + bias" in (relu.hint or "")


def test_a_file_that_does_not_import_reports_its_syntax_error_on_every_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = learner_file(tmp_path, "def relu(z)\n    return z\n")
    code, results = check_json(capsys, "--impl", path, "--exercise", "7.1")
    assert code == 1
    assert {r.status for r in results.values()} == {"error"}
    assert "SyntaxError" in results["relu"].detail
    assert "line 3" in (results["relu"].hint or "")


def test_a_hard_crash_in_one_check_is_reported_and_the_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "import os\n\ndef relu(z):\n    os._exit(3)\n\ndef relu_deriv(z):\n    return (np.asarray(z) > 0) * 1.0\n"
    _, results = check_json(capsys, "--impl", learner_file(tmp_path, source), "--exercise", "7.1")
    assert results["relu"].status == "error"
    assert "exit code 3" in results["relu"].detail
    assert results["relu_deriv"].status == "pass"


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux's /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # the state follows the parenthesised name


@pytest.mark.parametrize("then", ["a hang", "a normal end"])
def test_a_process_forked_by_the_learners_code_is_killed_with_the_worker(
    then: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the forked child inherits the worker's JSON pipe: alive, it would keep the parent waiting for its end
    pid_file = tmp_path / "child.pid"
    source = (
        f"import os\nimport time\n\ndef relu(z):\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(60)\n"
        f"        os._exit(0)\n    open({str(pid_file)!r}, 'w').write(str(pid))\n    return np.maximum(0, z)\n\n"
        f"def relu_deriv(z):\n    while {then == 'a hang'}:\n        pass\n    return (np.asarray(z) > 0) * 1.0\n"
    )
    start = time.perf_counter()
    _, results = check_json(capsys, "--impl", learner_file(tmp_path, source), "--exercise", "7.1", "--timeout", "1.5")
    elapsed = time.perf_counter() - start
    child = int(pid_file.read_text())
    try:
        assert results["relu"].status == "pass"
        assert results["relu_deriv"].status == ("timeout" if then == "a hang" else "pass")
        assert elapsed < 1.5 + 8  # the limit, plus two process start-ups on a busy machine; not the child's 60 s
        deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
        while running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(child)
    finally:
        if running(child):  # do not leave it behind when the test fails
            os.kill(child, signal.SIGKILL)


def test_sys_exit_in_a_function_is_named_and_the_other_checks_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "import sys\n\ndef relu(z):\n    sys.exit(1)\n\ndef relu_deriv(z):\n    return (np.asarray(z) > 0) * 1.0\n"
    path = learner_file(tmp_path, source)
    _, results = check_json(capsys, "--impl", path, "--exercise", "7.1")
    assert results["relu"].status == "error"
    assert results["relu"].detail == "SystemExit: 1"
    assert (
        results["relu"].hint
        == f"your code called sys.exit (unittest.main() does too) at {path}, line 6, in relu: sys.exit(1)"
    )
    assert results["relu_deriv"].status == "pass"


def test_unittest_main_at_the_top_level_is_named_with_the_main_guard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "import unittest\n\ndef relu(z):\n    return np.maximum(0, z)\n\nunittest.main()\n"
    path = learner_file(tmp_path, source)
    code, results = check_json(capsys, "--impl", path, "--exercise", "7.1")
    assert code == 1
    assert {r.status for r in results.values()} == {"error"}
    hint = results["relu"].hint or ""
    assert f"your code called sys.exit (unittest.main() does too) at {path}, line 8" in hint
    assert 'move your own tests under `if __name__ == "__main__":`' in hint


def test_a_learners_prints_do_not_corrupt_the_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = 'print("loading my file")\n\ndef relu(z):\n    print("relu called", "{")\n    return np.maximum(0, z)\n'
    code, results = check_json(capsys, "--impl", learner_file(tmp_path, source), "--exercise", "7.1")
    assert code == 0
    assert results["relu"].status == "pass"


# ----- hints, measured in-process on single functions ---------------------------------------------
def outcome(check_id: str, **functions: Callable[..., Any]) -> Result:
    return run_one(BY_ID[check_id], Impl("test", dict(functions)))


def test_a_sum_instead_of_a_mean_in_the_loss_is_a_missing_n() -> None:
    def bce(y: Any, p: Any) -> float:
        return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))

    result = outcome("bce", bce=bce)
    assert result.status == "fail"
    assert result.hint == hints.DIVIDE_BY_N


def test_a_wrong_shape_names_expected_and_actual() -> None:
    result = outcome("relu", relu=lambda z: np.maximum(z, 0).ravel())
    assert result.status == "fail"
    assert result.detail == "relu(z) has shape (10,), expected (2, 5)"
    assert "wrong shape" in (result.hint or "")


@pytest.mark.parametrize(
    ("check_id", "functions", "detail"),
    [
        ("sigmoid_deriv", {"sigmoid_deriv": lambda z: np.ones(5)}, "sigmoid_deriv(z) has shape (5,), expected (10,)"),
        ("sigmoid_deriv", {"sigmoid_deriv": lambda z: None}, "sigmoid_deriv(z) returned None"),
        ("relu", {"relu": lambda z: [[1.0, 2.0], [3.0]]}, "relu(z) returned a list that is not an array"),
        ("conv2d_out", {"conv2d_out": lambda *a: None}, "stride=1, padding=0) returned None"),
        ("conv2d_out", {"conv2d_out": lambda *a: 24}, "returned 24, expected the pair (H_out, W_out)"),
        ("clip_by_norm", {"clip_by_norm": lambda g, m: g * 0}, "clip_by_norm(g, 1.0) is wrong"),
        ("sgd", {"sgd": lambda *a: [8.6, 8.6]}, "returned [8.6, 8.6], expected one finite number w"),
    ],
)
def test_a_result_of_the_wrong_kind_fails_with_its_shape_not_an_error_inside_numpy(
    check_id: str, functions: dict[str, Callable[..., Any]], detail: str
) -> None:
    result = outcome(check_id, **functions)
    assert result.status == "fail", result
    assert detail in result.detail


@pytest.mark.parametrize(
    ("conv", "pool", "detail"),
    [
        ("none", "library", "stage 1: conv2d_forward(x, w (6, 1, 5, 5), b, stride=1, padding=2) returned None"),
        ("text", "library", "stage 1: conv2d_forward(x, w (6, 1, 5, 5), b, stride=1, padding=2) returned str"),
        ("library", "none", "stage 2: maxpool2d_forward(x, 2) returned None"),
    ],
)
def test_a_cnn_stage_returning_no_array_fails_with_its_stage(conv: str, pool: str, detail: str) -> None:
    pytest.importorskip("torch")
    from backproplab.cnn import conv2d_forward, maxpool2d_forward

    wrong = {"none": lambda *a: None, "text": lambda *a: "out"}
    result = outcome(
        "cnn_vs_torch",
        conv2d_forward=wrong.get(conv, conv2d_forward),
        maxpool2d_forward=wrong.get(pool, maxpool2d_forward),
    )
    assert result.status == "fail", result
    assert result.detail.startswith(detail)


def test_nan_in_a_result_gets_the_nan_hint() -> None:
    result = outcome("relu", relu=lambda z: np.full(np.shape(z), np.nan))
    assert result.status == "fail"
    assert result.hint == hints.NOT_FINITE


def test_a_cross_entropy_without_eps_is_told_to_clip_before_the_log() -> None:
    def cce(y: Any, p: Any) -> float:
        return float(-np.mean(np.sum(y * np.log(p), axis=1)))  # no eps: log(0) = -inf, and 0 * -inf = NaN

    with np.errstate(divide="ignore", invalid="ignore"):
        result = outcome("cross_entropy", categorical_cross_entropy=cce)
    assert result.status == "fail"
    assert "clip the probabilities before the log" in (result.hint or "")


@pytest.mark.parametrize(
    ("bias_corrected", "fragment"),
    [((False, False), "forgot the bias correction"), ((True, False), "forgot v_hat"), ((False, True), "forgot m_hat")],
)
def test_adam_without_each_bias_correction_is_named(bias_corrected: tuple[bool, bool], fragment: str) -> None:
    def adam(w0: float, lr: float, steps: int) -> float:
        w, m, v = w0, 0.0, 0.0
        for t in range(1, steps + 1):
            g = 2 * (w - 3)
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            m_hat = m / (1 - 0.9**t) if bias_corrected[0] else m
            v_hat = v / (1 - 0.999**t) if bias_corrected[1] else v
            w -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        return w

    result = outcome("adam", adam=adam)
    assert result.status == "fail"
    assert fragment in (result.hint or "")


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        (lambda i, k, s, p: (i + p - k) // s + 1, "+ 2p"),
        (lambda i, k, s, p: (i - k) // s + 1, "padding is missing"),
        (lambda i, k, s, p: (i + 2 * p - k) // s, "`+ 1`"),
        (lambda i, k, s, p: (i + 2 * p - k) / s + 1, "floor division"),
    ],
)
def test_conv2d_out_mistakes_are_told_apart(formula: Callable[[int, int, int, int], float], fragment: str) -> None:
    def conv2d_out(H: int, W: int, KH: int, KW: int, stride: int, padding: int) -> tuple[float, float]:
        return formula(H, KH, stride, padding), formula(W, KW, stride, padding)

    result = outcome("conv2d_out", conv2d_out=conv2d_out)
    assert result.status == "fail"
    assert fragment in (result.hint or "")


def test_a_forward_difference_is_told_to_use_central_differences() -> None:
    def num_derivative(f: Callable[[Any], Any], z: Any, h: float = 1e-6) -> Any:
        return (f(z + h) - f(z)) / h

    result = outcome("num_derivative", num_derivative=num_derivative)
    assert result.status == "fail"
    assert "central differences" in (result.hint or "")


def test_a_bias_broadcast_along_the_batch_axis_is_named() -> None:
    result = outcome("dense_forward", dense_forward=lambda X, W, b: X @ W + b[:, None])
    assert result.status == "fail"
    assert "second axis" in (result.hint or "")


def test_a_square_gradient_equal_to_its_transpose_is_named() -> None:
    expected = np.arange(9.0).reshape(3, 3)
    with pytest.raises(hints.CheckError) as caught:
        hints.compare("dW", expected.T, expected, n=8)
    assert caught.value.hint == hints.TRANSPOSE


def test_unclipped_sigmoid_overflow_is_told_to_clip() -> None:
    result = outcome("sigmoid", sigmoid=lambda z: 1.0 / (1.0 + np.exp(-np.asarray(z))))
    assert result.status == "fail"
    assert "overflow" in result.detail
    assert "clip z" in (result.hint or "")


def test_a_flipped_convolution_kernel_is_named() -> None:
    pytest.importorskip("torch")
    from backproplab.cnn import conv2d_forward, maxpool2d_forward

    def flipped_conv(x: Any, w: Any, b: Any, stride: int, padding: int) -> Any:
        return conv2d_forward(x, w[..., ::-1, ::-1], b, stride, padding)  # a true convolution

    result = outcome("cnn_vs_torch", conv2d_forward=flipped_conv, maxpool2d_forward=maxpool2d_forward)
    assert result.status == "fail"
    assert "stage 1" in result.detail
    assert "kernel is flipped" in (result.hint or "")
