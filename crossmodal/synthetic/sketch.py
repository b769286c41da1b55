"""Render a :class:`Scene` as a pen sketch on white paper, as a person would draw it from the layout."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .geometry import _lengths, _mask_outlines, _on_image, _resample
from .scene import _MARGIN, SIZE, Scene


_SKETCH_SCALE = 2  # strokes are drawn at twice the size, then reduced: smooth, sub-pixel pen widths


def _wobble(points: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Smooth sideways drift along a stroke plus a faint tremor: a hand, not a ruler."""
    if len(points) < 2:
        return points
    s = _lengths(points)
    size = max(float(np.ptp(points, 0).max()), 1.0)
    amp = min(amplitude, 0.05 * size + 0.3)
    offset = np.zeros(len(points))
    for _ in range(2):
        wavelength = rng.uniform(40, 160)
        offset += amp * rng.normal(0, 0.7) * np.sin(2 * np.pi * s / wavelength + rng.uniform(0, 2 * np.pi))
    offset += rng.normal(0, 0.12, len(points))
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    return points + normal * offset[:, None]


def _extend(points: np.ndarray, start: float, end: float) -> np.ndarray:
    """Lengthen (positive) or shorten (negative) an open stroke at its ends."""
    pts = points.copy()
    for index, inner, amount in ((0, 1, start), (-1, -2, end)):
        direction = pts[index] - pts[inner]
        norm = np.linalg.norm(direction)
        if norm > 1e-6:
            pts[index] = pts[index] + direction / norm * max(amount, -0.45 * norm)
    return pts


def _hand_strokes(points: np.ndarray, closed: bool, rng: np.random.Generator, style: dict) -> list[np.ndarray]:
    """How a person draws one outline: separate sides or one loop, with overshoot and wobble."""
    strokes: list[np.ndarray] = []
    size = float(np.ptp(points, 0).max()) if len(points) else 0.0
    if closed and len(points) <= 8 and size > 12 and rng.random() < style["sides"]:
        reach = min(1.0, size / 40)  # small boxes get small overshoots
        for a, b in zip(points, np.roll(points, -1, axis=0)):
            seg = _extend(np.stack([a, b]), reach * rng.normal(style["overshoot"], 1.0),
                          reach * rng.normal(style["overshoot"], 1.0))
            strokes.append(seg)
    else:
        pts = points
        if closed:
            pts = np.concatenate([points, points[:1]])
            if size > 10:  # the loop does not close exactly
                gap = rng.normal(0, 1.2, 2)
                pts = pts.copy()
                pts[-1] = pts[-1] + gap
        elif len(pts) >= 2:
            pts = _extend(pts, rng.normal(0.5, 1.0), rng.normal(0.5, 1.0))
        strokes.append(pts)
    return [_wobble(_resample(s, False, 4.0), rng, style["wobble"]) for s in strokes]


def _visible_runs(stroke: np.ndarray, hidden: np.ndarray) -> list[np.ndarray]:
    """Split a stroke where it passes under an occluding part (``hidden`` is a padded mask)."""
    dense = _resample(stroke, False, 1.0)
    ix = np.clip(np.round(dense[:, 0] + _MARGIN).astype(int), 0, hidden.shape[1] - 1)
    iy = np.clip(np.round(dense[:, 1] + _MARGIN).astype(int), 0, hidden.shape[0] - 1)
    visible = hidden[iy, ix] == 0
    if visible.all():
        return [stroke]
    runs, start = [], None
    for i, v in enumerate(np.append(visible, False)):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start >= 3:
                runs.append(dense[start:i:3] if i - start > 6 else dense[start:i])
            start = None
    return runs


def _tree_outlines(trees: np.ndarray) -> list[np.ndarray]:
    """Scalloped outlines of groups of tree crowns (what a person draws for a clump of trees)."""
    if not len(trees):
        return []
    scale = 2
    side = (SIZE + 2 * _MARGIN) * scale
    mask = np.zeros((side, side), np.uint8)
    for x, y, r in trees:
        cv2.circle(mask, (int((x + _MARGIN) * scale), int((y + _MARGIN) * scale)), int(r * scale * 1.05), 255, -1)
    return [np.concatenate([p, p[:1]]) if closed else p for p, closed in _mask_outlines(mask, scale, 0.6)]


def render_sketch(scene: Scene, rng: np.random.Generator) -> Image.Image:
    """Render a scene's geometry as a hand-drawn sketch (RGB, ``SIZE`` pixels, dark strokes on white)."""
    style = {
        "sides": rng.uniform(0.2, 0.8),  # share of boxes drawn side by side rather than in one loop
        "overshoot": rng.uniform(-0.5, 2.5),  # how far side strokes run past the corners, pixels
        "wobble": rng.uniform(0.4, 1.5),  # amplitude of the hand's drift, pixels
        "detail": rng.uniform(0.75, 1.1),  # how much of the small stuff this person bothers to draw
    }
    pen = rng.uniform(0.45, 0.9)  # pen width, pixels (the real sketches: about 1.2 once antialiased)
    ink = rng.uniform(30, 80)  # darkness of the ink (0 = black; a fine pen scanned is dark grey)
    # the sketcher's copy of the layout is a little off: rotation, scale and shift about the centre
    a, s = rng.normal(0, 0.035), rng.uniform(0.93, 1.05)
    matrix = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * s
    shift = rng.normal(0, 4, 2) + SIZE / 2

    def place(p: np.ndarray) -> np.ndarray:
        return (p - SIZE / 2) @ matrix.T + shift

    hidden = np.zeros((SIZE + 2 * _MARGIN, SIZE + 2 * _MARGIN), np.uint8)
    anything_hidden = False
    strokes: list[np.ndarray] = []
    for part in reversed(scene.parts):  # top-most first: its outline hides what lies below
        draw = part.keep > 0 and rng.random() < min(1.0, part.keep * (style["detail"] if part.keep < 0.9 else 1.0))
        draw = draw and rng.random() > 0.02  # even the main lines are sometimes forgotten
        if draw:
            outlines = [(p, False) for p in part.strokes] if part.strokes is not None else [(part.points, part.closed)]
            for points, closed in outlines:
                if len(points) < 2 or not _on_image(points, 4):
                    continue
                for stroke in _hand_strokes(place(points), closed, rng, style):
                    strokes.extend(_visible_runs(stroke, hidden) if anything_hidden else [stroke])
        if part.occludes:
            anything_hidden = True
            cv2.fillPoly(hidden, [np.round((place(part.points) + _MARGIN) * 16).astype(np.int32)], 255, cv2.LINE_8,
                         shift=4)
            hidden = cv2.dilate(hidden, np.ones((3, 3), np.uint8))
    if scene.tree_keep > 0:
        for outline in _tree_outlines(scene.trees):
            if rng.random() < scene.tree_keep and _on_image(outline, 0):
                strokes.append(_wobble(_resample(place(outline), False, 3.0), rng, 0.5))
    side = SIZE * _SKETCH_SCALE
    canvas = np.full((side, side), 255, np.uint8)
    for stroke in strokes:
        if rng.random() < 0.04 and len(stroke) > 4:  # a stroke that trails off early
            stroke = stroke[: int(len(stroke) * rng.uniform(0.4, 0.9))]
        thickness = max(1, int(round(pen * _SKETCH_SCALE * rng.uniform(0.8, 1.2))))
        level = int(np.clip(ink + rng.normal(0, 12), 0, 140))
        cv2.polylines(canvas, [np.round(stroke * _SKETCH_SCALE * 16).astype(np.int32)], False, level, thickness,
                      cv2.LINE_AA, shift=4)
    gray = cv2.resize(canvas, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    paper = rng.uniform(248, 255)  # scanned paper is white or nearly so
    gray = np.clip(gray * (paper / 255.0) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(gray, "L").convert("RGB")
