"""The layout of a river scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _along, _band, _blob, _lengths, _normals, _offset, _smooth_curve
from ..scene import SIZE, Scene, _pick


def _river(rng: np.random.Generator) -> Scene:
    scene = Scene("river", _pick(rng, ("grass", "field", "drygrass", "soil")))
    k = rng.uniform(0.8, 1.2)
    f = _Frame(SIZE / 2 + rng.uniform(-30, 30), SIZE / 2 + rng.uniform(-30, 30), rng.uniform(0, np.pi))
    curve = _smooth_curve(rng, f, length=600, bend=rng.uniform(-5, 5), wiggle=rng.uniform(10, 45), n=200)
    s = np.linspace(0, 1, len(curve))
    width = rng.uniform(22, 55) * k
    left = -width * (1 + 0.35 * np.sin(2 * np.pi * (s * rng.uniform(1, 3) + rng.random())))
    right = width * (1 + 0.35 * np.sin(2 * np.pi * (s * rng.uniform(1, 3) + rng.random())))
    left += np.convolve(rng.normal(0, 6, len(s)), np.ones(9) / 9, "same")
    right += np.convolve(rng.normal(0, 6, len(s)), np.ones(9) / 9, "same")
    if rng.random() < 0.6:  # sandy / muddy banks
        scene.add(_band(curve, left - rng.uniform(4, 12), right + rng.uniform(4, 12)),
                  fill=_pick(rng, ("sand", "soil")), keep=0.0)
    scene.add(_band(curve, left, right), fill=_pick(rng, ("water", "water_muddy", "water_blue")), keep=0.0)
    for side in (left, right):  # the banks are what the sketcher draws
        scene.add(_offset(curve, side), closed=False, keep=1.0)
    if rng.random() < 0.35:  # a sand bar
        p, _ = _along(curve, rng.uniform(200, 400))
        scene.add(_blob(rng, p[0], p[1], width * 0.35, 0.3, 2.0, rng.uniform(0, np.pi)), fill="sand", keep=0.5)
    # dense riparian trees along both banks
    trees = []
    for side, sign in ((left, -1), (right, 1)):
        bank = _offset(curve, side + sign * rng.uniform(8, 16))
        total = _lengths(bank)[-1]
        for t in np.arange(0, total, rng.uniform(5, 9)):
            if rng.random() < 0.7:
                p, _ = _along(bank, t)
                p = p + rng.normal(0, 5, 2) + _normals(bank)[min(int(t / total * len(bank)), len(bank) - 1)] * sign * \
                    rng.uniform(0, 18)
                trees.append((p[0], p[1], rng.uniform(3, 7)))
    scene.trees = np.array(trees) if trees else np.zeros((0, 3))
    scene.tree_keep = 0.05
    return scene
