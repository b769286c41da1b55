"""A built-in demo world: procedural aerial scenes of the 14 Earth on Canvas classes and their sketches.

Each scene is first a geometric description (a :class:`Scene`: a ground material and an ordered
list of :class:`Part` polygons and polylines, plus trees) with a random layout, orientation and
scale. It is then rendered twice from the same geometry:

- as a **photo**: fractal-noise textures for the ground and the paved or watery areas, flat
  colours for roofs, cars and paint, shadows cast away from one sun, trees, then a colour cast,
  blur and sensor noise;
- as a **sketch**: thin dark pen strokes on white paper, the way the Earth on Canvas drawings
  look: the sketcher's copy of the layout is slightly off (a small rotation, scale and shift),
  every stroke wobbles smoothly, boxes are often drawn side by side with overshooting corners, the
  pen width varies, small details are drawn only some of the time, hidden lines are left out and
  the ground texture, shadows and (except on golf courses) trees are not drawn at all.

Everything is deterministic for a seed. ``generate_world`` writes the layout the loaders read:
``photos/<class>/<class>NN.png`` and ``sketches/<class>/NN.png``, the same NN being the same
scene, so that the fixed photo split (80-99 test, 70-79 validation) applies when
``per_class=100``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .data import EOC_CLASSES

SIZE = 256  # side of every generated image, pixels (about 0.3 m a pixel, as in UC Merced)
VERSION = "1"  # changes whenever the images made for a given seed change: cache generated worlds under it
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


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------

class _Frame:
    """Maps local scene coordinates (a rotated, scaled layout) to image pixels."""

    def __init__(self, cx: float, cy: float, angle: float, scale: float = 1.0):
        c, s = np.cos(angle), np.sin(angle)
        self.matrix = np.array([[c, -s], [s, c]]) * scale
        self.center = np.array([cx, cy])

    def __call__(self, points) -> np.ndarray:
        return np.asarray(points, dtype=np.float64).reshape(-1, 2) @ self.matrix.T + self.center


def _rect(cx: float, cy: float, w: float, h: float, angle: float = 0.0) -> np.ndarray:
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    c, s = np.cos(angle), np.sin(angle)
    return corners @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _ellipse(cx: float, cy: float, rx: float, ry: float | None = None, angle: float = 0.0,
             n: int | None = None) -> np.ndarray:
    ry = rx if ry is None else ry
    n = n or int(np.clip(max(rx, ry) * 1.2, 12, 72))
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.stack([rx * np.cos(t), ry * np.sin(t)], 1)
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _blob(rng: np.random.Generator, cx: float, cy: float, r: float, wobble: float = 0.25,
          elong: float = 1.0, angle: float = 0.0, n: int = 64) -> np.ndarray:
    """A smooth random closed shape: a radius that varies with a few low harmonics."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = np.ones(n)
    for k in (2, 3, 4, 5):
        radius += wobble / k ** 0.8 * rng.normal() * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    radius = np.clip(radius, 0.35, None) * r
    pts = np.stack([radius * np.cos(t) * elong, radius * np.sin(t)], 1)
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _lengths(curve: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])


def _normals(curve: np.ndarray) -> np.ndarray:
    tangent = np.gradient(curve, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9
    return np.stack([-tangent[:, 1], tangent[:, 0]], 1)


def _offset(curve: np.ndarray, d) -> np.ndarray:
    """A polyline moved sideways by ``d`` (a number or one value per point)."""
    return curve + _normals(curve) * np.asarray(d, dtype=np.float64).reshape(-1, 1)


def _band(curve: np.ndarray, left, right) -> np.ndarray:
    """The polygon between two offsets of a polyline."""
    return np.concatenate([_offset(curve, left), _offset(curve, right)[::-1]])


def _along(curve: np.ndarray, s) -> tuple[np.ndarray, np.ndarray]:
    """Points and unit tangents at arc lengths ``s``."""
    lengths = _lengths(curve)
    s = np.clip(np.asarray(s, dtype=np.float64), 0, lengths[-1])
    x, y = np.interp(s, lengths, curve[:, 0]), np.interp(s, lengths, curve[:, 1])
    i = np.clip(np.searchsorted(lengths, s) - 1, 0, len(curve) - 2)
    tangent = curve[i + 1] - curve[i]
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True) + 1e-9
    return np.stack([x, y], -1), tangent


def _subcurve(curve: np.ndarray, s0: float, s1: float) -> np.ndarray:
    lengths = _lengths(curve)
    inside = curve[(lengths > s0) & (lengths < s1)]
    return np.concatenate([_along(curve, [s0])[0], inside, _along(curve, [s1])[0]])


def _dashes(curve: np.ndarray, on: float, off: float, phase: float = 0.0) -> list[np.ndarray]:
    total = _lengths(curve)[-1]
    starts = np.arange(-phase % (on + off) - (on + off), total, on + off)
    return [_subcurve(curve, max(a, 0.0), min(a + on, total)) for a in starts if min(a + on, total) - max(a, 0) > 1]


def _smooth_curve(rng: np.random.Generator, frame: _Frame, length: float = 700, bend: float = 0.0,
                  wiggle: float = 0.0, n: int = 160) -> np.ndarray:
    """A long smooth curve through the image centre in the frame: a gentle arc plus slow waves."""
    x = np.linspace(-length / 2, length / 2, n)
    y = bend * (x / 100) ** 2
    for k in range(3):
        wavelength = rng.uniform(150, 420)
        y += wiggle / (k + 1) * np.sin(2 * np.pi * x / wavelength + rng.uniform(0, 2 * np.pi))
    return frame(np.stack([x, y], 1))


def _on_image(points: np.ndarray, pad: float = 0.0) -> bool:
    """Whether a polyline passes within ``pad`` pixels of the image."""
    lo, hi = points.min(0), points.max(0)
    if lo[0] > SIZE + pad or lo[1] > SIZE + pad or hi[0] < -pad or hi[1] < -pad:
        return False
    if len(points) > 1 and (hi - lo).max() > 6:
        points = _resample(points, False, 6.0)
    return bool(np.any((points[:, 0] > -pad) & (points[:, 0] < SIZE + pad)
                       & (points[:, 1] > -pad) & (points[:, 1] < SIZE + pad)))


def _mask_outlines(mask: np.ndarray, scale: int, eps: float = 0.7) -> list[tuple[np.ndarray, bool]]:
    """Outlines of a padded mask as image-coordinate polylines; edges along the padding border are dropped.

    Returns:
        (points, closed) pairs: closed polygons, or open pieces where a shape leaves the canvas.
    """
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = mask.shape
    out = []
    for contour in contours:
        approx = cv2.approxPolyDP(contour, eps * scale, True)[:, 0, :].astype(np.float64)
        if len(approx) < 3:
            continue
        sides = np.stack([approx[:, 0] <= 1, approx[:, 1] <= 1, approx[:, 0] >= w - 2, approx[:, 1] >= h - 2], 1)
        points = approx / scale - _MARGIN
        along = (sides & np.roll(sides, -1, axis=0)).any(1)  # edge i -> i+1 runs along one side of the canvas
        if not along.any():
            out.append((points, True))
            continue
        start = (int(np.argmax(along)) + 1) % len(points)  # begin after a border edge so runs do not wrap
        order = np.roll(np.arange(len(points)), -start)
        run: list[int] = [order[0]]
        for a, b in zip(order, np.roll(order, -1)):
            if along[a]:
                if len(run) > 1:
                    out.append((points[run], False))
                run = [b]
            else:
                run.append(b)
        if len(run) > 1:
            out.append((points[run], False))
    return out


def _union_outline(shapes: Sequence[np.ndarray], close_radius: float = 0.0, scale: int = 2,
                   eps: float = 0.7) -> tuple[np.ndarray, list[np.ndarray]]:
    """The union of polygons as one fill polygon (largest piece) plus its sketch strokes.

    ``close_radius`` rounds the inside corners (a kerb radius where roads meet).
    """
    side = (SIZE + 2 * _MARGIN) * scale
    mask = np.zeros((side, side), np.uint8)
    for shape in shapes:
        cv2.fillPoly(mask, [np.round((shape + _MARGIN) * scale * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    if close_radius > 0:
        r = max(1, int(close_radius * scale))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    biggest = max(contours, key=cv2.contourArea)
    fill = cv2.approxPolyDP(biggest, eps * scale, True)[:, 0, :].astype(np.float64) / scale - _MARGIN
    strokes = [np.concatenate([pts, pts[:1]]) if closed else pts for pts, closed in _mask_outlines(mask, scale, eps)]
    return fill, strokes


_OPEN_GROUND = ("grass", "lawn", "rough", "drygrass", "field")  # materials trees and cars may stand on


def _blocked(parts: Sequence[Part], clearance: float) -> np.ndarray:
    """(SIZE, SIZE) bool: where filled parts (other than open ground) are, grown by ``clearance`` pixels."""
    blocked = np.zeros((SIZE, SIZE), np.uint8)
    for part in parts:
        if part.closed and part.fill is not None and part.fill not in _OPEN_GROUND:
            cv2.fillPoly(blocked, [np.round(part.points * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    k = int(2 * clearance + 1)
    return cv2.dilate(blocked, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0


def _free_points(rng: np.random.Generator, parts: Sequence[Part], n: int, clearance: float = 4.0) -> np.ndarray:
    """Up to ``n`` random image points that no filled part covers."""
    blocked = _blocked(parts, clearance)
    candidates = rng.uniform(0, SIZE, (n * 4, 2))
    ok = ~blocked[candidates[:, 1].astype(int).clip(0, SIZE - 1), candidates[:, 0].astype(int).clip(0, SIZE - 1)]
    return candidates[ok][:n]


def _tree_groups(rng: np.random.Generator, parts: Sequence[Part], groups: int, per_group: tuple[int, int],
                 radius: tuple[float, float], spread: float, clearance: float = 3.0) -> np.ndarray:
    """Clusters of tree crowns on free ground: (n, 3) rows of x, y, radius."""
    centres = _free_points(rng, parts, groups, clearance + 4)
    trees = []
    for c in centres:
        k = rng.integers(per_group[0], per_group[1] + 1)
        pts = c + rng.normal(0, spread, (k, 2))
        trees.append(np.column_stack([pts, rng.uniform(*radius, k)]))
    if not trees:
        return np.zeros((0, 3))
    trees = np.concatenate(trees)
    blocked = _blocked(parts, clearance)
    ix, iy = trees[:, 0].astype(int), trees[:, 1].astype(int)
    inside = (ix >= 0) & (ix < SIZE) & (iy >= 0) & (iy < SIZE)
    keep = np.zeros(len(trees), bool)
    keep[inside] = ~blocked[iy[inside], ix[inside]]
    return trees[keep]


def _pick(rng: np.random.Generator, options: Sequence):
    return options[int(rng.integers(len(options)))]


def _jitter_color(rng: np.random.Generator, color: Color, amount: float = 10) -> Color:
    """A colour made lighter or darker by about ``amount``, its hue shifted a little."""
    light = rng.normal(0, amount)
    return tuple(float(np.clip(c + light + rng.normal(0, amount * 0.25), 0, 255)) for c in color)


CAR_COLORS: tuple[Color, ...] = ((235, 235, 232), (240, 240, 240), (228, 230, 232), (30, 30, 34), (20, 22, 26),
                                 (40, 40, 44), (160, 162, 166), (190, 190, 192), (175, 176, 180), (150, 30, 30),
                                 (40, 60, 120), (90, 90, 96), (200, 200, 190), (110, 20, 24), (60, 70, 64))


def _car(scene: Scene, rng: np.random.Generator, center, tangent, length: float = 14.0, width: float = 6.0,
         keep: float = 0.6) -> None:
    angle = float(np.arctan2(tangent[1], tangent[0]))
    scene.add(_rect(center[0], center[1], length * rng.uniform(0.9, 1.15), width * rng.uniform(0.9, 1.1), angle),
              fill=_jitter_color(rng, _pick(rng, CAR_COLORS), 8), height=2.0, keep=keep)


# --------------------------------------------------------------------------------------------
# The 14 classes: each builder lays out a Scene
# --------------------------------------------------------------------------------------------

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


def _freeway_road(scene: Scene, rng: np.random.Generator, curve: np.ndarray, k: float, cars: float,
                  car_keep: float = 0.6, lanes: int | None = None) -> float:
    """Two carriageways along ``curve``, lanes, shoulders, median and cars; returns the half-width."""
    lanes = lanes or int(rng.integers(2, 5))
    lane = rng.uniform(11, 14) * k
    shoulder = rng.uniform(3, 8) * k
    median = rng.uniform(4, 34) * k
    carriage = lanes * lane + 2 * shoulder
    surface = _pick(rng, ("asphalt", "asphalt_old", "concrete"))
    paint = (225, 225, 220)
    for side in (-1, 1):
        inner, outer = side * median / 2, side * (median / 2 + carriage)
        scene.add(_band(curve, inner, outer), fill=surface, keep=1.0)
    if median > 12 * k:
        scene.add(_band(curve, -median / 2 + 1, median / 2 - 1), fill=_pick(rng, ("grass", "drygrass", "soil")),
                  keep=0.0)
    else:
        scene.add(_band(curve, -1.5, 1.5), fill=(190, 188, 180), keep=0.0)
    phase = rng.uniform(0, 40)
    for side in (-1, 1):
        base = side * (median / 2 + shoulder)
        for edge in (base, base + side * lanes * lane):  # solid edge lines
            scene.add(_offset(curve, edge), closed=False, edge=paint, width=1.1, alpha=0.8, keep=0.3)
        for j in range(1, lanes):
            lane_curve = _offset(curve, base + side * j * lane)
            for dash in _dashes(lane_curve, 10 * k, 22 * k, phase + j * 7):
                scene.add(dash, closed=False, edge=paint, width=1.3, alpha=0.9, keep=0.85)
        total = _lengths(curve)[-1]
        for j in range(lanes):
            lane_curve = _offset(curve, base + side * (j + 0.5) * lane)
            n = rng.poisson(cars * total / 700)
            for s in rng.uniform(0, total, n):
                p, t = _along(lane_curve, s)
                if _on_image(p[None], 8):
                    _car(scene, rng, p, t, keep=car_keep)
    return median / 2 + carriage


def _freeway(rng: np.random.Generator) -> Scene:
    scene = Scene("freeway", _pick(rng, ("grass", "drygrass", "soil", "field")))
    k = rng.uniform(0.85, 1.15)
    frame = _Frame(SIZE / 2 + rng.uniform(-30, 30), SIZE / 2 + rng.uniform(-30, 30), rng.uniform(0, np.pi))
    curve = _smooth_curve(rng, frame, bend=rng.uniform(-3, 3) if rng.random() < 0.4 else 0.0)
    half = _freeway_road(scene, rng, curve, k, cars=rng.uniform(3, 14))
    if rng.random() < 0.35:  # a frontage road
        side = _pick(rng, (-1, 1))
        off = side * (half + rng.uniform(25, 60))
        scene.add(_band(curve, off - 12, off + 12), fill="asphalt_old", keep=0.5)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(2, 9)), (2, 10), (3, 8), 12)
    return scene


def _overpass(rng: np.random.Generator) -> Scene:
    scene = Scene("overpass", _pick(rng, ("grass", "drygrass", "soil")))
    k = rng.uniform(0.85, 1.15)
    angle = rng.uniform(0, np.pi)
    frame = _Frame(SIZE / 2 + rng.uniform(-25, 25), SIZE / 2 + rng.uniform(-25, 25), angle)
    lower = _smooth_curve(rng, frame)
    _freeway_road(scene, rng, lower, k, cars=rng.uniform(3, 10), car_keep=0.7, lanes=int(rng.integers(2, 4)))
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


def _intersection(rng: np.random.Generator) -> Scene:
    scene = Scene("intersection", _pick(rng, ("lawn", "grass", "drygrass")))
    k = rng.uniform(0.85, 1.15)
    cx, cy = SIZE / 2 + rng.uniform(-35, 35), SIZE / 2 + rng.uniform(-35, 35)
    a1 = rng.uniform(0, np.pi)
    a2 = a1 + np.pi / 2 + (rng.uniform(-0.3, 0.3) if rng.random() < 0.4 else 0.0)
    widths = [rng.uniform(34, 64) * k, rng.uniform(30, 60) * k]
    frames = [_Frame(cx, cy, a1), _Frame(cx, cy, a2)]
    surface = _pick(rng, ("asphalt", "asphalt_old"))
    # sidewalks under the roads, then the roads as one surface with rounded kerbs
    if rng.random() < 0.6:
        walk = rng.uniform(6, 10)
        fill, _ = _union_outline([f(_rect(0, 0, 900, w + 2 * walk)) for f, w in zip(frames, widths)], 12, scale=1)
        scene.add(fill, fill="concrete", keep=0.0)
    fill, strokes = _union_outline([f(_rect(0, 0, 900, w)) for f, w in zip(frames, widths)], rng.uniform(6, 16),
                                   scale=1, eps=0.5)
    scene.add(fill, fill=surface, strokes=strokes, keep=1.0)
    paint, yellow = (230, 230, 225), (210, 180, 70)
    for f, w, other in zip(frames, widths, widths[::-1]):
        stop = other / 2 + rng.uniform(4, 10)
        for sign in (-1, 1):
            seg = f([[sign * stop, 0], [sign * 450, 0]])
            if rng.random() < 0.5:
                scene.add(seg, closed=False, edge=yellow, width=1.3, keep=0.55)
            else:
                for dash in _dashes(seg, 10, 14, rng.uniform(0, 20)):
                    scene.add(dash, closed=False, edge=paint, width=1.2, keep=0.5)
            if rng.random() < 0.5:  # crosswalk
                x = sign * (stop + 4)
                for y in np.arange(-w / 2 + 3, w / 2 - 2, 5.5):
                    scene.add(f(_rect(x, y, 9, 2.4)), fill=paint, alpha=0.85, keep=0.0)
                scene.add(f([[x - 5, -w / 2], [x - 5, w / 2]]), closed=False, keep=0.35)
                scene.add(f([[x + 5, -w / 2], [x + 5, w / 2]]), closed=False, keep=0.35)
            for lane_sign in (-1, 1):
                for s in rng.uniform(stop + 6, 180, rng.poisson(1.2)):
                    _car(scene, rng, f([[sign * s, lane_sign * w / 4]])[0], f.matrix[:, 0], keep=0.6)
    # buildings, lawns and parking in the four corners
    side = SIZE + 2 * _MARGIN
    road = np.zeros((side, side), np.uint8)
    cv2.fillPoly(road, [np.round((fill + _MARGIN) * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    road = cv2.dilate(road, np.ones((13, 13), np.uint8))  # keep buildings off the road and its sidewalk
    for qx in (-1, 1):
        for qy in (-1, 1):
            if rng.random() < 0.75:
                for _ in range(6):
                    bw, bh = rng.uniform(30, 80), rng.uniform(30, 70)
                    bx = qx * (widths[1] / 2 + bw / 2 + rng.uniform(6, 50))
                    by = qy * (widths[0] / 2 + bh / 2 + rng.uniform(6, 50))
                    footprint = frames[0](_rect(bx, by, bw, bh))
                    probe = np.zeros_like(road)
                    cv2.fillPoly(probe, [np.round((footprint + _MARGIN) * 16).astype(np.int32)], 255, cv2.LINE_8,
                                 shift=4)
                    if not (probe & road).any():
                        break
                else:
                    continue
                roof = _jitter_color(rng, _pick(rng, ((170, 160, 150), (120, 110, 104), (190, 120, 90),
                                                     (200, 200, 196), (140, 130, 110))), 10)
                scene.add(footprint, fill=roof, edge=tuple(c * 0.7 for c in roof), width=1,
                          height=rng.uniform(6, 14), keep=0.25)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(3, 10)), (1, 5), (3, 8), 8)
    return scene


def _frame_angle(frame: _Frame) -> float:
    return float(np.arctan2(frame.matrix[1, 0], frame.matrix[0, 0]))


def _building_footprint(rng: np.random.Generator, frame: _Frame, x: float, y: float, k: float) -> list[np.ndarray]:
    """A footprint as a union of axis-aligned rectangles (L, T, U or stepped shapes), in image coordinates."""
    w, h = rng.uniform(55, 140) * k, rng.uniform(40, 110) * k
    rects = [_rect(x, y, w, h)]
    for _ in range(int(rng.integers(0, 4))):
        ww, hh = rng.uniform(0.3, 0.8) * w, rng.uniform(0.3, 0.8) * h
        side = rng.integers(4)
        if side == 0:
            cx, cy = x + w / 2 + ww / 2 - rng.uniform(0, 0.4) * ww, y + rng.uniform(-h, h) / 2
        elif side == 1:
            cx, cy = x - w / 2 - ww / 2 + rng.uniform(0, 0.4) * ww, y + rng.uniform(-h, h) / 2
        elif side == 2:
            cx, cy = x + rng.uniform(-w, w) / 2, y + h / 2 + hh / 2 - rng.uniform(0, 0.4) * hh
        else:
            cx, cy = x + rng.uniform(-w, w) / 2, y - h / 2 - hh / 2 + rng.uniform(0, 0.4) * hh
        rects.append(_rect(cx, cy, ww, hh))
    if rng.random() < 0.15:
        rects.append(_ellipse(x + _pick(rng, (-1, 1)) * w / 2, y, h * 0.45))
    return [frame(r) for r in rects]


ROOF_COLORS: tuple[Color, ...] = ((182, 180, 175), (150, 148, 144), (208, 206, 200), (120, 118, 116),
                                  (168, 150, 128), (140, 96, 76), (196, 188, 170), (90, 92, 96))


def _buildings(rng: np.random.Generator) -> Scene:
    scene = Scene("buildings", _pick(rng, ("asphalt_old", "concrete", "asphalt", "lawn")))
    k = rng.uniform(0.8, 1.2)
    frame = _Frame(SIZE / 2, SIZE / 2, rng.uniform(0, np.pi / 2) if rng.random() < 0.6 else 0.0)
    if rng.random() < 0.5:  # a street
        off = rng.uniform(-100, 100)
        scene.add(frame(_rect(off, 0, rng.uniform(22, 40), 900)), fill="asphalt", keep=0.3)
    n = int(rng.integers(2, 6))
    placed: list[np.ndarray] = []
    for _ in range(60):
        if len(placed) >= n:
            break
        x, y = rng.uniform(-115, 115), rng.uniform(-115, 115)
        rects = _building_footprint(rng, frame, x, y, k)
        box = np.concatenate(rects)
        lo, hi = box.min(0), box.max(0)
        if any(not (hi[0] < p[0] - 5 or lo[0] > p[2] + 5 or hi[1] < p[1] - 5 or lo[1] > p[3] + 5) for p in placed):
            continue
        if not _on_image(box, -20):
            continue
        placed.append(np.concatenate([lo, hi]))
        roof = _jitter_color(rng, _pick(rng, ROOF_COLORS), 6)
        height = rng.uniform(8, 26)
        dark = tuple(c * 0.72 for c in roof)
        if rng.random() < 0.5:
            fill, strokes = _union_outline(rects, 0, eps=1.0)
            scene.add(fill, fill=roof, edge=dark, height=height, strokes=strokes, keep=0.97)
        else:  # roof sections of different heights: the sketch shows each section
            for r in rects:
                scene.add(r, fill=_jitter_color(rng, roof, 8), edge=dark, height=height * rng.uniform(0.7, 1.1),
                          occludes=True, keep=0.95)
        for _ in range(int(rng.integers(0, 7))):  # rooftop equipment
            c = rects[0].mean(0) + rng.uniform(-0.35, 0.35, 2) * np.ptp(rects[0], 0)
            scene.add(_rect(c[0], c[1], rng.uniform(3, 9), rng.uniform(3, 9), _frame_angle(frame)),
                      fill=_jitter_color(rng, (205, 205, 200), 20), height=2, keep=0.1)
    for _ in range(rng.poisson(5)):
        p = _free_points(rng, scene.parts, 1)
        if len(p):
            _car(scene, rng, p[0], frame.matrix[:, 0] if rng.random() < 0.5 else frame.matrix[:, 1], keep=0.3)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 6)), (1, 5), (3, 8), 8)
    return scene


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


def _parkinglot(rng: np.random.Generator) -> Scene:
    scene = Scene("parkinglot", _pick(rng, ("asphalt", "asphalt_old")))
    k = rng.uniform(0.85, 1.15)
    angle = rng.uniform(0, np.pi)
    f = _Frame(SIZE / 2 + rng.uniform(-20, 20), SIZE / 2 + rng.uniform(-20, 20), angle)
    stall_w, stall_d, aisle = 9.5 * k, 18 * k, rng.uniform(20, 28) * k
    slant = rng.uniform(-0.6, 0.6) if rng.random() < 0.4 else 0.0
    paint = (220, 220, 215)
    fill_rate = rng.uniform(0.5, 0.97)
    y = -170.0 + rng.uniform(0, 30)
    row_pitch = 2 * stall_d + aisle
    edge_x = rng.uniform(100, 200) if rng.random() < 0.5 else 300  # lot ends inside the image half the time
    if edge_x < 300:
        scene.add(f(_rect(edge_x + 150, 0, 300, 900)), fill=_pick(rng, ("lawn", "grass", "concrete")), keep=0.0)
        scene.add(f([[edge_x, -450], [edge_x, 450]]), closed=False, edge=(170, 170, 165), width=1.5, keep=0.7)
    while y < 170:
        for side in (0, 1):
            row_y = y + side * stall_d
            keep_lines = 0.0 if rng.random() < 0.8 else 0.6
            for x in np.arange(-190, edge_x - stall_w, stall_w):
                sx = x + slant * stall_d / 2
                scene.add(f([[x, row_y], [x + slant * stall_d, row_y + stall_d]]), closed=False, edge=paint,
                          width=1.0, alpha=0.8, keep=keep_lines)
                if rng.random() < fill_rate:
                    c = f([[sx + stall_w / 2, row_y + stall_d / 2]])[0]
                    car_angle = angle + np.pi / 2 - np.arctan(slant)
                    scene.add(_rect(c[0], c[1], 15 * k * rng.uniform(0.9, 1.1), 6.5 * k * rng.uniform(0.9, 1.1),
                                    car_angle),
                              fill=_jitter_color(rng, _pick(rng, CAR_COLORS), 8), height=2.0, keep=0.6)
        if rng.random() < 0.3:  # a planted island between the rows
            scene.add(f(_rect(0, y + stall_d, 900, 3)), fill="lawn", keep=0.3)
        y += row_pitch
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(0, 4)), (1, 3), (3, 7), 6)
    return scene


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


def _golfcourse(rng: np.random.Generator) -> Scene:
    scene = Scene("golfcourse", "rough")
    k = rng.uniform(0.8, 1.2)
    f = _Frame(SIZE / 2 + rng.uniform(-30, 30), SIZE / 2 + rng.uniform(-30, 30), rng.uniform(0, 2 * np.pi))
    curve = _smooth_curve(rng, f, length=420, bend=rng.uniform(-6, 6), wiggle=rng.uniform(0, 20), n=60)
    s = np.linspace(0, 1, len(curve))
    half = rng.uniform(28, 50) * k * (1 + 0.25 * np.sin(2 * np.pi * (s * 1.5 + rng.random())))
    fill, strokes = _union_outline([_band(curve, -half, half)], 0, eps=0.9)
    scene.add(fill, fill="fairway", strokes=strokes, keep=0.9)
    end = _along(curve, [rng.uniform(250, 330)])[0][0]
    green = _blob(rng, end[0], end[1], rng.uniform(18, 30) * k, 0.25, rng.uniform(1.0, 1.5), rng.uniform(0, np.pi))
    scene.add(green, fill="green", keep=0.95)
    for _ in range(int(rng.integers(1, 5))):  # bunkers around the green and beside the fairway
        p = end + rng.normal(0, 35, 2) if rng.random() < 0.6 else _along(curve, [rng.uniform(60, 300)])[0][0] + \
            rng.normal(0, 30, 2)
        scene.add(_blob(rng, p[0], p[1], rng.uniform(6, 15) * k, 0.4, rng.uniform(1, 2), rng.uniform(0, np.pi)),
                  fill="sand", keep=0.9)
    if rng.random() < 0.4:  # a pond
        p = rng.uniform(40, 216, 2)
        scene.add(_blob(rng, p[0], p[1], rng.uniform(18, 40), 0.35, rng.uniform(1, 1.8), rng.uniform(0, np.pi)),
                  fill=_pick(rng, ("water", "water_blue")), keep=0.95)
    if rng.random() < 0.5:  # cart path
        path = _offset(curve, half + rng.uniform(8, 20))
        scene.add(path, closed=False, edge=(190, 186, 176), width=2.0, keep=0.35)
    scene.trees = _tree_groups(rng, scene.parts, int(rng.integers(4, 12)), (3, 14), (4, 9), 12, clearance=2)
    scene.tree_keep = 0.7
    return scene


BUILDERS: dict[str, Callable[[np.random.Generator], Scene]] = {
    "airplane": _airplane, "baseballdiamond": _baseballdiamond, "buildings": _buildings, "freeway": _freeway,
    "golfcourse": _golfcourse, "harbor": _harbor, "intersection": _intersection, "mobilehomepark": _mobilehomepark,
    "overpass": _overpass, "parkinglot": _parkinglot, "river": _river, "runway": _runway,
    "storagetanks": _storagetanks, "tenniscourt": _tenniscourt,
}


# --------------------------------------------------------------------------------------------
# Photo rendering
# --------------------------------------------------------------------------------------------

def _fractal(rng: np.random.Generator, roughness: float, size: int = SIZE) -> np.ndarray:
    """Fractal noise with unit standard deviation, (size, size) float32."""
    out = np.zeros((size, size), np.float32)
    fine = roughness * 1.6
    weights = (0.3, 0.35, 0.45, 0.5 * fine, 0.6 * fine, 0.6 * fine)
    for cells, weight in zip((3, 6, 12, 24, 48, 96), weights):
        grid = rng.standard_normal((cells + 1, cells + 1), dtype=np.float32)
        out += weight * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    out += 0.45 * fine * rng.standard_normal((size, size), dtype=np.float32)
    return out / (out.std() + 1e-6)


class _Textures:
    """Lazily made, per-scene textures of the materials, with a per-scene colour variation."""

    def __init__(self, rng: np.random.Generator):
        self.rng, self.cache = rng, {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.cache:
            base, amp, rough = MATERIALS[name]
            rng = self.rng
            base = np.array(_jitter_color(rng, base, 7), np.float32)
            light = _fractal(rng, rough)
            chroma = cv2.resize(rng.standard_normal((5, 5)).astype(np.float32), (SIZE, SIZE),
                                interpolation=cv2.INTER_CUBIC)
            direction = (base / (base.mean() + 1e-6) - 1 + rng.normal(0, 0.15, 3)).astype(np.float32)
            self.cache[name] = (base + light[..., None] * amp * (base / (base.mean() + 1e-6))
                                + chroma[..., None] * direction * amp * 0.6)
        return self.cache[name]


def _box(points: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    lo = np.floor(points.min(0) - pad).astype(int)
    hi = np.ceil(points.max(0) + pad).astype(int)
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], SIZE), min(hi[1], SIZE)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _coverage(points: np.ndarray, box, closed: bool, fill: bool, width: float = 1.0) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = [np.round((points - (x0, y0)) * 16).astype(np.int32)]
    if fill:
        cv2.fillPoly(mask, pts, 255, cv2.LINE_AA, shift=4)
    else:
        cv2.polylines(mask, pts, closed, 255, max(1, int(round(width))), cv2.LINE_AA, shift=4)
    alpha = mask.astype(np.float32) / 255.0
    if not fill and width < 1:
        alpha *= width
    return alpha


def _paint(img: np.ndarray, points: np.ndarray, source, alpha: float, closed: bool, fill: bool,
           width: float = 1.0) -> None:
    box = _box(points, width + 2)
    if box is None:
        return
    x0, y0, x1, y1 = box
    a = _coverage(points, box, closed, fill, width)[..., None] * alpha
    region = img[y0:y1, x0:x1]
    textured = isinstance(source, np.ndarray) and source.ndim == 3
    src = source[y0:y1, x0:x1] if textured else np.asarray(source, np.float32)
    region += (src - region) * a


def _shadow(img: np.ndarray, points: np.ndarray, vector: np.ndarray, strength: float, extrude: bool) -> None:
    steps = [1.0] if not extrude else np.linspace(0.0, 1.0, max(2, int(np.linalg.norm(vector) / 2) + 1))
    moved = [points + vector * t for t in steps]
    box = _box(np.concatenate(moved), 2)
    if box is None:
        return
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((m - (x0, y0)) * 16).astype(np.int32) for m in moved], 255, cv2.LINE_AA, shift=4)
    if extrude:  # fillPoly with several polygons uses even-odd filling: union them one by one instead
        mask[:] = 0
        for m in moved:
            cv2.fillPoly(mask, [np.round((m - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    img[y0:y1, x0:x1] *= 1.0 - strength * mask[..., None].astype(np.float32) / 255.0


def _draw_trees(img: np.ndarray, trees: np.ndarray, sun: np.ndarray, rng: np.random.Generator) -> None:
    if not len(trees):
        return
    base = np.array(_jitter_color(rng, (52, 72, 42), 8), np.float32)
    for x, y, r in trees:  # shadows first so crowns cover each other's shadows
        _shadow(img, _ellipse(x, y, r, n=14), sun * r * 1.3, 0.45, extrude=False)
    for x, y, r in trees:
        tone = base * rng.uniform(0.8, 1.2)
        _paint(img, _ellipse(x, y, r, n=14), tone, 1.0, True, True)
        hx, hy = np.array([x, y]) - sun / (np.linalg.norm(sun) + 1e-6) * r * 0.3
        _paint(img, _ellipse(hx, hy, r * 0.55, n=10), tone * 1.35, 0.6, True, True)


def render_photo(scene: Scene, rng: np.random.Generator) -> Image.Image:
    """Render a scene as an aerial photo (RGB, ``SIZE`` pixels)."""
    textures = _Textures(rng)
    img = textures[scene.ground].copy()
    sun = np.asarray(scene.sun)
    for part in scene.parts:
        if part.height > 0 and part.closed and part.fill is not None:
            _shadow(img, part.points, sun * part.height, 0.5, extrude=not part.cast)
        if part.closed and part.fill is not None:
            source = textures[part.fill] if isinstance(part.fill, str) else part.fill
            _paint(img, part.points, source, part.alpha, True, True)
        if part.edge is not None:
            _paint(img, part.points, part.edge, part.alpha, part.closed, False, part.width)
    _draw_trees(img, scene.trees, sun, rng)
    # camera: colour cast, contrast, haze, blur, sensor noise
    gain = rng.uniform(0.9, 1.1) * (1 + rng.normal(0, 0.035, 3))
    img = (img - 128) * rng.uniform(0.85, 1.15) + 128
    img = img * gain.astype(np.float32)
    if rng.random() < 0.3:
        img = img * (1 - 0.15) + 0.15 * np.array([170, 175, 180], np.float32)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.0))
    img += rng.standard_normal(img.shape, dtype=np.float32) * rng.uniform(2, 5)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


# --------------------------------------------------------------------------------------------
# Sketch rendering
# --------------------------------------------------------------------------------------------

_SKETCH_SCALE = 2  # strokes are drawn at twice the size, then reduced: smooth, sub-pixel pen widths


def _resample(points: np.ndarray, closed: bool, step: float) -> np.ndarray:
    """Insert points every ``step`` pixels, keeping the original corners."""
    pts = np.concatenate([points, points[:1]]) if closed else points
    if len(pts) < 2:
        return pts
    seg = np.diff(pts, axis=0)
    n = np.maximum(1, np.ceil(np.sqrt((seg ** 2).sum(1)) / step).astype(int))
    index = np.repeat(np.arange(len(seg)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1) / np.repeat(n, n)
    return np.concatenate([pts[:1], pts[index] + seg[index] * t[:, None]])


def _wobble(points: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Smooth sideways drift along a stroke plus a faint tremor: a hand, not a ruler."""
    if len(points) < 2:
        return points
    s = _lengths(points)
    size = max(float(np.ptp(points, 0).max()), 1.0)
    amp = min(amplitude, 0.05 * size + 0.3)
    offset = np.zeros(len(points))
    for _ in range(2):
        wavelength = rng.uniform(40, 160)
        offset += amp * rng.normal(0, 0.7) * np.sin(2 * np.pi * s / wavelength + rng.uniform(0, 2 * np.pi))
    offset += rng.normal(0, 0.12, len(points))
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    return points + normal * offset[:, None]


def _extend(points: np.ndarray, start: float, end: float) -> np.ndarray:
    """Lengthen (positive) or shorten (negative) an open stroke at its ends."""
    pts = points.copy()
    for index, inner, amount in ((0, 1, start), (-1, -2, end)):
        direction = pts[index] - pts[inner]
        norm = np.linalg.norm(direction)
        if norm > 1e-6:
            pts[index] = pts[index] + direction / norm * max(amount, -0.45 * norm)
    return pts


def _hand_strokes(points: np.ndarray, closed: bool, rng: np.random.Generator, style: dict) -> list[np.ndarray]:
    """How a person draws one outline: separate sides or one loop, with overshoot and wobble."""
    strokes: list[np.ndarray] = []
    size = float(np.ptp(points, 0).max()) if len(points) else 0.0
    if closed and len(points) <= 8 and size > 12 and rng.random() < style["sides"]:
        reach = min(1.0, size / 40)  # small boxes get small overshoots
        for a, b in zip(points, np.roll(points, -1, axis=0)):
            seg = _extend(np.stack([a, b]), reach * rng.normal(style["overshoot"], 1.0),
                          reach * rng.normal(style["overshoot"], 1.0))
            strokes.append(seg)
    else:
        pts = points
        if closed:
            pts = np.concatenate([points, points[:1]])
            if size > 10:  # the loop does not close exactly
                gap = rng.normal(0, 1.2, 2)
                pts = pts.copy()
                pts[-1] = pts[-1] + gap
        elif len(pts) >= 2:
            pts = _extend(pts, rng.normal(0.5, 1.0), rng.normal(0.5, 1.0))
        strokes.append(pts)
    return [_wobble(_resample(s, False, 4.0), rng, style["wobble"]) for s in strokes]


def _visible_runs(stroke: np.ndarray, hidden: np.ndarray) -> list[np.ndarray]:
    """Split a stroke where it passes under an occluding part (``hidden`` is a padded mask)."""
    dense = _resample(stroke, False, 1.0)
    ix = np.clip(np.round(dense[:, 0] + _MARGIN).astype(int), 0, hidden.shape[1] - 1)
    iy = np.clip(np.round(dense[:, 1] + _MARGIN).astype(int), 0, hidden.shape[0] - 1)
    visible = hidden[iy, ix] == 0
    if visible.all():
        return [stroke]
    runs, start = [], None
    for i, v in enumerate(np.append(visible, False)):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start >= 3:
                runs.append(dense[start:i:3] if i - start > 6 else dense[start:i])
            start = None
    return runs


def _tree_outlines(trees: np.ndarray) -> list[np.ndarray]:
    """Scalloped outlines of groups of tree crowns (what a person draws for a clump of trees)."""
    if not len(trees):
        return []
    scale = 2
    side = (SIZE + 2 * _MARGIN) * scale
    mask = np.zeros((side, side), np.uint8)
    for x, y, r in trees:
        cv2.circle(mask, (int((x + _MARGIN) * scale), int((y + _MARGIN) * scale)), int(r * scale * 1.05), 255, -1)
    return [np.concatenate([p, p[:1]]) if closed else p for p, closed in _mask_outlines(mask, scale, 0.6)]


def render_sketch(scene: Scene, rng: np.random.Generator) -> Image.Image:
    """Render a scene's geometry as a hand-drawn sketch (RGB, ``SIZE`` pixels, dark strokes on white)."""
    style = {
        "sides": rng.uniform(0.2, 0.8),  # share of boxes drawn side by side rather than in one loop
        "overshoot": rng.uniform(-0.5, 2.5),  # how far side strokes run past the corners, pixels
        "wobble": rng.uniform(0.4, 1.5),  # amplitude of the hand's drift, pixels
        "detail": rng.uniform(0.75, 1.1),  # how much of the small stuff this person bothers to draw
    }
    pen = rng.uniform(0.45, 0.9)  # pen width, pixels (the real sketches: about 1.2 once antialiased)
    ink = rng.uniform(30, 80)  # darkness of the ink (0 = black; a fine pen scanned is dark grey)
    # the sketcher's copy of the layout is a little off: rotation, scale and shift about the centre
    a, s = rng.normal(0, 0.035), rng.uniform(0.93, 1.05)
    matrix = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * s
    shift = rng.normal(0, 4, 2) + SIZE / 2

    def place(p: np.ndarray) -> np.ndarray:
        return (p - SIZE / 2) @ matrix.T + shift

    hidden = np.zeros((SIZE + 2 * _MARGIN, SIZE + 2 * _MARGIN), np.uint8)
    anything_hidden = False
    strokes: list[np.ndarray] = []
    for part in reversed(scene.parts):  # top-most first: its outline hides what lies below
        draw = part.keep > 0 and rng.random() < min(1.0, part.keep * (style["detail"] if part.keep < 0.9 else 1.0))
        draw = draw and rng.random() > 0.02  # even the main lines are sometimes forgotten
        if draw:
            outlines = [(p, False) for p in part.strokes] if part.strokes is not None else [(part.points, part.closed)]
            for points, closed in outlines:
                if len(points) < 2 or not _on_image(points, 4):
                    continue
                for stroke in _hand_strokes(place(points), closed, rng, style):
                    strokes.extend(_visible_runs(stroke, hidden) if anything_hidden else [stroke])
        if part.occludes:
            anything_hidden = True
            cv2.fillPoly(hidden, [np.round((place(part.points) + _MARGIN) * 16).astype(np.int32)], 255, cv2.LINE_8,
                         shift=4)
            hidden = cv2.dilate(hidden, np.ones((3, 3), np.uint8))
    if scene.tree_keep > 0:
        for outline in _tree_outlines(scene.trees):
            if rng.random() < scene.tree_keep and _on_image(outline, 0):
                strokes.append(_wobble(_resample(place(outline), False, 3.0), rng, 0.5))
    side = SIZE * _SKETCH_SCALE
    canvas = np.full((side, side), 255, np.uint8)
    for stroke in strokes:
        if rng.random() < 0.04 and len(stroke) > 4:  # a stroke that trails off early
            stroke = stroke[: int(len(stroke) * rng.uniform(0.4, 0.9))]
        thickness = max(1, int(round(pen * _SKETCH_SCALE * rng.uniform(0.8, 1.2))))
        level = int(np.clip(ink + rng.normal(0, 12), 0, 140))
        cv2.polylines(canvas, [np.round(stroke * _SKETCH_SCALE * 16).astype(np.int32)], False, level, thickness,
                      cv2.LINE_AA, shift=4)
    gray = cv2.resize(canvas, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    paper = rng.uniform(248, 255)  # scanned paper is white or nearly so
    gray = np.clip(gray * (paper / 255.0) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(gray, "L").convert("RGB")


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def _streams(label: str, seed: int) -> list[np.random.Generator]:
    """Independent random streams for the layout, the photo and the sketch of one scene."""
    sequence = np.random.SeedSequence([zlib.crc32(label.encode()), int(seed) & 0xFFFFFFFF, int(seed) >> 32])
    return [np.random.default_rng(s) for s in sequence.spawn(3)]


def make_scene(label: str, seed: int) -> Scene:
    """The geometric description of scene ``seed`` of class ``label``.

    Raises:
        ValueError: ``label`` is not one of the 14 Earth on Canvas classes.
    """
    if label not in BUILDERS:
        raise ValueError(f"no scene generator for class {label!r}: choose from {sorted(BUILDERS)}")
    layout, _, _ = _streams(label, seed)
    scene = BUILDERS[label](layout)
    angle = layout.uniform(0, 2 * np.pi)
    length = layout.uniform(0.45, 0.9)
    scene.sun = (float(np.cos(angle) * length), float(np.sin(angle) * length))
    return scene


def render_scene(label: str, seed: int) -> tuple[Image.Image, Image.Image]:
    """Generate one scene of a class and render it as a photo and as a sketch.

    Args:
        label: one of the 14 Earth on Canvas classes (``crossmodal.data.EOC_CLASSES``).
        seed: any non-negative integer; the same (label, seed) always gives the same two images.

    Returns:
        (photo, sketch): two RGB images of ``SIZE`` x ``SIZE`` pixels of the same geometry.

    Raises:
        ValueError: unknown class or negative seed.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, not {seed}")
    scene = make_scene(label, seed)
    _, photo_rng, sketch_rng = _streams(label, seed)
    return render_photo(scene, photo_rng), render_sketch(scene, sketch_rng)


def scene_seed(seed: int, index: int) -> int:
    """The seed of scene ``index`` of a world generated with ``seed`` (the same for every class)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0])


def _write_scene(job: tuple[str, int, int, str, str, int]) -> None:
    label, n, seed, photos_dir, sketches_dir, digits = job
    photo, sketch = render_scene(label, scene_seed(seed, n))
    photo.save(Path(photos_dir) / label / f"{label}{n:0{digits}d}.png", compress_level=1)
    sketch.convert("L").save(Path(sketches_dir) / label / f"{n:0{digits}d}.png")  # gray: 3x smaller, same pixels


def _worker_init() -> None:
    cv2.setNumThreads(1)  # the processes already share the cores


def generate_world(out: str | Path, per_class: int = 60, seed: int = 0, classes: Sequence[str] = EOC_CLASSES,
                   progress: bool = False, workers: int | None = None) -> tuple[Path, Path]:
    """Write a synthetic dataset of photos and their sketches in the layout the loaders read.

    Files are ``out/photos/<class>/<class>NN.png`` and ``out/sketches/<class>/NN.png``, the same NN
    being the same scene (NN has at least two digits). With ``per_class=100`` the standard split
    applies: 80-99 test gallery, 70-79 validation, the rest training. Scene NN of a class is
    ``render_scene(class, scene_seed(seed, NN))``; the files do not depend on ``workers``.

    Args:
        out: the folder to write (created if needed; existing files of the same names are replaced).
        per_class: scenes per class.
        seed: the world's seed; the same seed writes the same images.
        classes: which classes to generate.
        progress: show a progress bar.
        workers: processes to render with (None: one per CPU core, at most 8; 1: this process only).

    Returns:
        (photos_dir, sketches_dir).

    Raises:
        ValueError: ``per_class`` < 1, a negative seed or an unknown class.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from tqdm import tqdm

    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, not {per_class}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, not {seed}")
    unknown = [c for c in classes if c not in BUILDERS]
    if unknown:
        raise ValueError(f"no scene generator for classes {unknown}: choose from {sorted(BUILDERS)}")
    out = Path(out)
    photos_dir, sketches_dir = out / "photos", out / "sketches"
    digits = max(2, len(str(per_class - 1)))
    for label in classes:
        (photos_dir / label).mkdir(parents=True, exist_ok=True)
        (sketches_dir / label).mkdir(parents=True, exist_ok=True)
    jobs = [(label, n, seed, str(photos_dir), str(sketches_dir), digits) for label in classes for n in range(per_class)]
    workers = min(os.cpu_count() or 1, 8) if workers is None else workers
    with tqdm(total=len(jobs), desc="generating scenes", disable=not progress, unit="scene") as bar:
        if workers > 1 and len(jobs) > workers:
            # spawn, not fork: the caller may hold torch or OpenCV thread pools that do not survive a fork
            with ProcessPoolExecutor(workers, get_context("spawn"), initializer=_worker_init) as pool:
                for _ in pool.map(_write_scene, jobs, chunksize=8):
                    bar.update()
        else:
            for job in jobs:
                _write_scene(job)
                bar.update()
    return photos_dir, sketches_dir
