"""The layout of a mobilehomepark scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _rect
from ..props import CAR_COLORS, _tree_groups
from ..scene import SIZE, Scene, _jitter_color, _pick


def _mobilehomepark(rng: np.random.Generator) -> Scene:
    scene = Scene("mobilehomepark", _pick(rng, ("soil", "drygrass", "lawn", "grass")))
    k = rng.uniform(0.8, 1.15)
    angle = rng.uniform(0, np.pi)
    f = _Frame(SIZE / 2 + rng.uniform(-20, 20), SIZE / 2 + rng.uniform(-20, 20), angle)
    home_l, home_w = rng.uniform(38, 56) * k, rng.uniform(11, 15) * k
    pitch = home_w + rng.uniform(5, 10) * k
    street = rng.uniform(12, 20) * k
    block = 2 * home_l + rng.uniform(8, 20) * k + street
    x = -200.0 + rng.uniform(0, block)
    surface = _pick(rng, ("asphalt", "asphalt_old"))
    if rng.random() < 0.5:  # a cross street
        cy = rng.uniform(-60, 60)
        scene.add(f(_rect(0, cy, 900, street)), fill=surface, keep=0.8)
    else:
        cy = 1e9
    roofs = ((236, 236, 232), (220, 218, 210), (200, 196, 186), (226, 226, 236), (190, 180, 170), (240, 236, 222))
    while x < 200:
        scene.add(f(_rect(x, 0, street, 900)), fill=surface, keep=0.8)
        for side in (-1, 1):
            hx = x + side * (street / 2 + 4 + home_l / 2)
            for y in np.arange(-200 + rng.uniform(0, pitch), 200, pitch):
                if abs(y - cy) < street / 2 + home_w / 2 + 2 or rng.random() < 0.08:
                    continue
                lx = hx + rng.normal(0, 1.5)
                ll = home_l * rng.uniform(0.8, 1.05)
                roof = _jitter_color(rng, _pick(rng, roofs), 6)
                scene.add(f(_rect(lx, y, ll, home_w * rng.uniform(0.9, 1.05), rng.normal(0, 0.03))), fill=roof,
                          edge=tuple(c * 0.8 for c in roof), width=0.6, height=4.0, keep=0.6)
                if rng.random() < 0.3:  # carport or car beside the home
                    scene.add(f(_rect(x + side * (street / 2 + 10), y + home_w / 2 + 2, 14, 6)),
                              fill=_jitter_color(rng, _pick(rng, CAR_COLORS), 8), height=2, keep=0.3)
        x += block
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(2, 10)), (1, 3), (3, 7), 5, clearance=1)
    return scene
