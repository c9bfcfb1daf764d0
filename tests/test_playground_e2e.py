"""End to end: the real ``streamlit run`` server, the page in headless Chromium, a click on train.

Debian's ``chromium`` is driven by Playwright (``executable_path``; no browser download). The
server listens on 127.0.0.1 on a free port and is always terminated.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED_APP = ROOT / "interactive_labs" / "m07_deep_learning" / "pytorch_training_playground_app.py"
CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[str]:
    """``streamlit run`` of the seed's app path; yields its URL once the health check answers."""
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(SEED_APP), "--server.headless", "true"]
    cmd += ["--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, f"streamlit exited early with code {proc.returncode}"
            assert time.monotonic() < deadline, "streamlit did not answer within 60 s"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


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
            before_src = image.get_attribute("src")
            assert before_src is not None
            before_png = page.request.get(urljoin(page.url, before_src)).body()
            page.locator(".st-key-train button").click()
            deadline = time.monotonic() + 60
            while image.get_attribute("src") == before_src:
                assert time.monotonic() < deadline, "the boundary image did not change within 60 s of train"
                page.wait_for_timeout(250)
            page.wait_for_timeout(2000)  # a few frames more
            page.locator(".st-key-pause button").click()
            page.wait_for_timeout(1000)
            after_src = image.get_attribute("src")
            assert after_src is not None
            after_png = page.request.get(urljoin(page.url, after_src)).body()
            assert after_png.startswith(b"\x89PNG")
            assert after_png != before_png
            step = page.locator('[data-testid="stMetric"]').filter(has_text="step").first.inner_text()
            assert int(step.split()[-1]) > 0
            page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)
            assert (tmp_path / "playground.png").stat().st_size > 10_000
        finally:
            browser.close()
