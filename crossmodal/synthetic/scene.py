"""What a scene is: its :class:`Part` polygons and polylines, the ground ``MATERIALS``, and the random
picks every builder uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


SIZE = 256  # side of every generated image, pixels (about 0.3 m a pixel, as in UC Merced)


_MARGIN = 96  # geometry may reach this far outside the image; outlines are traced on a padded canvas


Color = tuple[float, float, float]


# Ground materials: base RGB, amplitude of the fractal variation, roughness (share of fine detail).
MATERIALS: dict[str, tuple[Color, float, float]] = {
    "grass": ((86, 108, 62), 16, 0.55),
    "lawn": ((104, 136, 74), 12, 0.45),
    "drygrass": ((146, 138, 102), 14, 0.55),
    "field": ((128, 126, 88), 14, 0.5),
    "soil": ((150, 132, 106), 13, 0.55),
    "dirt": ((186, 146, 108), 8, 0.45),
    "sand": ((218, 208, 182), 6, 0.4),
    "asphalt": ((92, 92, 94), 7, 0.7),
    "asphalt_old": ((124, 121, 116), 8, 0.7),
    "concrete": ((176, 174, 168), 7, 0.55),
    "water": ((46, 70, 76), 4, 0.35),
    "water_muddy": ((92, 98, 78), 5, 0.35),
    "water_blue": ((38, 62, 92), 4, 0.35),
    "fairway": ((98, 146, 72), 6, 0.35),
    "green": ((124, 170, 90), 4, 0.3),
    "rough": ((76, 100, 56), 16, 0.6),
}


@dataclass
class Part:
    """One piece of a scene: a polygon (or a polyline) with its photo look and its sketch behaviour."""

    points: np.ndarray  # (n, 2) float image coordinates (x, y); may reach outside the image
    closed: bool = True  # a polygon (filled in the photo) rather than an open line
    fill: str | Color | None = None  # photo fill: a MATERIALS name or an RGB colour
    edge: Color | None = None  # photo outline or line colour (painted lines, kerbs)
    width: float = 1.0  # photo line width, pixels
    alpha: float = 1.0  # photo opacity
    height: float = 0.0  # casts a shadow of this height (pixels at a 45 degree sun); 0 = flat
    cast: bool = False  # the shadow is the silhouette moved away (a plane above the ground), not an extrusion
    keep: float = 1.0  # chance that the sketcher draws it; 0 = never (texture, paint the eye ignores)
    occludes: bool = False  # hides the sketch strokes of the parts below it (a bridge deck)
    strokes: list[np.ndarray] | None = None  # sketch strokes when they differ from the outline (open lines)


@dataclass
class Scene:
    """The geometric description of one aerial scene, shared by its photo and its sketch."""

    label: str
    ground: str  # MATERIALS name of the background
    parts: list[Part] = field(default_factory=list)
    trees: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (n, 3) x, y, crown radius
    tree_keep: float = 0.0  # chance that the sketcher draws a group of trees (as its scalloped outline)
    sun: tuple[float, float] = (1.0, 1.0)  # shadow direction and length per pixel of height

    def add(self, points, **kwargs) -> Part:
        """Append a part built from ``points`` and the ``Part`` fields; returns it."""
        part = Part(np.asarray(points, dtype=np.float64).reshape(-1, 2), **kwargs)
        self.parts.append(part)
        return part


def _pick(rng: np.random.Generator, options: Sequence):
    return options[int(rng.integers(len(options)))]


def _jitter_color(rng: np.random.Generator, color: Color, amount: float = 10) -> Color:
    """A colour made lighter or darker by about ``amount``, its hue shifted a little."""
    light = rng.normal(0, amount)
    return tuple(float(np.clip(c + light + rng.normal(0, amount * 0.25), 0, 255)) for c in color)
