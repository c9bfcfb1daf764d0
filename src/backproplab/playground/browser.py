"""Watching the live page from inside the browser: what the frame-rate benchmark and the browser
test measure, the way a user sees it.

Both run in a page opened by Playwright on a playground served by :mod:`backproplab.playground.serve`.
The picture is the ``img`` inside the container keyed ``boundary``; its ``src`` changes with every
frame the server sends, and a re-render may replace the element, so it is looked up on every
animation frame. The step counter is the metric labelled ``step``.
"""

import statistics
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

_HELPERS = """
  const source = (k) => { const i = document.querySelector(`.st-key-${k} img`); return i ? i.src : null; };
  const picture = () => source('boundary');
  const step = () => {
    const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find(e => e.innerText.trim().startsWith('step'));
    return m ? m.innerText.trim().split(/\\s+/).pop() : null;
  };
  const everyFrame = (ms, onFrame) => new Promise(done => {
    const t0 = performance.now();
    const tick = (now) => { onFrame(now - t0); if (now - t0 < ms) requestAnimationFrame(tick); else done(); };
    requestAnimationFrame(tick);
  });
"""

# the picture sampled on every animation frame for `seconds`: when it changed, and the step counter
_SAMPLE_JS = f"""async (seconds) => {{{_HELPERS}
  const changes = [];
  let last = picture(), lastCurve = source('curve'), lastNetwork = source('network'), curves = 0, networks = 0;
  const step0 = step(), t0 = performance.now();
  await everyFrame(seconds * 1000, (t) => {{
    const now = picture(), curve = source('curve'), network = source('network');
    if (now !== null && now !== last) {{ changes.push(t); last = now; }}
    if (curve !== lastCurve) {{ curves += 1; lastCurve = curve; }}
    if (network !== lastNetwork) {{ networks += 1; lastNetwork = network; }}
  }});
  return {{changes, curves, networks, elapsed_ms: performance.now() - t0, step0, step1: step()}};
}}"""

# pause clicked from inside the page (no driver round trip in the timing), then 3 s of watching
_PAUSE_JS = f"""async () => {{{_HELPERS}
  let lastStep = step(), lastPicture = picture(), stepChanged = 0, pictureChanged = 0;
  document.querySelector('.st-key-pause button').click();
  await everyFrame(3000, (t) => {{
    const s = step(), p = picture();
    if (s !== lastStep) {{ lastStep = s; stepChanged = t; }}
    if (p !== lastPicture) {{ lastPicture = p; pictureChanged = t; }}
  }});
  return {{step_ms: stepChanged, picture_ms: pictureChanged}};
}}"""


def _count(text: str | None) -> int:
    """The step metric as displayed (``"1,234"``) -> 1234."""
    if text is None:
        raise ValueError("no metric labelled 'step' on the page")
    return int(text.replace(",", ""))


@dataclass(frozen=True)
class LiveFigures:
    """What :func:`watch_training` measured: distinct pictures per second, the median gap between two,
    training steps per second, how often the loss curve and the network diagram changed, and how long
    after the pause click the step count and the picture still changed (0: not at all)."""

    frames: int
    seconds: float
    curves: int
    networks: int
    median_gap_ms: float
    steps_per_s: float
    pause_latency_ms: float
    picture_after_pause_ms: float

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds

    def as_json(self) -> dict[str, float]:
        """The benchmark's JSON line."""
        return {
            "frames_per_s": round(self.frames_per_s, 2),
            "curve_per_s": round(self.curves / self.seconds, 2),
            "network_per_s": round(self.networks / self.seconds, 2),
            "median_gap_ms": round(self.median_gap_ms, 1),
            "steps_per_s": round(self.steps_per_s, 1),
            "pause_latency_ms": round(self.pause_latency_ms, 1),
        }


def watch_training(page: "Page", seconds: float, warmup_ms: float = 1500) -> LiveFigures:
    """On a loaded playground ``page``: click train, wait ``warmup_ms``, sample the picture on every
    animation frame for ``seconds``, then click pause and watch 3 s more."""
    page.locator(".st-key-train button").click()
    page.wait_for_timeout(warmup_ms)
    sample: dict[str, Any] = page.evaluate(_SAMPLE_JS, seconds)
    pause: dict[str, float] = page.evaluate(_PAUSE_JS)
    changes: list[float] = sample["changes"]
    gaps = [b - a for a, b in pairwise(changes)]
    elapsed_s = sample["elapsed_ms"] / 1000
    return LiveFigures(
        frames=len(changes),
        seconds=elapsed_s,
        curves=sample["curves"],
        networks=sample["networks"],
        median_gap_ms=statistics.median(gaps) if gaps else float("inf"),
        steps_per_s=(_count(sample["step1"]) - _count(sample["step0"])) / elapsed_s,
        pause_latency_ms=pause["step_ms"],
        picture_after_pause_ms=pause["picture_ms"],
    )
