"""Drawings of the suite's classes, stroke by stroke on the app's canvas in headless Chromium, reach the app intact.

Uses the browser fixture of ``test_browser.py`` (it skips, saying why, without Chromium or Playwright)
and the drawing helpers of ``bench/canvas_suite.py``, which runs the same drawings for every class
with a trained checkpoint.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from test_browser import browser  # noqa: F401  (the Chromium fixture)

from crossmodal.robustness.sketches import canvas_paths

BENCH = Path(__file__).resolve().parents[1] / "bench" / "canvas_suite.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("canvas_suite", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    return module


def near(paths, side: int, width: int) -> np.ndarray:
    """Where the paths run, widened to ``width`` pixels."""
    image = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(image)
    for path in paths:
        draw.line([tuple(p) for p in path], fill=255, width=width)
    return np.asarray(image) > 0


def test_canvas_drawings_reach_the_app_as_drawn_and_get_a_class(browser, served, retriever):  # noqa: F811
    bench = load_bench()
    received = bench.record_sketch_searches(retriever)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    side = bench.CANVAS_SIDE
    for label in ("tenniscourt", "storagetanks"):
        paths = canvas_paths(label, 100, 0, side)
        search, shown = bench.draw_and_search(page, served, paths, received)
        assert search.composite.size == (side, side)
        gray = search.composite.convert("L")
        ink = np.asarray(gray) < 128
        widened = np.asarray(gray.filter(ImageFilter.MinFilter(7))) < 128
        points = np.concatenate(paths).round().astype(int).clip(0, side - 1)
        assert widened[points[:, 1], points[:, 0]].mean() > 0.95, f"{label}: strokes missing in what the app got"
        assert (ink & ~near(paths, side, 9)).sum() < 0.05 * ink.sum(), f"{label}: ink where nothing was drawn"
        assert shown == search.predicted[0][0] and shown in retriever.class_names
