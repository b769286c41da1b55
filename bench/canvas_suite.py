"""Drawings of every class made on the app's canvas in a real browser: what the app received and predicted.

Serves the app in this process (gallery: the UC Merced test photos 80-99 of the 14 classes,
linked into ``runs/canvas-gallery``), opens it in headless Chromium (Debian's ``chromium``,
driven by Playwright) and, for each class, draws the strokes of the style-shift suite's scene
geometry (``crossmodal.robustness.sketches.canvas_paths``; the first hand's, or with ``--hand
second`` the second's) with mouse down / move / up on the canvas, as a person with a mouse would,
then presses Search. It keeps the composite image the
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
from crossmodal.robustness import FIRST_HAND, HANDS  # noqa: E402
from crossmodal.robustness.sketches import canvas_paths  # noqa: E402

CANVAS_SIDE = 512  # the app's canvas side: the drawing it receives has this side
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
        drawing = source.get("composite") if isinstance(source, dict) else source  # the canvas sends an image
        if hasattr(drawing, "convert"):
            received.append(Received(drawing.copy(), list(result.predicted)))
        return result

    retriever.search = recording  # the app looks the method up on each search
    return received


def open_canvas(page: Any, url: str) -> dict[str, float]:
    """Load the app with a fresh canvas and the pen in hand; the canvas's box on the page."""
    page.goto(url, wait_until="load")
    canvas = page.locator("#sketch-canvas canvas").first
    canvas.wait_for(state="visible")
    page.locator("#sketch-canvas [data-tool='pen']").first.click()  # the pen is in hand already; be sure
    return canvas.bounding_box()


def draw_paths(page: Any, box: dict[str, float], paths: Sequence[np.ndarray], side: float = CANVAS_SIDE) -> None:
    """Each path as one mouse stroke; paths are in canvas pixels (0..side), mapped onto the box shown."""
    sx, sy = box["width"] / side, box["height"] / side
    for path in paths:
        page.mouse.move(box["x"] + path[0, 0] * sx, box["y"] + path[0, 1] * sy)
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy)
        page.mouse.up()


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
    """The predicted class the page shows beside the canvas (``The model's guess: X``)."""
    summary = page.locator("#sketch-results-summary")
    summary.wait_for(state="visible")
    match = re.search(r"model's guess: (\w+)", summary.inner_text())
    return match.group(1) if match else ""


def draw_and_search(page: Any, url: str, paths: Sequence[np.ndarray], received: list[Received]) -> tuple[Received, str]:
    """Draw on a fresh canvas, press Search; the app's search of the finished drawing and the class shown."""
    box = open_canvas(page, url)
    start = len(received)
    draw_paths(page, box, paths)
    wait_until_quiet(page, received, start + 1)  # the searches made while drawing
    before = len(received)
    page.get_by_role("button", name="Search", exact=True).first.click()  # the visible tab's button
    wait_until_quiet(page, received, before + 1)
    return received[before], shown_class(page)


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
    parser.add_argument("--hand", choices=HANDS, default=FIRST_HAND,
                        help="whose descriptions of the classes are drawn (crossmodal.robustness.HANDS)")
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
            for label in args.classes:
                for index in range(args.per_class):
                    paths = canvas_paths(label, args.seed, index, CANVAS_SIDE, hand=args.hand)
                    search, shown = draw_and_search(page, url, paths, received)
                    path = args.out / label / f"{index:03d}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    search.composite.save(path)
                    rows.append({"class": label, "index": index, "file": str(path), "strokes": len(paths),
                                 "shown": shown, "predicted": search.predicted})
                    print(f"{label:<17}{index:>3}  shown {shown:<17} top-3 "
                          + ", ".join(f"{c} {p:.2f}" for c, p in search.predicted), flush=True)
            browser.close()
    finally:
        demo.close()
    (args.out / "predictions.json").write_text(json.dumps({"checkpoint": args.checkpoint, "seed": args.seed,
                                                           "hand": args.hand, "drawings": rows}, indent=2))
    print("\n| class | drawings | top-1 right (as shown) |\n|---|---|---|")
    for label in args.classes:
        mine = [r for r in rows if r["class"] == label]
        print(f"| {label} | {len(mine)} | {sum(r['shown'] == label for r in mine)} |")
    right = sum(r["shown"] == r["class"] for r in rows)
    print(f"| **all** | {len(rows)} | {right} ({right / len(rows):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
