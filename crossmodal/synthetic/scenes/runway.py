"""The layout of a runway scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _dashes, _rect, _union_outline
from ..props import _tree_groups
from ..scene import SIZE, Scene, _pick


def _runway(rng: np.random.Generator) -> Scene:
    scene = Scene("runway", _pick(rng, ("grass", "drygrass", "field")))
    k = rng.uniform(0.8, 1.2)
    frame = _Frame(SIZE / 2 + rng.uniform(-40, 40), SIZE / 2 + rng.uniform(-40, 40), rng.uniform(0, np.pi))
    width = 150 * k * rng.uniform(0.75, 1.1)
    surface = _pick(rng, ("asphalt", "asphalt_old", "concrete"))
    end = rng.uniform(-60, 60) if rng.random() < 0.25 else -900.0  # the threshold is in view a quarter of the time
    taxi_side = _pick(rng, (-1, 1))
    pavement = [frame(_rect((end + 900) / 2, 0, 900 - end, width))]
    off = 0.0
    if rng.random() < 0.5:  # a parallel taxiway with connectors
        tw = width * rng.uniform(0.25, 0.4)
        off = taxi_side * (width / 2 + tw / 2 + rng.uniform(35, 90) * k)
        pavement.append(frame(_rect(0, off, 1200, tw)))
        for x in rng.uniform(-150, 150, rng.integers(1, 3)):
            slant = rng.uniform(-0.6, 0.6) * abs(off)
            pavement.append(frame([[x - tw / 2, 0], [x + tw / 2, 0], [x + tw / 2 + slant, off],
                                   [x - tw / 2 + slant, off]]))
    fill, strokes = _union_outline(pavement, rng.uniform(0, 12), eps=1.0)
    scene.add(fill, fill=surface, strokes=strokes, keep=1.0)
    if off:
        scene.add(frame([[-600, off], [600, off]]), closed=False, edge=(200, 170, 60), width=1.2, keep=0.0)
    if rng.random() < 0.7:  # dark rubber marks along the centre
        for _ in range(rng.integers(2, 6)):
            y = rng.normal(0, width * 0.12)
            x0 = rng.uniform(-300, 200)
            scene.add(frame(_rect(x0, y, rng.uniform(60, 300), rng.uniform(3, 10))), fill=(40, 40, 42),
                      alpha=rng.uniform(0.15, 0.45), keep=0.0)
    x_from = max(end, -900) + 10
    paint = (238, 238, 235)
    inset = width * rng.uniform(0.03, 0.07)
    for side in (-1, 1):  # painted edge stripes
        scene.add(frame([[x_from, side * (width / 2 - inset)], [900, side * (width / 2 - inset)]]), closed=False,
                  edge=paint, width=1.6, keep=0.15)
    on, off = rng.uniform(22, 34) * k, rng.uniform(14, 24) * k
    centre = frame(np.stack([np.linspace(x_from + 30, 900, 200), np.zeros(200)], 1))
    for dash in _dashes(centre, on, off, rng.uniform(0, on + off)):
        scene.add(dash, closed=False, edge=paint, width=2.0, keep=0.95)
    # touchdown-zone and aiming-point bars
    bar_x = rng.uniform(-110, 60) if end <= -900 else end + rng.uniform(70, 120)
    for side in (-1, 1):
        if rng.random() < 0.75:
            n_bars = int(rng.integers(1, 4))
            for j in range(n_bars):
                y = side * (width * 0.18 + j * width * 0.07)
                scene.add(frame(_rect(bar_x, y, rng.uniform(40, 70) * k, width * 0.04)), fill=paint, keep=0.8)
    if end > -900:  # threshold piano keys
        n_keys = int(rng.integers(6, 12))
        for y in np.linspace(-width / 2 + inset * 2, width / 2 - inset * 2, n_keys):
            if abs(y) < width * 0.06:
                continue
            scene.add(frame(_rect(end + 20, y, 30 * k, width * 0.035)), fill=paint, keep=0.7)
        scene.add(frame([[end + 3, -width / 2 + inset], [end + 3, width / 2 - inset]]), closed=False, edge=paint,
                  width=2.0, keep=0.5)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 3)), (1, 5), (3, 7), 10)
    return scene
