"""The layout of an overpass scene."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _along, _band, _dashes, _lengths, _offset, _on_image, _smooth_curve
from ..props import _car, _tree_groups
from ..scene import SIZE, Scene, _pick
from .freeway import _freeway_road


def _freeway_below(rng: np.random.Generator, shift: float, cars: tuple[float, float],
                   car_keep: float) -> tuple[Scene, float, float, _Frame]:
    """An overpass scene's ground and the freeway under its bridges: (scene, scale, angle, frame)."""
    scene = Scene("overpass", _pick(rng, ("grass", "drygrass", "soil")))
    k = rng.uniform(0.85, 1.15)
    angle = rng.uniform(0, np.pi)
    frame = _Frame(SIZE / 2 + rng.uniform(-shift, shift), SIZE / 2 + rng.uniform(-shift, shift), angle)
    lower = _smooth_curve(rng, frame)
    _freeway_road(scene, rng, lower, k, cars=rng.uniform(*cars), car_keep=car_keep, lanes=int(rng.integers(2, 4)))
    return scene, k, angle, frame


def _overpass(rng: np.random.Generator) -> Scene:
    scene, k, angle, frame = _freeway_below(rng, 25, (3, 10), 0.7)
    cross = _Frame(frame.center[0] + rng.uniform(-30, 30), frame.center[1] + rng.uniform(-30, 30),
                   angle + np.pi / 2 + rng.uniform(-0.35, 0.35))
    upper = _smooth_curve(rng, cross, n=60)
    deck = rng.uniform(16, 30) * k
    height = rng.uniform(10, 18)
    scene.add(_band(upper, -deck, deck), fill=_pick(rng, ((196, 194, 188), (170, 168, 164), (150, 150, 150))),
              height=height, occludes=True, keep=1.0)
    for side in (-1, 1):  # parapets
        scene.add(_offset(upper, side * (deck - 1.5)), closed=False, edge=(225, 223, 215), width=1.5, keep=0.4)
    if rng.random() < 0.6:
        for dash in _dashes(upper, 10 * k, 20 * k, rng.uniform(0, 30)):
            scene.add(dash, closed=False, edge=(235, 235, 230), width=1.2, keep=0.5)
    for s in rng.uniform(0, _lengths(upper)[-1], rng.poisson(3)):
        p, t = _along(_offset(upper, _pick(rng, (-1, 1)) * deck / 2), s)
        if _on_image(p[None], 8):
            _car(scene, rng, p, t, keep=0.5)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(1, 6)), (2, 8), (3, 7), 10)
    return scene


def _overpass_interchange(rng: np.random.Generator) -> Scene:
    """A freeway crossed by curved ramps, sometimes with a straight bridge as well.

    The other layout of UC Merced's overpasses: an interchange's flyover ramps, one lane wide,
    sweeping over the freeway on a curve.
    """
    scene, k, angle, frame = _freeway_below(rng, 20, (2, 8), 0.6)
    decks = ((196, 194, 188), (170, 168, 164), (150, 150, 150))
    bridges = [] if rng.random() < 0.5 else [(0.0, rng.uniform(16, 26) * k, 0)]  # a straight bridge too
    bridges += [(rng.uniform(4, 14) * _pick(rng, (-1, 1)), rng.uniform(6, 10) * k, i + 1)
                for i in range(int(rng.integers(1, 3)))]  # ramps: (bend, half-width, tier)
    for bend, half, tier in bridges:
        cross = _Frame(frame.center[0] + rng.uniform(-60, 60), frame.center[1] + rng.uniform(-60, 60),
                       angle + np.pi / 2 + rng.uniform(-0.6, 0.6))
        deck = _smooth_curve(rng, cross, bend=bend, n=80)
        scene.add(_band(deck, -half, half), fill=_pick(rng, decks), height=10 + 6 * tier + rng.uniform(0, 4),
                  occludes=True, keep=1.0)
        for side in (-1, 1):  # parapets
            scene.add(_offset(deck, side * (half - 1.2)), closed=False, edge=(225, 223, 215), width=1.2, keep=0.3)
        for s in rng.uniform(0, _lengths(deck)[-1], rng.poisson(1.5)):
            p, t = _along(deck, s)
            if _on_image(p[None], 8):
                _car(scene, rng, p, t, keep=0.5)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(1, 6)), (2, 8), (3, 7), 10)
    return scene
