"""The child process that runs checks: ``python -m backproplab.checker.worker FOLDER MEMORY_MIB SPEC ID...``.

``FOLDER`` is the caller's working folder, where a module ``SPEC`` is looked up (the worker itself
runs in a temporary folder); ``MEMORY_MIB`` caps its memory before the learner's code is imported.

It speaks JSON lines on its original stdout: ``{"event": "ready"}`` once its imports are done,
``{"event": "loaded", ...}`` once the learner's module is imported, then one ``{"event": "result",
...}`` per check, in order. Anything the learner's code prints goes to stderr instead, so it can
never corrupt that channel. The parent (:mod:`~backproplab.checker.runner`) enforces the time limits.
"""

import contextlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from backproplab.checker.checks import BY_ID, FUNCTION_NAMES, run_one
from backproplab.checker.hints import import_error_report
from backproplab.checker.learner import load
from backproplab.checker.sandbox import fresh_folder, limit_memory


def main(argv: Sequence[str] | None = None) -> int:
    folder, memory_mib, spec, *ids = sys.argv[1:] if argv is None else argv
    sys.path.insert(0, folder)  # as `python -m` would from the caller's folder
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the learner's prints (even from C) go to stderr
    sys.stdout = sys.stderr

    def send(event: str, **fields: Any) -> None:
        channel.write(json.dumps({"event": event, **fields}) + "\n")

    if "cnn_vs_torch" in ids:
        # imported before the clock of any check starts (it takes seconds); if it is missing, the check says so
        with contextlib.suppress(ImportError):
            import torch  # noqa: F401
    limit_memory(int(memory_mib))  # after the checker's own imports, which count towards it
    send("ready")
    try:
        impl = load(spec, FUNCTION_NAMES)
    except (Exception, SystemExit) as e:  # a SyntaxError, a crash or sys.exit at import time: every check says it
        detail, hint = import_error_report(e)
        if isinstance(e, ModuleNotFoundError) and e.name == spec:  # `pkg.mod`: the parent found only `pkg`
            hint = f"there is no module {spec} (looked up from the current folder): check the name after --impl"
        send("loaded", error=detail, hint=hint)
        return 0
    send("loaded", label=impl.label, found=sorted(impl.functions))
    for check_id in ids:
        with fresh_folder():  # each check starts in an empty folder, whatever the one before it wrote
            result = run_one(BY_ID[check_id], impl)
        send("result", **asdict(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
