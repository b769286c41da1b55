"""Drawings of every class made on the app's canvas in a real browser: what the app received and predicted.

Serves the app in this process (gallery: the UC Merced test photos 80-99 of the 14 classes,
linked into ``runs/canvas-gallery``), opens it in headless Chromium (Debian's ``chromium``,
driven by Playwright) and, for each class, draws the strokes of the style-shift suite's scene
geometry (``crossmodal.robustness.sketches.canvas_paths``) with mouse down / move / up on the
Sketchpad, as a person with a mouse would, then presses Search. It keeps the composite image the
app received (``OUT/<class>/<index>.png``) and reads the class the app predicted from the page.
Prints the share of drawings whose predicted class is right, class by class, and writes
``OUT/predictions.json``. Score the drawings as a suite afterwards::

    python bench/canvas_suite.py --checkpoint runs/ucm14-old.pt --photos ../shared/data/ucmerced --per-class 2
    python -m crossmodal robustness --checkpoint runs/ucm14-old.pt --photos ../shared/data/ucmerced \\
        --styles --shifts --sketches canvas=runs/canvas

The pen is the app's own (black, its default width); the drawings use seeds the generated suite
does not (``--seed``, default 100), so they are new scenes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, not an installed package
from crossmodal.data import EOC_CLASSES  # noqa: E402
from crossmodal.robustness.sketches import canvas_paths  # noqa: E402

CANVAS_SIDE = 512  # the app's Sketchpad canvas_size: the composite it receives has this side
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
CHROMIUM = os.environ.get("CROSSMODAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@dataclass
class Received:
    """One sketch search the app ran: the composite it was given and its top classes."""

    composite: Any  # PIL image
    predicted: list[tuple[str, float]]


def record_sketch_searches(retriever: Any) -> list[Received]:
    """From now on, every canvas search the retriever runs is appended to the returned list."""
    received: list[Received] = []
    search = retriever.search

    def recording(source, query_modality, gallery, *args, **kwargs):
        result = search(source, query_modality, gallery, *args, **kwargs)
        if isinstance(source, dict) and source.get("composite") is not None:
            received.append(Received(source["composite"].copy(), list(result.predicted)))
        return result

    retriever.search = recording  # the app looks the method up on each search
    return received


@dataclass(frozen=True)
class CanvasMap:
    """Where a point of the drawing (canvas pixels, as the app receives them) is on the page.

    Offsets are from the top left corner of the canvas element, so the map survives the page
    moving the element (content loading above it) between calibration and drawing.
    """

    x0: float  # position of the drawing's top left corner in the canvas element, page pixels
    y0: float
    scale_x: float  # page pixels per canvas pixel
    scale_y: float

    def to_page(self, box: dict[str, float], x: float, y: float) -> tuple[float, float]:
        """The page position of canvas point (x, y) when the canvas element is at ``box``."""
        return box["x"] + self.x0 + x * self.scale_x, box["y"] + self.y0 + y * self.scale_y


PAGE = CanvasMap(0.0, 0.0, 1.0, 1.0)  # positions relative to the canvas element, in page pixels


def open_canvas(page: Any, url: str, timeout_s: float = 60.0) -> dict[str, float]:
    """Load the app with a fresh canvas and the brush in hand; the canvas element's box once the page is still."""
    page.goto(url, wait_until="load")
    canvas = page.locator("#sketch-canvas canvas").first
    canvas.wait_for(state="visible")
    page.locator("#sketch-canvas button[aria-label='Brush']").first.click()  # the app selects it too; be sure
    box, deadline = canvas.bounding_box(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # the layout moves while the rest of the page loads
        page.wait_for_timeout(500)
        now = canvas.bounding_box()
        if now == box:
            break
        box = now
    return box


def draw_paths(page: Any, box: dict[str, float], where: CanvasMap, paths: Sequence[np.ndarray]) -> None:
    """Each path (canvas pixels) as one mouse stroke: button down, a move to each point, button up.

    The editor samples the pointer once an animation frame, so every event waits for the next
    frame: moves sent faster are merged and the corners between them lost (a busy page, one
    rendering search results, draws few frames).
    """
    for path in paths:
        page.mouse.move(*where.to_page(box, *path[0]))
        page.evaluate(NEXT_FRAME)
        page.mouse.down()
        page.evaluate(NEXT_FRAME)
        for x, y in path[1:]:
            page.mouse.move(*where.to_page(box, x, y))
            page.evaluate(NEXT_FRAME)
        page.mouse.up()
        page.evaluate(NEXT_FRAME)


def search_now(page: Any, received: list[Received]) -> Received:
    """Let the searches made while drawing finish, press Search: the app's search of the canvas as it is now."""
    wait_until_quiet(page, received, 0)
    before = len(received)
    page.get_by_role("button", name="Search", exact=True).first.click()  # the visible tab's button
    wait_until_quiet(page, received, before + 1)
    return received[before]


def calibrate(page: Any, url: str, received: list[Received], tries: int = 3) -> CanvasMap:
    """Find where the drawing lies inside the canvas element: two marks drawn, located in what the app receives.

    The editor shows the square drawing scaled to fit, with a margin, inside a canvas element of
    another shape; the margin is the editor's own, so it is measured rather than assumed. Each mark
    is a small square outline; both must arrive whole (square, of equal size), else it tries again.

    Raises:
        RuntimeError: no try gave two whole marks.
    """
    r = 12.0
    for _ in range(tries):
        box = open_canvas(page, url)
        marks = [(box["width"] * f, box["height"] * f) for f in (0.3, 0.7)]  # in the canvas element
        draw_paths(page, box, PAGE, [np.array([(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r),
                                               (x - r, y - r)]) for x, y in marks])
        composite = search_now(page, received).composite
        ink = np.argwhere(np.asarray(composite.convert("L")) < 128)[:, ::-1] + 0.5  # (x, y); pixel i is [i, i + 1)
        if len(ink) == 0:
            continue
        near_first = np.linalg.norm(ink - ink.min(0), axis=1) < np.linalg.norm(ink - ink.max(0), axis=1)
        extents = [(ink[part].min(0), ink[part].max(0)) for part in (near_first, ~near_first)]
        sizes = np.array([high - low for low, high in extents])  # (mark, axis)
        if not ink[~near_first].size or sizes.min() <= 0 or sizes.max() / sizes.min() > 1.2:
            continue
        (first, second), ((x1, y1), (x2, y2)) = [(low + high) / 2 for low, high in extents], marks
        scale_x, scale_y = (x2 - x1) / (second[0] - first[0]), (y2 - y1) / (second[1] - first[1])
        return CanvasMap(x1 - first[0] * scale_x, y1 - first[1] * scale_y, scale_x, scale_y)
    raise RuntimeError(f"the calibration marks did not reach the app whole in {tries} tries: is the brush selected?")


def wait_until_quiet(page: Any, received: list[Received], at_least: int, quiet_ms: int = 1500,
                     timeout_s: float = 120.0) -> None:
    """Wait until the app has run ``at_least`` searches and none has arrived for ``quiet_ms``."""
    deadline, count, since = time.monotonic() + timeout_s, len(received), time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        if len(received) != count:
            count, since = len(received), time.monotonic()
        elif count >= at_least and (time.monotonic() - since) * 1000 >= quiet_ms:
            return
    raise TimeoutError(f"the app ran {len(received)} sketch searches, expected at least {at_least}")


def shown_class(page: Any) -> str:
    """The predicted class the page shows above the results (``Target class: X``)."""
    summary = page.locator("#sketch-results-summary")
    summary.wait_for(state="visible")
    match = re.search(r"Target class: (\w+)", summary.inner_text())
    return match.group(1) if match else ""


def coverage(composite: Any, paths: Sequence[np.ndarray], reach: int = 3) -> float:
    """Share of the drawn paths (sampled every 2 px) with ink within ``reach`` pixels in ``composite``."""
    from PIL import ImageFilter

    near_ink = np.asarray(composite.convert("L").filter(ImageFilter.MinFilter(2 * reach + 1))) < 128
    points = np.concatenate([_along(path, 2.0) for path in paths]).round().astype(int)
    points = points.clip(0, np.array(near_ink.shape[::-1]) - 1)
    return float(near_ink[points[:, 1], points[:, 0]].mean())


def _along(path: np.ndarray, step: float) -> np.ndarray:
    lengths = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    s = np.linspace(0, lengths[-1], max(2, int(lengths[-1] / step) + 1))
    return np.stack([np.interp(s, lengths, path[:, 0]), np.interp(s, lengths, path[:, 1])], 1)


def draw_and_search(page: Any, url: str, where: CanvasMap, paths: Sequence[np.ndarray], received: list[Received],
                    tries: int = 3) -> tuple[Received, str]:
    """Draw on a fresh canvas, press Search; the app's search of the finished drawing and the class shown.

    The editor hands the app its drawing a little after the last stroke; Search is pressed again
    (up to ``tries`` times, a few seconds apart) until the drawing the app searched is the one drawn.
    """
    box = open_canvas(page, url)
    draw_paths(page, box, where, paths)
    for _ in range(tries):
        search = search_now(page, received)
        if coverage(search.composite, paths) >= 0.9:
            break
        page.wait_for_timeout(3000)
    return search, shown_class(page)


def link_gallery(photos: Path, out: Path, classes: Sequence[str]) -> Path:
    """A gallery folder of symbolic links to the test photos (80-99) of ``classes``."""
    from crossmodal.robustness.imagery import suite_photos

    for sample in suite_photos(photos, classes):
        link = out / sample.label / sample.path.name
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(sample.path.resolve())
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "ucm14.pt"))
    parser.add_argument("--photos", required=True, help="UC Merced folder: its test photos become the gallery")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "canvas", help="where the composites go")
    parser.add_argument("--per-class", type=int, default=2, help="drawings of each class")
    parser.add_argument("--seed", type=int, default=100, help="scene seed (the generated suite uses 0)")
    parser.add_argument("--classes", nargs="+", default=list(EOC_CLASSES))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    import app

    gallery = link_gallery(Path(args.photos), ROOT / "runs" / "canvas-gallery", args.classes)
    settings = app.resolve_settings(app.parse_args(
        ["--checkpoint", args.checkpoint, "--photos", str(gallery), "--index-dir",
         str(ROOT / "runs" / f"canvas-index-{Path(args.checkpoint).stem}"), "--port", str(free_port())]), env={})
    retriever = app.open_retriever(settings)
    received = record_sketch_searches(retriever)
    demo = app.build_demo(retriever, settings)
    demo.queue(max_size=16, default_concurrency_limit=1)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(retriever, settings))
    url = f"http://127.0.0.1:{settings.port}/"
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            where = calibrate(page, url, received)
            for label in args.classes:
                for index in range(args.per_class):
                    paths = canvas_paths(label, args.seed, index, CANVAS_SIDE)
                    search, shown = draw_and_search(page, url, where, paths, received)
                    path = args.out / label / f"{index:03d}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    search.composite.save(path)
                    rows.append({"class": label, "index": index, "file": str(path), "strokes": len(paths),
                                 "coverage": round(coverage(search.composite, paths), 3), "shown": shown,
                                 "predicted": search.predicted})
                    print(f"{label:<17}{index:>3}  shown {shown:<17} top-3 "
                          + ", ".join(f"{c} {p:.2f}" for c, p in search.predicted), flush=True)
            browser.close()
    finally:
        demo.close()
    (args.out / "predictions.json").write_text(json.dumps({"checkpoint": args.checkpoint, "seed": args.seed,
                                                           "drawings": rows}, indent=2))
    print("\n| class | drawings | top-1 right (as shown) |\n|---|---|---|")
    for label in args.classes:
        mine = [r for r in rows if r["class"] == label]
        print(f"| {label} | {len(mine)} | {sum(r['shown'] == label for r in mine)} |")
    right = sum(r["shown"] == r["class"] for r in rows)
    print(f"| **all** | {len(rows)} | {right} ({right / len(rows):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
