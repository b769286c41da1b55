"""The app in a real browser: headless Chromium draws on the canvas, on a desktop and a phone screen.

Needs Debian's ``chromium`` (``apt-get install chromium``) and Playwright from pip; it skips, saying
which is missing, only where they cannot be had. Screenshots are left in the test's ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CROSSMODAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
DESKTOP = {"viewport": {"width": 1400, "height": 1000}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
RUNWAY = [[(0.3, 0.08), (0.3, 0.92)], [(0.55, 0.08), (0.55, 0.92)], [(0.43, 0.2), (0.43, 0.35)]]
BOX = [[(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8), (0.2, 0.2)], [(0.5, 0.2), (0.5, 0.8)]]
# what the sketch tab's result panel shows: the summary and each result's caption
PANEL_JS = ("() => document.querySelector('#sketch-results-summary').innerText + '|' + "
            "[...document.querySelectorAll('#sketch-results .caption-label, #sketch-results figcaption, "
            "#sketch-results img')].map((e) => e.innerText || e.src).join('|')")


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


def open_app(browser, url: str, screen: dict, refused: list | None = None):
    """The app in a new page; requests the server refuses (status >= 400) are appended to ``refused``."""
    page = browser.new_context(**screen).new_page()
    page.set_default_timeout(120_000)
    if refused is not None:
        page.on("response", lambda response: refused.append(response.url) if response.status >= 400 else None)
    page.goto(url, wait_until="load")
    canvas = page.locator("#sketch-canvas canvas").first
    canvas.wait_for(state="visible")
    return page, canvas


def draw(page, canvas, strokes) -> None:
    """Draw strokes given in fractions of the canvas side, one pointer-down ... pointer-up each."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for points in strokes:
        xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
        page.mouse.move(*xy[0])
        page.mouse.down()
        for x, y in xy[1:]:
            page.mouse.move(x, y, steps=5)
        page.mouse.up()


def new_results(page, before: str, count: int) -> str:
    """Wait until the panel differs from ``before`` and shows ``count`` loaded results; the panel's text."""
    page.wait_for_function(
        f"([before, n]) => ({PANEL_JS})() !== before && "
        "!document.querySelector('#sketch-results-summary').innerText.includes('processing') && "
        "[...document.querySelectorAll('#sketch-results img')].filter((i) => i.complete && i.naturalWidth).length"
        " === n", arg=[before, count])
    page.wait_for_timeout(1500)  # the answer to the last stroke may still be on its way: let it land
    return page.evaluate(PANEL_JS)


def pen_is_selected(page) -> bool:
    return page.locator("#sketch-canvas [data-tool='pen']").get_attribute("aria-pressed") == "true"


def test_draw_clear_and_draw_again_searches_again(browser, served, tmp_path):
    refused = []
    page, canvas = open_app(browser, served, DESKTOP, refused)
    assert "Draw a scene" in page.locator("#sketch-results-summary").inner_text()  # the hint, before any search
    searches = []  # the canvas's searches: joins that carry the drawing (the page's load event joins too)
    page.on("request", lambda request: searches.append(request)
            if "/queue/join" in request.url and "data:image/png" in (request.post_data or "") else None)
    before = page.evaluate(PANEL_JS)
    draw(page, canvas, RUNWAY)
    first = new_results(page, before, 12)
    assert "#1 " in first and "model's guess" in first
    # at most one search a stroke, never one a pointer move; strokes ended while a search runs are searched
    # together once it is done (the canvas's trigger is "always_last"), so a busy server sees fewer
    assert 1 <= len(searches) <= len(RUNWAY)

    page.locator("#sketch-canvas [data-tool='eraser']").click()
    page.locator("#sketch-canvas [data-action='clear']").click()
    page.wait_for_function("document.querySelector('#sketch-results-summary').innerText.includes('Draw a scene')")
    assert pen_is_selected(page)
    draw(page, canvas, BOX)
    second = new_results(page, page.evaluate(PANEL_JS), 12)
    assert second != first  # a second search ran for the new drawing, and its results are shown

    page.locator("#sketch-canvas [data-action='undo']").click()  # the box's middle line goes: search again
    third = new_results(page, second, 12)
    assert third != second and pen_is_selected(page)

    page.locator("#sketch-canvas [data-tool='eraser']").click()
    page.locator("#sketch-examples button").first.click()  # an example goes onto the canvas and is searched
    assert new_results(page, third, 12) != third and pen_is_selected(page)
    page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)
    assert_inside_viewport(page, 1400)
    assert refused == []  # none of the page's own calls is refused by the server (no error toast)


def test_typing_k_and_enter_changes_the_number_of_results(browser, served):
    page, canvas = open_app(browser, served, DESKTOP)
    before = page.evaluate(PANEL_JS)
    draw(page, canvas, RUNWAY)
    shown = new_results(page, before, 12)
    box = page.locator("#sketch-k input[type=number]")
    box.fill("5")
    box.press("Enter")
    new_results(page, shown, 5)


def test_phone_screen_keeps_everything_inside_and_the_summary_beside_the_canvas(browser, served, tmp_path):
    page, canvas = open_app(browser, served, PHONE)
    before = page.evaluate(PANEL_JS)
    draw(page, canvas, RUNWAY)
    new_results(page, before, 12)
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    canvas_box = canvas.bounding_box()
    summary = page.locator("#sketch-results-summary").bounding_box()
    assert summary["y"] >= canvas_box["y"] + canvas_box["height"] - 1  # right below the canvas ...
    assert summary["y"] - canvas_box["y"] < 844 - 120  # ... on the same screen while drawing
    assert_inside_viewport(page, 390)
    columns = {round(page.locator("#sketch-results img").nth(i).bounding_box()["x"]) for i in range(12)}
    assert len(columns) == 2


def assert_inside_viewport(page, width: int) -> None:
    """Every result tile, the canvas, the summary and the chart lie within the screen's width."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing makes the page scroll sideways
    selectors = ["#sketch-results .gallery-item", "#sketch-canvas canvas", "#sketch-results-summary",
                 ".results-col .vega-embed, .results-col canvas"]
    for selector in selectors:
        for item in page.locator(selector).all():
            box = item.bounding_box()
            if box is None:  # not displayed (e.g. the chart of another tab)
                continue
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (selector, box)


def test_a_gallery_photo_example_searches_both_galleries(browser, served):
    page, _ = open_app(browser, served, DESKTOP)
    page.get_by_role("tab", name="Photo → sketches").click()
    examples = page.locator("#photo-examples img")
    examples.first.wait_for(state="visible")
    assert examples.count() == 3  # one photo of each class, as thumbnails
    examples.first.click()
    page.wait_for_function("document.querySelectorAll('#photo-photo-results img').length === 12 && "
                           "document.querySelectorAll('#photo-sketch-results img').length === 12")
    assert "left out" in page.locator("#photo-photo-results").inner_text()
