"""What a person draws for each class, seen from above: strokes in the unit square, random per seed.

Each of the 14 Earth on Canvas classes has a small parametric description, written for this suite
alone: an airplane is a fuselage, two swept wings, a tailplane and sometimes engines; a tennis
court is the doubles rectangle, singles sidelines, service lines, the centre line and the net; a
runway is a long strip with centre dashes and threshold bars, and so on. A seed picks the
proportions, counts, spacing and rotation. Two compositions:

- :func:`scene`: the view of a whole scene (several aircraft on an apron, a row of courts, a
  river running through the picture), rotated at random since an aerial view has no "up";
- :func:`iconic`: one object filling the frame (one aircraft, one court, one tank), or for the
  classes that are long structures (river, runway, freeway, roads) a close-up of a short stretch.

A :class:`Stroke` is one pen-down movement; the drawing styles of :mod:`.sketches` turn strokes
into pixels. Coordinates are in the unit square, x to the right and y downwards; strokes may run
past its border (the picture clips them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Rng = np.random.Generator


@dataclass(frozen=True)
class Stroke:
    """One pen-down movement: a polyline, closed when the pen returns to its start."""

    points: np.ndarray  # (n, 2) float, unit-square coordinates
    closed: bool = False


# ---------------------------------------------------------------------------- primitives


def _stroke(points, closed: bool = False) -> Stroke:
    return Stroke(np.asarray(points, dtype=np.float64), closed)


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _rect(cx: float, cy: float, w: float, h: float, angle: float = 0.0) -> Stroke:
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    return _stroke(corners @ _rotation(angle).T + (cx, cy), closed=True)


def _ellipse(cx: float, cy: float, rx: float, ry: float | None = None, angle: float = 0.0) -> Stroke:
    ry = rx if ry is None else ry
    n = int(np.clip(160 * max(rx, ry), 12, 96))
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = np.stack([rx * np.cos(t), ry * np.sin(t)], 1) @ _rotation(angle).T
    return _stroke(points + (cx, cy), closed=True)


def _arc(cx: float, cy: float, r: float, start: float, stop: float) -> Stroke:
    """An open arc from angle ``start`` to ``stop`` (radians; y points down, so negative angles are up)."""
    n = max(4, int(abs(stop - start) * r * 60))
    t = np.linspace(start, stop, n)
    return _stroke(np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1))


def _segment(p, q) -> Stroke:
    return _stroke([p, q])


def _blob(rng: Rng, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, wobble: float = 0.15) -> Stroke:
    """A smooth closed lump (a fairway, a bunker, an island): an ellipse with a few low harmonics."""
    t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    radius = np.ones_like(t)
    for k in (2, 3, 4):
        radius += rng.uniform(0, wobble / k * 2) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    points = np.stack([rx * radius * np.cos(t), ry * radius * np.sin(t)], 1) @ _rotation(angle).T
    return _stroke(points + (cx, cy), closed=True)


def _normals(curve: np.ndarray) -> np.ndarray:
    tangent = np.gradient(curve, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-12
    return np.stack([-tangent[:, 1], tangent[:, 0]], 1)


def _parallel(curve: np.ndarray, distance) -> np.ndarray:
    """The curve moved sideways by ``distance`` (a number or one per point)."""
    return curve + _normals(curve) * np.asarray(distance, dtype=np.float64).reshape(-1, 1)


def _dashes(curve: np.ndarray, on: float, off: float, phase: float = 0.0) -> list[Stroke]:
    """The curve cut into dashes of length ``on`` with gaps ``off``."""
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    dashes, start = [], phase
    while start < lengths[-1]:
        stop = min(start + on, lengths[-1])
        s = np.linspace(start, stop, 4)
        dashes.append(_stroke(np.stack([np.interp(s, lengths, curve[:, 0]), np.interp(s, lengths, curve[:, 1])], 1)))
        start += on + off
    return dashes


def _line(x0: float, x1: float, y: float = 0.0, n: int = 40) -> np.ndarray:
    return np.stack([np.linspace(x0, x1, n), np.full(n, y)], 1)


def _moved(strokes: list[Stroke], angle: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0),
           centre=(0.0, 0.0)) -> list[Stroke]:
    """Rotate about ``centre``, scale about it, then move by ``shift``."""
    matrix = _rotation(angle).T * scale
    centre = np.asarray(centre)
    return [Stroke((s.points - centre) @ matrix + centre + shift, s.closed) for s in strokes]


def _spin(strokes: list[Stroke], rng: Rng) -> list[Stroke]:
    """The whole scene turned to a random heading about the picture's centre."""
    return _moved(strokes, rng.uniform(0, 2 * np.pi), centre=(0.5, 0.5))


def _fill_frame(strokes: list[Stroke], rng: Rng, fill: tuple[float, float] = (0.8, 0.94)) -> list[Stroke]:
    """One object turned at random and scaled so that its larger side spans most of the picture."""
    strokes = _moved(strokes, rng.uniform(0, 2 * np.pi))
    points = np.concatenate([s.points for s in strokes])
    low, high = points.min(0), points.max(0)
    size = rng.uniform(*fill)
    scale = size / max(high - low)
    slack = (1 - size) / 2
    shift = 0.5 - (low + high) / 2 * scale + rng.uniform(-slack, slack, 2) * 0.5
    return [Stroke(s.points * scale + shift, s.closed) for s in strokes]


# ---------------------------------------------------------------------------- airplane


def _plane(rng: Rng, length: float) -> list[Stroke]:
    """One aircraft, nose up (-y), centred on the origin: fuselage, swept wings, tailplane, engines."""
    fuselage_w = length * rng.uniform(0.08, 0.12)
    half_span = length * rng.uniform(0.42, 0.55)
    sweep = np.tan(np.radians(rng.uniform(12, 35)))
    root_y = length * rng.uniform(-0.14, 0.0)
    chord = length * rng.uniform(0.14, 0.22)
    tip = chord * rng.uniform(0.3, 0.5)
    r = fuselage_w / 2
    nose = _arc(0, -length / 2 + r, r, np.pi, 2 * np.pi).points
    body = np.concatenate([nose, [[r, length * 0.3], [r * 0.3, length / 2], [-r * 0.3, length / 2],
                                  [-r, length * 0.3]]])
    strokes = [_stroke(body, closed=True)]
    tip_y = root_y + (half_span - r) * sweep
    tail_y, tail_half = length * rng.uniform(0.3, 0.38), half_span * rng.uniform(0.28, 0.4)
    tail_chord, tail_root = length * rng.uniform(0.07, 0.1), r * 0.6
    tail_tip_y = tail_y + (tail_half - tail_root) * sweep
    for side in (1, -1):
        strokes.append(_stroke([[side * r, root_y], [side * half_span, tip_y], [side * half_span, tip_y + tip],
                                [side * r, root_y + chord]]))
        strokes.append(_stroke([[side * tail_root, tail_y], [side * tail_half, tail_tip_y],
                                [side * tail_half, tail_tip_y + tail_chord * 0.5],
                                [side * tail_root, tail_y + tail_chord]]))
    if rng.random() < 0.6:
        for x in (0.32, 0.62)[:rng.integers(1, 3)]:
            for side in (1, -1):
                ex = side * (r + (half_span - r) * x)
                lead = root_y + (abs(ex) - r) * sweep
                strokes.append(_ellipse(ex, lead - length * 0.02, length * 0.022, length * 0.055))
    return strokes


def _airplane(rng: Rng) -> list[Stroke]:
    n = rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3])
    length = {1: rng.uniform(0.5, 0.65), 2: rng.uniform(0.32, 0.42), 3: rng.uniform(0.25, 0.32)}[n]
    pitch = length * rng.uniform(1.05, 1.3)
    heading = rng.normal(0, 0.08)
    strokes = []
    for i in range(n):
        x = 0.5 + (i - (n - 1) / 2) * pitch
        strokes += _moved(_plane(rng, length), heading + rng.normal(0, 0.05), shift=(x, 0.5))
    if rng.random() < 0.6:  # the apron's edge behind the tails
        strokes.append(_stroke(_line(-0.3, 1.3, 0.5 + length * rng.uniform(0.6, 0.8))))
    if rng.random() < 0.5:  # a taxiway centre line in front of the noses
        strokes += _dashes(_line(-0.3, 1.3, 0.5 - length * rng.uniform(0.65, 0.85)), 0.05, 0.03)
    return _spin(strokes, rng)


def _airplane_icon(rng: Rng) -> list[Stroke]:
    return _fill_frame(_plane(rng, 1.0), rng)


# ---------------------------------------------------------------------------- baseball diamond


def _field(rng: Rng, reach: float) -> list[Stroke]:
    """A ball field, home plate at the origin, the outfield towards -y."""
    d = reach * rng.uniform(0.3, 0.4)  # base path
    up_left, up_right = -3 * np.pi / 4, -np.pi / 4
    bases = [(0, 0), (d / np.sqrt(2), -d / np.sqrt(2)), (0, -d * np.sqrt(2)), (-d / np.sqrt(2), -d / np.sqrt(2))]
    mound = (0.0, -0.67 * d)
    strokes = [_stroke(bases, closed=True),
               _segment((0, 0), (reach * np.cos(up_left), reach * np.sin(up_left))),
               _segment((0, 0), (reach * np.cos(up_right), reach * np.sin(up_right))),
               _arc(0, 0, reach, up_left, up_right),
               _arc(mound[0], mound[1], 1.05 * d, -np.pi + 0.35, -0.35),
               _ellipse(mound[0], mound[1], d * 0.07)]
    if rng.random() < 0.6:
        strokes += [_rect(x, y, d * 0.07, d * 0.07, np.pi / 4) for x, y in bases[1:]]
    if rng.random() < 0.7:  # the backstop behind home plate
        strokes.append(_arc(0, 0, d * 0.28, 0.35, np.pi - 0.35))
    return strokes


def _baseballdiamond(rng: Rng) -> list[Stroke]:
    if rng.random() < 0.65:
        reach = rng.uniform(0.55, 0.72)
        strokes = _moved(_field(rng, reach), shift=(0.5, 0.5 + reach * 0.42))
    else:
        reach = rng.uniform(0.36, 0.44)
        strokes = (_moved(_field(rng, reach), rng.uniform(-0.8, -0.3), shift=(0.28, 0.72))
                   + _moved(_field(rng, reach), rng.uniform(0.3, 0.8), shift=(0.72, 0.72)))
    return _spin(strokes, rng)


def _baseballdiamond_icon(rng: Rng) -> list[Stroke]:
    return _fill_frame(_field(rng, 1.0), rng)


# ---------------------------------------------------------------------------- buildings


def _footprint(rng: Rng, w: float, h: float) -> list[Stroke]:
    """One building's outline (a box, an L or a U) centred on the origin, with some roof detail."""
    kind = rng.choice(["box", "L", "U"], p=[0.5, 0.3, 0.2])
    x0, y0, x1, y1 = -w / 2, -h / 2, w / 2, h / 2
    cut_w, cut_h = w * rng.uniform(0.35, 0.6), h * rng.uniform(0.35, 0.6)
    if kind == "box":
        outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    elif kind == "L":
        outline = [(x0, y0), (x1, y0), (x1, y1 - cut_h), (x1 - cut_w, y1 - cut_h), (x1 - cut_w, y1), (x0, y1)]
    else:
        inner = w * rng.uniform(0.25, 0.4) / 2
        outline = [(x0, y0), (x1, y0), (x1, y1), (inner, y1), (inner, y1 - cut_h), (-inner, y1 - cut_h),
                   (-inner, y1), (x0, y1)]
    strokes = [_stroke(outline, closed=True)]
    if kind == "box" and rng.random() < 0.4:  # a ridge along the long side
        strokes.append(_segment((x0 + w * 0.1, 0), (x1 - w * 0.1, 0)) if w > h
                       else _segment((0, y0 + h * 0.1), (0, y1 - h * 0.1)))
    elif kind == "box" and min(w, h) > 0.15 and rng.random() < 0.5:  # a courtyard
        strokes.append(_rect(0, 0, w * 0.45, h * 0.45))
    for _ in range(rng.integers(0, 3)):  # roof units
        side = min(w, h) * rng.uniform(0.08, 0.15)
        strokes.append(_rect(rng.uniform(x0 + side, x0 + w * 0.45), rng.uniform(y0 + side, y0 + h * 0.45),
                             side, side))
    return strokes


def _buildings(rng: Rng) -> list[Stroke]:
    cols, rows = rng.integers(2, 4), rng.integers(2, 4)
    cell_w, cell_h = 1.1 / cols, 1.1 / rows
    strokes = []
    for i in range(cols):
        for j in range(rows):
            if rng.random() < 0.12:
                continue
            w, h = cell_w * rng.uniform(0.5, 0.8), cell_h * rng.uniform(0.5, 0.8)
            cx = -0.05 + (i + 0.5) * cell_w + rng.uniform(-0.05, 0.05) * cell_w
            cy = -0.05 + (j + 0.5) * cell_h + rng.uniform(-0.05, 0.05) * cell_h
            strokes += _moved(_footprint(rng, w, h), rng.choice([0.0, np.pi / 2]) if w > h * 1.5 else 0.0,
                              shift=(cx, cy))
    if rng.random() < 0.5:  # street edges between the blocks
        for i in range(1, cols):
            x = -0.05 + i * cell_w
            strokes += [_stroke([(x - 0.025, -0.3), (x - 0.025, 1.3)]), _stroke([(x + 0.025, -0.3), (x + 0.025, 1.3)])]
    return _spin(strokes, rng)


def _buildings_icon(rng: Rng) -> list[Stroke]:
    return _fill_frame(_footprint(rng, 1.0, rng.uniform(0.55, 1.0)), rng)


# ---------------------------------------------------------------------------- roads


def _carriageways(rng: Rng, curve: np.ndarray, lane: float, lanes: int, median: float) -> list[Stroke]:
    """Both directions of a freeway along ``curve``: edges, lane dashes and a few cars."""
    strokes = []
    for side in (1, -1):
        inner = side * median / 2
        outer = side * (median / 2 + lanes * lane)
        strokes += [_stroke(_parallel(curve, inner)), _stroke(_parallel(curve, outer))]
        for k in range(1, lanes):
            strokes += _dashes(_parallel(curve, inner + side * k * lane), lane * 0.9, lane * 0.7,
                               rng.uniform(0, lane))
    normals, tangents = _normals(curve), np.gradient(curve, axis=0)
    for _ in range(rng.integers(0, 6)):
        i = rng.integers(len(curve) // 4, 3 * len(curve) // 4)
        side, k = rng.choice([1, -1]), rng.integers(lanes)
        centre = curve[i] + normals[i] * side * (median / 2 + (k + 0.5) * lane)
        strokes.append(_rect(*centre, lane * 1.3, lane * 0.6, np.arctan2(tangents[i, 1], tangents[i, 0])))
    return strokes


def _freeway(rng: Rng) -> list[Stroke]:
    curve = _line(-0.4, 1.4, 0.0, 90)
    if rng.random() < 0.5:
        curve[:, 1] = rng.uniform(-0.15, 0.15) * ((curve[:, 0] - 0.5) / 0.9) ** 2
    curve[:, 1] += 0.5 + rng.uniform(-0.1, 0.1)
    strokes = _carriageways(rng, curve, rng.uniform(0.045, 0.06), rng.integers(2, 4), rng.uniform(0.02, 0.07))
    return _spin(strokes, rng)


def _freeway_icon(rng: Rng) -> list[Stroke]:
    curve = _line(-0.4, 1.4, 0.5 + rng.uniform(-0.05, 0.05), 90)
    lanes = rng.integers(2, 4)
    strokes = _carriageways(rng, curve, rng.uniform(0.75, 0.9) / (2 * lanes + 1), lanes, rng.uniform(0.06, 0.12))
    return _spin(strokes, rng)


def _cross_roads(rng: Rng, half_a: float, half_b: float, angle: float, reach: float, bridge: bool,
                 tee: bool = False) -> list[Stroke]:
    """Road A along x and road B at ``angle``, crossing at the origin.

    ``bridge``: B passes over A (A's edges stop under it, B's run on and have parapets); otherwise
    both roads' edges stop at the junction. ``tee``: road B leaves on one side only.
    """
    sin, cos = np.sin(angle), np.cos(angle)
    along_b, normal_b = np.array([cos, sin]), np.array([-sin, cos])
    strokes = []
    for e in (1, -1):  # road A's edges, cut where they pass under or into road B
        lo, hi = (e * half_a * cos - half_b) / sin, (e * half_a * cos + half_b) / sin
        if tee and e == -1:
            strokes.append(_stroke(_line(-reach, reach, e * half_a)))
        else:
            strokes += [_stroke(_line(-reach, lo, e * half_a)), _stroke(_line(hi, reach, e * half_a))]
    start_b = 0.0 if tee else -reach
    for e in (1, -1):  # road B's edges
        lo, hi = (-half_a - e * half_b * cos) / sin, (half_a - e * half_b * cos) / sin
        pieces = [(start_b, reach)] if bridge else ([(hi, reach)] if tee else [(start_b, lo), (hi, reach)])
        for s0, s1 in pieces:
            s = np.linspace(s0, s1, 40)[:, None]
            strokes.append(_stroke(s * along_b + e * half_b * normal_b))
        if bridge:  # parapets beside the deck where it spans road A
            s = np.linspace(lo - half_b * 0.3, hi + half_b * 0.3, 12)[:, None]
            strokes.append(_stroke(s * along_b + e * half_b * 1.25 * normal_b))
    return strokes


def _junction_marks(rng: Rng, half_a: float, half_b: float, angle: float, reach: float, tee: bool) -> list[Stroke]:
    """Centre dashes, and crosswalk stripes where the arms meet the junction."""
    strokes = []
    arms = [(np.array([1.0, 0.0]), half_a, half_b), (np.array([-1.0, 0.0]), half_a, half_b),
            (np.array([np.cos(angle), np.sin(angle)]), half_b, half_a)]
    if not tee:
        arms.append((-arms[2][0], half_b, half_a))
    crosswalks = rng.random() < 0.7
    for direction, half, other in arms:
        normal = np.array([-direction[1], direction[0]])
        start = other / abs(np.sin(angle)) + half * 0.3
        s = np.linspace(start + half * 0.8, reach, 30)[:, None]
        strokes += _dashes(s * direction, half * 0.5, half * 0.4)
        if crosswalks:
            for t in np.linspace(-0.8, 0.8, rng.integers(5, 9)) * half:
                strokes.append(_segment(start * direction + t * normal, (start + half * 0.6) * direction + t * normal))
    return strokes


def _intersection(rng: Rng, half: tuple[float, float], reach: float) -> list[Stroke]:
    half_a, half_b = rng.uniform(*half), rng.uniform(*half)
    angle, tee = rng.uniform(np.radians(70), np.radians(110)), rng.random() < 0.2
    strokes = _cross_roads(rng, half_a, half_b, angle, reach, bridge=False, tee=tee)
    return strokes + _junction_marks(rng, half_a, half_b, angle, reach, tee)


def _intersection_scene(rng: Rng) -> list[Stroke]:
    strokes = _moved(_intersection(rng, (0.07, 0.11), 1.0), shift=tuple(0.5 + rng.uniform(-0.1, 0.1, 2)))
    return _spin(strokes, rng)


def _intersection_icon(rng: Rng) -> list[Stroke]:
    return _spin(_moved(_intersection(rng, (0.17, 0.22), 1.0), shift=(0.5, 0.5)), rng)


def _ramp(rng: Rng, half_a: float, half_b: float, angle: float, quadrant: int) -> list[Stroke]:
    """A slip road in one quadrant: leaves road A towards the junction, turns and joins road B going away."""
    along_a = np.array([1.0, 0.0]) * (1 if quadrant in (0, 3) else -1)
    along_b = np.array([np.cos(angle), np.sin(angle)]) * (1 if quadrant in (0, 1) else -1)
    normal_b = np.array([-np.sin(angle), np.cos(angle)])
    width = rng.uniform(0.02, 0.035)
    start = along_a * rng.uniform(0.3, 0.45) + np.array([0.0, np.sign(along_b[1]) * (half_a + width)])
    end = along_b * rng.uniform(0.3, 0.45) + normal_b * np.sign(along_a @ normal_b) * (half_b + width)
    t, _ = np.linalg.solve(np.stack([along_a, -along_b], 1), start - end)
    corner = start - t * along_a  # where the two roads' directions through start and end meet
    s = np.linspace(0, 1, 30)[:, None]
    curve = (1 - s) ** 2 * start + 2 * s * (1 - s) * corner + s ** 2 * end
    return [_stroke(_parallel(curve, width / 2)), _stroke(_parallel(curve, -width / 2))]


def _overpass(rng: Rng, half: tuple[float, float], reach: float) -> list[Stroke]:
    half_a, half_b = rng.uniform(*half), rng.uniform(*half)
    angle = rng.uniform(np.radians(55), np.radians(90)) * rng.choice([1, -1]) % np.pi
    strokes = _cross_roads(rng, half_a, half_b, angle, reach, bridge=True)
    strokes += _dashes(_line(-reach, reach, 0.0), half_a * 0.5, half_a * 0.4)
    if rng.random() < 0.6:
        for quadrant in rng.choice(4, size=rng.integers(1, 3), replace=False):
            strokes += _ramp(rng, half_a, half_b, angle, int(quadrant))
    return strokes


def _overpass_scene(rng: Rng) -> list[Stroke]:
    strokes = _moved(_overpass(rng, (0.06, 0.09), 1.0), shift=tuple(0.5 + rng.uniform(-0.08, 0.08, 2)))
    return _spin(strokes, rng)


def _overpass_icon(rng: Rng) -> list[Stroke]:
    return _spin(_moved(_overpass(rng, (0.15, 0.2), 1.0), shift=(0.5, 0.5)), rng)


def _runway(rng: Rng, half: float, end: float | None) -> list[Stroke]:
    """A runway along x from ``end`` (None: through the picture) to past the right edge, at y = 0."""
    start = -0.4 if end is None else end
    strokes = [_stroke(_line(start, 1.4, half)), _stroke(_line(start, 1.4, -half))]
    if end is not None:
        strokes.append(_segment((end, -half), (end, half)))
        length = half * rng.uniform(0.8, 1.2)
        for y in np.linspace(-0.78, 0.78, rng.integers(4, 9)) * half:  # threshold bars ("piano keys")
            strokes.append(_segment((end + half * 0.2, y), (end + half * 0.2 + length, y)))
        if rng.random() < 0.5:  # touchdown zone marks
            x = end + half * 2.2
            strokes += [_segment((x, y), (x + half * 0.8, y)) for y in (-0.45 * half, 0.45 * half)]
    dash_from = start + (half * 3 if end is not None else 0)
    strokes += _dashes(_line(dash_from, 1.4, 0.0), half * 0.7, half * 0.45)
    return strokes


def _runway_scene(rng: Rng) -> list[Stroke]:
    half = rng.uniform(0.05, 0.08)
    end = rng.uniform(0.1, 0.3) if rng.random() < 0.6 else None
    strokes = _runway(rng, half, end)
    if rng.random() < 0.6:  # a parallel taxiway and its links
        offset = rng.choice([1, -1]) * rng.uniform(0.18, 0.28)
        strokes.append(_stroke(_line(-0.4, 1.4, offset)))
        for x in rng.uniform(0.1, 0.9, rng.integers(1, 4)):
            strokes.append(_segment((x, np.sign(offset) * half), (x, offset)))
    return _spin(_moved(strokes, shift=(0.0, 0.5 + rng.uniform(-0.1, 0.1))), rng)


def _runway_icon(rng: Rng) -> list[Stroke]:
    strokes = _runway(rng, rng.uniform(0.2, 0.28), rng.uniform(0.06, 0.18))
    return _spin(_moved(strokes, shift=(0.0, 0.5)), rng)


# ---------------------------------------------------------------------------- golf course


def _green(rng: Rng, cx: float, cy: float, r: float, bunkers: int) -> list[Stroke]:
    """A putting green with its flag, and bunkers at its edge."""
    strokes = [_blob(rng, cx, cy, r, r * rng.uniform(0.75, 1.0), rng.uniform(0, np.pi), 0.12)]
    pin = (cx + rng.uniform(-0.3, 0.3) * r, cy + rng.uniform(-0.3, 0.3) * r)
    top = (pin[0], pin[1] - r * 0.9)
    strokes += [_segment(pin, top),
                _stroke([top, (top[0] + r * 0.45, top[1] + r * 0.15), (top[0], top[1] + r * 0.3)])]
    for a in rng.uniform(0, 2 * np.pi, bunkers):
        size = r * rng.uniform(0.3, 0.45)
        d = r + size * 1.1
        strokes.append(_blob(rng, cx + d * np.cos(a), cy + d * np.sin(a), size * 1.3, size, a + np.pi / 2, 0.3))
    return strokes


def _golfcourse(rng: Rng) -> list[Stroke]:
    strokes = []
    for _ in range(rng.integers(1, 3)):
        cx, cy = 0.5 + rng.uniform(-0.15, 0.15, 2)
        length, width, angle = rng.uniform(0.28, 0.42), rng.uniform(0.1, 0.16), rng.uniform(0, np.pi)
        strokes.append(_blob(rng, cx, cy, length, width, angle, 0.35))
        axis = np.array([np.cos(angle), np.sin(angle)])
        green = np.array([cx, cy]) + axis * length * 1.05
        strokes += _green(rng, *green, rng.uniform(0.045, 0.07), rng.integers(1, 4))
        tee = np.array([cx, cy]) - axis * length * 1.1
        strokes.append(_rect(*tee, 0.04, 0.025, angle))
    for _ in range(rng.integers(2, 5)):  # tree clumps
        centre = rng.uniform(0.05, 0.95, 2)
        for _ in range(rng.integers(2, 6)):
            strokes.append(_ellipse(*(centre + rng.normal(0, 0.03, 2)), rng.uniform(0.015, 0.03)))
    if rng.random() < 0.3:  # a pond
        strokes.append(_blob(rng, *rng.uniform(0.15, 0.85, 2), rng.uniform(0.06, 0.1), rng.uniform(0.05, 0.08),
                             rng.uniform(0, np.pi), 0.3))
    return _spin(strokes, rng)


def _golfcourse_icon(rng: Rng) -> list[Stroke]:
    strokes = _green(rng, 0.0, 0.0, 0.3, rng.integers(1, 4))
    if rng.random() < 0.6:  # the fringe around the green
        strokes.append(_blob(rng, 0.0, 0.0, 0.4, 0.36, rng.uniform(0, np.pi), 0.1))
    return _fill_frame(strokes, rng)


# ---------------------------------------------------------------------------- harbor


def _boat(cx: float, cy: float, length: float, beam: float, angle: float, cabin: bool) -> list[Stroke]:
    """A hull seen from above, bow towards -y before turning by ``angle``."""
    b, n = beam / 2, length / 2
    hull = [(-b, n), (-b, -n / 3), (-b * 0.7, -n * 0.7), (0, -n), (b * 0.7, -n * 0.7), (b, -n / 3), (b, n)]
    strokes = [_stroke(hull, closed=True)]
    if cabin:
        strokes.append(_rect(0, n * 0.2, beam * 0.5, length * 0.25))
    return _moved(strokes, angle, shift=(cx, cy))


def _pier(rng: Rng, x: float, top: float, length: float, width: float, boats: int, boat_len: float) -> list[Stroke]:
    """A pier from the quay at ``top`` down to ``top + length``, boats moored along both sides."""
    strokes = [_rect(x, top + length / 2, width, length)]
    if rng.random() < 0.3:  # a T-head
        strokes.append(_rect(x, top + length, width * 4, width))
    cabins = rng.random() < 0.5
    for _ in range(boats):
        side = rng.choice([1, -1])
        beam = boat_len * rng.uniform(0.3, 0.4)
        y = top + rng.uniform(0.15, 0.9) * length
        heading = 0.0 if rng.random() < 0.5 else np.pi
        strokes += _boat(x + side * (width / 2 + beam / 2 + 0.004), y, boat_len, beam, heading, cabins)
    return strokes


def _harbor(rng: Rng) -> list[Stroke]:
    quay = rng.uniform(0.12, 0.25)
    shore = _line(-0.4, 1.4, quay, 60)
    shore[:, 1] += 0.01 * np.sin(shore[:, 0] * rng.uniform(5, 12))
    strokes = [_stroke(shore)]
    n = rng.integers(2, 5)
    length, width, boat_len = rng.uniform(0.45, 0.7), rng.uniform(0.025, 0.04), rng.uniform(0.07, 0.12)
    for x in np.linspace(0.15, 0.85, n) + rng.uniform(-0.03, 0.03, n):
        strokes += _pier(rng, x, quay, length, width, rng.integers(1, 6), boat_len)
    for _ in range(rng.integers(0, 3)):  # boats at anchor
        strokes += _boat(*rng.uniform(0.1, 0.9, 2) * (1, 0.3) + (0, 0.7), boat_len, boat_len * 0.35,
                         rng.uniform(0, 2 * np.pi), False)
    return _spin(strokes, rng)


def _harbor_icon(rng: Rng) -> list[Stroke]:
    strokes = [_segment((-0.35, 0.0), (0.35, 0.0))] + _pier(rng, 0.0, 0.0, 1.0, 0.08, rng.integers(3, 7),
                                                             rng.uniform(0.26, 0.34))
    return _fill_frame(strokes, rng)


# ---------------------------------------------------------------------------- mobile home park


def _home_rows(rng: Rng, layout: str, per_row: int, home: tuple[float, float], road: float) -> list[Stroke]:
    """Long narrow homes side by side in rows, from the top left at the origin downwards.

    ``layout`` reads downwards: ``h`` a row of homes, ``-`` a road (its two edges).
    """
    w, h = home
    gap = w * rng.uniform(0.3, 0.6)
    span = (-gap, per_row * (w + gap))
    strokes, y = [], 0.0
    for item in layout:
        if item == "-":
            strokes += [_segment((span[0], y), (span[1], y)), _segment((span[0], y + road), (span[1], y + road))]
            y += road + h * 0.1
            continue
        for i in range(per_row):
            if rng.random() < 0.1:
                continue
            jitter = rng.uniform(-0.08, 0.08, 2) * (w, h)
            strokes.append(_rect(i * (w + gap) + w / 2 + jitter[0], y + h / 2 + jitter[1],
                                 w * rng.uniform(0.9, 1.1), h * rng.uniform(0.9, 1.05)))
        y += h * 1.1
    return strokes


def _mobilehomepark(rng: Rng) -> list[Stroke]:
    home = (rng.uniform(0.04, 0.06), rng.uniform(0.11, 0.16))
    layout = "hh-hh-hh-"[rng.integers(0, 3):][:rng.integers(5, 8)]
    strokes = _home_rows(rng, layout, 16, home, rng.uniform(0.05, 0.07))
    return _spin(_moved(strokes, shift=(-0.1, -0.05)), rng)


def _mobilehomepark_icon(rng: Rng) -> list[Stroke]:
    return _fill_frame(_home_rows(rng, "h-h", rng.integers(3, 5), (0.1, 0.3), rng.uniform(0.12, 0.16)), rng)


# ---------------------------------------------------------------------------- parking lot


def _stalls(rng: Rng, x0: float, x1: float, y: float, pitch: float, depth: float, fill: float) -> list[Stroke]:
    """A double row of parking stalls along y, some taken by cars."""
    strokes = [_segment((x0, y), (x1, y))]
    xs = np.arange(x0, x1 + 1e-9, pitch)
    strokes += [_segment((x, y - depth), (x, y + depth)) for x in xs]
    for a, b in zip(xs[:-1], xs[1:]):
        for side in (1, -1):
            if rng.random() < fill:
                strokes.append(_rect((a + b) / 2, y + side * depth * 0.5, pitch * 0.6, depth * 0.75))
    return strokes


def _parkinglot(rng: Rng) -> list[Stroke]:
    strokes = []
    if rng.random() < 0.7:
        strokes.append(_rect(0.5, 0.5, rng.uniform(0.8, 0.95), rng.uniform(0.8, 0.95)))
    rows = rng.integers(2, 5)
    pitch, depth, fill = rng.uniform(0.04, 0.055), rng.uniform(0.06, 0.08), rng.uniform(0.2, 0.6)
    for y in np.linspace(0.5 - 0.12 * (rows - 1), 0.5 + 0.12 * (rows - 1), rows):
        strokes += _stalls(rng, 0.12, 0.88, y, pitch, depth, fill)
    return _spin(strokes, rng)


def _parkinglot_icon(rng: Rng) -> list[Stroke]:
    n = rng.integers(4, 7)
    return _fill_frame(_stalls(rng, 0.0, n * 0.16, 0.0, 0.16, 0.3, rng.uniform(0.3, 0.7)), rng)


# ---------------------------------------------------------------------------- river


def _river(rng: Rng, width: float, meander: tuple[float, float], wiggle: tuple[float, float]) -> list[Stroke]:
    """Two banks along a meandering centre line; ``wiggle`` is the amplitude of the short bends."""
    x = np.linspace(-0.5, 1.5, 140)
    centre = np.stack([x, 0.5 + rng.uniform(*meander) * np.sin(2 * np.pi * x / rng.uniform(0.8, 1.5)
                                                                 + rng.uniform(0, 2 * np.pi))
                       + rng.uniform(*wiggle) * np.sin(2 * np.pi * x / rng.uniform(0.2, 0.4))], 1)
    half = width / 2 * (1 + 0.25 * np.sin(2 * np.pi * x / rng.uniform(0.5, 1.0) + rng.uniform(0, 2 * np.pi)))
    strokes = []
    for side in (1, -1):
        wiggle = 0.006 * np.sin(2 * np.pi * x / rng.uniform(0.08, 0.15) + rng.uniform(0, 2 * np.pi))
        strokes.append(_stroke(_parallel(centre, side * half + wiggle)))
    i = int(rng.integers(50, 90))
    normal = _normals(centre)[i]
    if rng.random() < 0.25:  # an island
        strokes.append(_blob(rng, *centre[i], half[i] * 0.6, half[i] * 0.3, np.arctan2(normal[0], -normal[1]), 0.2))
    elif rng.random() < 0.3:  # a bridge across
        tangent = np.array([normal[1], -normal[0]])
        for side in (1, -1):
            p = centre[i] + tangent * side * 0.025
            strokes.append(_segment(p - normal * half[i] * 1.5, p + normal * half[i] * 1.5))
    if rng.random() < 0.4:  # trees along one bank
        side = rng.choice([1, -1])
        for j in rng.integers(10, 130, rng.integers(4, 10)):
            p = centre[j] + _normals(centre)[j] * side * (half[j] + 0.04)
            strokes.append(_ellipse(*p, rng.uniform(0.015, 0.03)))
    return strokes


def _river_scene(rng: Rng) -> list[Stroke]:
    return _spin(_river(rng, rng.uniform(0.12, 0.28), (0.05, 0.16), (0.01, 0.03)), rng)


def _river_icon(rng: Rng) -> list[Stroke]:
    return _spin(_river(rng, rng.uniform(0.38, 0.5), (0.02, 0.06), (0.0, 0.006)), rng)


# ---------------------------------------------------------------------------- storage tanks


def _tank(rng: Rng, cx: float, cy: float, r: float, ring: bool, detail: bool) -> list[Stroke]:
    strokes = [_ellipse(cx, cy, r)]
    if ring:
        strokes.append(_ellipse(cx, cy, r * rng.uniform(0.72, 0.85)))
    if detail:
        if rng.random() < 0.5:
            strokes.append(_ellipse(cx, cy, r * 0.1))
        if rng.random() < 0.4:  # roof ribs
            for a in np.linspace(0, 2 * np.pi, rng.integers(6, 13), endpoint=False):
                d = np.array([np.cos(a), np.sin(a)])
                strokes.append(_segment((cx, cy) + d * r * 0.2, (cx, cy) + d * r * 0.7))
        if rng.random() < 0.5:  # the stair up the side
            a = rng.uniform(0, 2 * np.pi)
            p = np.array([cx, cy]) + r * np.array([np.cos(a), np.sin(a)])
            t = np.array([-np.sin(a), np.cos(a)])
            strokes.append(_segment(p, p + t * r * 0.5 + (p - (cx, cy)) * 0.12))
    return strokes


def _storagetanks(rng: Rng) -> list[Stroke]:
    n = rng.integers(3, 10)
    r = rng.uniform(0.05, 0.11) * (1.0 if n < 6 else 0.75)
    ring = rng.random() < 0.5
    centres: list[np.ndarray] = []
    if rng.random() < 0.5:  # a grid
        cols = int(np.ceil(np.sqrt(n)))
        pitch = 2 * r + rng.uniform(0.02, 0.06)
        for k in range(n):
            centres.append(np.array([0.5 + (k % cols - (cols - 1) / 2) * pitch,
                                     0.5 + (k // cols - (n - 1) // cols / 2) * pitch]))
    else:  # scattered, never overlapping
        for _ in range(400):
            if len(centres) == n:
                break
            c = rng.uniform(r + 0.03, 1 - r - 0.03, 2)
            if all(np.linalg.norm(c - o) > 2 * r * 1.15 + 0.02 for o in centres):
                centres.append(c)
    strokes = []
    for c in centres:
        strokes += _tank(rng, *c, r * rng.uniform(0.85, 1.15), ring, detail=False)
    if rng.random() < 0.3:  # the containment bund around the group
        points = np.array(centres)
        low, high = points.min(0) - r * 1.6, points.max(0) + r * 1.6
        strokes.append(_rect(*(low + high) / 2, *(high - low)))
    if rng.random() < 0.3:  # a pipe run past the tanks
        y = rng.uniform(0.1, 0.9)
        strokes += [_segment((-0.2, y), (1.2, y)), _segment((-0.2, y + 0.012), (1.2, y + 0.012))]
    return _spin(strokes, rng)


def _storagetanks_icon(rng: Rng) -> list[Stroke]:
    if rng.random() < 0.7:
        strokes = _tank(rng, 0.0, 0.0, 0.5, rng.random() < 0.7, detail=True)
    else:
        gap = rng.uniform(0.05, 0.2)
        strokes = _tank(rng, 0.0, 0.0, 0.5, True, True) + _tank(rng, 1.0 + gap, 0.0, 0.5, True, True)
    return _fill_frame(strokes, rng)


# ---------------------------------------------------------------------------- tennis court

_DOUBLES, _SINGLES, _SERVICE = 10.97 / 23.77, 8.23 / 23.77, 6.40 / 23.77  # court length 1


def _court(rng: Rng) -> list[Stroke]:
    """One tennis court, length 1 along y, centred on the origin."""
    half_d, half_s = _DOUBLES / 2, _SINGLES / 2
    strokes = [_rect(0, 0, _DOUBLES, 1.0)]
    if rng.random() < 0.85:
        strokes += [_segment((x, -0.5), (x, 0.5)) for x in (-half_s, half_s)]
    strokes += [_segment((-half_s, y), (half_s, y)) for y in (-_SERVICE, _SERVICE)]
    strokes.append(_segment((0, -_SERVICE), (0, _SERVICE)))
    strokes.append(_segment((-half_d - 0.04, 0), (half_d + 0.04, 0)))  # the net, past the posts
    if rng.random() < 0.5:
        strokes += [_segment((0, y), (0, y - np.sign(y) * 0.025)) for y in (-0.5, 0.5)]
    return strokes


def _tenniscourt(rng: Rng) -> list[Stroke]:
    n = rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2])
    length = rng.uniform(0.55, 0.8) if n == 1 else rng.uniform(0.45, 0.6)
    pitch = _DOUBLES + rng.uniform(0.1, 0.2)
    strokes = []
    for i in range(n):
        strokes += _moved(_court(rng), scale=length, shift=(0.5 + (i - (n - 1) / 2) * pitch * length, 0.5))
    if rng.random() < 0.5:  # the fence around all courts
        strokes.append(_rect(0.5, 0.5, (n * pitch + 0.05) * length, length * 1.3))
    return _spin(strokes, rng)


def _tenniscourt_icon(rng: Rng) -> list[Stroke]:
    strokes = _court(rng)
    if rng.random() < 0.3:
        strokes.append(_rect(0, 0, _DOUBLES + 0.2, 1.3))
    return _fill_frame(strokes, rng)


# ---------------------------------------------------------------------------- registry

_SCENES: dict[str, Callable[[Rng], list[Stroke]]] = {
    "airplane": _airplane, "baseballdiamond": _baseballdiamond, "buildings": _buildings, "freeway": _freeway,
    "golfcourse": _golfcourse, "harbor": _harbor, "intersection": _intersection_scene,
    "mobilehomepark": _mobilehomepark, "overpass": _overpass_scene, "parkinglot": _parkinglot, "river": _river_scene,
    "runway": _runway_scene, "storagetanks": _storagetanks, "tenniscourt": _tenniscourt,
}
_ICONS: dict[str, Callable[[Rng], list[Stroke]]] = {
    "airplane": _airplane_icon, "baseballdiamond": _baseballdiamond_icon, "buildings": _buildings_icon,
    "freeway": _freeway_icon, "golfcourse": _golfcourse_icon, "harbor": _harbor_icon,
    "intersection": _intersection_icon, "mobilehomepark": _mobilehomepark_icon, "overpass": _overpass_icon,
    "parkinglot": _parkinglot_icon, "river": _river_icon, "runway": _runway_icon,
    "storagetanks": _storagetanks_icon, "tenniscourt": _tenniscourt_icon,
}
CLASSES: tuple[str, ...] = tuple(sorted(_SCENES))


def _check(label: str) -> None:
    if label not in _SCENES:
        raise ValueError(f"no drawing description for class {label!r}; known: {', '.join(CLASSES)}")


def scene(label: str, rng: Rng) -> list[Stroke]:
    """The strokes of a whole scene of class ``label``, drawn the way ``rng`` decides.

    Raises:
        ValueError: a class without a description.
    """
    _check(label)
    return _SCENES[label](rng)


def iconic(label: str, rng: Rng) -> list[Stroke]:
    """The strokes of one object of class ``label`` filling the frame (a close-up for long structures).

    Raises:
        ValueError: a class without a description.
    """
    _check(label)
    return _ICONS[label](rng)
