"""The layout of a parkinglot scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _rect
from ..props import CAR_COLORS, _tree_groups
from ..scene import SIZE, Scene, _jitter_color, _pick


def _parkinglot(rng: np.random.Generator) -> Scene:
    scene = Scene("parkinglot", _pick(rng, ("asphalt", "asphalt_old")))
    k = rng.uniform(0.85, 1.15)
    angle = rng.uniform(0, np.pi)
    f = _Frame(SIZE / 2 + rng.uniform(-20, 20), SIZE / 2 + rng.uniform(-20, 20), angle)
    stall_w, stall_d, aisle = 9.5 * k, 18 * k, rng.uniform(20, 28) * k
    slant = rng.uniform(-0.6, 0.6) if rng.random() < 0.4 else 0.0
    paint = (220, 220, 215)
    fill_rate = rng.uniform(0.5, 0.97)
    y = -170.0 + rng.uniform(0, 30)
    row_pitch = 2 * stall_d + aisle
    edge_x = rng.uniform(100, 200) if rng.random() < 0.5 else 300  # lot ends inside the image half the time
    if edge_x < 300:
        scene.add(f(_rect(edge_x + 150, 0, 300, 900)), fill=_pick(rng, ("lawn", "grass", "concrete")), keep=0.0)
        scene.add(f([[edge_x, -450], [edge_x, 450]]), closed=False, edge=(170, 170, 165), width=1.5, keep=0.7)
    while y < 170:
        for side in (0, 1):
            row_y = y + side * stall_d
            keep_lines = 0.0 if rng.random() < 0.8 else 0.6
            for x in np.arange(-190, edge_x - stall_w, stall_w):
                sx = x + slant * stall_d / 2
                scene.add(f([[x, row_y], [x + slant * stall_d, row_y + stall_d]]), closed=False, edge=paint,
                          width=1.0, alpha=0.8, keep=keep_lines)
                if rng.random() < fill_rate:
                    c = f([[sx + stall_w / 2, row_y + stall_d / 2]])[0]
                    car_angle = angle + np.pi / 2 - np.arctan(slant)
                    scene.add(_rect(c[0], c[1], 15 * k * rng.uniform(0.9, 1.1), 6.5 * k * rng.uniform(0.9, 1.1),
                                    car_angle),
                              fill=_jitter_color(rng, _pick(rng, CAR_COLORS), 8), height=2.0, keep=0.6)
        if rng.random() < 0.3:  # a planted island between the rows
            scene.add(f(_rect(0, y + stall_d, 900, 3)), fill="lawn", keep=0.3)
        y += row_pitch
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 4)), (1, 3), (3, 7), 6)
    return scene
