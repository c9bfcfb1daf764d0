"""Keep a learner's code inside its check: a folder of its own, a memory limit, no process left behind (POSIX).

The runner starts each worker in a fresh temporary folder (removed when the worker ends) with a
mark in its environment: every process the learner's code starts inherits it, even one that
leaves the process group with ``os.setsid()`` or is orphaned by a double fork, so :func:`kill_marked`
finds them all through ``/proc`` (Linux). The worker calls :func:`limit_memory` before importing the
learner's code. This keeps honest mistakes from harming the caller; it is not a security boundary
(absolute paths still reach the caller's files, and a process started with an emptied environment
that also leaves the process group is not found).
"""

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

MARK = "BACKPROPLAB_CHECK_WORKER"  # environment variable whose value names one worker

# One thread for NumPy's OpenBLAS and for PyTorch (OpenMP): each OpenBLAS thread reserves about 40 MiB of
# address space at import (measured: VmSize 171 MiB with 2 threads, 131 MiB with 1), and RLIMIT_AS counts
# reservations, so on a 64-core machine NumPy's import alone would take 2.6 GiB of a 2 GiB limit. The
# checks' arrays are tiny: one thread is as fast. Measured with one thread: NumPy 131 MiB, PyTorch 632 MiB.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def worker_env(token: str) -> dict[str, str]:
    """The environment of a worker: the caller's, single-threaded, marked with ``token``."""
    return {**os.environ, **SINGLE_THREADED, MARK: token}


@contextlib.contextmanager
def fresh_folder() -> Iterator[Path]:
    """Run the block in a new empty folder inside the current one, removed with whatever the block
    wrote there: each check starts from an empty working folder, whatever the one before it did."""
    home = os.getcwd()
    folder = Path(tempfile.mkdtemp(prefix="check-", dir=home))
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(home)
        shutil.rmtree(folder, ignore_errors=True)


def limit_memory(mib: int) -> None:
    """Cap this process's address space at ``mib`` MiB: beyond it an allocation raises ``MemoryError``.

    RLIMIT_AS (virtual memory) rather than the resident size, which Linux does not enforce: a NumPy
    array larger than the limit fails at once, before any of it is touched.
    """
    import resource  # POSIX only, like the worker; the in-process checks (any platform) never call this

    statm = Path("/proc/self/statm")  # Linux: the address space in pages, first
    used = int(statm.read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE") >> 20 if statm.exists() else 0
    if used >= mib:  # nothing could run at all, not even the checker reporting it
        raise ValueError(f"--memory-mib {mib} is below the {used} MiB the checker itself takes (NumPy, PyTorch)")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = mib << 20 if hard == resource.RLIM_INFINITY else min(mib << 20, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def memory_limit_mib() -> int | None:
    """This process's memory limit in MiB, ``None`` when there is none (the in-process checks)."""
    if sys.platform == "win32":
        return None
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft >> 20


def kill_marked(token: str) -> None:
    """SIGKILL every process whose environment carries ``token``, again until none is left (they may fork)."""
    for _ in range(10):  # each pass also catches the children forked while the last one was killing
        pids = _marked(f"{MARK}={token}".encode())
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, signal.SIGKILL)


def _marked(entry: bytes) -> list[int]:
    """The processes whose initial environment contains ``entry`` (a dead, zombie process has none)."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: the process group kill is all there is
        return []
    found = []
    for folder in proc.iterdir():
        if not folder.name.isdigit():
            continue
        try:
            environ = (folder / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's
            continue
        if entry in environ.split(b"\0"):
            found.append(int(folder.name))
    return found
