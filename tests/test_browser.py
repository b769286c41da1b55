"""The app in a real browser: headless Chromium draws on the canvas and the gallery fills with results.

Needs Debian's ``chromium`` (``apt-get install chromium``) and Playwright from pip; it skips, saying
which is missing, only where they cannot be had. The screenshot is left in the test's ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CROSSMODAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_drawing_on_the_canvas_shows_results(browser, served, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(served, wait_until="load")
    canvas = page.locator("#sketch-canvas canvas").first
    canvas.wait_for(state="visible")
    page.locator("#sketch-canvas button[aria-label='Brush']").first.click()  # the app selects it too; be sure
    box = canvas.bounding_box()

    def stroke(points):
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=6)
        page.mouse.up()

    # two strips and a dashed centre line: a runway, drawn stroke by stroke
    stroke([(150, 40), (150, 400)])
    stroke([(260, 40), (260, 400)])
    for y in (60, 160, 260, 340):
        stroke([(205, y), (205, y + 40)])

    page.wait_for_function("document.querySelectorAll('#sketch-results img').length >= 12")
    # results arrive while drawing; wait until the answer to the last stroke is shown (nothing changes any more)
    state = ("() => document.querySelector('#sketch-query img')?.src"
             " + document.querySelector('#sketch-results').innerText")
    previous, unchanged = None, 0
    for _ in range(60):
        current = page.evaluate(state)
        unchanged = unchanged + 1 if current == previous else 0
        if unchanged >= 3:
            break
        previous = current
        page.wait_for_timeout(500)
    captions = page.locator("#sketch-results").inner_text()
    assert "#1 " in captions
    assert "P@12" in page.locator("#sketch-results-summary").inner_text()
    shot = tmp_path / "sketch_search.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
