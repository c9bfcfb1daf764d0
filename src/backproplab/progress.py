"""Progress reporting for long loops: a tqdm bar on a terminal, one plain line per step otherwise.

Logs and CI output stay readable (no carriage-return animation), and a person at a terminal sees a
live bar.
"""

import sys
from collections.abc import Iterator
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Iterate ``range(total)`` with a bar; call :meth:`report` once per step with the step's metrics."""

    def __init__(self, total: int, desc: str, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.desc = desc
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self._bar: tqdm | None = None
        if enabled and self.stream.isatty():
            self._bar = tqdm(total=total, desc=desc, file=self.stream, leave=True, dynamic_ncols=True)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.total))

    def report(self, step: int, **metrics: float) -> None:
        """Show ``metrics`` for the finished ``step`` (0-based)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
            self._bar.update(1)
            return
        width = len(str(self.total))
        text = "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        print(f"{self.desc} {step + 1:>{width}}/{self.total}  {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
