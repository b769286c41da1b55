"""Trees, cars and free ground: the props that several classes' scenes share."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .geometry import _rect
from .scene import SIZE, Color, Part, Scene, _jitter_color, _pick


_OPEN_GROUND = ("grass", "lawn", "rough", "drygrass", "field")  # materials trees and cars may stand on


def _blocked(parts: Sequence[Part], clearance: float) -> np.ndarray:
    """(SIZE, SIZE) bool: where filled parts (other than open ground) are, grown by ``clearance`` pixels."""
    blocked = np.zeros((SIZE, SIZE), np.uint8)
    for part in parts:
        if part.closed and part.fill is not None and part.fill not in _OPEN_GROUND:
            cv2.fillPoly(blocked, [np.round(part.points * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    k = int(2 * clearance + 1)
    return cv2.dilate(blocked, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0


def _free_points(rng: np.random.Generator, parts: Sequence[Part], n: int, clearance: float = 4.0) -> np.ndarray:
    """Up to ``n`` random image points that no filled part covers."""
    blocked = _blocked(parts, clearance)
    candidates = rng.uniform(0, SIZE, (n * 4, 2))
    ok = ~blocked[candidates[:, 1].astype(int).clip(0, SIZE - 1), candidates[:, 0].astype(int).clip(0, SIZE - 1)]
    return candidates[ok][:n]


def _tree_groups(rng: np.random.Generator, parts: Sequence[Part], groups: int, per_group: tuple[int, int],
                 radius: tuple[float, float], spread: float, clearance: float = 3.0) -> np.ndarray:
    """Clusters of tree crowns on free ground: (n, 3) rows of x, y, radius."""
    centres = _free_points(rng, parts, groups, clearance + 4)
    trees = []
    for c in centres:
        k = rng.integers(per_group[0], per_group[1] + 1)
        pts = c + rng.normal(0, spread, (k, 2))
        trees.append(np.column_stack([pts, rng.uniform(*radius, k)]))
    if not trees:
        return np.zeros((0, 3))
    trees = np.concatenate(trees)
    blocked = _blocked(parts, clearance)
    ix, iy = trees[:, 0].astype(int), trees[:, 1].astype(int)
    inside = (ix >= 0) & (ix < SIZE) & (iy >= 0) & (iy < SIZE)
    keep = np.zeros(len(trees), bool)
    keep[inside] = ~blocked[iy[inside], ix[inside]]
    return trees[keep]


CAR_COLORS: tuple[Color, ...] = ((235, 235, 232), (240, 240, 240), (228, 230, 232), (30, 30, 34), (20, 22, 26),
                                 (40, 40, 44), (160, 162, 166), (190, 190, 192), (175, 176, 180), (150, 30, 30),
                                 (40, 60, 120), (90, 90, 96), (200, 200, 190), (110, 20, 24), (60, 70, 64))


def _car(scene: Scene, rng: np.random.Generator, center, tangent, length: float = 14.0, width: float = 6.0,
         keep: float = 0.6) -> None:
    angle = float(np.arctan2(tangent[1], tangent[0]))
    scene.add(_rect(center[0], center[1], length * rng.uniform(0.9, 1.15), width * rng.uniform(0.9, 1.1), angle),
              fill=_jitter_color(rng, _pick(rng, CAR_COLORS), 8), height=2.0, keep=keep)
