r"""Drawing in a real browser: time from lifting the pen to the results being on screen.

Starts ``app.py`` (or uses ``--url``), opens it in headless Chromium through Playwright, draws
``--strokes`` strokes on the sketch canvas one after another, and for each stroke measures in the
page, from the ``pointerup`` of the stroke to the frame in which the result panel shows the new
results with every thumbnail loaded. Prints p50 / p95 for a desktop window (1400 x 1000) and a
phone screen (390 x 844, touch, device scale 3), and the server handler's own time (the
"in N ms" of the result summary) for comparison.

Usage::

    python bench/app_draw.py --checkpoint checkpoints/ucm14.pt --photos DATA/ucmerced \\
        --sketches DATA/eoc-sketches --index-dir /tmp/crossmodal-idx [--strokes 10]
    python bench/app_draw.py --url http://127.0.0.1:7860/ --viewports phone

Needs Debian's ``chromium`` (or ``--chromium PATH``) and ``pip install playwright``. Two warm-up
strokes are drawn first and not counted. ``--screenshot FILE`` also saves the desktop window with an
example sketch searched and its class chosen (the README's ``assets/screenshot.png``)::

    python bench/app_draw.py --viewports desktop --strokes 1 --screenshot assets/screenshot.png
"""

from __future__ import annotations

import argparse
import math
import re
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_latency import ROOT, add_server_arguments, app_server, percentile  # noqa: E402

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1400, "height": 1000}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
              "has_touch": True},
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]

# In the page: remember when the pen was lifted; then wait for the answer to this drawing (its query view, a new
# image every stroke, arrives with the results) and for every result thumbnail to be loaded.
TIMING_JS = """
window.__up = null;
window.addEventListener('pointerup', () => { window.__up = performance.now(); }, true);
window.__panel = () => document.querySelector('#sketch-query img')?.src || '';
window.__resultsShown = (before, timeout) => new Promise((resolve) => {
  const started = performance.now();
  const check = () => {
    const imgs = [...document.querySelectorAll('#sketch-results img')];
    if (window.__panel() !== before && imgs.length && imgs.every((i) => i.complete && i.naturalWidth > 0)) {
      resolve(performance.now() - window.__up);
    } else if (performance.now() - started > timeout) {
      resolve(null);
    } else {
      requestAnimationFrame(check);
    }
  };
  requestAnimationFrame(check);
});
"""


def strokes(n: int, size: float) -> list[list[tuple[float, float]]]:
    """``n`` distinct strokes inside a ``size`` square: lines and arcs across the canvas, each adding new ink."""
    out = []
    for i in range(n):
        t = (i + 0.5) / n
        if i % 2 == 0:  # a straight line, a little further right each time
            x = size * (0.1 + 0.8 * t)
            out.append([(x, size * 0.12), (x + size * 0.05, size * 0.5), (x, size * 0.88)])
        else:  # an arc
            cx, cy, r = size * 0.5, size * 0.5, size * (0.12 + 0.3 * t)
            out.append([(cx + r * math.cos(a / 10), cy + r * math.sin(a / 10)) for a in range(0, 32, 2)])
    return out


def summary_after(page, before: str) -> str:
    """The result summary once it differs from ``before`` (Markdown renders a moment after the gallery)."""
    locator = page.locator("#sketch-results-summary")
    for _ in range(20):
        text = locator.inner_text()
        if text != before and "processing" not in text:
            return text
        page.wait_for_timeout(100)
    return ""


def measure(browser, url: str, name: str, n: int, warmup: int) -> tuple[list[float], list[float]]:
    """Milliseconds from pen up to results shown for each counted stroke, and the server handler's times."""
    context = browser.new_context(**VIEWPORTS[name])
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.add_init_script(TIMING_JS)
    page.goto(url, wait_until="load")
    print(f"{name}: page loaded", flush=True)
    canvas = page.locator("#sketch-canvas canvas").first
    canvas.wait_for(state="visible")
    page.wait_for_timeout(1500)  # the app's start-up scripts (tool selection) have run
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    shown, server = [], []
    for i, points in enumerate(strokes(warmup + n, min(box["width"], box["height"]))):
        before = page.evaluate("window.__panel()")
        summary = page.locator("#sketch-results-summary").inner_text()
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
        page.mouse.up()
        ms = page.evaluate("([b, t]) => window.__resultsShown(b, t)", [before, 30_000])
        if ms is None:
            raise SystemExit(f"{name}: stroke {i + 1} showed no new results within 30 s")
        found = re.search(r"in (\d+) ms", summary_after(page, summary))
        handler = float(found.group(1)) if found else float("nan")
        print(f"{name} stroke {i + 1}{' (warm-up)' if i < warmup else ''}: {ms:.0f} ms (server handler "
              f"{handler:.0f} ms)", flush=True)
        page.wait_for_timeout(300)  # let the page settle: strokes are drawn one after another, not in a burst
        if i >= warmup:
            shown.append(ms)
            server.extend([handler] if found else [])
    context.close()
    return shown, server


def screenshot(browser, url: str, path: Path, example: str = "runway") -> None:
    """Save the whole desktop page after searching an example sketch with its class chosen as the intended class."""
    context = browser.new_context(**VIEWPORTS["desktop"])
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url, wait_until="load")
    page.locator("#sketch-canvas canvas").first.wait_for(state="visible")
    names = sorted(p.stem for p in (ROOT / "assets").glob("*.png") if p.stem != "screenshot")  # as app.py lists them
    page.locator("#sketch-examples button").nth(names.index(example)).click()
    page.wait_for_function("document.querySelectorAll('#sketch-results img').length > 0")
    target = page.locator("#sketch-target input")
    target.click()
    target.fill(example)
    target.press("Enter")
    page.wait_for_function(f"document.querySelector('#sketch-results-summary').innerText.includes('{example}: P@')")
    page.wait_for_timeout(2000)  # thumbnails and chart drawn
    page.screenshot(path=str(path), full_page=True)
    context.close()
    print(f"screenshot: {path}")


def main(argv: list[str] | None = None) -> int:
    """Draw, measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--strokes", type=int, default=10, help="strokes measured per viewport (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="strokes drawn first and not counted (default 2)")
    parser.add_argument("--viewports", nargs="+", choices=sorted(VIEWPORTS), default=["desktop", "phone"])
    parser.add_argument("--screenshot", type=Path, help="also save a desktop screenshot of a search to this file")
    parser.add_argument("--chromium", default=os.environ.get("CROSSMODAL_CHROMIUM") or shutil.which("chromium")
                        or "/usr/bin/chromium", help="the Chromium binary (default: Debian's chromium)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = {}
    with app_server(args) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_FLAGS)
        try:
            for name in args.viewports:
                rows[name] = measure(browser, url, name, args.strokes, args.warmup)
            if args.screenshot:
                screenshot(browser, url, args.screenshot)
        finally:
            browser.close()
    print(f"\npen up -> results shown, {args.strokes} strokes after {args.warmup} warm-up ({os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f})")
    print(f"{'':<34}{'p50':>8}{'p95':>8}{'mean':>8}{'max':>8}")
    for name, (shown, server) in rows.items():
        for label, values in ((f"{name}: pen up -> results (ms)", shown), (f"{name}: server handler (ms)", server)):
            if values:
                print(f"{label:<34}{percentile(values, 50):>8.0f}{percentile(values, 95):>8.0f}"
                      f"{statistics.fmean(values):>8.0f}{max(values):>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
