"""The playground's live frame rate as a user sees it: the real server, a real browser, the real page.

Starts ``streamlit run`` on the seed's app path (headless, loopback), opens it in Debian's Chromium
driven by Playwright, clicks train, then samples the live boundary picture (the ``img`` inside the
container keyed ``boundary``) in the page on every animation frame for ``--seconds``: a frame counts
when the picture differs from the one before. Then it clicks pause and measures how long the step
counter keeps changing (the pause latency). The measuring code is
:mod:`backproplab.playground.browser`, shared with the browser test.

    python bench/playground_fps.py [--seconds 10] [--query "hidden=64,64,64,64,64,64&engine=torch"]

The last line is a JSON object: ``frames_per_s``, ``median_gap_ms``, ``steps_per_s``, ``pause_latency_ms``
(and how often the loss curve and the network diagram changed: ``curve_per_s``, ``network_per_s``).
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from _common import environment_lines
from playwright.sync_api import sync_playwright

from backproplab.playground.browser import LiveFigures, watch_training
from backproplab.playground.serve import log_tail, serving

ROOT = Path(__file__).resolve().parents[1]
SEED_APP = ROOT / "interactive_labs" / "m07_deep_learning" / "pytorch_training_playground_app.py"
TARGET_FPS, TARGET_PAUSE_MS = 20.0, 500.0


def measure(url: str, chromium: Path, seconds: float) -> LiveFigures:
    """Open ``url`` (settings in its query) in ``chromium``, wait for the picture, train and sample
    ``seconds``, pause."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.locator(".st-key-boundary img").wait_for(timeout=60_000)
            return watch_training(page, seconds)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to sample frames (default 10)")
    parser.add_argument("--query", default="", help="settings as in the page's link, e.g. 'hidden=64,64&engine=torch'")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"), help="the browser to drive")
    args = parser.parse_args()
    if not args.chromium.exists():
        sys.exit(f"error: no browser at {args.chromium}: apt-get install chromium (or pass --chromium PATH)")

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "streamlit.log"
        try:
            with serving(SEED_APP, log, cwd=ROOT) as url:
                figures = measure(f"{url}/?{args.query}", args.chromium, args.seconds)
        except Exception:
            print(f"--- the end of the server's log ---\n{log_tail(log)}", file=sys.stderr)
            raise

    print("playground live frames: the seed's app under streamlit run, headless Chromium")
    print(f"settings: {args.query or 'the defaults'}")
    print("\n".join(environment_lines(os.cpu_count() or 1)))
    print(f"  distinct boundary pictures: {figures.frames_per_s:.1f}/s ({figures.frames} in {figures.seconds:.1f} s)")
    print(f"  median gap between pictures: {figures.median_gap_ms:.1f} ms")
    rates = figures.as_json()
    print(f"  loss curve: {rates['curve_per_s']:.1f}/s, network diagram: {rates['network_per_s']:.1f}/s")
    print(f"  training steps: {figures.steps_per_s:.0f}/s")
    print(f"  pause latency: {figures.pause_latency_ms:.0f} ms (the step count's last change after the click)")
    met = figures.frames_per_s >= TARGET_FPS and figures.pause_latency_ms <= TARGET_PAUSE_MS
    print(f"  target >= {TARGET_FPS:g} pictures/s and pause <= {TARGET_PAUSE_MS:g} ms: {'met' if met else 'NOT met'}")
    print(json.dumps(figures.as_json()))


if __name__ == "__main__":
    main()
