"""The layout of a freeway scene; ``_freeway_road`` also lays the roads of an overpass."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _along, _band, _dashes, _lengths, _offset, _on_image, _smooth_curve
from ..props import _car, _tree_groups
from ..scene import SIZE, Scene, _pick


def _freeway_road(scene: Scene, rng: np.random.Generator, curve: np.ndarray, k: float, cars: float,
                  car_keep: float = 0.6, lanes: int | None = None) -> float:
    """Two carriageways along ``curve``, lanes, shoulders, median and cars; returns the half-width."""
    lanes = lanes or int(rng.integers(2, 5))
    lane = rng.uniform(11, 14) * k
    shoulder = rng.uniform(3, 8) * k
    median = rng.uniform(4, 34) * k
    carriage = lanes * lane + 2 * shoulder
    surface = _pick(rng, ("asphalt", "asphalt_old", "concrete"))
    paint = (225, 225, 220)
    for side in (-1, 1):
        inner, outer = side * median / 2, side * (median / 2 + carriage)
        scene.add(_band(curve, inner, outer), fill=surface, keep=1.0)
    if median > 12 * k:
        scene.add(_band(curve, -median / 2 + 1, median / 2 - 1), fill=_pick(rng, ("grass", "drygrass", "soil")),
                  keep=0.0)
    else:
        scene.add(_band(curve, -1.5, 1.5), fill=(190, 188, 180), keep=0.0)
    phase = rng.uniform(0, 40)
    for side in (-1, 1):
        base = side * (median / 2 + shoulder)
        for edge in (base, base + side * lanes * lane):  # solid edge lines
            scene.add(_offset(curve, edge), closed=False, edge=paint, width=1.1, alpha=0.8, keep=0.3)
        for j in range(1, lanes):
            lane_curve = _offset(curve, base + side * j * lane)
            for dash in _dashes(lane_curve, 10 * k, 22 * k, phase + j * 7):
                scene.add(dash, closed=False, edge=paint, width=1.3, alpha=0.9, keep=0.85)
        total = _lengths(curve)[-1]
        for j in range(lanes):
            lane_curve = _offset(curve, base + side * (j + 0.5) * lane)
            n = rng.poisson(cars * total / 700)
            for s in rng.uniform(0, total, n):
                p, t = _along(lane_curve, s)
                if _on_image(p[None], 8):
                    _car(scene, rng, p, t, keep=car_keep)
    return median / 2 + carriage


def _freeway(rng: np.random.Generator) -> Scene:
    scene = Scene("freeway", _pick(rng, ("grass", "drygrass", "soil", "field")))
    k = rng.uniform(0.85, 1.15)
    frame = _Frame(SIZE / 2 + rng.uniform(-30, 30), SIZE / 2 + rng.uniform(-30, 30), rng.uniform(0, np.pi))
    curve = _smooth_curve(rng, frame, bend=rng.uniform(-3, 3) if rng.random() < 0.4 else 0.0)
    half = _freeway_road(scene, rng, curve, k, cars=rng.uniform(3, 14))
    if rng.random() < 0.35:  # a frontage road
        side = _pick(rng, (-1, 1))
        off = side * (half + rng.uniform(25, 60))
        scene.add(_band(curve, off - 12, off + 12), fill="asphalt_old", keep=0.5)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(2, 9)), (2, 10), (3, 8), 12)
    return scene
