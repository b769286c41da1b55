"""The layout of a baseballdiamond scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _ellipse, _rect
from ..props import _tree_groups
from ..scene import SIZE, Scene, _pick


def _baseballdiamond(rng: np.random.Generator) -> Scene:
    scene = Scene("baseballdiamond", _pick(rng, ("lawn", "grass")))
    k = rng.uniform(0.85, 1.25)
    angle = rng.uniform(0, 2 * np.pi)
    base = 85.0
    c, s = np.cos(angle), np.sin(angle)
    middle = np.array([[c, -s], [s, c]]) @ np.array([base / 2, base / 2]) * k  # the pitcher's mound
    home = np.array([SIZE / 2, SIZE / 2]) - middle + rng.uniform(-35, 35, 2)
    f = _Frame(home[0], home[1], angle, k)  # local +x/+y: the two foul lines, home plate at the origin
    infield_r = base * rng.uniform(1.25, 1.45)
    if rng.random() < 0.5:  # the whole outfield in a lighter mown grass
        t = np.linspace(0, np.pi / 2, 24)
        reach = 300
        scene.add(f(np.concatenate([[[0, 0]], np.stack([reach * np.cos(t), reach * np.sin(t)], 1)])),
                  fill="fairway", keep=0.0)
    # the infield skin: foul-line wedge cut by an arc
    t = np.linspace(0, np.pi / 2, 40)
    skin = np.concatenate([[[-8, -8], [infield_r * 0.35, -8]],
                           np.stack([infield_r * np.cos(t), infield_r * np.sin(t)], 1)[3:-3],
                           [[-8, infield_r * 0.35]]])
    scene.add(f(skin), fill="dirt", keep=1.0)
    grass_in = _rect(base / 2 + 4, base / 2 + 4, base * 0.72, base * 0.72, 0)
    scene.add(f(grass_in), fill="lawn", keep=0.7)
    scene.add(f(_ellipse(base / 2 + 2, base / 2 + 2, 7)), fill="dirt", keep=0.6)  # pitcher's mound
    for p in ((base, 0), (base, base), (0, base), (0, 0)):
        scene.add(f(_rect(p[0], p[1], 3, 3, np.pi / 4)), fill=(245, 245, 240), keep=0.3)
    scene.add(f(_ellipse(0, 0, 11)), fill="dirt", keep=0.5)
    for line in (((0, 0), (400, 0)), ((0, 0), (0, 400))):  # foul lines
        scene.add(f(line), closed=False, edge=(240, 240, 236), width=1.2, keep=0.7)
    # backstop fence behind home plate
    scene.add(f([[-20, 25], [-20, -20], [25, -20]]), closed=False, edge=(140, 140, 140), width=1.5, keep=0.8)
    if rng.random() < 0.6:  # outfield fence
        t = np.linspace(-0.1, np.pi / 2 + 0.1, 40)
        reach = rng.uniform(200, 260)
        scene.add(f(np.stack([reach * np.cos(t), reach * np.sin(t)], 1)), closed=False, edge=(60, 80, 60), width=2,
                  keep=0.7)
    if rng.random() < 0.4:  # dugouts / bleachers
        for p in ((40, -24), (-24, 40)):
            scene.add(f(_rect(p[0], p[1], 30 if p[1] < 0 else 8, 8 if p[1] < 0 else 30)), fill=(170, 168, 160),
                      height=3, keep=0.5)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 5)), (1, 6), (3, 8), 10)
    return scene
