"""`backproplab shapes`: the shape table of the LeNet or of any network, and the shape quiz."""

import io

import pytest

from backproplab.cli import main
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
