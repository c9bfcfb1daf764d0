"""Progress reporting: a live bar on a terminal, a plain line per step elsewhere, nothing when off."""

import io

from backproplab.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO, enabled: bool = True) -> str:
    progress = Progress(3, "epoch", enabled=enabled, stream=stream)
    for step in progress:
        progress.report(step, loss=1.0 / (step + 1))
    progress.close()
    return stream.getvalue()


def test_a_terminal_gets_a_tqdm_bar_with_the_metrics() -> None:
    text = _run(_Terminal())
    assert "3/3" in text
    assert "loss=0.3333" in text
    assert "\r" in text  # redrawn in place, not one line per step


def test_a_pipe_gets_one_plain_line_per_step() -> None:
    lines = _run(io.StringIO()).splitlines()
    assert lines == ["epoch 1/3  loss 1", "epoch 2/3  loss 0.5", "epoch 3/3  loss 0.3333"]


def test_disabled_progress_writes_nothing() -> None:
    assert _run(_Terminal(), enabled=False) == ""
    assert _run(io.StringIO(), enabled=False) == ""
