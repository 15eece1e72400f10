"""The app in a real browser: `streamlit run` on a free local port, Debian's
Chromium driven by Playwright.

Screenshots of every page go to a temporary folder, or to docs/screenshots
when RWA_LAB_SCREENSHOTS=1 (that is how the README's pictures are made).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`streamlit run app.py` on the shipped checkpoints; yields its URL."""
    if not (ROOT / "checkpoints" / "rwa_length.keras").exists():
        pytest.skip("needs the shipped rwa_length checkpoint")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],  # fmt: skip
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        tab = browser.new_page(viewport={"width": 1400, "height": 2400})
        tab.set_default_timeout(90_000)
        yield tab
        browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    if os.environ.get("RWA_LAB_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


def metric_value(page, label):
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


# How many steps the first Plotly heatmap on the page draws; undefined while
# Streamlit replaces the chart during a rerun.
HEATMAP_ROWS = "document.querySelector('.js-plotly-plot')?._fullData?.[0]?.y?.length"


def heatmap_rows(page):
    return page.evaluate(f"() => {HEATMAP_ROWS}")


def wait_for_heatmap_rows(page, rows):
    page.wait_for_function(f"() => {HEATMAP_ROWS} === {rows}")


def wait_idle(page):
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
    page.wait_for_selector(".js-plotly-plot")


def test_length_page_redraws_when_the_length_changes(server, page, screenshots):
    page.goto(f"{server}/Sequence_length?len_model=rwa_length&len_L=600")
    wait_idle(page)
    assert heatmap_rows(page) == 600
    before = metric_value(page, "P(L > 500)")

    box = page.get_by_label("L", exact=True)
    box.fill("420")
    box.press("Enter")
    wait_for_heatmap_rows(page, 420)
    wait_idle(page)
    after = metric_value(page, "P(L > 500)")
    assert after != before
    assert "L=420" in page.url

    # The time from a new input to the redrawn 1000 x 250 heatmap, reported.
    started = time.perf_counter()
    box.fill("1000")
    box.press("Enter")
    wait_for_heatmap_rows(page, 1000)
    print(f"heatmap of 1000 x 250 redrawn in {time.perf_counter() - started:.2f} s")

    page.get_by_role("button", name="Run probe").click()
    # The chart comes before the metric; wait for the metric itself (the
    # running indicator may not have appeared yet when the chart does).
    crossing = page.locator('[data-testid="stMetric"]').filter(has_text="crosses 0.5")
    crossing.wait_for(timeout=60_000)
    value = crossing.locator('[data-testid="stMetricValue"]').inner_text()
    assert 450 <= float(value) <= 550
    wait_idle(page)
    page.screenshot(path=screenshots / "sequence_length.png", full_page=True)


def test_other_pages_render(server, page, screenshots):
    # Every page draws a chart or a table from the shipped checkpoints.
    first = '[data-testid="stDataFrame"], .js-plotly-plot'
    for path, name, drawn in [
        ("", "home", first),
        (
            "/Adding_problem?model=rwa_adding_100&T=100&m1=10&m2=60",
            "adding_problem",
            first,
        ),
        (
            "/RWA_attention?att_model=rwa_adding_100&att_T=100&att_m1=10&att_m2=60",
            "attention",
            first,
        ),
        # Its table comes after both plots.
        ("/Training_curves", "training_curves", '[data-testid="stDataFrame"]'),
        (
            "/Compare?task=adding&adding_a=rwa_adding_100&adding_b=lstm_adding_100",
            "compare",
            first,
        ),
    ]:
        page.goto(server + path)
        page.wait_for_selector(drawn)
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
        assert page.locator('[data-testid="stException"]').count() == 0
        for alert in ("Error", "Warning"):  # a warning: a link the page ignored
            alerts = page.locator(f'[data-testid="stAlertContent{alert}"]')
            assert alerts.count() == 0, alerts.all_inner_texts()
        page.screenshot(path=screenshots / f"{name}.png", full_page=True)
