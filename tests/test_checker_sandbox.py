"""``backproplab check`` keeps the learner's code inside its check: its own folder, a memory limit, no process left.

Each learner file is written into ``tmp_path`` and checked with ``--exercise 7.1``: ``relu`` misbehaves,
``relu_deriv`` is correct and shows that the run goes on.
"""

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from backproplab.checker.checks import Result
from backproplab.cli import main

RELU_DERIV = "def relu_deriv(z):\n    return (np.asarray(z) > 0) * 1.0\n"


def check_7_1(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> dict[str, Result]:
    """Run ``backproplab check --json --exercise 7.1`` on the file ``path``; the results by check id."""
    main(["check", "--json", "--impl", str(path), "--exercise", "7.1", *argv])
    return {entry["id"]: Result(**entry) for entry in json.loads(capsys.readouterr().out)["checks"]}


def learner_file(tmp_path: Path, relu_body: str) -> Path:
    """A learner's file whose ``relu`` runs ``relu_body`` (indented by 4) and then returns the right values."""
    path = tmp_path / "my_solutions.py"
    body = "".join(f"    {line}\n" for line in relu_body.splitlines())
    path.write_text(
        f"import os\nimport sys\n\nimport numpy as np\n\n\ndef relu(z):\n{body}    return np.maximum(0, z)\n\n\n"
        + RELU_DERIV
    )
    return path


def test_each_check_starts_in_an_empty_folder_of_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen = tmp_path / "seen.jsonl"
    path = tmp_path / "my_solutions.py"
    path.write_text(
        "import json, os\nimport numpy as np\n\n\n"
        "def visit(name):\n"
        f"    with open({str(seen)!r}, 'a') as f:\n"
        "        f.write(json.dumps([name, os.getcwd(), sorted(os.listdir())]) + '\\n')\n"
        "    open('left_by_' + name, 'w').write('x')\n\n\n"
        "def relu(z):\n    visit('relu')\n    return np.maximum(0, z)\n\n\n"
        "def relu_deriv(z):\n    visit('relu_deriv')\n    return (np.asarray(z) > 0) * 1.0\n"
    )
    results = check_7_1(capsys, path)
    assert results["relu"].status == results["relu_deriv"].status == "pass"
    visits = [json.loads(line) for line in seen.read_text().splitlines()]
    first = {name: (cwd, listing) for name, cwd, listing in reversed(visits)}  # each check's first call
    assert set(first) == {"relu", "relu_deriv"}
    assert first["relu"][0] != first["relu_deriv"][0]  # a folder per check
    assert first["relu"][1] == first["relu_deriv"][1] == []  # neither sees what the other left


def test_the_learners_code_works_in_a_temporary_folder_removed_afterwards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = tmp_path / "caller"
    caller.mkdir()
    (caller / "keep.txt").write_text("the caller's")
    monkeypatch.chdir(caller)
    seen = tmp_path / "cwd.txt"
    path = learner_file(
        tmp_path,
        f"open({str(seen)!r}, 'w').write(os.getcwd())\n"
        "if os.path.exists('keep.txt'):\n    os.remove('keep.txt')\n"
        "open('scratch.txt', 'w').write('mine')\n",
    )
    results = check_7_1(capsys, path)
    assert results["relu"].status == "pass"
    assert (caller / "keep.txt").read_text() == "the caller's"
    assert sorted(p.name for p in caller.iterdir()) == ["keep.txt"]
    sandbox = Path(seen.read_text())
    assert sandbox != caller
    assert not sandbox.exists()  # removed, with the learner's scratch.txt


def test_more_memory_than_the_limit_is_an_error_with_the_line_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = learner_file(tmp_path, "big = bytearray(4 << 30)")
    results = check_7_1(capsys, path, "--memory-mib", "512")
    assert results["relu"].status == "error"
    assert results["relu"].detail.startswith("used more than 512 MiB of memory")
    assert f"{path}, line 8, in relu: big = bytearray(4 << 30)" in (results["relu"].hint or "")
    assert results["relu_deriv"].status == "pass"


def processes_with(marker: str) -> list[int]:
    """The live processes with ``marker`` in their command line (Linux's /proc; a zombie's is empty)."""
    found = []
    for folder in Path("/proc").iterdir():
        try:
            if folder.name.isdigit() and marker.encode() in (folder / "cmdline").read_bytes():
                found.append(int(folder.name))
        except OSError:  # it ended meanwhile
            continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through Linux's /proc")
def test_a_process_that_leaves_the_session_ends_with_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = f"sandbox-escapee-{uuid.uuid4().hex}"
    # a double fork with setsid: a daemon in its own session, orphaned, that the process group kill misses
    escape = (
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    path = learner_file(tmp_path, escape)
    try:
        results = check_7_1(capsys, path)
        assert results["relu"].status == "pass"
        assert results["relu_deriv"].status == "pass"
        deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with(marker) == []
    finally:
        for pid in processes_with(marker):  # do not leave it behind when the test fails
            os.kill(pid, signal.SIGKILL)
