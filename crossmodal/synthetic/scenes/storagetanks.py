"""The layout of a storagetanks scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _ellipse, _rect
from ..props import _free_points, _tree_groups
from ..scene import SIZE, Scene, _jitter_color, _pick


def _storagetanks(rng: np.random.Generator) -> Scene:
    scene = Scene("storagetanks", _pick(rng, ("soil", "concrete", "drygrass", "asphalt_old")))
    k = rng.uniform(0.8, 1.2)
    clarifier = rng.random() < 0.25
    n = int(rng.integers(1, 3)) if clarifier else int(rng.choice([1, 2, 3, 4, 5, 6, 8]))
    r_max = {1: 70, 2: 55, 3: 45, 4: 40, 5: 32, 6: 30, 8: 24}[n] * k
    centres: list[tuple[float, float, float]] = []
    for _ in range(n * 30):
        if len(centres) >= n:
            break
        r = rng.uniform(0.6, 1.0) * r_max
        c = rng.uniform(r * 0.6, SIZE - r * 0.6, 2)
        if any(np.hypot(c[0] - x, c[1] - y) < r + rr + 8 for x, y, rr in centres):
            continue
        centres.append((c[0], c[1], r))
    if rng.random() < 0.5:  # containment berm around the farm
        pts = np.array([[x, y] for x, y, _ in centres])
        lo, hi = pts.min(0) - r_max - 12, pts.max(0) + r_max + 12
        scene.add([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]], fill="soil", edge=(120, 110, 95),
                  width=2, keep=0.5)
    if rng.random() < 0.6 and len(centres) > 1:  # pipes between tanks
        for (x0, y0, _), (x1, y1, _) in zip(centres, centres[1:]):
            scene.add([[x0, y0], [x1, y1]], closed=False, edge=(110, 110, 112), width=1.6, keep=0.6)
    top = _pick(rng, ((232, 232, 228), (214, 214, 210), (200, 200, 196), (170, 172, 170)))
    for x, y, r in centres:
        if clarifier:
            scene.add(_ellipse(x, y, r), fill=(205, 203, 196), height=3, occludes=True, keep=1.0)
            scene.add(_ellipse(x, y, r - 4), fill=_pick(rng, ((40, 52, 50), (70, 80, 66), (30, 40, 44))), keep=0.6)
            a = rng.uniform(0, np.pi)
            arm = np.array([np.cos(a), np.sin(a)]) * (r - 4)
            scene.add([[x - arm[0], y - arm[1]], [x + arm[0], y + arm[1]]], closed=False, edge=(225, 225, 220),
                      width=2.0, keep=0.8)
            scene.add(_ellipse(x, y, r * 0.12), fill=(210, 210, 205), keep=0.6)
        else:
            scene.add(_ellipse(x, y, r), fill=_jitter_color(rng, top, 8), edge=(150, 150, 148), width=1.0,
                      height=r * rng.uniform(0.5, 1.0), occludes=True, keep=1.0)
            if rng.random() < 0.6:
                scene.add(_ellipse(x, y, r * rng.uniform(0.75, 0.9)), edge=(165, 165, 162), width=1.0,
                          closed=True, keep=0.5)
            if rng.random() < 0.3:
                scene.add(_ellipse(x, y, r * 0.08), fill=(120, 120, 120), keep=0.4)
    for _ in range(int(rng.integers(0, 3))):  # small buildings
        p = _free_points(rng, scene.parts, 1, 12)
        if len(p):
            scene.add(_rect(p[0, 0], p[0, 1], rng.uniform(14, 30), rng.uniform(10, 24), rng.uniform(0, np.pi)),
                      fill=_jitter_color(rng, (180, 176, 170), 15), height=5, keep=0.6)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 4)), (1, 4), (3, 7), 8)
    return scene
