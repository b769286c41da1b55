"""The layout of an airplane scene, and the silhouette of a jet."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _ellipse, _rect
from ..props import _free_points, _tree_groups
from ..scene import SIZE, Scene, _jitter_color, _pick


def _plane_outline(length: float, rng: np.random.Generator) -> np.ndarray:
    """A jet's silhouette in local coordinates, nose towards +x, as one closed polygon."""
    L = length
    span = L * rng.uniform(0.8, 1.05)
    r = L * rng.uniform(0.04, 0.06)  # fuselage half-width
    chord = L * rng.uniform(0.15, 0.22)  # wing chord at the root
    sweep = L * rng.uniform(0.12, 0.24)  # how far back the wing tip sits
    tip = chord * rng.uniform(0.25, 0.4)
    wing = L * rng.uniform(0.02, 0.12)  # root leading edge, ahead of the middle
    tail_span = span * rng.uniform(0.3, 0.38)
    tail_chord = L * rng.uniform(0.09, 0.12)
    tail_sweep = tail_chord * rng.uniform(0.6, 1.0)
    tail_root = -L / 2 + tail_chord + L * 0.05
    half = np.array([
        (L / 2, 0.0), (L / 2 - 1.2 * r, 0.75 * r), (L / 2 - 3 * r, r),
        (wing, r), (wing - sweep, span / 2), (wing - sweep - tip, span / 2), (wing - chord, r),
        (tail_root, 0.85 * r), (tail_root - tail_sweep, tail_span / 2),
        (tail_root - tail_sweep - tail_chord * 0.45, tail_span / 2), (-L / 2 + L * 0.04, 0.45 * r),
        (-L / 2, 0.0),
    ])
    return np.concatenate([half, half[-2:0:-1] * (1, -1)])


def _airplane(rng: np.random.Generator) -> Scene:
    apron = rng.random() < 0.65
    scene = Scene("airplane", _pick(rng, ("concrete", "asphalt_old")) if apron else _pick(rng, ("grass", "drygrass")))
    k = rng.uniform(0.8, 1.2)
    base_angle = rng.uniform(0, 2 * np.pi)
    if not apron or rng.random() < 0.5:  # a taxiway strip across the scene
        tf = _Frame(rng.uniform(60, 196), rng.uniform(60, 196), rng.uniform(0, np.pi))
        tw = rng.uniform(40, 80)
        scene.add(tf(_rect(0, 0, 900, tw)), fill="asphalt" if not apron else "concrete", keep=0.8)
        scene.add(tf([[-450, 0], [450, 0]]), closed=False, edge=(215, 180, 60), width=1.5, keep=0.3)
    elif rng.random() < 0.7:  # taxi lines painted on the apron
        tf = _Frame(rng.uniform(40, 216), rng.uniform(40, 216), rng.uniform(0, np.pi))
        for y in rng.uniform(-80, 80, rng.integers(1, 3)):
            scene.add(tf([[-450, y], [450, y]]), closed=False, edge=(215, 180, 60), width=1.5, keep=0.6)
    n = int(rng.choice([1, 1, 1, 2, 2, 3, 5], p=[0.3, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1]))
    length = (rng.uniform(110, 180) if n <= 2 else rng.uniform(55, 100)) * k
    centres: list[np.ndarray] = []
    for _ in range(n * 6):
        if len(centres) >= n:
            break
        c = rng.uniform(length * 0.35, SIZE - length * 0.35, 2)
        if any(np.linalg.norm(c - o) < length * 0.85 for o in centres):
            continue
        centres.append(c)
    body = _pick(rng, ((238, 238, 236), (228, 228, 230), (210, 212, 214), (245, 245, 240)))
    for c in centres:
        angle = base_angle + (rng.normal(0, 0.25) if rng.random() < 0.7 else rng.uniform(0, 2 * np.pi))
        outline = _plane_outline(length * rng.uniform(0.92, 1.08), rng)
        f = _Frame(c[0], c[1], angle)
        scene.add(f(outline), fill=_jitter_color(rng, body, 4), edge=(150, 150, 150), width=0.6,
                  height=rng.uniform(6, 16), cast=True, keep=1.0)
        for side in (-1, 1):  # engines under the wings
            if rng.random() < 0.7:
                ex, ey = length * rng.uniform(0.02, 0.1), side * length * rng.uniform(0.14, 0.2)
                scene.add(f(_ellipse(ex, ey, length * 0.05, length * 0.018)), fill=(120, 122, 126), keep=0.35)
    for _ in range(rng.poisson(2.5)):  # service vehicles
        p = _free_points(rng, scene.parts, 1)
        if len(p):
            scene.add(_rect(p[0, 0], p[0, 1], rng.uniform(7, 14), rng.uniform(5, 8), rng.uniform(0, np.pi)),
                      fill=_jitter_color(rng, _pick(rng, ((230, 230, 225), (200, 160, 40), (60, 60, 64))), 8),
                      height=3, keep=0.6)
    if not apron:
        scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 3)), (1, 4), (3, 7), 10)
    return scene
