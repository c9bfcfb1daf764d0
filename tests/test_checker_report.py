"""The report reads the results together: one wrong function behind several failures is said once, and
verdicts that look contradictory are explained, both from the results alone.
"""

import json
from pathlib import Path

import pytest

from backproplab.checker.checks import BY_ID, Result, Status
from backproplab.checker.explain import contradictions, groups
from backproplab.checker.hints import DIVIDE_BY_N
from backproplab.checker.report import format_text
from backproplab.cli import main

SOLUTIONS = Path(__file__).parent / "learner_solutions"


def result(check_id: str, status: Status, hint: str | None = None, uses: list[str] | None = None) -> Result:
    check = BY_ID[check_id]
    return Result.of(check, status, f"{check_id} is {status}", hint, uses=uses or [check.function or check_id])


def test_a_wrong_sigmoid_is_blamed_once_for_every_check_that_used_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (SOLUTIONS / "solutions_ok.py").read_text()
    correct = "return 1.0 / (1.0 + np.exp(-z))"
    assert source.count(correct) == 1
    path = tmp_path / "my_solutions.py"
    path.write_text(source.replace(correct, "return 1.0 / (1.0 + np.exp(z))"))  # the sign of z flipped
    assert main(["check", "--impl", str(path)]) == 1
    out = capsys.readouterr().out
    followers = "forward, backward, overfit, network, xor"
    assert f"note: sigmoid fails; 5 checks that use sigmoid fail with it ({followers}): fix sigmoid first" in out
    assert out.count("hint: it uses sigmoid, which fails: fix sigmoid first") == 5
    assert "note: forward fails" not in out  # forward fails because sigmoid does: one note


def test_the_adam_note_explains_why_the_training_checks_pass_with_a_missing_n(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["check", "--json", "--impl", str(SOLUTIONS / "broken_missing_n.py")])
    report = json.loads(capsys.readouterr().out)
    assert report["notes"] == [
        "backward fails; 1 check that uses backward fails with it (network): fix backward first",
        "Adam divides by sqrt(v): a gradient n times too large still trains, so overfit and xor pass; "
        "plain SGD would not (see the `network` check)",
    ]


def test_a_failure_explained_by_another_failing_function_is_no_group_of_its_own() -> None:
    results = [
        result("sigmoid", "fail"),
        result("forward", "fail", uses=["forward", "relu", "sigmoid"]),
        result("backward", "error", uses=["forward", "backward", "relu", "sigmoid"]),
        result("bce", "fail"),
    ]
    [group] = groups(results)
    assert group.function == "sigmoid"
    assert [r.id for r in group.followers] == ["forward", "backward"]


def test_passing_and_unrelated_checks_form_no_group() -> None:
    results = [result("sigmoid", "fail"), result("forward", "pass", uses=["forward", "sigmoid"]), result("bce", "fail")]
    assert groups(results) == []


@pytest.mark.parametrize(
    ("results", "note"),
    [
        (
            [result("backward", "fail", DIVIDE_BY_N), result("overfit", "pass"), result("xor", "fail")],
            "n times too large still trains, so overfit passes; plain SGD would not",
        ),
        (
            [result("adam", "fail"), result("overfit", "pass"), result("xor", "pass")],
            "overfit and xor pass although adam fails: the training checks use the library's Adam",
        ),
        (
            [result("sgd", "error"), result("network", "pass")],
            "network passes although sgd fails: it trains with the library's plain SGD",
        ),
    ],
)
def test_verdicts_that_look_contradictory_are_explained(results: list[Result], note: str) -> None:
    [found] = contradictions(results)
    assert note in found


def test_consistent_verdicts_need_no_note() -> None:
    results = [result("backward", "fail", DIVIDE_BY_N), result("overfit", "fail"), result("adam", "pass")]
    assert contradictions(results) == []


def test_the_text_report_lists_the_notes_before_the_summary() -> None:
    results = [result("sigmoid", "fail", "a hint"), result("forward", "fail", "its own hint", ["forward", "sigmoid"])]
    lines = format_text("test", results, 10.0).splitlines()
    assert "hint: a hint" in lines[2]
    assert "hint: it uses sigmoid, which fails: fix sigmoid first" in lines[4]  # instead of its own hint
    assert lines[5] == "note: sigmoid fails; 1 check that uses sigmoid fails with it (forward): fix sigmoid first"
    assert lines[6].startswith("summary: 0 pass, 2 fail")
