"""Serve a playground page with ``streamlit run`` on a free loopback port, for a browser to drive.

The browser test and the screenshot script both need a real server: started headless on
127.0.0.1, waited for until its health check answers, always stopped. Its output goes to a log
file, never to a pipe: a pipe that nobody reads fills up (about 64 KiB) and then stalls the server.
"""

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backproplab.playground.cli import streamlit_command


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def log_tail(log: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of the server's log (empty if there is none yet)."""
    if not log.is_file():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_healthy(url: str, proc: "subprocess.Popen[bytes]", log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}; its log ends:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"streamlit did not answer at {url} within {timeout_s:g} s; its log ends:\n{log_tail(log)}"
            )
        time.sleep(0.3)


@contextmanager
def serving(app: Path, log: Path, timeout_s: float = 60, cwd: Path | None = None) -> Iterator[str]:
    """Run ``streamlit run app`` headless on a free loopback port, writing its output to ``log``; yield
    its URL once it answers, stop it on leaving. ``RuntimeError`` with the log's tail if the server
    exits early or does not answer within ``timeout_s`` seconds."""
    port = free_port()
    options = ["--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port)]
    cmd = streamlit_command([*options, "--browser.gatherUsageStats", "false"], app)
    with log.open("wb") as out:  # the server keeps its own copy of the file descriptor
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, proc, log, timeout_s)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
