"""Screenshot of the playground after training on spirals (the picture in the README).

Starts ``streamlit run`` on a free loopback port (its log in a temporary file, whose tail an error
shows if the server does not start), drives Debian's headless Chromium with Playwright: opens the
page with a link holding the experiment (spirals of 400 points, noise 0.05, the features x1, x2,
sin(x1), sin(x2), hidden layers 16, 16, 16), trains until the training accuracy reaches
``--accuracy`` (or ``--seconds`` pass), pauses and saves the page down to the network diagram.

    python scripts/playground_screenshot.py [--out docs/img/playground_spirals.png]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from backproplab.playground.serve import serving

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "interactive_labs" / "m07_deep_learning" / "pytorch_training_playground_app.py"


EXPERIMENT = "dataset=spirals&n=400&noise=0.05&features=x1,x2,sin(x1),sin(x2)&hidden=16,16,16&steps=100"


def accuracy(page: Page) -> float:
    text = page.locator('[data-testid="stMetric"]').filter(has_text="train accuracy").first.inner_text()
    return float(text.split()[-1].rstrip("%")) / 100


def capture(url: str, out: Path, seconds: float, target: float) -> float:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1560})
            page.goto(f"{url}/?{EXPERIMENT}")
            page.locator(".st-key-boundary img").wait_for(timeout=60_000)
            page.locator(".st-key-train button").click()
            deadline = time.monotonic() + seconds
            while accuracy(page) < target and time.monotonic() < deadline:
                page.wait_for_timeout(500)
            page.locator(".st-key-pause button").click()
            page.wait_for_timeout(2000)
            reached = accuracy(page)
            page.locator('[data-testid="stSidebarContent"]').evaluate("element => element.scrollTo(0, 0)")
            page.wait_for_timeout(300)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            return reached
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "playground_spirals.png")
    parser.add_argument("--seconds", type=float, default=120, help="train at most this long (default 120)")
    parser.add_argument("--accuracy", type=float, default=0.97, help="stop at this train accuracy (default 0.97)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, serving(APP, Path(tmp) / "streamlit.log", cwd=ROOT) as url:
        reached = capture(url, args.out, args.seconds, args.accuracy)
    print(f"wrote {args.out} (train accuracy {reached:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
