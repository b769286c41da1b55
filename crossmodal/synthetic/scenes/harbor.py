"""The layout of a harbor scene, and the outline of a boat."""

from __future__ import annotations

import numpy as np

from ..geometry import _Frame, _on_image, _rect, _union_outline
from ..scene import SIZE, Scene, _jitter_color, _pick


def _boat(length: float, beam: float) -> np.ndarray:
    """A boat seen from above, bow towards +x."""
    L, B = length, beam
    return np.array([[L / 2, 0], [L / 4, B / 2], [-L / 2, B / 2 * 0.85], [-L / 2, -B / 2 * 0.85], [L / 4, -B / 2]])


def _harbor(rng: np.random.Generator) -> Scene:
    scene = Scene("harbor", _pick(rng, ("water", "water_muddy", "water_blue")))
    k = rng.uniform(0.8, 1.2)
    angle = rng.uniform(0, np.pi)
    f = _Frame(SIZE / 2, SIZE / 2, angle)
    if rng.random() < 0.4:  # land along one side
        off = rng.uniform(95, 125)
        side = _pick(rng, (-1, 1))
        scene.add(f(_rect(side * (off + 200), 0, 400, 900)), fill=_pick(rng, ("concrete", "asphalt_old", "grass")),
                  keep=1.0)
    n_piers = int(rng.integers(1, 4))
    spacing = rng.uniform(85, 120) * k
    boat_colors = ((245, 245, 242), (236, 236, 230), (225, 228, 232), (200, 205, 210), (40, 60, 110))
    for i in range(n_piers):
        x = (i - (n_piers - 1) / 2) * spacing + rng.uniform(-15, 15)
        pw = rng.uniform(4, 7) * k
        finger_l = rng.uniform(22, 38) * k
        finger_pitch = rng.uniform(16, 26) * k
        shapes = [f(_rect(x, 0, pw, 900))]
        boats = []
        for side in (-1, 1):
            if rng.random() < 0.15:
                continue
            for y in np.arange(-200 + rng.uniform(0, finger_pitch), 200, finger_pitch):
                shapes.append(f(_rect(x + side * (pw / 2 + finger_l / 2), y, finger_l, 2.5)))
                if rng.random() < 0.7:  # a boat in the slip beside the finger
                    bl = finger_l * rng.uniform(0.65, 1.05)
                    beam = min(finger_pitch * 0.5, bl * 0.36) * rng.uniform(0.8, 1.0)
                    by = y + finger_pitch / 2
                    bx = x + side * (pw / 2 + bl / 2 + 1)
                    boats.append(f(_boat(bl, beam) * (-side, 1) + (bx, by)))
        fill, strokes = _union_outline(shapes, 0, eps=0.8)
        scene.add(fill, fill=(172, 168, 158), strokes=strokes, keep=1.0, height=1.5)
        for b in boats:
            if _on_image(b, 5):
                scene.add(b, fill=_jitter_color(rng, _pick(rng, boat_colors), 5), edge=(150, 150, 150), width=0.6,
                          height=3.0, keep=0.85)
    return scene


def _harbor_moorings(rng: np.random.Generator) -> Scene:
    """A harbor of a few long piers with boats moored alongside them, no finger slips.

    The other layout of UC Merced's harbors: bigger boats tied up along a pier or a quay, bow to
    stern, as in the marinas whose main piers have no fingers; a few more at anchor.
    """
    scene = Scene("harbor", _pick(rng, ("water", "water_muddy", "water_blue")))
    k = rng.uniform(0.8, 1.3)
    f = _Frame(SIZE / 2, SIZE / 2, rng.uniform(0, np.pi))
    quay = rng.uniform(-150, -60)  # the shore the piers leave from, sometimes outside the image
    scene.add(f(_rect(0, quay - 200, 900, 400)), fill=_pick(rng, ("concrete", "asphalt_old", "grass")), keep=1.0)
    boat_colors = ((245, 245, 242), (236, 236, 230), (225, 228, 232), (200, 205, 210), (40, 60, 110))
    n_piers = int(rng.integers(1, 4))
    spacing = rng.uniform(70, 110) * k
    occupied = rng.uniform(0.3, 0.9)  # of the berths: some harbors are full, some half empty
    for i in range(n_piers):
        x = (i - (n_piers - 1) / 2) * spacing + rng.uniform(-12, 12)
        pw = rng.uniform(5, 9) * k
        length = rng.uniform(150, 320)
        shapes = [f(_rect(x, quay + length / 2, pw, length))]
        if rng.random() < 0.35:  # a T-head
            shapes.append(f(_rect(x, quay + length, pw * rng.uniform(4, 7), pw)))
        fill, strokes = _union_outline(shapes, 0, eps=0.8)
        scene.add(fill, fill=(172, 168, 158), strokes=strokes, keep=1.0, height=1.5)
        for side in (-1, 1):
            y = quay + rng.uniform(8, 30)
            while y < quay + length - 10:
                bl = rng.uniform(24, 48) * k
                beam = bl * rng.uniform(0.3, 0.38)
                if rng.random() < occupied:
                    bx = x + side * (pw / 2 + beam / 2 + 1)
                    # along the pier, bow towards the quay or away from it
                    hull = _boat(bl, beam) @ np.array([[0, 1], [1, 0]]) * (1, _pick(rng, (-1, 1)))
                    scene.add(f(hull + (bx, y + bl / 2)), fill=_jitter_color(rng, _pick(rng, boat_colors), 5),
                              edge=(150, 150, 150), width=0.6, height=3.0, keep=0.9)
                y += bl + rng.uniform(3, 14)
    for _ in range(int(rng.integers(0, 4))):  # boats at anchor
        bl = rng.uniform(20, 40) * k
        center = (rng.uniform(-110, 110), rng.uniform(quay + 30, 120))  # on the water
        c, s = np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)
        scene.add(f(_boat(bl, bl * 0.34) @ np.array([[c, s], [-s, c]]) + center),
                  fill=_jitter_color(rng, _pick(rng, boat_colors), 5), edge=(150, 150, 150), width=0.6,
                  height=3.0, keep=0.9)
    return scene
