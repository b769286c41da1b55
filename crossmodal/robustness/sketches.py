"""The style-shift sketch suite: the strokes of a hand's class descriptions drawn in styles no training renderer uses.

The hands (``crossmodal.robustness.HANDS``) are :mod:`.shapes`, the first, and
:mod:`.second_hand`, written apart from it; the pens below are the same for both. Every drawing
is deterministic for ``(hand, seed, class, index, style)``. The geometry depends on
``(hand, seed, class, index)`` alone, so the non-iconic styles draw *the same scenes* with
different pens, and their numbers differ only by the pen. Styles (``crossmodal.robustness.STYLES``):

- ``iconic``: one object filling the frame (the hand's ``iconic``), a steady 2-3 px pen, 256 px;
- ``mouse``: 6-12 px black strokes on a 512 px canvas, the path sampled every few pixels as mouse
  or touch events are, with a little hand tremor, as a web canvas records them;
- ``pencil``: 1 px grey lines (ink 95-165 of 255) of varying pressure, with skips, on textured
  off-white paper: low contrast;
- ``wobbly``: slow sideways drift of 3-6 px, tremor, strokes misplaced by a few pixels and turned a
  few degrees, ends overshooting by 5-16 px and closed outlines running past their start;
- ``partial``: 30-50 % of the strokes left out (a single stroke is cut short instead);
- ``lowres``: drawn with a 2-3 px pen, reduced to 40-80 px and enlarged back, like a small scan;

and the reference ``plain`` (a steady 2 px pen on the scene geometry), which is not a shift.
Drawing uses Pillow's ``ImageDraw`` at twice the size and reduces it, so edges are antialiased.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import FIRST_HAND, HANDS, REFERENCE_STYLE, STYLES, second_hand, shapes
from .shapes import CLASSES, Stroke, left_of

SIZE = 256  # side of the drawings, pixels (the mouse style draws on a 512 px canvas)
SUPERSAMPLE = 2  # drawn this many times larger, then reduced: antialiased strokes


@dataclass(frozen=True)
class Pen:
    """How one style moves the pen; lengths in pixels of the finished drawing."""

    size: int = SIZE  # canvas side
    width: tuple[float, float] = (2.0, 2.0)  # stroke width, drawn once per drawing from this range
    ink: tuple[int, int] = (0, 25)  # grey level of the ink (0 = black)
    drift: tuple[float, float] = (0.4, 0.8)  # amplitude of the slow sideways drift of a line
    wavelength: tuple[float, float] = (40.0, 90.0)  # of that drift, along the line
    shake: float = 0.0  # amplitude of a faster sideways shake, wavelength 10-20 px (an unsteady hand)
    tremor: float = 0.0  # standard deviation of the point-to-point jitter
    overshoot: tuple[float, float] = (0.0, 0.0)  # how far a line runs past its ends
    misplace: float = 0.0  # each stroke shifted by up to this, and turned by up to misplace degrees
    step: float = 3.0  # spacing of the points the pen passes through
    pressure: float = 0.0  # ink level varies along a line by up to this (pencil)
    skips: float = 0.0  # share of the line where the pencil leaves no mark


PENS: dict[str, Pen] = {
    REFERENCE_STYLE: Pen(),
    "iconic": Pen(width=(2.0, 3.0), drift=(0.5, 1.0), overshoot=(0.0, 3.0)),
    "mouse": Pen(size=512, width=(6.0, 12.0), drift=(1.0, 2.5), wavelength=(60.0, 160.0), tremor=0.7,
                 overshoot=(0.0, 5.0), step=7.0),
    "pencil": Pen(width=(1.0, 1.0), ink=(95, 165), drift=(0.5, 1.0), pressure=35.0, skips=0.04),
    "wobbly": Pen(width=(2.0, 3.0), drift=(2.5, 4.5), wavelength=(60.0, 150.0), shake=1.0, tremor=0.4,
                  overshoot=(5.0, 14.0), misplace=3.0),
    "partial": Pen(),
    "lowres": Pen(width=(2.0, 3.0)),
}
PARTIAL_DROP = (0.3, 0.5)  # share of strokes the partial style leaves out
LOWRES_SIDE = (40, 80)  # the lowres style's drawings pass through this many pixels a side


@dataclass(frozen=True)
class SuiteSketch:
    """One drawing of the suite and what it is."""

    label: str
    style: str
    index: int
    image: Image.Image

    @property
    def name(self) -> str:
        """Where it goes under a suite folder: ``<style>/<class>/<index>.png``."""
        return f"{self.style}/{self.label}/{self.index:03d}.png"


def _key(text: str) -> int:
    return zlib.crc32(text.encode())


_DESCRIPTIONS = dict(zip(HANDS, (shapes, second_hand)))  # each hand's scene() and iconic(), in the order of HANDS


def _description(hand: str):
    """The module that describes the classes for ``hand``: its ``scene`` and ``iconic``."""
    if hand not in _DESCRIPTIONS:
        raise ValueError(f"unknown hand {hand!r}; known: {', '.join(HANDS)}")
    return _DESCRIPTIONS[hand]


def _hand_key(hand: str) -> list[int]:
    # the first hand's drawings keep the seeds they were drawn with before there was a second
    return [] if hand == FIRST_HAND else [_key(hand)]


def geometry(label: str, seed: int, index: int, close_up: bool = False, hand: str = FIRST_HAND) -> list[Stroke]:
    """The strokes of drawing ``index`` of a class: a scene, or with ``close_up`` one object filling the frame.

    ``hand`` (one of ``HANDS``): whose descriptions of the classes draw it.

    Raises:
        ValueError: a class without a description, or an unknown hand.
    """
    description = _description(hand)
    rng = np.random.default_rng([seed, _key(label), index, int(close_up), *_hand_key(hand)])
    return description.iconic(label, rng) if close_up else description.scene(label, rng)


# ---------------------------------------------------------------------------- pen movement


def _resample(points: np.ndarray, closed: bool, step: float) -> np.ndarray:
    """Points every ``step`` pixels along the path (a closed path ends back at its start)."""
    if closed:
        points = np.concatenate([points, points[:1]])
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if lengths[-1] == 0:
        return points[:1]
    s = np.linspace(0, lengths[-1], max(2, int(np.ceil(lengths[-1] / step)) + 1))
    return np.stack([np.interp(s, lengths, points[:, 0]), np.interp(s, lengths, points[:, 1])], 1)


def _extend(path: np.ndarray, before: float, after: float) -> np.ndarray:
    """An open path run on straight past its ends."""
    if len(path) < 2:
        return path
    head = path[0] - path[1]
    tail = path[-1] - path[-2]
    head /= np.linalg.norm(head) + 1e-12
    tail /= np.linalg.norm(tail) + 1e-12
    return np.concatenate([[path[0] + head * before], path, [path[-1] + tail * after]])


def _run_past_start(path: np.ndarray, distance: float) -> np.ndarray:
    """A closed path (ending at its start) carried on around the outline for ``distance`` more."""
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    k = int(np.searchsorted(np.cumsum(steps), distance)) + 1
    return np.concatenate([path, path[1:k + 1]])


def _hand(stroke: Stroke, pen: Pen, rng: np.random.Generator) -> np.ndarray:
    """The path the pen actually takes for one stroke, in pixels."""
    points = stroke.points * pen.size
    if pen.misplace:
        centre = points.mean(0)
        a = np.radians(rng.uniform(-pen.misplace, pen.misplace))
        turn = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        points = (points - centre) @ turn + centre + rng.uniform(-pen.misplace, pen.misplace, 2)
    extent = float(np.ptp(points, axis=0).max())
    path = _resample(points, stroke.closed, pen.step)
    if pen.overshoot[1] > 0:  # a short line overshoots less than a long one
        def overshoot() -> float:
            return min(rng.uniform(*pen.overshoot), 0.3 * extent)

        if stroke.closed:
            path = _run_past_start(path, overshoot())
        else:
            path = _extend(path, overshoot(), overshoot())
        path = _resample(path, False, pen.step)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    # small details (an engine, a bunker) drift less than long lines, or they would dissolve
    limit = 0.12 * extent + 0.5
    offset = np.zeros(len(path))
    amplitude = min(rng.uniform(*pen.drift), limit)
    for k in (1.0, 1.7, 2.9):  # the drift's components: the base wavelength and longer ones
        wavelength = rng.uniform(*pen.wavelength) * k
        offset += amplitude / k * np.sin(2 * np.pi * s / wavelength + rng.uniform(0, 2 * np.pi))
    if pen.shake:
        offset += min(pen.shake, limit) * np.sin(2 * np.pi * s / rng.uniform(10, 20) + rng.uniform(0, 2 * np.pi))
    path = path + left_of(path) * offset[:, None]
    if pen.tremor:
        path = path + rng.normal(0, pen.tremor, path.shape)
    return path


# ---------------------------------------------------------------------------- ink on paper


def _draw_path(draw: ImageDraw.ImageDraw, path: np.ndarray, width: float, level: int) -> None:
    scaled = [tuple(p) for p in path * SUPERSAMPLE]
    w = max(1, round(width * SUPERSAMPLE))
    draw.line(scaled, fill=level, width=w, joint="curve")
    if w >= 3:  # round caps, as a canvas brush leaves
        r = w / 2
        for x, y in (scaled[0], scaled[-1]):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=level)


def _draw_pencil_path(draw: ImageDraw.ImageDraw, path: np.ndarray, width: float, level: int, pen: Pen,
                      rng: np.random.Generator) -> None:
    """Segment by segment: the pressure (ink level) wanders along the line and the lead skips now and then."""
    scaled = path * SUPERSAMPLE
    pressure = np.cumsum(rng.normal(0, pen.pressure / 4, len(path)))
    pressure = np.clip(pressure - pressure.mean(), -pen.pressure, pen.pressure)
    skipping = 0
    for i in range(len(path) - 1):
        if skipping:
            skipping -= 1
            continue
        if rng.random() < pen.skips:
            skipping = int(rng.integers(1, 4))
            continue
        draw.line([tuple(scaled[i]), tuple(scaled[i + 1])], fill=int(np.clip(level + pressure[i], 0, 250)),
                  width=max(1, round(width * SUPERSAMPLE)))


def _paper(size: int, rng: np.random.Generator) -> np.ndarray:
    """Off-white paper, (size, size, 3) float: a slight tint, grain and uneven shading."""
    base = rng.uniform(222, 242)
    coarse = rng.normal(0, 1, (8, 8)).astype(np.float32)
    shading = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))
    grain = rng.normal(0, rng.uniform(3, 7), (size, size))
    level = base + shading * rng.uniform(3, 7) + grain
    tint = np.array([rng.uniform(0, 4), rng.uniform(-1, 2), rng.uniform(-6, 0)])
    return np.clip(level[..., None] + tint, 0, 255)


def render(strokes: Sequence[Stroke], style: str, rng: np.random.Generator) -> Image.Image:
    """Draw strokes in one style: an RGB image, dark lines on white or on paper.

    Raises:
        ValueError: an unknown style.
    """
    if style not in PENS:
        raise ValueError(f"unknown sketch style {style!r}; known: {', '.join(PENS)}")
    pen = PENS[style]
    strokes = list(strokes)
    if style == "partial":
        strokes = _leave_out(strokes, rng)
    big = Image.new("L", (pen.size * SUPERSAMPLE, pen.size * SUPERSAMPLE), 255)
    draw = ImageDraw.Draw(big)
    width, level = rng.uniform(*pen.width), int(rng.integers(pen.ink[0], pen.ink[1] + 1))
    for stroke in strokes:
        path = _hand(stroke, pen, rng)
        if style == "pencil":
            _draw_pencil_path(draw, path, width, level, pen, rng)
        else:
            _draw_path(draw, path, width, level)
    image = big.reduce(SUPERSAMPLE)
    if style == "pencil":
        paper = _paper(pen.size, rng)
        return Image.fromarray((paper * (np.asarray(image, np.float64)[..., None] / 255.0)).astype(np.uint8))
    if style == "lowres":
        side = int(rng.integers(LOWRES_SIDE[0], LOWRES_SIDE[1] + 1))
        image = image.resize((side, side), Image.Resampling.BOX).resize((pen.size, pen.size),
                                                                         Image.Resampling.BILINEAR)
    return image.convert("RGB")


def _leave_out(strokes: list[Stroke], rng: np.random.Generator) -> list[Stroke]:
    """Drop 30-50 % of the strokes; a drawing of one stroke keeps only part of it."""
    share = rng.uniform(*PARTIAL_DROP)
    if len(strokes) == 1:
        points = _resample(strokes[0].points, strokes[0].closed, 0.005)
        keep = max(2, round(len(points) * (1 - share)))
        start = int(rng.integers(0, len(points) - keep + 1))
        return [Stroke(points[start:start + keep])]
    drop = max(1, round(len(strokes) * share))
    kept = np.sort(rng.choice(len(strokes), len(strokes) - drop, replace=False))
    return [strokes[i] for i in kept]


# ---------------------------------------------------------------------------- the suite


def style_sketch(label: str, style: str, seed: int = 0, index: int = 0, hand: str = FIRST_HAND) -> Image.Image:
    """Drawing ``index`` of class ``label`` in ``style`` (one of ``STYLES`` or ``plain``), by ``hand``.

    Raises:
        ValueError: an unknown class, style or hand.
    """
    if style not in PENS:
        raise ValueError(f"unknown sketch style {style!r}; known: {', '.join(PENS)}")
    strokes = geometry(label, seed, index, close_up=style == "iconic", hand=hand)
    return render(strokes, style, np.random.default_rng([seed, _key(label), index, _key(style), *_hand_key(hand)]))


def sketch_suite(per_class: int = 10, seed: int = 0, styles: Sequence[str] = STYLES,
                 classes: Sequence[str] = CLASSES, hand: str = FIRST_HAND) -> Iterator[SuiteSketch]:
    """Every drawing of the suite, style by style, class by class: ``len(styles) * len(classes) * per_class``.

    ``hand``: whose descriptions of the classes are drawn (``HANDS``); the pens are the same.

    Raises:
        ValueError: ``per_class`` below 1, or an unknown class, style or hand.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, not {per_class}")
    _description(hand)  # an unknown hand fails before the first drawing, as an unknown style or class does
    unknown = [s for s in styles if s not in PENS] + [c for c in classes if c not in CLASSES]
    if unknown:
        raise ValueError(f"unknown styles or classes {unknown}; styles: {', '.join(PENS)}; "
                         f"classes: {', '.join(CLASSES)}")
    for style in styles:
        for label in classes:
            for index in range(per_class):
                yield SuiteSketch(label, style, index, style_sketch(label, style, seed, index, hand))


def write_sketch_suite(out: str | Path, per_class: int = 10, seed: int = 0, styles: Sequence[str] = STYLES,
                       classes: Sequence[str] = CLASSES, hand: str = FIRST_HAND) -> int:
    """Write the suite as PNG files ``out/<style>/<class>/<index>.png`` (to look at them); returns the count."""
    count = 0
    for sketch in sketch_suite(per_class, seed, styles, classes, hand):
        path = Path(out) / sketch.name
        path.parent.mkdir(parents=True, exist_ok=True)
        sketch.image.save(path)
        count += 1
    return count


def _simplify(path: np.ndarray, tolerance: float) -> np.ndarray:
    """The path's corners: Douglas-Peucker, no point of the path farther than ``tolerance`` from the result."""
    if len(path) < 3:
        return path
    start, end = path[0], path[-1]
    chord = end - start
    length = float(np.hypot(*chord))
    offsets = path - start
    if length < 1e-9:
        distance = np.hypot(offsets[:, 0], offsets[:, 1])
    else:
        distance = np.abs(offsets[:, 0] * chord[1] - offsets[:, 1] * chord[0]) / length
    far = int(np.argmax(distance))
    if distance[far] <= tolerance:
        return np.stack([start, end])
    return np.concatenate([_simplify(path[:far + 1], tolerance)[:-1], _simplify(path[far:], tolerance)])


def canvas_paths(label: str, seed: int, index: int, size: float, margin: float = 4.0,
                 tolerance: float = 1.0, hand: str = FIRST_HAND) -> list[np.ndarray]:
    """Mouse paths (pixels) that draw a scene's strokes on a ``size`` canvas, one path a stroke.

    Each path keeps only the points where the stroke turns (within ``tolerance`` pixels), as few
    pointer moves as draw it; parts outside the canvas (less ``margin``) are left out, so that the
    pointer never leaves the canvas while the button is down.
    """
    paths = []
    for stroke in geometry(label, seed, index, hand=hand):
        path = _resample(stroke.points * size, stroke.closed, 2.0)
        inside = np.all((path >= margin) & (path <= size - margin), axis=1)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
        paths += [_simplify(path[a:b], tolerance) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 2]
    return paths
