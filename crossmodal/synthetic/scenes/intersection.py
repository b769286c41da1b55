"""The layout of an intersection scene."""

from __future__ import annotations

import cv2
import numpy as np

from ..geometry import _Frame, _dashes, _rect, _union_outline
from ..props import _car, _tree_groups
from ..scene import _MARGIN, SIZE, Scene, _jitter_color, _pick


def _intersection(rng: np.random.Generator) -> Scene:
    scene = Scene("intersection", _pick(rng, ("lawn", "grass", "drygrass")))
    k = rng.uniform(0.85, 1.15)
    cx, cy = SIZE / 2 + rng.uniform(-35, 35), SIZE / 2 + rng.uniform(-35, 35)
    a1 = rng.uniform(0, np.pi)
    a2 = a1 + np.pi / 2 + (rng.uniform(-0.3, 0.3) if rng.random() < 0.4 else 0.0)
    widths = [rng.uniform(34, 64) * k, rng.uniform(30, 60) * k]
    frames = [_Frame(cx, cy, a1), _Frame(cx, cy, a2)]
    surface = _pick(rng, ("asphalt", "asphalt_old"))
    # sidewalks under the roads, then the roads as one surface with rounded kerbs
    if rng.random() < 0.6:
        walk = rng.uniform(6, 10)
        fill, _ = _union_outline([f(_rect(0, 0, 900, w + 2 * walk)) for f, w in zip(frames, widths)], 12, scale=1)
        scene.add(fill, fill="concrete", keep=0.0)
    fill, strokes = _union_outline([f(_rect(0, 0, 900, w)) for f, w in zip(frames, widths)], rng.uniform(6, 16),
                                   scale=1, eps=0.5)
    scene.add(fill, fill=surface, strokes=strokes, keep=1.0)
    paint, yellow = (230, 230, 225), (210, 180, 70)
    for f, w, other in zip(frames, widths, widths[::-1]):
        stop = other / 2 + rng.uniform(4, 10)
        for sign in (-1, 1):
            seg = f([[sign * stop, 0], [sign * 450, 0]])
            if rng.random() < 0.5:
                scene.add(seg, closed=False, edge=yellow, width=1.3, keep=0.55)
            else:
                for dash in _dashes(seg, 10, 14, rng.uniform(0, 20)):
                    scene.add(dash, closed=False, edge=paint, width=1.2, keep=0.5)
            if rng.random() < 0.5:  # crosswalk
                x = sign * (stop + 4)
                for y in np.arange(-w / 2 + 3, w / 2 - 2, 5.5):
                    scene.add(f(_rect(x, y, 9, 2.4)), fill=paint, alpha=0.85, keep=0.0)
                scene.add(f([[x - 5, -w / 2], [x - 5, w / 2]]), closed=False, keep=0.35)
                scene.add(f([[x + 5, -w / 2], [x + 5, w / 2]]), closed=False, keep=0.35)
            for lane_sign in (-1, 1):
                for s in rng.uniform(stop + 6, 180, rng.poisson(1.2)):
                    _car(scene, rng, f([[sign * s, lane_sign * w / 4]])[0], f.matrix[:, 0], keep=0.6)
    # buildings, lawns and parking in the four corners
    side = SIZE + 2 * _MARGIN
    road = np.zeros((side, side), np.uint8)
    cv2.fillPoly(road, [np.round((fill + _MARGIN) * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    road = cv2.dilate(road, np.ones((13, 13), np.uint8))  # keep buildings off the road and its sidewalk
    for qx in (-1, 1):
        for qy in (-1, 1):
            if rng.random() < 0.75:
                for _ in range(6):
                    bw, bh = rng.uniform(30, 80), rng.uniform(30, 70)
                    bx = qx * (widths[1] / 2 + bw / 2 + rng.uniform(6, 50))
                    by = qy * (widths[0] / 2 + bh / 2 + rng.uniform(6, 50))
                    footprint = frames[0](_rect(bx, by, bw, bh))
                    probe = np.zeros_like(road)
                    cv2.fillPoly(probe, [np.round((footprint + _MARGIN) * 16).astype(np.int32)], 255, cv2.LINE_8,
                                 shift=4)
                    if not (probe & road).any():
                        break
                else:
                    continue
                roof = _jitter_color(rng, _pick(rng, ((170, 160, 150), (120, 110, 104), (190, 120, 90),
                                                     (200, 200, 196), (140, 130, 110))), 10)
                scene.add(footprint, fill=roof, edge=tuple(c * 0.7 for c in roof), width=1,
                          height=rng.uniform(6, 14), keep=0.25)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(3, 10)), (1, 5), (3, 8), 8)
    return scene
