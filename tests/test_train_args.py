"""Every train-cnn argument is checked before the run touches a file: a bad one exits 2 with an error
naming the option and its value, and the files of an existing run folder stay byte for byte as they were."""

from pathlib import Path

import pytest

from backproplab.data import images
from backproplab.data.images import FILES, load_dataset
from backproplab.training.cli import main
from backproplab.training.config import parse_config

QUICK = ["--dataset", "digits", "--quiet", "--no-download"]
RUN_FILES = {"metrics.jsonl": b'{"epoch": 1, "test_acc": 0.5}\n', "checkpoint.pt": b"not a real checkpoint"}


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """An existing run folder holding a metrics file and a checkpoint."""
    folder = tmp_path / "run"
    folder.mkdir()
    for name, data in RUN_FILES.items():
        (folder / name).write_bytes(data)
    return folder


def refused(run: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run train-cnn into ``run``, check it exits 2 leaving ``run`` as it was, and return its error."""
    assert main([*QUICK, "--out", str(run), *argv]) == 2
    assert {p.name: p.read_bytes() for p in run.iterdir()} == RUN_FILES
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    return err


@pytest.mark.parametrize("value", ["5", "1", "-1", "nan"])
def test_label_smoothing_outside_0_to_1_is_refused(value: str, run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(run, capsys, "--label-smoothing", value)
    assert f"--label-smoothing must be in [0, 1), got {float(value)}" in err


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan"])
def test_lr_not_positive_and_finite_is_refused(value: str, run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert f"--lr must be positive and finite, got {float(value)}" in refused(run, capsys, "--lr", value)


@pytest.mark.parametrize("value", ["-1", "inf"])
def test_weight_decay_negative_or_infinite_is_refused(
    value: str, run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(run, capsys, "--weight-decay", value)
    assert f"--weight-decay must be non-negative and finite, got {float(value)}" in err


@pytest.mark.parametrize("value", ["-1", str(2**32)])
def test_seed_outside_32_bits_is_refused(value: str, run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert f"--seed must be in [0, 2**32 - 1], got {value}" in refused(run, capsys, "--seed", value)


@pytest.mark.parametrize(("option", "value"), [("--epochs", "0"), ("--batch-size", "-3"), ("--threads", "0")])
def test_epochs_batch_size_and_threads_below_one_are_refused(
    option: str, value: str, run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert f"{option} must be positive, got {value}" in refused(run, capsys, option, value)


def test_out_naming_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notes.txt"
    out.write_bytes(b"keep me")
    assert main([*QUICK, "--out", str(out)]) == 2
    assert f"--out {out}: is a file" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"


def test_out_under_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_bytes(b"keep me")
    out = tmp_path / "notes.txt" / "run"
    assert main([*QUICK, "--out", str(out)]) == 2
    assert f"--out {out}: {tmp_path / 'notes.txt'} is a file" in capsys.readouterr().err


@pytest.mark.parametrize("out", ["/proc/backproplab-run", "/proc/self/backproplab-run"])
def test_out_where_not_even_root_can_write_is_refused(out: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*QUICK, "--out", out]) == 2
    assert f"--out {out}: cannot write in " in capsys.readouterr().err
    assert not Path(out).exists()


def test_export_into_a_missing_folder_is_refused_before_training(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "missing" / "net.npz"
    err = refused(run, capsys, "--export", str(export))  # no new checkpoint: training never started
    assert f"--export {export}: the folder {export.parent} does not exist" in err


def test_an_export_into_the_run_folder_it_will_make_is_accepted(tmp_path: Path) -> None:
    new = tmp_path / "new-run"
    config = parse_config(["--dataset", "digits", "--out", str(new), "--export", str(new / "model.npz")])
    assert config.export == new / "model.npz"
    assert not new.exists()  # checking makes nothing


def test_export_naming_a_folder_is_refused(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "net.npz"
    export.mkdir()
    assert f"--export {export}: is a folder" in refused(run, capsys, "--export", str(export))


def test_export_not_ending_in_npz_is_refused(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "net.pt"
    assert f"--export {export}: expected a file name ending in .npz" in refused(run, capsys, "--export", str(export))


def test_a_missing_data_dir_is_refused(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "no-such-data"
    assert f"--data-dir {data_dir}: not an existing folder" in refused(run, capsys, "--data-dir", str(data_dir))


def test_a_data_dir_holding_some_files_names_the_missing_ones(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for file in FILES[:2]:
        (folder / file).write_bytes(b"placeholder")
    err = refused(run, capsys, "--data-dir", str(tmp_path / "data"), "--dataset", "fashion-mnist")
    assert f"--data-dir {tmp_path / 'data'}: {folder} lacks {FILES[2]}, {FILES[3]}" in err


def test_a_data_dir_holding_none_of_the_files_is_refused(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    err = refused(run, capsys, "--data-dir", str(tmp_path / "data"), "--dataset", "mnist")
    assert f"--data-dir {tmp_path / 'data'}: neither {tmp_path / 'data' / 'mnist'} nor {tmp_path / 'data'}" in err


def test_valid_arguments_parse_and_create_nothing(tmp_path: Path) -> None:
    argv = ["--label-smoothing", "0", "--lr", "0.1", "--weight-decay", "0", "--seed", str(2**32 - 1)]
    paths = ["--out", str(tmp_path / "new" / "run"), "--export", str(tmp_path / "net.npz"), "--data-dir", str(tmp_path)]
    config = parse_config([*QUICK, *argv, *paths])
    assert (config.label_smoothing, config.lr, config.weight_decay, config.seed) == (0.0, 0.1, 0.0, 2**32 - 1)
    assert config.out == tmp_path / "new" / "run"
    assert list(tmp_path.iterdir()) == []


def test_load_dataset_never_falls_back_from_an_existing_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BACKPROPLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "SYSTEM_DATA_DIR", tmp_path / "system")
    cached = tmp_path / "cache" / "backproplab" / "mnist"
    cached.mkdir(parents=True)
    for file in FILES:
        (cached / file).write_bytes(b"would be read, and refused, on a fall back")
    (tmp_path / "data").mkdir()
    with pytest.raises(FileNotFoundError, match="holds any of") as info:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert str(cached) not in str(info.value)


def test_load_dataset_names_the_files_a_data_dir_lacks(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    (folder / FILES[0]).write_bytes(b"placeholder")
    with pytest.raises(FileNotFoundError, match=f"{folder} lacks {FILES[1]}, {FILES[2]}, {FILES[3]}"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "data", download=False)
