"""End to end: the real ``streamlit run`` server, the page in headless Chromium, a click on train.

Debian's ``chromium`` is driven by Playwright (``executable_path``; no browser download). The
server listens on 127.0.0.1 on a free port, logs to a file (printed on failure) and is always
terminated.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import pytest

from backproplab.playground.serve import log_tail, serving

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

ROOT = Path(__file__).resolve().parents[1]
SEED_APP = ROOT / "interactive_labs" / "m07_deep_learning" / "pytorch_training_playground_app.py"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``streamlit run`` of the seed's app path; yields its URL once the health check answers."""
    log = tmp_path / "streamlit.log"
    try:
        with serving(SEED_APP, log, cwd=ROOT) as url:
            yield url
    finally:
        print(f"--- the end of {log} ---\n{log_tail(log)}")  # pytest shows it when the test fails


def test_a_server_that_cannot_start_says_why_with_its_log(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_app.py"
    why = r"(?s)streamlit exited with code 2; its log ends:.*File does not exist"
    with pytest.raises(RuntimeError, match=why), serving(missing, tmp_path / "streamlit.log", timeout_s=30):
        pytest.fail("the server should not have answered")


def test_the_log_tail_is_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    assert log_tail(log) == ""
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert log_tail(log, lines=3) == "line 97\nline 98\nline 99"


def _picture(page: "Page", image: "Locator") -> tuple[str, bytes]:
    """The boundary image's ``src`` and the PNG behind it. A rerun may replace the picture (and drop its
    file) between reading ``src`` and fetching it: then read ``src`` again."""
    deadline = time.monotonic() + 10
    while True:
        src = image.get_attribute("src")
        if src is not None:
            body = page.request.get(urljoin(page.url, src)).body()
            if body.startswith(b"\x89PNG"):
                return src, body
        assert time.monotonic() < deadline, f"no PNG behind the boundary image (src {src!r}) within 10 s"
        page.wait_for_timeout(250)


@pytest.mark.slow
def test_clicking_train_in_the_browser_changes_the_boundary(server: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("this test needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            image = page.locator(".st-key-boundary img")
            image.wait_for(timeout=60_000)
            before_src, before_png = _picture(page, image)
            page.locator(".st-key-train button").click()
            deadline = time.monotonic() + 60
            while image.get_attribute("src") == before_src:
                assert time.monotonic() < deadline, "the boundary image did not change within 60 s of train"
                page.wait_for_timeout(250)
            page.wait_for_timeout(2000)  # a few frames more
            page.locator(".st-key-pause button").click()
            page.wait_for_timeout(1000)
            _, after_png = _picture(page, image)
            assert after_png != before_png
            step = page.locator('[data-testid="stMetric"]').filter(has_text="step").first.inner_text()
            assert int(step.split()[-1]) > 0
            page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)
            assert (tmp_path / "playground.png").stat().st_size > 10_000
        finally:
            browser.close()
