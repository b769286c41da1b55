"""The layout of a golfcourse scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _along, _band, _blob, _offset, _smooth_curve, _union_outline
from ..props import _tree_groups
from ..scene import SIZE, Scene, _pick


def _golfcourse(rng: np.random.Generator) -> Scene:
    scene = Scene("golfcourse", "rough")
    k = rng.uniform(0.8, 1.2)
    f = _Frame(SIZE / 2 + rng.uniform(-30, 30), SIZE / 2 + rng.uniform(-30, 30), rng.uniform(0, 2 * np.pi))
    curve = _smooth_curve(rng, f, length=420, bend=rng.uniform(-6, 6), wiggle=rng.uniform(0, 20), n=60)
    s = np.linspace(0, 1, len(curve))
    half = rng.uniform(28, 50) * k * (1 + 0.25 * np.sin(2 * np.pi * (s * 1.5 + rng.random())))
    fill, strokes = _union_outline([_band(curve, -half, half)], 0, eps=0.9)
    scene.add(fill, fill="fairway", strokes=strokes, keep=0.9)
    end = _along(curve, [rng.uniform(250, 330)])[0][0]
    green = _blob(rng, end[0], end[1], rng.uniform(18, 30) * k, 0.25, rng.uniform(1.0, 1.5), rng.uniform(0, np.pi))
    scene.add(green, fill="green", keep=0.95)
    for _ in range(int(rng.integers(1, 5))):  # bunkers around the green and beside the fairway
        p = end + rng.normal(0, 35, 2) if rng.random() < 0.6 else _along(curve, [rng.uniform(60, 300)])[0][0] + \
            rng.normal(0, 30, 2)
        scene.add(_blob(rng, p[0], p[1], rng.uniform(6, 15) * k, 0.4, rng.uniform(1, 2), rng.uniform(0, np.pi)),
                  fill="sand", keep=0.9)
    if rng.random() < 0.4:  # a pond
        p = rng.uniform(40, 216, 2)
        scene.add(_blob(rng, p[0], p[1], rng.uniform(18, 40), 0.35, rng.uniform(1, 1.8), rng.uniform(0, np.pi)),
                  fill=_pick(rng, ("water", "water_blue")), keep=0.95)
    if rng.random() < 0.5:  # cart path
        path = _offset(curve, half + rng.uniform(8, 20))
        scene.add(path, closed=False, edge=(190, 186, 176), width=2.0, keep=0.35)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(4, 12)), (3, 14), (4, 9), 12, clearance=2)
    scene.tree_keep = 0.7
    return scene
