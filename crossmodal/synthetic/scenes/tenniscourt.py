"""The layout of a tenniscourt scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _rect
from ..props import _tree_groups
from ..scene import SIZE, Scene, _jitter_color, _pick


def _tenniscourt(rng: np.random.Generator) -> Scene:
    scene = Scene("tenniscourt", _pick(rng, ("lawn", "grass", "asphalt_old", "drygrass")))
    k = rng.uniform(0.9, 1.3)
    n = int(rng.choice([1, 2, 2, 3, 4]))
    angle = rng.uniform(0, np.pi)
    L, W = 78 * k, 36 * k  # doubles court, baselines along local y
    pad_x, pad_y = rng.uniform(14, 24) * k, rng.uniform(6, 12) * k
    cell_w = W + 2 * pad_y
    f = _Frame(SIZE / 2 + rng.uniform(-30, 30), SIZE / 2 + rng.uniform(-30, 30), angle)
    total_w = n * cell_w
    outer_color, inner_color = _pick(rng, (
        ((70, 120, 80), (56, 104, 74)), ((60, 110, 80), (60, 90, 130)), ((150, 80, 62), (70, 110, 80)),
        ((70, 110, 90), (64, 124, 96)), ((90, 120, 90), (150, 90, 70))))
    hx, hy = L / 2 + pad_x, total_w / 2
    if rng.random() < 0.35:  # chamfered enclosure
        c = rng.uniform(6, 14) * k
        enclosure = np.array([[-hx + c, -hy], [hx - c, -hy], [hx, -hy + c], [hx, hy - c], [hx - c, hy],
                              [-hx + c, hy], [-hx, hy - c], [-hx, -hy + c]])
    else:
        enclosure = _rect(0, 0, 2 * hx, 2 * hy)
    scene.add(f(enclosure), fill=_jitter_color(rng, outer_color, 8), edge=(60, 60, 60), width=1.2, keep=0.95)
    white = (238, 238, 232)
    for i in range(n):
        y0 = -total_w / 2 + cell_w * (i + 0.5)
        scene.add(f(_rect(0, y0, L, W)), fill=_jitter_color(rng, inner_color, 6), keep=0.0)
        scene.add(f(_rect(0, y0, L, W)), closed=True, edge=white, width=1.3, keep=0.97)
        single = W * 0.75
        for s in (-1, 1):
            scene.add(f([[-L / 2, y0 + s * single / 2], [L / 2, y0 + s * single / 2]]), closed=False, edge=white,
                      width=1.1, keep=0.85)
        service = L * 0.27
        for s in (-1, 1):
            scene.add(f([[s * service, y0 - single / 2], [s * service, y0 + single / 2]]), closed=False,
                      edge=white, width=1.1, keep=0.85)
        scene.add(f([[-service, y0], [service, y0]]), closed=False, edge=white, width=1.1, keep=0.8)
        scene.add(f([[0, y0 - W / 2 - 3], [0, y0 + W / 2 + 3]]), closed=False, edge=(40, 40, 40), width=1.5,
                  height=2, keep=0.75)
        if i > 0 and rng.random() < 0.5:  # a fence between courts
            scene.add(f([[-hx, y0 - cell_w / 2], [hx, y0 - cell_w / 2]]), closed=False, edge=(70, 70, 70),
                      width=1.0, keep=0.8)
    if rng.random() < 0.5:  # a parking lot or a building beside
        side = _pick(rng, (-1, 1))
        scene.add(f(_rect(0, side * (hy + 50), 2 * hx + 40, 60)), fill="asphalt", keep=0.2)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(2, 8)), (1, 6), (3, 8), 9)
    return scene
