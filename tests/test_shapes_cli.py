"""`backproplab shapes`: the shape table of the LeNet or of any network, and the shape quiz."""

import io
import subprocess
import sys

import pytest

from backproplab import quiz
from backproplab.cli import main
from backproplab.cnn.lenet import lenet_spec
from backproplab.cnn.spec import LayerSpec, parse_shape, parse_spec, shape_table

LENET_ANSWERS = ["6x28x28", "6x14x14", "16x14x14", "16x7x7", "784", "120", "84", "10"]


def test_the_lenet_table_shows_every_layer_with_its_arithmetic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shapes"]) == 0
    out = capsys.readouterr().out
    assert "conv1    6 filters 5x5, stride 1, padding 2     6x28x28            156  (28 + 2*2 - 5) // 1 + 1 = 28" in out
    assert "pool2    max 2x2, stride 2                      16x7x7" in out
    assert "flatten  to a vector                            784                  0  16 * 7 * 7 = 784" in out
    assert "total parameters: 107,786" in out


def test_the_lenet_adapts_to_8x8_digits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shapes", "--input", "1x8x8"]) == 0
    out = capsys.readouterr().out
    assert "16x2x2" in out
    assert "16 * 2 * 2 = 64" in out


def test_a_network_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shapes", "--input", "3x32x32", "--net", "conv8k3s2p1d2,tanh,avgpool2,flatten,fc5"]) == 0
    out = capsys.readouterr().out
    assert "8x15x15" in out  # (32 + 2 - 2*(3-1) - 1) // 2 + 1 = 15
    assert "8x7x7" in out
    assert "392 -> 5 units" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["shapes", "--net", "conv6,relu"], "needs a kernel size"),
        (["shapes", "--net", "conv6k5,dropout"], "cannot read layer 'dropout'"),
        (["shapes", "--net", "fc10"], "put flatten before it"),
        (["shapes", "--input", "1x4x4", "--net", "conv2k7"], "conv1 on a 1x4x4 input: kernel 7x7"),
        (["shapes", "--input", "28x28"], "--input must be CxHxW"),
    ],
)
def test_bad_networks_give_a_clear_error(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_quiz_accepts_right_answers_in_any_common_notation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = ["6x28x28", "6,14,14", "(16, 14, 14)", "16 x 7 x 7", "784", "120", "84", "10"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(answers) + "\n"))
    assert main(["shapes", "--quiz"]) == 0
    assert "score: 8/8" in capsys.readouterr().out


def test_the_quiz_explains_a_wrong_answer_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = ["6x24x24", *LENET_ANSWERS[1:6], "eighty-four", "10"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(answers) + "\n"))
    assert main(["shapes", "--quiz"]) == 1
    out = capsys.readouterr().out
    assert "not quite: 6x28x28   ((28 + 2*2 - 5) // 1 + 1 = 28)" in out
    assert "cannot read a shape from 'eighty-four'" in out
    assert "score: 6/8" in out


def test_parse_spec_reads_every_option() -> None:
    assert parse_spec("conv4k3s2p1d2, pool3s1p1, avgpool2, relu, flatten, fc7") == [
        LayerSpec("conv", 4, 3, 2, 1, 2),
        LayerSpec("pool", 3, 3, 1, 1),
        LayerSpec("avgpool", 2, 2, 2, 0),
        LayerSpec("relu"),
        LayerSpec("flatten"),
        LayerSpec("fc", 7),
    ]


def test_shape_table_counts_parameters() -> None:
    rows = shape_table(parse_spec("conv4k3,flatten,fc2"), (2, 5, 5))
    assert [r.params for r in rows] == [0, 4 * (2 * 9 + 1), 0, 36 * 2 + 2]


def test_parse_shape_rejects_text() -> None:
    assert parse_shape(" 1 x 2x3 ") == (1, 2, 3)
    with pytest.raises(ValueError, match="write it like 6x28x28"):
        parse_shape("six")


def test_the_quiz_says_which_layers_it_skips(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("8x16x16\n8x8x8\n"))
    assert main(["shapes", "--quiz", "--input", "3x32x32", "--net", "conv8k3s2p1,bn,dropout20,relu,pool2"]) == 0
    out = capsys.readouterr().out
    assert "bn1 (batch norm over 8 channels): shape unchanged, 8x16x16 (not asked)" in out
    assert "dropout1 (drops 20% in training, else identity): shape unchanged, 8x16x16 (not asked)" in out
    assert "relu1 (elementwise): shape unchanged, 8x16x16 (not asked)" in out
    assert "score: 2/2" in out


def test_the_quiz_ends_at_end_of_input_with_the_score_so_far(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("6x28x28\n6x14x14\n16x10x10\n"))
    assert main(["shapes", "--quiz"]) == 1
    out = capsys.readouterr().out
    assert "end of input after 3 of 8 questions; score so far: 2/3" in out
    assert "score: " not in out


def test_the_quiz_reads_a_pipe_that_runs_out_without_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backproplab.cli", "shapes", "--quiz"],
        input="6x28x28\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "EOFError" not in done.stderr
    assert "score so far: 1/1" in done.stdout


def test_the_quiz_explains_forgotten_padding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join([*LENET_ANSWERS[:2], "16x10x10"]) + "\n"))
    assert main(["shapes", "--quiz"]) == 1
    out = capsys.readouterr().out
    assert (
        "10x10 is the size without the padding p=2: (14 - 5) // 1 + 1 = 10; "
        "with it, (H + 2p - K) // s + 1 = (14 + 2*2 - 5) // 1 + 1 = 14"
    ) in out


def _question(net: str, name: str, input_shape: tuple[int, int, int] = (1, 28, 28)) -> quiz.Question:
    specs = parse_spec(net)
    return next(q for q in quiz.questions(specs, shape_table(specs, input_shape)) if q.row.name == name)


@pytest.mark.parametrize(
    ("net", "name", "answer", "expected"),
    [
        (lenet_spec(10), "conv2", (16, 10, 10), "the size without the padding p=2"),
        ("conv8k3s2p1", "conv1", (8, 15, 15), "rounds down (floor, //), not up: (28 + 2*1 - 3) / 2 = 13.5"),
        ("conv8k3s2p1", "conv1", (8, 28, 28), "is the size for stride 1, 28 + 2*1 - 3 + 1 = 28"),
        ("pool2", "pool1", (1, 13, 13), "the + 1 is missing"),
        ("conv4k3d2", "conv1", (4, 26, 26), "a dilation of 2 spreads the 3x3 kernel over 5x5"),
        ("pool2", "pool1", (1, 28, 28), "28x28 is the input's size, but a 2x2 window, stride 2"),
        (lenet_spec(10), "pool1", (14, 14), "the channel axis is missing: pooling works on each channel alone"),
        (lenet_spec(10), "conv2", (6, 14, 14), "16 filters give 16 channels (not the input's 6)"),
        (lenet_spec(10), "conv1", (1, 6, 28, 28), "has a batch axis in front"),
        (lenet_spec(10), "flatten", (49,), "the channels are missing: flatten keeps all 16 maps"),
        (lenet_spec(10), "fc1", (784,), "one value per unit: fc120 gives 120"),
        ("conv4k5,gap", "gap1", (4, 1, 1), "averages each 24x24 map to one number: 4 values"),
        (
            "conv4k5",
            "conv1",
            (4, 20, 20),
            "the height and width are (H + 2p - K) // s + 1 = (28 + 2*0 - 5) // 1 + 1 = 24",
        ),
    ],
)
def test_each_wrong_answer_is_explained(net: str, name: str, answer: tuple[int, ...], expected: str) -> None:
    assert expected in quiz.explain(answer, _question(net, name))


def test_grade_reports_unreadable_answers_and_right_ones() -> None:
    q = _question(lenet_spec(10), "conv1")
    assert quiz.grade(" 6 x 28 x 28 ", q) == (True, ["right: 6x28x28   ((28 + 2*2 - 5) // 1 + 1 = 28)"])
    right, lines = quiz.grade("big", q)
    assert not right
    assert lines[0] == "cannot read a shape from 'big'; write it like 6x28x28"
