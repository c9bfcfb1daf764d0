"""Run checks in a child process with a time limit per check, so that no learner's code can stop the run.

One child runs the checks in order (:mod:`~backproplab.checker.worker`). If a check does not answer
within ``timeout`` seconds the child is killed, the check reported as a timeout, and a fresh child
continues with the next one; a child that dies (a segfault, ``os._exit``) is reported the same way.
The child leads its own process group, so that killing it also kills whatever the learner's code
started (``multiprocessing``, ``os.fork``): those inherit the child's pipe and would keep it open.
It works in a temporary folder of its own, under a memory limit, and every process it started ends
with it, even one that left the group (:mod:`~backproplab.checker.sandbox`).
"""

import contextlib
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO, Any

from backproplab.checker.checks import Check, Result
from backproplab.checker.hints import timeout_hint
from backproplab.checker.sandbox import kill_marked, worker_env

STARTUP_TIMEOUT = 120.0  # seconds for the child's own imports (numpy, PyTorch): not the learner's time


class Worker:
    """A running child process and a thread reading its JSON lines into a queue (``None`` at its end)."""

    def __init__(self, spec: str, ids: Sequence[str], memory_mib: int) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.folder = tempfile.mkdtemp(prefix="backproplab-check-")  # its working folder, removed by close()
        self.token = secrets.token_hex(8)  # marks every process it starts, for close() to find them
        command = ["-m", "backproplab.checker.worker", os.getcwd(), str(memory_mib), spec, *ids]
        self.proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=self.folder,
            env=worker_env(self.token),
            stdin=subprocess.DEVNULL,  # a learner's input() fails at once instead of waiting
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,  # its own process group: close() kills the learner's processes with it
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.messages.put(json.loads(line))
        self.messages.put(None)

    def next(self, timeout: float) -> dict[str, Any] | None:
        """The next message; ``None`` if the child died first; ``queue.Empty`` after ``timeout`` seconds."""
        return self.messages.get(timeout=timeout)

    def stderr_tail(self, lines: int = 5) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def close(self) -> None:
        """Kill the child and every process it started, then release the pipe, the reader and the folder."""
        with contextlib.suppress(ProcessLookupError):  # the group is gone already: nothing left running
            os.killpg(self.proc.pid, signal.SIGKILL)  # before wait(): the group's id cannot be reused yet
        kill_marked(self.token)  # those that left the group (setsid), or outlived a child that ended normally
        self.proc.wait()
        self.reader.join(timeout=5)
        assert self.proc.stdout is not None
        if not self.reader.is_alive():  # a process that escaped kill_marked may still hold the pipe:
            self.proc.stdout.close()  # closing it under the blocked reader would block too, so leave both
        self.stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)  # with whatever the learner's code wrote there


def run_checks(spec: str, checks: Sequence[Check], timeout: float, memory_mib: int) -> tuple[str, list[Result]]:
    """Run ``checks`` against the implementation ``spec``; ``(label of the implementation, results)``.

    Each check has ``timeout`` seconds; the child running them has ``memory_mib`` MiB of address space.
    """
    results: list[Result] = []
    label = spec
    while len(results) < len(checks):
        pending = list(checks[len(results) :])
        worker = Worker(spec, [c.id for c in pending], memory_mib)
        try:
            label = _run_batch(worker, pending, timeout, memory_mib, results) or label
        finally:
            worker.close()
    return label, results


def _run_batch(
    worker: Worker, pending: list[Check], timeout: float, memory_mib: int, results: list[Result]
) -> str | None:
    """Collect results from one child until it finishes, hangs or dies; the implementation's label."""
    try:
        ready = worker.next(STARTUP_TIMEOUT)
    except queue.Empty:  # the checker's own imports are slow (a busy machine): nothing of the learner's ran yet
        detail = f"the checker's worker did not start within {STARTUP_TIMEOUT:g} s (its own imports: NumPy, PyTorch)"
        slow = "the checker itself was too slow to start, before running any of your code: run it again."
        results.extend(Result.of(c, "timeout", detail, slow) for c in pending)
        return None
    if ready is None:  # the checker itself failed to start: nothing of the learner's has run yet
        raise RuntimeError(f"the checker's worker process failed: {worker.stderr_tail()}")
    try:
        loaded = worker.next(timeout)
    except queue.Empty:
        stuck = timeout_hint(timeout) + " Importing your file ran code at its top level that did not finish."
        results.extend(Result.of(c, "timeout", "importing the implementation did not finish", stuck) for c in pending)
        return None
    if loaded is None or "error" in loaded:
        detail = loaded["error"] if loaded else f"the process died while importing: {worker.stderr_tail()}"
        hint: str | None = loaded["hint"] if loaded else None
        results.extend(Result.of(c, "error", f"could not import the implementation: {detail}", hint) for c in pending)
        return None
    for check in pending:
        try:
            message = worker.next(timeout)
        except queue.Empty:
            results.append(
                Result.of(check, "timeout", f"no answer within {timeout:g} s", timeout_hint(timeout), timeout)
            )
            return str(loaded["label"])
        if message is None:
            detail = f"the process running it died (exit code {worker.proc.wait()}): {worker.stderr_tail()}"
            crash = (
                "a crash outside Python: look for os._exit, or a C library that could not get memory "
                f"within the {memory_mib} MiB limit (--memory-mib)."
            )
            results.append(Result.of(check, "error", detail, crash))
            return str(loaded["label"])
        message.pop("event")
        results.append(Result(**message))
    return str(loaded["label"])
