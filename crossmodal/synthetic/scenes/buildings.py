"""The layout of a buildings scene, and the footprints of its buildings."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _ellipse, _on_image, _rect, _union_outline
from ..props import _car, _free_points, _tree_groups
from ..scene import SIZE, Color, Scene, _jitter_color, _pick


def _frame_angle(frame: _Frame) -> float:
    return float(np.arctan2(frame.matrix[1, 0], frame.matrix[0, 0]))


def _building_footprint(rng: np.random.Generator, frame: _Frame, x: float, y: float, k: float) -> list[np.ndarray]:
    """A footprint as a union of axis-aligned rectangles (L, T, U or stepped shapes), in image coordinates."""
    w, h = rng.uniform(55, 140) * k, rng.uniform(40, 110) * k
    rects = [_rect(x, y, w, h)]
    for _ in range(int(rng.integers(0, 4))):
        ww, hh = rng.uniform(0.3, 0.8) * w, rng.uniform(0.3, 0.8) * h
        side = rng.integers(4)
        if side == 0:
            cx, cy = x + w / 2 + ww / 2 - rng.uniform(0, 0.4) * ww, y + rng.uniform(-h, h) / 2
        elif side == 1:
            cx, cy = x - w / 2 - ww / 2 + rng.uniform(0, 0.4) * ww, y + rng.uniform(-h, h) / 2
        elif side == 2:
            cx, cy = x + rng.uniform(-w, w) / 2, y + h / 2 + hh / 2 - rng.uniform(0, 0.4) * hh
        else:
            cx, cy = x + rng.uniform(-w, w) / 2, y - h / 2 - hh / 2 + rng.uniform(0, 0.4) * hh
        rects.append(_rect(cx, cy, ww, hh))
    if rng.random() < 0.15:
        rects.append(_ellipse(x + _pick(rng, (-1, 1)) * w / 2, y, h * 0.45))
    return [frame(r) for r in rects]


ROOF_COLORS: tuple[Color, ...] = ((182, 180, 175), (150, 148, 144), (208, 206, 200), (120, 118, 116),
                                  (168, 150, 128), (140, 96, 76), (196, 188, 170), (90, 92, 96))


def _buildings(rng: np.random.Generator) -> Scene:
    scene = Scene("buildings", _pick(rng, ("asphalt_old", "concrete", "asphalt", "lawn")))
    k = rng.uniform(0.8, 1.2)
    frame = _Frame(SIZE / 2, SIZE / 2, rng.uniform(0, np.pi / 2) if rng.random() < 0.6 else 0.0)
    if rng.random() < 0.5:  # a street
        off = rng.uniform(-100, 100)
        scene.add(frame(_rect(off, 0, rng.uniform(22, 40), 900)), fill="asphalt", keep=0.3)
    n = int(rng.integers(2, 6))
    placed: list[np.ndarray] = []
    for _ in range(60):
        if len(placed) >= n:
            break
        x, y = rng.uniform(-115, 115), rng.uniform(-115, 115)
        rects = _building_footprint(rng, frame, x, y, k)
        box = np.concatenate(rects)
        lo, hi = box.min(0), box.max(0)
        if any(not (hi[0] < p[0] - 5 or lo[0] > p[2] + 5 or hi[1] < p[1] - 5 or lo[1] > p[3] + 5) for p in placed):
            continue
        if not _on_image(box, -20):
            continue
        placed.append(np.concatenate([lo, hi]))
        roof = _jitter_color(rng, _pick(rng, ROOF_COLORS), 6)
        height = rng.uniform(8, 26)
        dark = tuple(c * 0.72 for c in roof)
        if rng.random() < 0.5:
            fill, strokes = _union_outline(rects, 0, eps=1.0)
            scene.add(fill, fill=roof, edge=dark, height=height, strokes=strokes, keep=0.97)
        else:  # roof sections of different heights: the sketch shows each section
            for r in rects:
                scene.add(r, fill=_jitter_color(rng, roof, 8), edge=dark, height=height * rng.uniform(0.7, 1.1),
                          occludes=True, keep=0.95)
        for _ in range(int(rng.integers(0, 7))):  # rooftop equipment
            c = rects[0].mean(0) + rng.uniform(-0.35, 0.35, 2) * np.ptp(rects[0], 0)
            scene.add(_rect(c[0], c[1], rng.uniform(3, 9), rng.uniform(3, 9), _frame_angle(frame)),
                      fill=_jitter_color(rng, (205, 205, 200), 20), height=2, keep=0.1)
    for _ in range(rng.poisson(5)):
        p = _free_points(rng, scene.parts, 1)
        if len(p):
            _car(scene, rng, p[0], frame.matrix[:, 0] if rng.random() < 0.5 else frame.matrix[:, 1], keep=0.3)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 6)), (1, 5), (3, 8), 8)
    return scene
