"""A second, independent hand: top-down line drawings of 14 UC Merced scene classes.

The robustness suite asks whether retrieval survives a change of draughtsman, not only a change of pen. The first
hand lives in ``shapes.py``; this module is a second one. It was written apart from that module and from every
renderer that makes training data, working only from the class names and from looking at UC Merced training photos
(numbers 00-69), so its choices are its own: airliners as one silhouette stroke with podded engines, marinas as
finger-pier combs lined with pointed hulls, runways with block-figure designators and piano keys, storage tanks with
a stairway round the shell, parking stalls drawn as one zigzag per row, and so on.

``scene`` draws a whole view (the photos are about 77 m across at 0.3 m/pixel), choosing among three
compositions per class and varying proportions, counts, spacing, placement and heading, since aerial views have no
up. ``iconic`` draws one object filling the frame, or a close-up stretch of a long structure. Both return clean
geometry in the unit square (x right, y down); wobble, pen width, partial drawing and scanning are the renderer's job.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .shapes import Stroke

Rng = np.random.Generator
Builder = Callable[[Rng], list[Stroke]]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1

TAU = 2.0 * np.pi


# --------------------------------------------------------------------------------------------------------------------
# Primitives. Everything works on (n, 2) arrays in unit-square coordinates, y pointing down.

def _stroke(points, closed: bool = False) -> Stroke:
    return Stroke(np.asarray(points, dtype=float).reshape(-1, 2), closed)


def _line(a, b) -> Stroke:
    return _stroke([a, b])


def _samples(length: float) -> int:
    """Vertices for a curve of this length: about one every 5 px at 256 px, enough to look smooth."""
    return int(np.clip(length * 50.0 + 8.0, 10, 200))


def _turn(points: np.ndarray, angle: float) -> np.ndarray:
    """Rotate row-vector points about the origin (clockwise on screen, as y points down)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.asarray(points, dtype=float) @ np.array([[c, s], [-s, c]])


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _ellipse_points(centre, rx, ry, angle=0.0, start=0.0, stop=TAU, closed=True) -> np.ndarray:
    t = np.linspace(start, stop, _samples(abs(stop - start) * max(rx, ry)), endpoint=not closed)
    return _turn(np.column_stack([rx * np.cos(t), ry * np.sin(t)]), angle) + centre


def _circle(centre, r) -> Stroke:
    return _stroke(_ellipse_points(centre, r, r), closed=True)


def _arc(centre, r, start, stop) -> Stroke:
    return _stroke(_ellipse_points(centre, r, r, 0.0, start, stop, closed=False))


def _rect(centre, w, h, angle=0.0) -> Stroke:
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2.0
    return _stroke(_turn(corners, angle) + centre, closed=True)


def _box(box: Box) -> Stroke:
    x0, y0, x1, y1 = box
    return _rect(((x0 + x1) / 2, (y0 + y1) / 2), x1 - x0, y1 - y0)


def _rounded(centre, w, h, r, angle=0.0) -> Stroke:
    """Rectangle with rounded corners: cars, pools, capsule-shaped engines and islands."""
    r = min(r, w / 2, h / 2)
    cx, cy = w / 2 - r, h / 2 - r
    pts = [_ellipse_points((sx * cx, sy * cy), r, r, 0.0, a, a + np.pi / 2, closed=False)
           for sx, sy, a in ((1, 1, 0.0), (-1, 1, np.pi / 2), (-1, -1, np.pi), (1, -1, 1.5 * np.pi))]
    return _stroke(_turn(np.vstack(pts), angle) + centre, closed=True)


def _bar(a, b, width) -> Stroke:
    """Closed rectangle of the given width from point a to point b: docks, jet bridges, hatches, islands."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = b - a
    n = np.array([-d[1], d[0]]) / np.linalg.norm(d) * width / 2
    return _stroke([a + n, b + n, b - n, a - n], closed=True)


def _blob_points(rng: Rng, centre, rx, ry, angle=0.0, rough=0.15) -> np.ndarray:
    """An organic closed outline (bunker, green, pond, island): an ellipse whose radius swells and dips with a few
    slow harmonics, so every blob differs but none is spiky."""
    t = np.linspace(0.0, TAU, _samples(TAU * max(rx, ry)), endpoint=False)
    k = np.arange(2, 5)[:, None]
    amp = rough * rng.uniform(0.3, 1.0, (3, 1)) * 2.0 / k
    radius = np.maximum(1.0 + (amp * np.cos(k * t + rng.uniform(0.0, TAU, (3, 1)))).sum(0), 0.35)
    return _turn(np.column_stack([rx * radius * np.cos(t), ry * radius * np.sin(t)]), angle) + centre


def _blob(rng: Rng, centre, rx, ry, angle=0.0, rough=0.15) -> Stroke:
    return _stroke(_blob_points(rng, centre, rx, ry, angle, rough), closed=True)


def _tree(rng: Rng, centre, r) -> Stroke:
    """A tree crown as the usual scalloped circle."""
    bumps = int(rng.integers(6, 10))
    t = np.linspace(0.0, TAU, bumps * 8, endpoint=False)
    radius = r * (0.8 + 0.2 * np.abs(np.sin(bumps * t / 2 + rng.uniform(0.0, np.pi))))
    return _stroke(np.column_stack([radius * np.cos(t), radius * np.sin(t)]) + centre, closed=True)


def _arrow(tail, tip, head) -> Stroke:
    """A painted arrow in one pen movement: shaft, then both barbs (retracing the tip)."""
    tail, tip = np.asarray(tail, dtype=float), np.asarray(tip, dtype=float)
    d = (tip - tail) / np.linalg.norm(tip - tail)
    n = np.array([-d[1], d[0]]) * head * 0.6
    return _stroke([tail, tip, tip - d * head + n, tip, tip - d * head - n])


def _comb(start, stop, count: int, *ticks) -> Stroke:
    """Evenly spaced ticks along a spine, drawn without lifting the pen (out along each tick and back), the way a
    quick hand does parking stalls, finger piers or roof seams. Each tick vector gives one tick per spine point, so
    two vectors draw stalls on both sides of a row."""
    ticks = [np.asarray(t, dtype=float) for t in ticks]
    pts = []
    for p in np.linspace(np.asarray(start, dtype=float), np.asarray(stop, dtype=float), count):
        pts += [p] + [q for t in ticks for q in (p + t, p)]
    return _stroke(pts)


# Paths: open polylines for roads, rivers, fairways.

def _curve(ctrl) -> np.ndarray:
    """Catmull-Rom spline through the control points."""
    p = np.asarray(ctrl, dtype=float)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    pieces = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1:i + 3]
        t = np.linspace(0.0, 1.0, _samples(float(np.linalg.norm(p2 - p1))), endpoint=False)[:, None]
        pieces.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                             + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    return np.vstack(pieces + [p[-2][None]])


def _bezier(p0, p1, p2, p3) -> np.ndarray:
    p0, p1, p2, p3 = (np.asarray(p, dtype=float) for p in (p0, p1, p2, p3))
    t = np.linspace(0.0, 1.0, _samples(float(np.linalg.norm(p3 - p0)) * 1.3))[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3


def _normals(path: np.ndarray) -> np.ndarray:
    d = np.gradient(path, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.column_stack([-d[:, 1], d[:, 0]])  # right-hand side of the direction of travel, on screen


def _offset(path: np.ndarray, distance) -> np.ndarray:
    """Parallel of a path; `distance` may vary along it (one value per vertex)."""
    return path + np.asarray(distance, dtype=float).reshape(-1, 1) * _normals(path)


def _arclength(path: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])


def _along(path: np.ndarray, s) -> np.ndarray:
    arc, s = _arclength(path), np.atleast_1d(np.asarray(s, dtype=float))
    return np.column_stack([np.interp(s, arc, path[:, 0]), np.interp(s, arc, path[:, 1])])


def _pose(path: np.ndarray, s: float) -> tuple[np.ndarray, float]:
    """Point and heading (radians) at arc length s."""
    p = _along(path, [s - 1e-3, s, s + 1e-3])
    d = p[2] - p[0]
    return p[1], float(np.arctan2(d[1], d[0]))


def _piece(path: np.ndarray, a: float, b: float) -> np.ndarray:
    arc = _arclength(path)
    return np.vstack([_along(path, a), path[(arc > a) & (arc < b)], _along(path, b)])


def _dashes(path: np.ndarray, on: float, off: float, phase: float = 0.0) -> list[Stroke]:
    total = _arclength(path)[-1]
    strokes = []
    for a in np.arange(phase % (on + off) - (on + off), total, on + off):
        lo, hi = max(a, 0.0), min(a + on, total)
        if hi - lo > 0.3 * on:
            strokes.append(_stroke(_piece(path, lo, hi)))
    return strokes


def _band(path: np.ndarray, half_width) -> Stroke:
    """Closed outline of a strip of (possibly varying) half-width around a path: fairways, breakwaters, islands."""
    return _stroke(np.vstack([_offset(path, half_width), _offset(path, -np.asarray(half_width))[::-1]]), closed=True)


def _distance_to(points: np.ndarray, path: np.ndarray) -> np.ndarray:
    a, ab = path[:-1], np.diff(path, axis=0)
    ap = points[:, None, :] - a[None]
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(ap - t[..., None] * ab, axis=-1).min(1)


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test, vectorised over points and edges."""
    x, y = points[:, :1], points[:, 1:]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    dy = np.where(y1 == y0, 1e-12, y1 - y0)
    crosses = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / dy + x0)
    return crosses.sum(1) % 2 == 1


def _erase(strokes: Sequence[Stroke], visible: Callable[[np.ndarray], np.ndarray]) -> list[Stroke]:
    """Cut away the parts of strokes where `visible` is false: what passes under a bridge deck, or fairway edges
    inside a green. Strokes untouched by the cut are kept as they are."""
    out = []
    for s in strokes:
        pts = np.vstack([s.points, s.points[:1]]) if s.closed else s.points
        dense = _along(pts, np.linspace(0.0, _arclength(pts)[-1], max(2, int(_arclength(pts)[-1] / 0.004) + 1)))
        seen = visible(dense)
        if seen.all():
            out.append(s)
            continue
        idx = np.flatnonzero(seen)
        out += [_stroke(dense[run]) for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if len(run) > 1]
    return out


def _outside(polygon) -> Callable[[np.ndarray], np.ndarray]:
    polygon = polygon.points if isinstance(polygon, Stroke) else polygon
    return lambda p: ~_inside(p, polygon)


def _clear_of(path: np.ndarray, half_width: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda p: _distance_to(p, path) > half_width


# Placing and culling.

def _move(strokes: Sequence[Stroke], angle=0.0, scale=1.0, at=(0.5, 0.5), about=(0.0, 0.0)) -> list[Stroke]:
    """Rotate about `about`, scale, and carry `about` to `at`: puts an object drawn in its own coordinates in place."""
    about, at = np.asarray(about, dtype=float), np.asarray(at, dtype=float)
    return [Stroke(_turn(s.points - about, angle) * scale + at, s.closed) for s in strokes]


def _spin(strokes: Sequence[Stroke], angle: float) -> list[Stroke]:
    return _move(strokes, angle, at=(0.5, 0.5), about=(0.5, 0.5))


def _in_view(strokes: Sequence[Stroke]) -> list[Stroke]:
    """Drop strokes lying wholly outside the frame (scenes are laid out oversize so that any heading fills it)."""
    return [s for s in strokes if (s.points.max(0) > 0.0).all() and (s.points.min(0) < 1.0).all()]


def _angle(rng: Rng) -> float:
    """Heading of a scene. Aerial photos have no up, but built places often line up with the image grid, so about a
    third of the time stay close to a right angle."""
    if rng.random() < 0.35:
        return float(rng.integers(4) * np.pi / 2 + rng.normal(0.0, 0.04))
    return float(rng.uniform(0.0, TAU))


def _sign(rng: Rng) -> int:
    return 1 if rng.random() < 0.5 else -1


def _scatter(rng: Rng, count: int, box: Box, ok: Callable[[np.ndarray], bool], tries: int = 12) -> list[np.ndarray]:
    """Up to `count` random points in a box that pass `ok` (a few tries each, so the call stays cheap)."""
    x0, y0, x1, y1 = box
    found = []
    for _ in range(count * tries):
        if len(found) == count:
            break
        p = rng.uniform((x0, y0), (x1, y1))
        if ok(p):
            found.append(p)
    return found


# Shared small objects.

def _car(rng: Rng, centre, angle, length=0.058, width=0.024, detail=False) -> list[Stroke]:
    """A car from above; with `detail`, windscreen and rear window as bars across the body (front is +heading)."""
    body = _rounded(centre, length, width, width * 0.35, angle)
    if not detail:
        return [body]
    u, v = _unit(angle), _unit(angle + np.pi / 2) * width * 0.36
    centre = np.asarray(centre, dtype=float)
    front, rear = centre + u * length * 0.16, centre - u * length * 0.27
    out = [body, _line(front - v, front + v), _line(rear - v, rear + v)]
    if rng.random() < 0.5:  # some cars get the roof panel too
        out.append(_rect(centre - u * length * 0.05, length * 0.38, width * 0.7, angle))
    return out


def _hip_roof(box: Box) -> list[Stroke]:
    """Ridge along the long side and hips down to the four corners."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w >= h:
        a, b = (x0 + h / 2, (y0 + y1) / 2), (x1 - h / 2, (y0 + y1) / 2)
        ends = (((x0, y0), (x0, y1)), ((x1, y0), (x1, y1)))
    else:
        a, b = ((x0 + x1) / 2, y0 + w / 2), ((x0 + x1) / 2, y1 - w / 2)
        ends = (((x0, y0), (x1, y0)), ((x0, y1), (x1, y1)))
    return [_stroke([ends[0][0], a, ends[0][1]]), _stroke([ends[1][0], b, ends[1][1]]), _line(a, b)]


def _house(rng: Rng, centre, w, h, angle) -> list[Stroke]:
    """A detached house: outline and a hip roof or a gable ridge along its longer side."""
    box = (-w / 2, -h / 2, w / 2, h / 2)
    ridge = _line((-w / 2, 0), (w / 2, 0)) if w >= h else _line((0, -h / 2), (0, h / 2))
    roof = _hip_roof(box) if rng.random() < 0.6 else [ridge]
    return _move([_box(box)] + roof, angle, at=centre)


def _corner(c, e1, e2, r, reach1, reach2) -> Stroke:
    """A curb turning a corner: in along e1 towards corner point c, round a fillet of radius r, out along e2.
    e1 and e2 are unit vectors pointing away from c along the two edges."""
    c, e1, e2 = (np.asarray(v, dtype=float) for v in (c, e1, e2))
    phi = np.arccos(np.clip(e1 @ e2, -0.98, 0.98))
    t = r / np.tan(phi / 2)
    p1, p2 = c + e1 * t, c + e2 * t
    centre = c + (e1 + e2) / np.linalg.norm(e1 + e2) * r / np.sin(phi / 2)
    a1, a2 = np.arctan2(*(p1 - centre)[::-1]), np.arctan2(*(p2 - centre)[::-1])
    fillet = _ellipse_points(centre, r, r, 0.0, a1, a1 + (a2 - a1 + np.pi) % TAU - np.pi, closed=False)
    return _stroke(np.vstack([c + e1 * max(reach1, t), fillet, c + e2 * max(reach2, t)]))


def _two_lane_road(path: np.ndarray, half: float, dash: float) -> list[Stroke]:
    """An ordinary road: two edges and a dashed centre line."""
    return [_stroke(_offset(path, half)), _stroke(_offset(path, -half))] + _dashes(path, dash, dash * 1.5)


# --------------------------------------------------------------------------------------------------------------------
# Airplane

def _plane(rng: Rng) -> list[Stroke]:
    """An airliner of unit length, nose towards -y, centred at the origin: one silhouette stroke (fuselage, swept
    wings, tailplane), engine pods, the fin seen edge-on and the windscreen."""
    w = rng.uniform(0.042, 0.058)  # fuselage half-width
    span = rng.uniform(0.42, 0.52)  # half-span
    root_le = rng.uniform(-0.12, -0.03)
    root_chord = rng.uniform(0.19, 0.25)
    sweep = np.tan(np.radians(rng.uniform(24, 34)))
    tip_le, tip_chord = root_le + sweep * (span - w), rng.uniform(0.05, 0.08)
    taper = max(0.22, root_le + root_chord + 0.03)  # where the rear fuselage starts to narrow
    stab_le, stab_span = rng.uniform(0.33, 0.37), rng.uniform(0.14, 0.19)
    stab_tip, stab_te = stab_le + 0.65 * stab_span, min(stab_le + 0.1, 0.48)

    def girth(y):
        return float(np.interp(y, [taper, 0.5], [w, 0.012]))

    t = np.linspace(0.0, np.pi / 2, 8)
    nose = np.column_stack([w * np.sin(t), -0.5 + 0.1 * (1 - np.cos(t))])
    right = np.vstack([nose, [[w, root_le], [span, tip_le], [span, tip_le + tip_chord], [w, root_le + root_chord],
                              [w, taper], [girth(stab_le), stab_le], [stab_span, stab_tip],
                              [stab_span, stab_tip + 0.04], [girth(stab_te), stab_te], [0.012, 0.5]]])
    parts = [_stroke(np.vstack([right, (right * [-1, 1])[-1:0:-1]]), closed=True)]
    if rng.random() < 0.2:  # rear-mounted engines beside the tail, as on regional jets
        parts += [_rounded((sx * (w + 0.035), 0.26), 0.045, 0.12, 0.022) for sx in (-1, 1)]
    else:
        for f in [0.36] if rng.random() < 0.7 else [0.3, 0.62]:
            x = w + f * (span - w)
            parts += [_rounded((sx * x, root_le + sweep * (x - w) + 0.01), 0.045, 0.12, 0.022) for sx in (-1, 1)]
    parts.append(_line((0.0, stab_le - 0.06), (0.0, 0.5)))
    parts.append(_stroke([(-0.7 * w, -0.43), (0.0, -0.447), (0.7 * w, -0.43)]))
    return parts


def _airplane_iconic(rng: Rng) -> list[Stroke]:
    """One airliner filling the frame at any heading."""
    return _move(_plane(rng), rng.uniform(0, TAU), rng.uniform(0.78, 0.92), at=0.5 + rng.uniform(-0.03, 0.03, 2))


def _airplane_at_gate(rng: Rng) -> list[Stroke]:
    """Jets parked nose-in at a terminal: building edge, jet bridges to the front doors, ground vehicles, stand
    lead-in lines and the taxilane behind."""
    size = rng.uniform(0.5, 0.66)
    nose = rng.uniform(0.16, 0.24)
    wall = nose - rng.uniform(0.06, 0.1)
    out = [_line((-0.5, wall), (1.5, wall))]
    out += [_rect((x, wall - rng.uniform(0.08, 0.16)), rng.uniform(0.06, 0.14), rng.uniform(0.04, 0.08))
            for x in rng.uniform(-0.2, 1.2, 3)]  # roof plant, so the terminal reads as a building
    stands = [0.5] + ([0.5 + _sign(rng) * size * rng.uniform(1.05, 1.2)] if rng.random() < 0.6 else [])
    for x in stands:
        out += _move(_plane(rng), scale=size, at=(x, nose + size / 2))
        root = np.array([x - rng.uniform(0.15, 0.25), wall + 0.02])
        out += [_bar(root, (x - 0.06 * size, nose + 0.11 * size), 0.022), _circle(root, 0.018)]
        out += [_line((x, nose + size + 0.03), (x, 1.5)), _line((x - 0.05, nose - 0.015), (x + 0.05, nose - 0.015))]
        for _ in range(rng.integers(2, 5)):
            c = (x + _sign(rng) * rng.uniform(0.1, 0.45) * size, nose + rng.uniform(0.15, 0.9) * size)
            out.append(_rect(c, 0.028, 0.05, rng.integers(4) * np.pi / 2))
    lane = nose + size + rng.uniform(0.1, 0.2)
    out += [_line((-0.5, lane), (1.5, lane))] + _dashes(np.array([[-0.5, lane + 0.1], [1.5, lane + 0.1]]), 0.05, 0.04)
    return _spin(out, _angle(rng))


def _airplane_on_taxiway(rng: Rng) -> list[Stroke]:
    """A jet taxiing along a taxiway with a side branch: filleted edges, centre line curving into the branch."""
    half, fillet = rng.uniform(0.12, 0.17), rng.uniform(0.06, 0.12)
    branch, bhalf = rng.uniform(0.15, 0.85), rng.uniform(0.09, 0.13)
    out = [_line((-0.5, 0.5 - half), (1.5, 0.5 - half)), _line((-0.5, 0.5), (1.5, 0.5))]
    for sx in (-1, 1):  # the side with the branch: each edge turns down into it round a fillet
        out.append(_corner((branch + sx * bhalf, 0.5 + half), (sx, 0), (0, 1), fillet, 2.0, 1.2))
    turn = half + fillet
    out += [_arc((branch - turn, 0.5 + turn), turn, -np.pi / 2, 0.0), _line((branch, 0.5 + turn), (branch, 1.6))]
    size = rng.uniform(0.5, 0.66)
    x = rng.uniform(0.3, 0.7)
    out += _move(_plane(rng), np.pi / 2 * _sign(rng), size, at=(x, 0.5))
    out += [_circle((x0, 0.5 - half - 0.03), 0.008) for x0 in np.arange(-0.45, 1.5, rng.uniform(0.2, 0.3))]
    return _spin(out, _angle(rng))


def _airplanes_in_a_row(rng: Rng) -> list[Stroke]:
    """Two or three jets side by side on an apron, each on its lead-in line with a stop bar."""
    size = rng.uniform(0.38, 0.48)
    pitch = size * rng.uniform(1.02, 1.18)
    count = int(rng.integers(2, 4))
    top = rng.uniform(0.12, 0.25)
    out = [_line((-0.5, top - 0.05), (1.5, top - 0.05))]
    for i in range(count):
        x = 0.5 + (i - (count - 1) / 2) * pitch
        out += _move(_plane(rng), scale=size, at=(x, top + size / 2))
        out += [_line((x, top + size + 0.02), (x, 1.5)), _line((x - 0.04, top - 0.012), (x + 0.04, top - 0.012))]
    for i in range(count + 1):  # stand boundaries between the planes
        x = 0.5 + (i - count / 2) * pitch
        out += _dashes(np.array([[x, top - 0.03], [x, top + size * 0.9]]), 0.04, 0.03)
    return _spin(out, _angle(rng))


# --------------------------------------------------------------------------------------------------------------------
# Baseball diamond

def _ballfield(base: float, fence: float | None, grass: bool, extras: bool) -> list[Stroke]:
    """A ball field with home plate at the origin and second base straight up (-y), bases `base` apart: base paths,
    infield arc round the mound, foul lines, plates, batter's boxes and optionally outfield fence, backstop, dugouts."""
    h = base / np.sqrt(2)
    home, first, second, third = np.array([[0, 0], [h, -h], [0, -2 * h], [-h, -h]], dtype=float)
    mound = np.array([0.0, -0.95 * h])  # 60.5 ft along the 127 ft diagonal
    out = [_stroke([home, first, second, third], closed=True)]
    if grass:  # the grass square inside the dirt base paths
        out.append(_stroke(np.array([home, first, second, third]) * 0.8 + [0.0, -0.2 * h], closed=True))
    ends = []
    for sx in (-1, 1):  # the dirt arc meets each foul line a little beyond the base
        d = np.array([sx, -1.0]) / np.sqrt(2)
        b = d @ mound
        ends.append(d * (b + np.sqrt(b * b - mound @ mound + (1.06 * base) ** 2)))
    a_right = np.arctan2(*(ends[1] - mound)[::-1])
    a_left = np.arctan2(*(ends[0] - mound)[::-1])
    a_left = a_left - TAU if a_left > 0 else a_left
    out.append(_stroke(_ellipse_points(mound, 1.06 * base, 1.06 * base, 0.0, a_right, a_left, closed=False)))
    reach = fence if fence else 1.8 * base
    out += [_line(home, (sx * reach / np.sqrt(2), -reach / np.sqrt(2))) for sx in (-1, 1)]
    out += [_circle(home, 0.14 * base), _circle(mound, 0.1 * base)]
    out += [_rect(p, 0.05 * base, 0.05 * base, np.pi / 4) for p in (first, second, third)]
    plate = 0.025 * base
    out.append(_stroke([(-plate, -plate), (plate, -plate), (plate, 0), (0, plate), (-plate, 0)], closed=True))
    out += [_rect((sx * 0.055 * base, 0.0), 0.04 * base, 0.07 * base) for sx in (-1, 1)]
    if fence:
        out += [_arc(home, fence, -0.75 * np.pi, -0.25 * np.pi), _arc(home, 0.93 * fence, -0.75 * np.pi, -0.25 * np.pi)]
    if extras:
        out.append(_arc(home, 0.32 * base, 0.12 * np.pi, 0.88 * np.pi))  # backstop
        for sx in (-1, 1):
            d, n = np.array([sx, -1.0]) / np.sqrt(2), np.array([sx, 1.0]) / np.sqrt(2)
            out.append(_bar(d * 0.35 * base + n * 0.25 * base, d * 0.65 * base + n * 0.25 * base, 0.07 * base))
    return out


def _baseball_iconic(rng: Rng) -> list[Stroke]:
    """The infield filling the frame, the outfield fence arc running out of it."""
    base = rng.uniform(0.3, 0.36)
    field = _ballfield(base, base * rng.uniform(1.9, 2.4), grass=rng.random() < 0.75, extras=False)
    out = field + [_arc((0, 0), 0.3 * base, 0.15 * np.pi, 0.85 * np.pi)]
    return _move(out, rng.uniform(0, TAU), at=0.5 + rng.uniform(-0.04, 0.04, 2), about=(0.0, -0.75 * base))


def _baseball_ballpark(rng: Rng) -> list[Stroke]:
    """One full field with fence, dugouts, backstop, bleachers along the foul lines and trees beyond the fence."""
    base = rng.uniform(0.15, 0.2)
    fence = base * rng.uniform(2.6, 3.2)
    out = _ballfield(base, fence, grass=rng.random() < 0.8, extras=True)
    for sx in (-1, 1):  # bleachers along each foul line, drawn as stepped rows
        d, n = np.array([sx, -1.0]) / np.sqrt(2), np.array([sx, 1.0]) / np.sqrt(2)
        a, b = d * 0.1 * base + n * 0.5 * base, d * 0.9 * base + n * 0.5 * base
        out.append(_bar(a, b, 0.16 * base))
        out.append(_comb(a - n * 0.06 * base, b - n * 0.06 * base, 2, n * 0.12 * base))  # two tiers of seats
    for angle in rng.uniform(-0.8 * np.pi, -0.2 * np.pi, int(rng.integers(4, 9))):
        out.append(_tree(rng, _unit(angle) * fence * rng.uniform(1.08, 1.25), rng.uniform(0.03, 0.05)))
    out.append(_line((-1.0, 0.9 * base), (1.0, 0.9 * base)))  # the road or lot edge behind home
    return _move(out, _angle(rng), at=(0.5, 0.5), about=(0.0, -0.42 * fence))


def _baseball_pair(rng: Rng) -> list[Stroke]:
    """Two fields of a sports complex whose home plates meet at a shared hub (back to back or at right angles)."""
    base = rng.uniform(0.13, 0.17)
    turn = np.pi if rng.random() < 0.5 else np.pi / 2
    first = rng.uniform(0, TAU)
    hub = np.array([0.5, 0.5]) - (_unit(first) + _unit(first + turn)) * 0.12  # keeps both infields in view
    out = [_rect(hub, 0.05, 0.05, first)]  # concession stand at the hub
    for heading in (first, first + turn):
        field = _ballfield(base, base * rng.uniform(2.3, 2.7), grass=rng.random() < 0.7, extras=True)
        out += _move(field, heading + np.pi / 2, at=hub + _unit(heading) * 0.45 * base)
    return out


def _baseball_park_diamond(rng: Rng) -> list[Stroke]:
    """A skinned-infield diamond in a park: no outfield fence, a chain-link backstop, benches, a path and trees."""
    base = rng.uniform(0.22, 0.28)
    out = _ballfield(base, None, grass=False, extras=True)
    path = _curve([(-1.0, rng.uniform(0.2, 0.5) * base), (0.0, base * rng.uniform(0.6, 0.9)),
                   (1.0, rng.uniform(0.0, 0.6) * base)])
    out += [_stroke(_offset(path, 0.008)), _stroke(_offset(path, -0.008))]
    far = 2.2 * base

    def fair(p):
        return p[1] < -abs(p[0]) + 0.1 * base or np.linalg.norm(p) < 0.5 * base

    out += [_tree(rng, p, rng.uniform(0.025, 0.045))
            for p in _scatter(rng, int(rng.integers(5, 11)), (-far, -far, far, 0.3 * base), lambda p: not fair(p))]
    return _move(out, _angle(rng), at=(0.5, 0.5), about=(0.0, -0.8 * base))


# --------------------------------------------------------------------------------------------------------------------
# Buildings

def _footprint(rng: Rng, box: Box) -> tuple[list[Stroke], list[Box]]:
    """A building filling the box: a plain block, an L, a U or a block round a light well. Returns the outline and
    the rectangular wings whose roofs get detail."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    kind = rng.choice(4, p=[0.4, 0.25, 0.2, 0.15])
    a, c = rng.uniform(0.35, 0.6) * w, rng.uniform(0.35, 0.6) * h
    if kind == 0:
        poly, wings, holes = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], [box], []
    elif kind == 1:
        poly = [(x0, y0), (x0 + a, y0), (x0 + a, y1 - c), (x1, y1 - c), (x1, y1), (x0, y1)]
        wings, holes = [(x0, y0, x0 + a, y1), (x0 + a, y1 - c, x1, y1)], []
    elif kind == 2:
        arm = rng.uniform(0.25, 0.38) * w
        poly = [(x0, y0), (x0 + arm, y0), (x0 + arm, y1 - c), (x1 - arm, y1 - c), (x1 - arm, y0), (x1, y0),
                (x1, y1), (x0, y1)]
        wings, holes = [(x0, y0, x0 + arm, y1), (x1 - arm, y0, x1, y1), (x0 + arm, y1 - c, x1 - arm, y1)], []
    else:
        ix, iy = 0.3 * w, 0.3 * h
        poly, holes = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], [(x0 + ix, y0 + iy, x1 - ix, y1 - iy)]
        wings = [(x0, y0, x1, y0 + iy), (x0, y1 - iy, x1, y1)]
    flip = np.where(rng.random(2) < 0.5, -1.0, 1.0)  # mirror so the notch can face any side
    mid = np.array([(x0 + x1) / 2, (y0 + y1) / 2])

    def mirror(points):
        return (np.asarray(points, dtype=float) - mid) * flip + mid

    def mirror_box(b):
        p = mirror([b[:2], b[2:]])
        return (*p.min(0), *p.max(0))

    return ([_stroke(mirror(poly), closed=True)] + [_box(mirror_box(b)) for b in holes],
            [mirror_box(b) for b in wings])


def _roof(rng: Rng, box: Box, rich: bool = False) -> list[Stroke]:
    """Roof detail for one wing: a hip roof, or a flat roof with parapet, plant boxes and a row of skylights."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    small = min(w, h)
    if small < 0.03:
        return []
    if not rich and rng.random() < 0.25:
        return _hip_roof(box)
    inset = min(0.012, 0.12 * small)
    out = [_box((x0 + inset, y0 + inset, x1 - inset, y1 - inset))] if rich or rng.random() < 0.6 else []
    for _ in range(int(rng.integers(0, 3)) + (5 if rich else 0)):
        uw, uh = small * rng.uniform(0.06, 0.16, 2)
        lo, hi = np.array([x0 + inset + uw, y0 + inset + uh]), np.array([x1 - inset - uw, y1 - inset - uh])
        if (hi > lo).all():
            out.append(_rect(rng.uniform(lo, hi), uw, uh))
    if rng.random() < (0.7 if rich else 0.25):
        size = small * 0.08
        n = int(rng.integers(3, 7))
        along = np.linspace(0.25, 0.75, n)
        for f in along:
            c = (x0 + f * w, (y0 + y1) / 2) if w >= h else ((x0 + x1) / 2, y0 + f * h)
            out.append(_rect(c, size, size))
    return out


def _building(rng: Rng, box: Box, rich: bool = False) -> list[Stroke]:
    outline, wings = _footprint(rng, box)
    return outline + [s for wing in wings for s in _roof(rng, wing, rich)]


def _split(rng: Rng, box: Box, smallest: float) -> list[Box]:
    """Cut a block into building lots by repeated cuts across its longer side."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if max(w, h) < 2 * smallest or (max(w, h) < 3.5 * smallest and rng.random() < 0.35):
        return [box]
    f = rng.uniform(0.35, 0.65)
    if w >= h:
        xm = x0 + f * w
        return _split(rng, (x0, y0, xm, y1), smallest) + _split(rng, (xm, y0, x1, y1), smallest)
    ym = y0 + f * h
    return _split(rng, (x0, y0, x1, ym), smallest) + _split(rng, (x0, ym, x1, y1), smallest)


def _shrink(box: Box, margin: float) -> Box:
    x0, y0, x1, y1 = box
    return (x0 + margin, y0 + margin, x1 - margin, y1 - margin)


def _buildings_iconic(rng: Rng) -> list[Stroke]:
    """One large roof filling the frame (parapet, plant boxes, skylights, sometimes a helipad), often with the
    sidewalk and parked cars of the street along one side, which says "building" rather than "box"."""
    lo, hi = rng.uniform(0.06, 0.14, 2), rng.uniform(0.86, 0.94, 2)
    if rng.random() < 0.6:
        hi[0] = rng.uniform(0.72, 0.78)
        out = [_line((hi[0] + 0.05, -0.5), (hi[0] + 0.05, 1.5)), _line((hi[0] + 0.07, -0.5), (hi[0] + 0.07, 1.5))]
        out += [s for y in np.arange(rng.uniform(-0.2, 0.0), 1.2, rng.uniform(0.16, 0.2)) if rng.random() < 0.7
                for s in _car(rng, (hi[0] + 0.13, y), np.pi / 2, 0.11, 0.05, detail=True)]
    else:
        out = []
    out += _building(rng, (lo[0], lo[1], hi[0], hi[1]), rich=True)
    if rng.random() < 0.2:  # a rooftop helipad
        c, r = rng.uniform(0.35, 0.65, 2), 0.09
        out += [_circle(c, r), _line(c + [-0.03, -0.04], c + [-0.03, 0.04]), _line(c + [0.03, -0.04], c + [0.03, 0.04]),
                _line(c + [-0.03, 0.0], c + [0.03, 0.0])]
    return _spin(out, _angle(rng))


def _buildings_city_blocks(rng: Rng) -> list[Stroke]:
    """A street grid: each block a rounded curb outline, cut into lots that buildings fill; dashed centre lines."""
    px, py = rng.uniform(0.5, 0.8, 2)
    street, walk = rng.uniform(0.06, 0.09), rng.uniform(0.012, 0.022)
    gx = np.arange(rng.uniform(-0.4, -0.4 + px), 1.5, px)
    gy = np.arange(rng.uniform(-0.4, -0.4 + py), 1.5, py)
    out = []
    for x in gx:
        out += _dashes(np.array([[x, -0.5], [x, 1.5]]), 0.04, 0.05)
    for y in gy:
        out += _dashes(np.array([[-0.5, y], [1.5, y]]), 0.04, 0.05)
    for xa, xb in zip(gx[:-1], gx[1:]):
        for ya, yb in zip(gy[:-1], gy[1:]):
            block = (xa + street / 2, ya + street / 2, xb - street / 2, yb - street / 2)
            out.append(_rounded(((xa + xb) / 2, (ya + yb) / 2), xb - xa - street, yb - ya - street, 0.025))
            for lot in _split(rng, _shrink(block, walk), rng.uniform(0.15, 0.24)):
                out += _building(rng, _shrink(lot, rng.uniform(0.003, 0.01)))
    return _spin(out, _angle(rng))


def _buildings_complex(rng: Rng) -> list[Stroke]:
    """One large building (L, U or courtyard block) beside its parking lot and the access road."""
    edge = rng.uniform(0.55, 0.7)
    out = _building(rng, (rng.uniform(-0.2, 0.08), rng.uniform(-0.3, 0.05), edge, rng.uniform(0.95, 1.3)))
    out.append(_line((edge + 0.03, -0.5), (edge + 0.03, 1.5)))  # sidewalk along the front
    depth, stall, aisle = rng.uniform(0.065, 0.075), rng.uniform(0.034, 0.04), rng.uniform(0.09, 0.11)
    spines = np.arange(depth, 0.9, 2 * depth + aisle)
    lines, cars = _stall_rows(rng, -0.4, 1.4, spines, stall, depth, 0.0, rng.uniform(0.15, 0.4))
    # the rows were laid out along x; a quarter turn stands them along the building front
    out += _move(lines + cars, -np.pi / 2, at=(edge + 0.03 + aisle, 0.5), about=(0.5, 0.0))
    road = edge + 0.03 + aisle + spines[-1] + depth + 0.12
    out += _two_lane_road(np.array([[road, -0.5], [road, 1.5]]), 0.04, 0.04)
    return _spin(out, _angle(rng))


def _buildings_downtown(rng: Rng) -> list[Stroke]:
    """Dense downtown: a street with lots packed with buildings of every size on both sides."""
    y = rng.uniform(0.3, 0.7)
    half = rng.uniform(0.035, 0.05)
    out = [_line((-0.5, y - half), (1.5, y - half)), _line((-0.5, y + half), (1.5, y + half))]
    out += _dashes(np.array([[-0.5, y], [1.5, y]]), 0.04, 0.05)
    smallest = rng.uniform(0.16, 0.24)
    for side in ((-0.3, -0.35, 1.3, y - half - 0.015), (-0.3, y + half + 0.015, 1.3, 1.35)):
        for lot in _split(rng, side, smallest):
            out += _building(rng, _shrink(lot, rng.uniform(0.003, 0.012)))
    return _spin(out, _angle(rng))


# --------------------------------------------------------------------------------------------------------------------
# Freeway (the carriageway helper is shared with the overpass)

def _freeway(rng: Rng, path: np.ndarray, lanes: int, lane: float, median: float, occupancy: float,
             detail: bool = False) -> tuple[list[Stroke], float]:
    """Both carriageways of a divided highway along `path`: pavement edges, solid edge lines, dashed lane lines,
    a barrier or a grass median, and traffic (right-hand, so the +normal side runs along the path). Returns the
    strokes and the distance of the outer pavement edge from the centre line."""
    inner, shoulder = rng.uniform(0.2, 0.35) * lane, rng.uniform(0.6, 0.9) * lane
    barrier = median < 0.6 * lane
    out = [_stroke(_offset(path, d)) for d in (-0.08 * lane, 0.08 * lane)] if barrier else []
    total = _arclength(path)[-1]
    first = median / 2 + inner
    for side in (1, -1):
        if not barrier:
            out.append(_stroke(_offset(path, side * median / 2)))
        out.append(_stroke(_offset(path, side * first)))
        phase = rng.uniform(0, 3 * lane)
        for k in range(1, lanes):
            out += _dashes(_offset(path, side * (first + k * lane)), 0.8 * lane, 2.4 * lane, phase)
        out += [_stroke(_offset(path, side * (first + lanes * lane))),
                _stroke(_offset(path, side * (first + lanes * lane + shoulder)))]
        for k in range(lanes):
            lane_path = _offset(path, side * (first + (k + 0.5) * lane))
            slot = 3.2 * lane
            for s0 in np.arange(0.0, total - slot, slot):
                if rng.random() < occupancy:
                    p, heading = _pose(lane_path, s0 + rng.uniform(0.3, 0.7) * slot)
                    heading += 0.0 if side > 0 else np.pi
                    if rng.random() < 0.1:  # a lorry: cab and trailer
                        u = _unit(heading)
                        out += [_rect(p + u * 1.25 * lane, 0.45 * lane, 0.55 * lane, heading),
                                _rect(p - u * 0.35 * lane, 2.5 * lane, 0.6 * lane, heading)]
                    else:
                        out += _car(rng, p, heading, 1.25 * lane, 0.5 * lane, detail)
    return out, first + lanes * lane + shoulder


def _straight(angle: float = 0.0, centre=(0.5, 0.5), reach: float = 1.0) -> np.ndarray:
    c, u = np.asarray(centre, dtype=float), _unit(angle)
    return np.vstack([c - u * reach, c + u * reach])


def _freeway_iconic(rng: Rng) -> list[Stroke]:
    """A close-up of one carriageway's lanes, the median barrier and detailed cars."""
    lane = rng.uniform(0.15, 0.19)
    path = _straight(0.0, (0.5, 0.5 + rng.uniform(-0.3, 0.3)), 1.2)
    out, _ = _freeway(rng, path, 3, lane, rng.uniform(0.02, 0.06), rng.uniform(0.25, 0.5), detail=True)
    return _spin(out, rng.uniform(0, TAU))


def _freeway_scene_straight(rng: Rng) -> list[Stroke]:
    """A straight divided highway with traffic, a frontage road or fence on the verge and roadside trees."""
    lane = rng.uniform(0.042, 0.05)
    path = _straight(0.0, (0.5, 0.5 + rng.uniform(-0.1, 0.1)), 1.0)
    out, edge = _freeway(rng, path, int(rng.integers(2, 5)), lane, rng.uniform(0.02, 0.12), rng.uniform(0.15, 0.35))
    for side in (1, -1):
        verge = edge + rng.uniform(0.05, 0.12)
        if rng.random() < 0.4:
            out += _two_lane_road(_offset(path, side * (verge + 0.04)), 0.04, 0.04)
        else:
            out.append(_stroke(_offset(path, side * verge)))  # right-of-way fence
            for s in rng.uniform(0.1, 1.9, int(rng.integers(2, 7))):
                p, _ = _pose(_offset(path, side * (verge + rng.uniform(0.04, 0.1))), s)
                out.append(_tree(rng, p, rng.uniform(0.025, 0.045)))
    return _spin(out, _angle(rng))


def _freeway_scene_curve(rng: Rng) -> list[Stroke]:
    """A freeway sweeping round a long curve."""
    radius = rng.uniform(1.4, 2.6)
    phi = np.linspace(-1.0 / radius, 1.0 / radius, 60)
    path = np.column_stack([0.5 + radius * np.sin(phi), 0.5 + radius * (1 - np.cos(phi))])
    lane = rng.uniform(0.042, 0.05)
    out, edge = _freeway(rng, path, int(rng.integers(2, 5)), lane, rng.uniform(0.02, 0.12), rng.uniform(0.15, 0.35))
    out += [_stroke(_offset(path, side * (edge + rng.uniform(0.05, 0.1)))) for side in (1, -1)]
    return _spin(out, rng.uniform(0, TAU))


def _freeway_scene_ramp(rng: Rng) -> list[Stroke]:
    """A straight freeway with an exit ramp peeling away from the outer edge; the gore drawn as a V with chevrons."""
    lane = rng.uniform(0.042, 0.05)
    lanes = int(rng.integers(2, 5))
    path = _straight(0.0, (0.5, 0.5 - rng.uniform(0.0, 0.15)), 1.0)
    out, edge = _freeway(rng, path, lanes, lane, rng.uniform(0.02, 0.1), rng.uniform(0.15, 0.3))
    y = path[0, 1] + edge  # the outer pavement edge the ramp leaves from; it is redrawn below, split at the ramp
    out = [s for s in out if not np.allclose(s.points[:, 1], y)]
    width, start, taper, bend = lane * 1.2, rng.uniform(-0.1, 0.3), rng.uniform(0.15, 0.25), rng.uniform(0.4, 0.8)
    x = np.linspace(start, 1.6, 80)
    run = np.clip((x - start) / taper, 0.0, 1.0)
    outer = y + width * (3 * run ** 2 - 2 * run ** 3) + bend * np.clip(x - start - taper, 0.0, None) ** 2
    gore = start + taper
    xi = x[x >= gore]
    inner = y + bend * (xi - gore) ** 2
    out.append(_stroke(np.vstack([[[-0.5, y]], np.column_stack([x, outer])])))
    out.append(_stroke(np.vstack([np.column_stack([xi, inner])[::-1], [[1.5, y]]])))
    for d in (0.15, 0.22, 0.29):  # hatching painted across the gore, from the freeway edge to the ramp's
        out.append(_line((gore + d, y), (gore + d + 0.03, y + bend * (d + 0.03) ** 2)))
    return _spin(out, _angle(rng))


# --------------------------------------------------------------------------------------------------------------------
# Golf course

def _flag(centre, size) -> list[Stroke]:
    c = np.asarray(centre, dtype=float)
    return [_circle(c, size * 0.25), _stroke([c, c + [0, -size * 1.6], c + [size, -size * 1.3], c + [0, -size]])]


def _fairway(rng: Rng, path: np.ndarray, half: float, taper_end: bool = False) -> Stroke:
    s = _arclength(path)
    f = s / s[-1]
    width = half * (1 + 0.2 * np.sin(TAU * rng.uniform(0.6, 1.4) * f + rng.uniform(0, TAU)))
    if taper_end:  # a rounded end where the fairway runs out at the green
        width = width * np.sqrt(np.clip((1 - f) / 0.12, 0.0, 1.0))
    return _band(path, width)


def _green(rng: Rng, centre, rx, ry) -> tuple[list[Stroke], np.ndarray]:
    """A putting green inside its collar, with the hole and flag. Returns strokes and the collar outline."""
    green = _blob_points(rng, centre, rx, ry, rng.uniform(0, TAU), 0.12)
    collar = (green - centre) * 1.14 + centre
    return [_stroke(green, closed=True), _stroke(collar, closed=True)] + _flag(
        np.asarray(centre) + rng.uniform(-0.3, 0.3, 2) * (rx, ry), 0.18 * min(rx, ry)), collar


def _bunkers_round(rng: Rng, centre, reach, count, size, avoid: float) -> list[Stroke]:
    """Kidney-shaped bunkers round a green, leaving the approach (direction `avoid`) open."""
    out = []
    spread = rng.uniform(0.25, 0.6) * np.pi if count > 1 else 0.0
    for a in avoid + np.pi + spread * np.linspace(-1, 1, count) + rng.uniform(-0.2, 0.2, count):
        r = size * rng.uniform(0.7, 1.2)
        out.append(_blob(rng, np.asarray(centre) + _unit(a) * (reach + r * 0.8), r, r * rng.uniform(0.45, 0.7),
                         a + np.pi / 2, 0.3))
    return out


def _golf_iconic(rng: Rng) -> list[Stroke]:
    """One green filling the frame: collar, flag, the fairway running in, a few bunkers."""
    c = 0.5 + rng.uniform(-0.05, 0.05, 2)
    rx, ry = rng.uniform(0.26, 0.32), rng.uniform(0.2, 0.26)
    out, collar = _green(rng, c, rx, ry)
    approach = rng.uniform(0, TAU)
    fairway = _fairway(rng, _straight(approach, c + _unit(approach) * 0.9, 0.9), rng.uniform(0.28, 0.36))
    out += _erase([fairway], _outside(collar))
    out += _bunkers_round(rng, c, 1.05 * max(rx, ry), int(rng.integers(1, 4)), rng.uniform(0.08, 0.12), approach)
    return out


def _golf_fairway(rng: Rng) -> list[Stroke]:
    """A fairway across the frame with fairway bunkers on its edges, trees in the rough and a cart path."""
    half = rng.uniform(0.14, 0.2)
    path = _curve([(-0.5, 0.5 + rng.uniform(-0.1, 0.1)), (0.5, 0.5 + rng.uniform(-0.12, 0.12)),
                   (1.5, 0.5 + rng.uniform(-0.1, 0.1))])
    fairway = _fairway(rng, path, half)
    bunkers = []
    for s in rng.uniform(0.5, 1.5, int(rng.integers(2, 5))):
        p, heading = _pose(path, s)
        r = rng.uniform(0.04, 0.07)
        p = p + _unit(heading + np.pi / 2) * _sign(rng) * half * rng.uniform(0.75, 1.05)
        bunkers.append(_blob(rng, p, r, r * 0.6, heading, 0.3))
    out = [fairway]
    for b in bunkers:
        out = _erase(out, _outside(b))
    out += bunkers
    side = _sign(rng)
    cart = _offset(path, side * (half * 1.3 + rng.uniform(0.03, 0.08)))
    out += [_stroke(_offset(cart, 0.007)), _stroke(_offset(cart, -0.007))]
    for s in rng.uniform(0.0, 2.0, int(rng.integers(10, 20))):
        p, heading = _pose(path, s)
        gap = half * 1.3 + rng.uniform(0.05, 0.3)
        out.append(_tree(rng, p + _unit(heading + np.pi / 2) * -side * gap, rng.uniform(0.025, 0.05)))
    return _spin(out, rng.uniform(0, TAU))


def _golf_green_complex(rng: Rng) -> list[Stroke]:
    """A green at the end of its fairway, ringed by bunkers, with trees and a cart path behind."""
    c = np.array([rng.uniform(0.4, 0.6), rng.uniform(0.32, 0.45)])
    rx, ry = rng.uniform(0.1, 0.14), rng.uniform(0.08, 0.11)
    out, collar = _green(rng, c, rx, ry)
    approach = np.pi / 2 + rng.uniform(-0.5, 0.5)  # the fairway comes from below
    fairway_path = _curve([c + _unit(approach) * 1.0 + [rng.uniform(-0.2, 0.2), 0], c + _unit(approach) * 0.5, c])
    fairway = _fairway(rng, fairway_path, rng.uniform(0.13, 0.18), taper_end=True)
    out += _erase([fairway], _outside(collar))
    out += _bunkers_round(rng, c, 1.15 * max(rx, ry), int(rng.integers(2, 5)), rng.uniform(0.04, 0.06), approach)
    cart = _curve([(-0.4, c[1] - rng.uniform(0.2, 0.3)), (c[0], c[1] - max(rx, ry) - rng.uniform(0.15, 0.25)),
                   (1.4, c[1] - rng.uniform(0.1, 0.3))])
    out += [_stroke(_offset(cart, 0.007)), _stroke(_offset(cart, -0.007))]

    def open_ground(p):
        return np.linalg.norm(p - c) > 2.2 * max(rx, ry) and not _inside(p[None], fairway.points)[0]

    out += [_tree(rng, p, rng.uniform(0.025, 0.05))
            for p in _scatter(rng, int(rng.integers(6, 14)), (-0.1, -0.1, 1.1, 1.1), open_ground)]
    return _spin(out, rng.uniform(0, TAU))


def _golf_dogleg(rng: Rng) -> list[Stroke]:
    """A dogleg hole bending round a pond, bunkers on the outside of the bend, the green at the far end."""
    start = np.array([-0.4, rng.uniform(0.65, 0.85)])
    bend = np.array([rng.uniform(0.4, 0.55), rng.uniform(0.6, 0.75)])
    green = np.array([rng.uniform(0.62, 0.78), rng.uniform(0.12, 0.22)])
    path = _curve([start, bend, green])
    half = rng.uniform(0.11, 0.15)
    fairway = _fairway(rng, path, half, taper_end=True)
    out, collar = _green(rng, green, rng.uniform(0.08, 0.1), rng.uniform(0.06, 0.08))
    out += _erase([fairway], _outside(collar))
    inward = (start + green) / 2 - bend
    inward /= np.linalg.norm(inward)
    pond_r = rng.uniform(0.09, 0.14)
    pond_c = bend + inward * (half + pond_r + 0.04)
    out.append(_blob(rng, pond_c, pond_r, pond_r * rng.uniform(0.6, 0.9), rng.uniform(0, TAU), 0.2))
    for k in range(int(rng.integers(1, 4))):  # ripples on the water
        p = pond_c + (k - 1) * np.array([0.0, 0.03])
        x = np.linspace(-0.03, 0.03, 12)
        out.append(_stroke(np.column_stack([x, 0.006 * np.sin(x / 0.03 * TAU)]) + p))
    for k in range(int(rng.integers(1, 4))):
        r = rng.uniform(0.035, 0.055)
        p = bend - inward * (half + r * 0.3) + rng.uniform(-0.06, 0.06, 2)
        out.append(_blob(rng, p, r, r * 0.6, rng.uniform(0, TAU), 0.3))
    for s in rng.uniform(0.0, _arclength(path)[-1], int(rng.integers(6, 12))):  # trees line the outside of the bend
        p, heading = _pose(path, s)
        normal = _unit(heading + np.pi / 2)
        outward = -normal if normal @ inward > 0 else normal
        out.append(_tree(rng, p + outward * (half * 1.3 + rng.uniform(0.04, 0.2)), rng.uniform(0.025, 0.05)))
    out += [_rounded(start + [0.45 + 0.07 * k, rng.uniform(-0.02, 0.02)], 0.05, 0.035, 0.01) for k in range(2)]
    return _spin(out, rng.uniform(0, TAU))


# --------------------------------------------------------------------------------------------------------------------
# Harbor

def _hull(length: float, beam: float, bow: float = 0.55) -> np.ndarray:
    """Hull outline along x, bow at +x: square transom, parallel sides, then a pointed bow over the front `bow`
    fraction of the length."""
    u = np.linspace(0.0, 1.0, 10)
    side = np.column_stack([np.r_[-0.5 * length, (0.5 - bow) * length + u * bow * length],
                            np.r_[0.42 * beam, 0.5 * beam * (1 - u ** 2)]])
    return np.vstack([side, (side * [1, -1])[-2::-1]])


def _boat(rng: Rng, length: float, beam: float, detail: bool = False) -> list[Stroke]:
    """A pleasure boat in its own coordinates (bow at +x): hull and, often, a cabin; with `detail` also the deck
    line, windscreen, cockpit and bow hatch."""
    out = [_stroke(_hull(length, beam), closed=True)]
    kind = rng.choice(3, p=[0.5, 0.3, 0.2])  # motor yacht, sailing boat, open skiff
    if kind == 0 or (kind == 1 and not detail and rng.random() < 0.5):
        out.append(_rounded((-0.08 * length, 0.0), 0.42 * length, 0.6 * beam, 0.15 * beam))
    if not detail:
        return out
    out.append(_stroke(_hull(length * 0.9, beam * 0.82), closed=True))  # deck edge inside the rail
    if kind == 0:
        out += [_line((0.1 * length, -0.27 * beam), (0.1 * length, 0.27 * beam)),
                _rect((-0.36 * length, 0.0), 0.16 * length, 0.55 * beam),
                _rect((-0.1 * length, 0.0), 0.16 * length, 0.4 * beam)]  # flybridge
    elif kind == 1:
        out += [_rounded((0.0, 0.0), 0.3 * length, 0.5 * beam, 0.12 * beam),
                _circle((0.18 * length, 0.0), 0.02 * beam),  # mast
                _line((0.17 * length, 0.0), (-0.38 * length, 0.0)),  # boom
                _rect((-0.36 * length, 0.0), 0.14 * length, 0.5 * beam)]
    else:
        out += [_rect((0.0, 0.0), 0.1 * length, 0.3 * beam),  # console
                _line((-0.25 * length, -0.38 * beam), (-0.25 * length, 0.38 * beam))]  # thwart
    out.append(_rect((0.3 * length, 0.0), 0.07 * length, 0.22 * beam))
    return out


def _ship(rng: Rng, length: float, beam: float) -> list[Stroke]:
    """A cargo ship (bow at +x): blunt hull, hatch covers along the deck and the bridge block aft."""
    out = [_stroke(_hull(length, beam, bow=0.18), closed=True)]
    hatches = int(rng.integers(3, 7))
    span = np.linspace(-0.22 * length, 0.3 * length, hatches + 1)
    for a, b in zip(span[:-1], span[1:]):
        out.append(_rect(((a + b) / 2, 0.0), (b - a) * 0.85, beam * 0.7))
    out += [_rect((-0.36 * length, 0.0), 0.08 * length, beam * 0.85), _circle((-0.42 * length, 0.0), beam * 0.08)]
    return out


def _wake(stern, heading, length) -> list[Stroke]:
    back = -_unit(heading) * length
    return [_line(stern, np.asarray(stern) + back + _unit(heading + np.pi / 2) * side * length * 0.35)
            for side in (-1, 1)]


def _dock_with_boats(rng: Rng, x: float, y0: float, y1: float, slip: float, finger: float,
                     fill: float) -> list[Stroke]:
    """A main dock from y0 to y1 at x with finger piers on both sides and boats berthed in most slips."""
    width = rng.uniform(0.018, 0.028)
    out = [_box((x - width / 2, y0, x + width / 2, y1))]
    count = max(2, int((y1 - y0 - 0.04) / slip))
    bow_in = rng.random() < 0.7
    for side in (-1, 1):
        edge = x + side * width / 2
        top = y0 + 0.03
        out.append(_comb((edge, top), (edge, top + (count - 1) * slip), count, (side * finger, 0.0)))
        for k in range(count - 1):
            if rng.random() < fill:
                length = finger * rng.uniform(0.85, 1.2)
                beam = slip * rng.uniform(0.55, 0.75)
                centre = (edge + side * (length / 2 + 0.006), top + (k + 0.5) * slip)
                toward_dock = np.pi if side > 0 else 0.0
                heading = toward_dock if bow_in == (rng.random() < 0.85) else toward_dock + np.pi
                out += _move(_boat(rng, length, beam), heading, at=centre)
    return out


def _harbor_iconic(rng: Rng) -> list[Stroke]:
    """One moored boat filling the frame, with its deck details, the dock, cleats and lines."""
    length = rng.uniform(0.7, 0.82)
    beam = length * rng.uniform(0.3, 0.36)
    out = _boat(rng, length, beam, detail=True)
    dock = beam / 2 + rng.uniform(0.03, 0.06)
    out += [_line((-0.8, dock), (0.8, dock)), _line((-0.8, dock + 0.06), (0.8, dock + 0.06))]
    for x in (-0.3 * length, 0.25 * length):  # cleats and mooring lines
        out += [_rect((x * 1.2, dock + 0.015), 0.03, 0.01), _line((x, beam * 0.4), (x * 1.2, dock + 0.01))]
    return _move(out, rng.uniform(0, TAU), at=0.5 + rng.uniform(-0.03, 0.03, 2), about=(0.0, dock * 0.4))


def _harbor_marina(rng: Rng) -> list[Stroke]:
    """A marina: main docks run out from the shore, lined with finger piers and boats; parking behind the shore."""
    pitch = rng.uniform(0.38, 0.5)
    slip, finger = rng.uniform(0.055, 0.07), rng.uniform(0.09, 0.12)
    shore = rng.uniform(-0.15, 0.1)
    out = [_stroke(_curve([(-0.6, shore), (0.5, shore + rng.uniform(-0.03, 0.03)), (1.6, shore)]))]
    out += _dashes(np.array([[-0.6, shore - 0.08], [1.6, shore - 0.08]]), 0.05, 0.04)
    for x in np.arange(rng.uniform(-0.2, -0.2 + pitch), 1.3, pitch):
        end = rng.uniform(1.0, 1.3)
        out += _dock_with_boats(rng, x, shore, end, slip, finger, rng.uniform(0.6, 0.85))
        if rng.random() < 0.5:  # a T-head at the end with a larger boat alongside
            out.append(_bar((x - 0.12, end), (x + 0.12, end), 0.025))
            out += _move(_boat(rng, 0.2, 0.06), 0.0, at=(x, end + 0.05))
    return _spin(out, _angle(rng))


def _harbor_quay(rng: Rng) -> list[Stroke]:
    """A cargo quay: ships moored alongside with lines to bollards, warehouses and rails on land, a tug nearby."""
    quay = rng.uniform(0.2, 0.35)
    out = [_line((-0.6, quay), (1.6, quay))]
    out += [_circle((x, quay - 0.012), 0.006) for x in np.arange(-0.4, 1.4, rng.uniform(0.09, 0.14))]
    for rail in (0.05, 0.07):
        out.append(_line((-0.6, quay - rail), (1.6, quay - rail)))
    x = rng.uniform(-0.5, -0.2)
    while x < 1.4:
        w = rng.uniform(0.25, 0.45)
        out += [_box((x, quay - 0.35, x + w, quay - 0.12)), _line((x, quay - 0.235), (x + w, quay - 0.235))]
        x += w + rng.uniform(0.04, 0.1)
    x = rng.uniform(-0.1, 0.2)
    for _ in range(int(rng.integers(1, 3))):
        length, beam = rng.uniform(0.55, 0.85), rng.uniform(0.1, 0.15)
        centre = np.array([x + length / 2, quay + beam / 2 + 0.012])
        out += _move(_ship(rng, length, beam), np.pi if rng.random() < 0.5 else 0.0, at=centre)
        for f in (-0.42, 0.42):
            out.append(_line(centre + [f * length, -beam / 2], centre + [f * length * 1.1, -beam / 2 - 0.012]))
        x += length + rng.uniform(0.06, 0.15)
    tug = np.array([rng.uniform(0.2, 0.8), quay + rng.uniform(0.3, 0.45)])
    heading = rng.uniform(0, TAU)
    out += _move(_boat(rng, 0.09, 0.035), heading, at=tug) + _wake(tug - _unit(heading) * 0.045, heading, 0.15)
    return _spin(out, _angle(rng))


def _harbor_breakwater(rng: Rng) -> list[Stroke]:
    """A boat basin behind a curved breakwater: docks with boats inside, the entrance gap, a boat heading out."""
    radius = rng.uniform(0.55, 0.75)
    centre = np.array([0.5 + rng.uniform(-0.1, 0.1), 1.1])
    arc = np.array([centre + _unit(a) * radius for a in np.linspace(-np.pi * 1.05, -np.pi * 0.35, 50)])
    width = np.full(len(arc), rng.uniform(0.018, 0.03))
    width[-6:] *= np.linspace(1.0, 0.3, 6)  # rounded head at the entrance
    out = [_band(arc, width)]
    out.append(_line((-0.5, 1.15), (1.5, 1.15)))  # the shore the basin lies against
    slip, finger = rng.uniform(0.055, 0.065), rng.uniform(0.08, 0.1)
    for x in np.arange(centre[0] - radius * 0.6, centre[0] + radius * 0.5, rng.uniform(0.28, 0.34)):
        top = centre[1] - np.sqrt(max(radius ** 2 - (x - centre[0]) ** 2, 0.0)) + 0.14
        out += _dock_with_boats(rng, x, top, 1.15, slip, finger, rng.uniform(0.5, 0.8))
    head = arc[-1]
    boat = head + np.array([0.1, -0.1]) + rng.uniform(-0.04, 0.04, 2)
    heading = -np.pi / 4 + rng.uniform(-0.4, 0.4)
    out += _move(_boat(rng, 0.1, 0.035), heading, at=boat) + _wake(boat - _unit(heading) * 0.05, heading, 0.18)
    return _spin(out, _angle(rng))


# --------------------------------------------------------------------------------------------------------------------
# Intersection

def _edge_corner(o, dirs, norms, sa: int, sb: int, ha: float, hb: float):
    """Where road A's edge on side `sa` meets road B's edge on side `sb` (half-widths ha, hb), with the unit vectors
    pointing away from that point along each edge into the quadrant."""
    t, _ = np.linalg.solve(np.column_stack([dirs[0], -dirs[1]]), sb * hb * norms[1] - sa * ha * norms[0])
    c = o + sa * ha * norms[0] + t * dirs[0]
    return c, dirs[0] * np.sign(sb * (dirs[0] @ norms[1])), dirs[1] * np.sign(sa * (dirs[1] @ norms[0]))


def _crossing(rng: Rng, centre, angles, halves, radius, lanes, style, walk=0.0, island=False, slip=0.0,
              queue=0.3, car_length=0.058) -> tuple[list[Stroke], list[tuple]]:
    """Two roads crossing at `centre`: curbs round each corner (and sidewalk backs when `walk`), crosswalks, stop
    lines, centre lines or median islands with turn arrows, lane lines and cars queued at the lights. With `slip`,
    obtuse corners get a free right-turn lane behind a triangular island of that size. Returns the strokes and the
    corners as (corner point, direction along road A, direction along road B) for filling the quadrants."""
    o = np.asarray(centre, dtype=float)
    dirs = [_unit(a) for a in angles]
    norms = [np.array([-d[1], d[0]]) for d in dirs]
    lane = [h / lanes for h in halves]
    out, corners = [], []
    for sa in (-1, 1):
        for sb in (-1, 1):
            c, e1, e2 = _edge_corner(o, dirs, norms, sa, sb, *halves)
            corners.append((c, e1, e2))
            r = radius
            if slip and e1 @ e2 < 0:
                q, _, _ = _edge_corner(o, dirs, norms, sa, sb, halves[0] - lane[0], halves[1] - lane[1])
                out.append(_stroke([q + (e1 + e2) * 0.012, q + e1 * slip, q + e2 * slip], closed=True))
                # the curb swings wide enough to leave a lane between itself and the island's long side
                bisector = (e1 + e2) / np.linalg.norm(e1 + e2)
                clearance = (q + (e1 + e2) / 2 * slip - c) @ bisector + min(lane)
                r = max(radius, clearance / (1 / np.sin(np.arccos(e1 @ e2) / 2) - 1))
            out.append(_corner(c, e1, e2, r, 1.6, 1.6))
            if walk:
                back, _, _ = _edge_corner(o, dirs, norms, sa, sb, halves[0] + walk, halves[1] + walk)
                out.append(_corner(back, e1, e2, r + walk, 1.6, 1.6))
    for road in (0, 1):
        d, n, half = dirs[road], norms[road], halves[road]
        for arm in (-1, 1):
            u = d * arm
            mouth = max((c - o) @ u for c, e1, e2 in corners if ((e1, e2)[road] @ u) > 0) + 0.01
            at = o + u * mouth
            width = 0.035 if style == "zebra" else 0.03
            if style == "zebra":
                step = max(0.022, half / 7)  # a dozen-odd stripes across, however close the view
                out += [_line(at + n * lat, at + n * lat + u * width) for lat in np.arange(step / 2 - half, half, step)]
            else:
                out += [_line(at - n * half + u * d, at + n * half + u * d) for d in (0.0, width)]
            stop = at + u * (width + 0.012)
            inbound = -arm  # right-hand traffic: cars coming in keep to the -normal side of an outgoing arm
            out.append(_line(stop, stop + n * inbound * half))
            far = o + u * 1.6
            if island:
                length = float(np.linalg.norm(far - stop)) - 0.06
                out.append(_rounded(stop + u * (0.06 + length / 2), length, 0.025, 0.012, np.arctan2(u[1], u[0])))
                out += [_arrow(p + u * 0.07, p, 0.02) for p in (stop + u * 0.05 + n * inbound * (k + 0.5) * lane[road]
                                                                 for k in range(lanes))]
            else:
                out += [_line(stop + n * s, far + n * s) for s in (-0.004, 0.004)]
            for k in range(1, lanes):
                out += [s for side in (-1, 1) for s in _dashes(np.vstack([stop, far]) + n * side * k * lane[road],
                                                               0.04, 0.07)]
            for k in range(lanes):
                pos = stop + u * (0.02 + car_length / 2) + n * inbound * (k + 0.5) * lane[road]
                while rng.random() < queue and np.linalg.norm(pos - o) < 0.9:
                    out += _car(rng, pos, np.arctan2(-u[1], -u[0]), car_length, lane[road] * 0.5)
                    pos = pos + u * car_length * rng.uniform(1.25, 1.6)
    return out, corners


def _in_quadrant(corner, strokes: Sequence[Stroke]) -> list[Stroke]:
    """Carry strokes drawn in a quadrant's own frame (x along road A away from the crossing, y along road B) into
    place beside the corner."""
    c, e1, e2 = corner
    return [Stroke(s.points @ np.vstack([e1, e2]) + c, s.closed) for s in strokes]


def _intersection_iconic(rng: Rng) -> list[Stroke]:
    """A close-up of the crossing itself: curbs, zebra crossings, stop lines, lane lines."""
    first = rng.uniform(0, TAU)
    angles = (first, first + np.pi / 2 + rng.uniform(-0.15, 0.15))
    out, _ = _crossing(rng, 0.5 + rng.uniform(-0.05, 0.05, 2), angles, rng.uniform(0.2, 0.28, 2),
                       rng.uniform(0.06, 0.12), 2, "zebra", walk=rng.uniform(0.04, 0.06), queue=0.25, car_length=0.12)
    return out


def _intersection_residential(rng: Rng) -> list[Stroke]:
    """Two residential streets at right angles: painted crossings, houses with driveways in the four quadrants."""
    first = _angle(rng)
    half = rng.uniform(0.06, 0.08)
    out, corners = _crossing(rng, 0.5 + rng.uniform(-0.08, 0.08, 2), (first, first + np.pi / 2), (half, half),
                             rng.uniform(0.03, 0.05), 1, rng.choice(["lines", "zebra"]), walk=0.025, queue=0.2)
    for corner in corners:
        lot = []
        for x in (0.17, 0.45):
            w, h = rng.uniform(0.14, 0.2), rng.uniform(0.1, 0.14)
            lot += _house(rng, (x, 0.06 + h / 2), w, h, 0.0)
            lot.append(_bar((x + w / 2 + 0.03, 0.0), (x + w / 2 + 0.03, 0.06 + h * 0.6), 0.04))  # driveway
        lot.append(_tree(rng, (0.3, 0.3), rng.uniform(0.03, 0.05)))
        out += _in_quadrant(corner, lot)
    return out


def _intersection_arterial(rng: Rng) -> list[Stroke]:
    """Two wide arterials with median islands, turn arrows, zebra crossings, queues, and a corner parking lot."""
    first = _angle(rng)
    out, corners = _crossing(rng, 0.5 + rng.uniform(-0.05, 0.05, 2), (first, first + np.pi / 2),
                             rng.uniform(0.1, 0.14, 2), rng.uniform(0.04, 0.06), 2, "zebra", walk=0.02, island=True,
                             queue=0.45)
    lot = int(rng.integers(4))
    lines, cars = _stall_rows(rng, 0.08, 0.9, [0.16], 0.036, 0.07, 0.0, rng.uniform(0.3, 0.7))
    out += _in_quadrant(corners[lot], lines + cars)
    for k, corner in enumerate(corners):
        if k != lot and rng.random() < 0.7:  # a store or a filling station on the other corners
            out += _in_quadrant(corner, _building(rng, (0.1, 0.1, rng.uniform(0.3, 0.45), rng.uniform(0.25, 0.4))))
    return out


def _intersection_skewed(rng: Rng) -> list[Stroke]:
    """An oblique crossing with free right-turn lanes behind triangular islands at the obtuse corners."""
    first = _angle(rng)
    skew = _sign(rng) * rng.uniform(0.35, 0.6)
    out, corners = _crossing(rng, 0.5 + rng.uniform(-0.05, 0.05, 2), (first, first + np.pi / 2 + skew),
                             rng.uniform(0.09, 0.12, 2), rng.uniform(0.04, 0.07), 2, rng.choice(["lines", "zebra"]),
                             walk=0.02, slip=rng.uniform(0.08, 0.11), queue=0.45)
    out += [_tree(rng, c + (e1 + e2) * 0.25, rng.uniform(0.03, 0.05)) for c, e1, e2 in corners if e1 @ e2 > 0]
    return out


# --------------------------------------------------------------------------------------------------------------------
# Mobile home park

def _mobile_home(rng: Rng, length: float, width: float, detail: bool = False) -> list[Stroke]:
    """A single-wide mobile home along x, hitch end at +x: long narrow box, roof seam, carport or awning on one side,
    sometimes a car. With `detail`: corrugated roof seams, vents, hitch tongue, steps and the AC unit."""
    out = [_rect((0.0, 0.0), length, width)]
    side = _sign(rng)
    if detail:
        out.append(_comb((-length / 2 + 0.04, -width / 2), (length / 2 - 0.04, -width / 2),
                         int(rng.integers(10, 16)), (0.0, width)))
        out += [_circle((x, 0.0), 0.012) for x in rng.uniform(-0.35, 0.35, 3) * length]
        out.append(_stroke([(length / 2, -width * 0.3), (length / 2 + 0.06, 0.0), (length / 2, width * 0.3)]))
        out.append(_rect((0.1 * length, -side * (width / 2 + 0.025)), 0.07, 0.05))
        ac = np.array([-0.3 * length, -side * (width / 2 + 0.035)])
        out += [_rect(ac, 0.05, 0.05), _circle(ac, 0.018)]
    elif rng.random() < 0.5:
        out.append(_line((-length / 2, 0.0), (length / 2, 0.0)))
    if detail or rng.random() < 0.5:
        span, depth = length * rng.uniform(0.35, 0.55), width * rng.uniform(0.6, 0.85)
        x = length / 2 - span / 2 - rng.uniform(0.0, 0.1) * length
        out.append(_rect((x, side * (width + depth) / 2), span, depth))
        if detail or rng.random() < 0.3:
            car = 0.7 * depth
            out += _car(rng, (x, side * (width + depth) / 2), 0.0, min(span * 0.8, 2.4 * car), car, detail)
    return out


def _mobilehome_iconic(rng: Rng) -> list[Stroke]:
    """One mobile home filling the frame: roof seams, vents, hitch, carport with car, AC unit."""
    length = rng.uniform(0.72, 0.82)
    out = _mobile_home(rng, length, length * rng.uniform(0.2, 0.25), detail=True)
    return _move(out, rng.uniform(0, TAU), at=0.5 + rng.uniform(-0.03, 0.03, 2))


def _homes_along(rng: Rng, x: float, half: float, length: float, tilt: float = 0.0,
                 gaps: Sequence[float] = ()) -> list[Stroke]:
    """Mobile homes of about `length` standing end-on to a street that runs along y at x, on both sides, hitch end
    to the street, leaning by `tilt` for herringbone lots; no homes within a home's width of the `gaps` (the
    cross streets)."""
    out = []
    width = rng.uniform(0.05, 0.06)
    pitch = (width + rng.uniform(0.045, 0.06)) / np.cos(tilt)
    for side in (-1, 1):
        for y in np.arange(-0.4 + rng.uniform(0, pitch), 1.4, pitch):
            if any(abs(y - g) < half + 2 * width for g in gaps) or rng.random() < 0.06:
                continue
            heading = (np.pi if side > 0 else 0.0) + side * tilt
            centre = np.array([x, y]) - _unit(heading) * (half + rng.uniform(0.01, 0.025) + length / 2)
            out += _move(_mobile_home(rng, length * rng.uniform(0.92, 1.0), width), heading, at=centre)
    return out


def _park_street(x: float, half: float) -> list[Stroke]:
    return [_line((x - half, -0.4), (x - half, 1.4)), _line((x + half, -0.4), (x + half, 1.4))]


def _mobilehome_rows(rng: Rng, tilt: float = 0.0) -> list[Stroke]:
    """Park streets at a pitch that leaves room for two homes back to back between them, homes on both sides."""
    half, length = rng.uniform(0.025, 0.035), rng.uniform(0.2, 0.25)
    reach = length * np.cos(tilt) + 0.06 * np.sin(tilt)  # how far a home reaches back from its street
    pitch = 2 * (half + 0.025 + reach) + rng.uniform(0.01, 0.04)
    out = []
    for x in np.arange(rng.uniform(-0.2, -0.2 + pitch), 1.3, pitch):
        out += _park_street(x, half) + _homes_along(rng, x, half, length, tilt)
    return out


def _mobilehome_straight(rng: Rng) -> list[Stroke]:
    """Parallel park streets lined on both sides with homes standing end-on, back to back between streets."""
    return _spin(_mobilehome_rows(rng), _angle(rng))


def _mobilehome_angled(rng: Rng) -> list[Stroke]:
    """Homes set at a slant to the streets, herringbone fashion, with a few shade trees."""
    out = _mobilehome_rows(rng, rng.uniform(0.4, 0.7))
    out += [_tree(rng, rng.uniform(0.0, 1.0, 2), rng.uniform(0.025, 0.04)) for _ in range(int(rng.integers(1, 4)))]
    return _spin(out, _angle(rng))


def _mobilehome_grid(rng: Rng) -> list[Stroke]:
    """Park streets ending at a cross street, homes packed along them, the clubhouse and pool across the way."""
    half, length = rng.uniform(0.025, 0.035), rng.uniform(0.2, 0.25)
    cx, cy = rng.uniform(0.35, 0.65, 2)
    side = _sign(rng)  # the park streets run from the cross street towards this side
    pitch = 2 * (half + 0.025 + length) + 0.02

    def beyond(p):  # keeps homes off the cross street and out of the far side
        return (p[:, 1] - cy) * side > half

    out = []
    for x in cx + np.arange(-2, 3) * pitch:
        out += _erase(_homes_along(rng, x, half, length, gaps=(cy,)), beyond)
        out += [_corner((x + sx * half, cy + side * half), (sx, 0), (0, side), 0.02, pitch / 2 - half, 1.5)
                for sx in (-1, 1)]
    out.append(_line((-0.6, cy - side * half), (1.6, cy - side * half)))
    out += _dashes(np.array([[-0.6, cy], [1.6, cy]]), 0.04, 0.05)
    club = np.array([cx + _sign(rng) * rng.uniform(0.1, 0.3), cy - side * (half + 0.12)])
    out += [_rect(club, 0.24, 0.14), _rounded(club - [0.0, side * 0.16], 0.14, 0.07, 0.02)]
    out += _hip_roof((club[0] - 0.12, club[1] - 0.07, club[0] + 0.12, club[1] + 0.07))
    out += [_tree(rng, club + [sx * rng.uniform(0.18, 0.3), -side * rng.uniform(0.0, 0.15)], rng.uniform(0.03, 0.05))
            for sx in (-1, 1)]
    return _spin(out, _angle(rng))


# --------------------------------------------------------------------------------------------------------------------
# Overpass

def _deck(rng: Rng, path: np.ndarray, half: float, lanes: int, detail: bool = False) -> list[Stroke]:
    """A bridge deck: double parapet lines on both sides, lane lines and traffic on top."""
    out = []
    for side in (-1, 1):
        out += [_stroke(_offset(path, side * half)), _stroke(_offset(path, side * (half - 0.1 * half)))]
    lane = 0.9 * half * 2 / lanes
    for k in range(1, lanes):
        out += _dashes(_offset(path, -0.9 * half + k * lane), 0.8 * lane, 2.0 * lane)
    total = _arclength(path)[-1]
    for k in range(lanes):
        lane_path = _offset(path, -0.9 * half + (k + 0.5) * lane)
        for s in rng.uniform(0.2, total - 0.2, int(rng.integers(0, 3))):
            p, heading = _pose(lane_path, s)
            out += _car(rng, p, heading + (np.pi if k < lanes / 2 else 0.0), 1.25 * lane, 0.5 * lane, detail)
    if detail:  # lamp posts along the parapet
        for s in np.arange(0.1, total, 0.25):
            p, heading = _pose(path, s)
            out.append(_circle(p + _unit(heading + np.pi / 2) * half * 0.95, 0.008))
    return out


def _overpass_iconic(rng: Rng) -> list[Stroke]:
    """A close-up of a deck crossing a road, the road's lines vanishing beneath it."""
    lane = rng.uniform(0.11, 0.14)
    below, _ = _freeway(rng, _straight(0.0, (0.5, 0.5), 1.2), 2, lane, rng.uniform(0.02, 0.05), 0.25, detail=True)
    deck_path = _straight(np.pi / 2 + rng.uniform(-0.5, 0.5), (0.5 + rng.uniform(-0.1, 0.1), 0.5), 1.2)
    half = rng.uniform(0.14, 0.19)
    out = _erase(below, _clear_of(deck_path, half + 0.005)) + _deck(rng, deck_path, half, 2, detail=True)
    return _spin(out, rng.uniform(0, TAU))


def _overpass_bridge(rng: Rng) -> list[Stroke]:
    """A road bridge crossing a freeway; the freeway's lines and traffic vanish under the deck."""
    lane = rng.uniform(0.042, 0.05)
    path = _straight(0.0, (0.5, 0.5 + rng.uniform(-0.1, 0.1)), 1.0)
    below, edge = _freeway(rng, path, int(rng.integers(2, 5)), lane, rng.uniform(0.02, 0.1), rng.uniform(0.15, 0.3))
    deck_path = _straight(np.pi / 2 + rng.uniform(-0.6, 0.6), (rng.uniform(0.35, 0.65), 0.5), 1.0)
    half = rng.uniform(0.05, 0.08)
    out = _erase(below, _clear_of(deck_path, half + 0.004)) + _deck(rng, deck_path, half, 2)
    return _spin(out, _angle(rng))


def _overpass_flyover(rng: Rng) -> list[Stroke]:
    """A curved flyover ramp sweeping over a road, as at a freeway-to-freeway interchange."""
    lane = rng.uniform(0.045, 0.055)
    below, _ = _freeway(rng, _straight(0.0, (0.5, 0.5 + rng.uniform(-0.15, 0.15)), 1.0), int(rng.integers(2, 4)),
                        lane, rng.uniform(0.02, 0.2), rng.uniform(0.1, 0.25))
    radius = rng.uniform(0.8, 1.4)
    through = np.array([0.5 + rng.uniform(-0.15, 0.15), 0.5])
    centre = through + _unit(rng.uniform(0.15, 0.85) * np.pi * _sign(rng)) * radius  # crosses the road obliquely
    start = np.arctan2(*(through - centre)[::-1])
    sweep = np.linspace(start - 1.0 / radius, start + 1.0 / radius, 60)
    ramp = centre + np.column_stack([np.cos(sweep), np.sin(sweep)]) * radius
    half = rng.uniform(0.045, 0.07)
    out = _erase(below, _clear_of(ramp, half + 0.004)) + _deck(rng, ramp, half, 1 + int(rng.random() < 0.5))
    return _spin(out, _angle(rng))


def _overpass_diamond(rng: Rng) -> list[Stroke]:
    """A diamond interchange: the cross road bridges the freeway, four ramps curve between them."""
    lane = rng.uniform(0.03, 0.036)
    below, edge = _freeway(rng, _straight(0.0, (0.5, 0.5), 1.2), 3, lane, rng.uniform(0.02, 0.05), 0.2)
    half = rng.uniform(0.045, 0.06)
    cross = _straight(np.pi / 2, (0.5, 0.5), 1.2)
    out = _erase(below, _clear_of(cross, half + 0.004)) + _deck(rng, cross, half, 2)
    ramp_half = 0.018
    far, meet = rng.uniform(0.45, 0.6), edge + rng.uniform(0.1, 0.16)
    for sx in (-1, 1):
        for sy in (-1, 1):
            p0 = np.array([0.5 + sx * far, 0.5 + sy * (edge + ramp_half)])
            p3 = np.array([0.5 + sx * (half + ramp_half), 0.5 + sy * meet])
            path = _bezier(p0, p0 - [sx * far * 0.5, 0], p3 + [0, sy * 0.1], p3)
            out += _erase([_stroke(_offset(path, ramp_half)), _stroke(_offset(path, -ramp_half))],
                          _clear_of(cross, half))
    return _spin(out, _angle(rng))


# --------------------------------------------------------------------------------------------------------------------
# Parking lot (the stall rows are shared with the buildings complex)

def _stall_rows(rng: Rng, x0: float, x1: float, spines, stall: float, depth: float, tilt: float,
                occupancy: float) -> tuple[list[Stroke], list[Stroke]]:
    """Double rows of stalls along horizontal spines, one zigzag stroke per row; cars parked in some stalls.
    `tilt` leans the stalls for angled parking, both sides the same way along x (a chevron about the spine), so that
    every aisle serves one direction of travel: -x for positive tilt. Returns (stall lines, cars) so callers can
    thin the cars."""
    lines, cars = [], []
    ticks = [depth * np.array([np.sin(tilt), side * np.cos(tilt)]) for side in (-1, 1)]
    count = int((x1 - x0) / stall) + 1
    car_len, car_w = 0.82 * depth, 0.62 * stall * np.cos(tilt)
    for y in spines:
        lines.append(_comb((x0, y), (x0 + (count - 1) * stall, y), count, *ticks))
        for tick in ticks:
            for k in range(count - 1):
                if rng.random() < occupancy:
                    c = np.array([x0 + (k + 0.5) * stall, y]) + tick / 2
                    heading = np.arctan2(tick[1], tick[0]) + rng.normal(0.0, 0.04)
                    cars += _car(rng, c, heading, car_len, car_w)
    return lines, cars


def _lot(rng: Rng, tilt: float, islands: bool) -> list[Stroke]:
    """An open lot of double stall rows over the whole frame, at any heading, with at most 90 cars."""
    depth, stall, aisle = rng.uniform(0.065, 0.075), rng.uniform(0.034, 0.04), rng.uniform(0.09, 0.11)
    spines = np.arange(rng.uniform(-0.35, 0.0), 1.35, 2 * depth + aisle)
    x0, x1 = rng.uniform(-0.45, -0.2), rng.uniform(1.2, 1.45)
    lines, cars = _stall_rows(rng, x0, x1, spines, stall, depth, tilt, rng.uniform(0.35, 0.8))
    out = lines
    if islands:  # planted islands capping the row ends, some with a tree
        for y in spines:
            for x in (x0 - 0.035, x1 + 0.035):
                out.append(_rounded((x, y), 0.06, 2 * depth, 0.03))
                if rng.random() < 0.5:
                    out.append(_tree(rng, (x, y), 0.03))
    if tilt:  # angled stalls mean one-way aisles
        flow = -np.sign(tilt) * 0.05
        out += [_arrow((0.5 - flow, y), (0.5 + flow, y), 0.02) for y in spines[:-1] + depth + aisle / 2]
    out += [_circle((x, y), 0.006) for y in spines for x in np.arange(x0 + 0.2, x1, 0.45)]  # light poles
    angle = _angle(rng)
    out, cars = _in_view(_spin(out, angle)), _in_view(_spin(cars, angle))
    keep = rng.permutation(len(cars))[:90]  # a busy lot still stays a readable drawing
    return out + [cars[i] for i in sorted(keep)]


def _parking_perpendicular(rng: Rng) -> list[Stroke]:
    """Double rows of right-angle stalls separated by aisles, light poles on the row spines, many cars."""
    return _lot(rng, 0.0, islands=rng.random() < 0.5)


def _parking_angled(rng: Rng) -> list[Stroke]:
    """Angled stalls with one-way arrows in the aisles and planted islands at the ends of the rows."""
    return _lot(rng, _sign(rng) * rng.uniform(0.45, 0.6), islands=True)


def _parking_by_building(rng: Rng) -> list[Stroke]:
    """A lot in front of a store: building edge with entrances, sidewalk, stall rows, driveway out to the street."""
    depth, stall, aisle = rng.uniform(0.065, 0.075), rng.uniform(0.034, 0.04), rng.uniform(0.09, 0.11)
    front = rng.uniform(0.05, 0.2)
    out = [_line((-0.5, front), (1.5, front)), _line((-0.5, front + 0.03), (1.5, front + 0.03))]
    out += [_rect((x, front - 0.1), rng.uniform(0.08, 0.15), 0.06) for x in rng.uniform(-0.2, 1.2, 3)]  # roof plant
    out += [_rect((x, front + 0.015), 0.05, 0.03) for x in rng.uniform(0.1, 0.9, 2)]  # entrance canopies
    spines = np.arange(front + 0.03 + aisle + depth, 1.25, 2 * depth + aisle)
    lines, cars = _stall_rows(rng, -0.4, 1.4, spines, stall, depth, 0.0, rng.uniform(0.3, 0.7))
    exit_x = rng.uniform(0.2, 0.8)
    road = spines[-1] + depth + aisle
    out += lines + [_line((-0.5, road), (exit_x - 0.05, road)), _line((exit_x + 0.05, road), (1.5, road))]
    out += _two_lane_road(np.array([[-0.5, road + 0.1], [1.5, road + 0.1]]), 0.05, 0.04)
    angle = _angle(rng)
    out, cars = _in_view(_spin(out, angle)), _in_view(_spin(cars, angle))
    return out + [cars[i] for i in sorted(rng.permutation(len(cars))[:80])]


def _parking_iconic(rng: Rng) -> list[Stroke]:
    """A close-up of two facing stall rows across an aisle: stall lines, wheel stops, detailed cars, an arrow."""
    stall, depth, aisle = rng.uniform(0.12, 0.14), rng.uniform(0.24, 0.27), rng.uniform(0.28, 0.34)
    out = []
    for side in (-1, 1):
        back = 0.5 + side * (aisle / 2 + depth)
        out.append(_comb((-0.4, back), (1.4, back), int(1.8 / stall) + 1, (0.0, -side * depth)))
        for x in np.arange(-0.4, 1.4, stall):
            c = np.array([x + stall / 2, back - side * depth / 2])
            out.append(_line(c + [-stall * 0.3, side * depth * 0.4], c + [stall * 0.3, side * depth * 0.4]))
            if rng.random() < rng.uniform(0.4, 0.8):
                out += _car(rng, c, -side * np.pi / 2 * _sign(rng) + rng.normal(0, 0.03), depth * 0.78,
                            stall * 0.62, detail=True)
    out.append(_arrow((0.4, 0.5), (0.62, 0.5), 0.06))
    return _spin(out, rng.uniform(0, TAU))


# --------------------------------------------------------------------------------------------------------------------
# River

def _bank_widths(rng: Rng, path: np.ndarray, half: float, wander: float) -> list[np.ndarray]:
    """Distance of each bank from the centre line: each wanders on its own with slow harmonics, so the shores are
    irregular but smooth."""
    s = _arclength(path)
    widths = []
    for _ in range(2):
        k, phase = rng.uniform(2.0, 6.0, 2), rng.uniform(0, TAU, 2)
        widths.append(half * (1 + wander * (np.sin(k[0] * s + phase[0]) + 0.5 * np.sin(k[1] * s + phase[1]))))
    return widths


def _meander(rng: Rng, amp: float, wavelength: float) -> np.ndarray:
    x = np.linspace(-0.5, 1.5, 7)
    y = 0.5 + amp * np.sin(TAU * x / wavelength + rng.uniform(0, TAU)) + rng.normal(0, 0.02, x.size)
    return _curve(np.column_stack([x, y]))


def _river_strokes(rng: Rng, path: np.ndarray, widths, trees: int, bars: int) -> list[Stroke]:
    """Banks, sandbars hugging the banks and tree crowns along the shore."""
    out = [_stroke(_offset(path, widths[0])), _stroke(_offset(path, -widths[1]))]
    n = len(path)
    for _ in range(bars):
        i = int(rng.integers(n // 6, n - n // 6))
        side = _sign(rng)
        w = widths[0][i] if side > 0 else widths[1][i]
        c = path[i] + _normals(path)[i] * side * w * 0.7
        heading = _pose(path, _arclength(path)[i])[1]
        out.append(_blob(rng, c, rng.uniform(0.06, 0.12), w * 0.25, heading, 0.15))
    for _ in range(trees):  # in clumps of two or three: a crown, then its neighbours a little along the bank
        i = int(rng.integers(n))
        side = _sign(rng)
        for j in np.clip(i + np.cumsum(rng.integers(3, 7, int(rng.integers(1, 4)))), 0, n - 1):
            w = widths[0][j] if side > 0 else widths[1][j]
            r = rng.uniform(0.025, 0.05)
            out.append(_tree(rng, path[j] + _normals(path)[j] * side * (w + r + rng.uniform(0.0, 0.06)), r))
    return out


def _river_iconic(rng: Rng) -> list[Stroke]:
    """A close-up stretch of river: irregular banks, a sandbar, current lines, bank trees."""
    path = _meander(rng, rng.uniform(0.02, 0.06), rng.uniform(1.6, 2.4))
    widths = _bank_widths(rng, path, rng.uniform(0.24, 0.32), 0.12)
    out = _river_strokes(rng, path, widths, int(rng.integers(4, 9)), 1)
    for lat in rng.uniform(-0.5, 0.5, int(rng.integers(2, 5))) * widths[0].mean():  # current lines
        out += _dashes(_offset(path, lat), rng.uniform(0.1, 0.2), rng.uniform(0.08, 0.15), rng.uniform(0, 0.3))
    return _spin(out, rng.uniform(0, TAU))


def _river_meander(rng: Rng) -> list[Stroke]:
    """A winding river with sandbars on the bends and woods along the banks."""
    path = _meander(rng, rng.uniform(0.07, 0.15), rng.uniform(1.4, 2.0))
    widths = _bank_widths(rng, path, rng.uniform(0.08, 0.14), 0.15)
    out = _river_strokes(rng, path, widths, int(rng.integers(10, 18)), int(rng.integers(1, 3)))
    if rng.random() < 0.5:  # a field edge beyond the trees
        out.append(_stroke(_offset(path, _sign(rng) * rng.uniform(0.3, 0.4))))
    return _spin(out, rng.uniform(0, TAU))


def _river_bridge(rng: Rng) -> list[Stroke]:
    """A river crossed by a road bridge (the banks pass under the deck), with a road along one shore."""
    path = _meander(rng, rng.uniform(0.04, 0.1), rng.uniform(1.4, 2.0))
    widths = _bank_widths(rng, path, rng.uniform(0.1, 0.16), 0.1)
    river = _river_strokes(rng, path, widths, int(rng.integers(6, 14)), int(rng.integers(0, 2)))
    p, heading = _pose(path, rng.uniform(0.7, 1.3))
    road = _straight(heading + np.pi / 2 + rng.uniform(-0.3, 0.3), p, 1.2)
    half = rng.uniform(0.03, 0.045)
    out = _erase(river, _clear_of(road, half + 0.006)) + _two_lane_road(road, half, 0.03)
    out += [_stroke(_offset(road, side * (half + 0.006))) for side in (-1, 1)]  # parapets
    if rng.random() < 0.6:
        side = _sign(rng)
        along = _offset(path, side * (widths[0 if side > 0 else 1].max() + rng.uniform(0.2, 0.26)))
        out += _erase(_two_lane_road(along, 0.03, 0.03), _clear_of(road, half))
    return _spin(out, rng.uniform(0, TAU))


def _river_island(rng: Rng) -> list[Stroke]:
    """A wide river parting round a wooded island, a creek joining from one side."""
    path = _meander(rng, rng.uniform(0.03, 0.08), rng.uniform(1.6, 2.2))
    widths = _bank_widths(rng, path, rng.uniform(0.18, 0.26), 0.1)
    out = _river_strokes(rng, path, widths, int(rng.integers(4, 10)), int(rng.integers(0, 2)))
    s = _arclength(path)
    mid = (s > s[-1] * rng.uniform(0.25, 0.4)) & (s < s[-1] * rng.uniform(0.6, 0.75))
    core = _offset(path[mid], rng.uniform(-0.04, 0.04))
    f = np.linspace(0, 1, len(core))
    island = _band(core, widths[0].mean() * rng.uniform(0.3, 0.45) * np.sqrt(np.sin(np.pi * f)) + 1e-4)
    out.append(island)
    for c in _scatter(rng, int(rng.integers(3, 7)), (0.0, 0.0, 1.0, 1.0), lambda p: _inside(p[None], island.points)[0],
                      tries=30):
        out.append(_tree(rng, c, rng.uniform(0.02, 0.035)))
    i = int(rng.integers(len(path) // 3, 2 * len(path) // 3))
    side = _sign(rng)
    mouth = path[i] + _normals(path)[i] * side * (widths[0][i] if side > 0 else widths[1][i])
    out_dir = _normals(path)[i] * side
    creek = _curve([mouth, mouth + out_dir * 0.25 + _unit(rng.uniform(0, TAU)) * 0.08, mouth + out_dir * 0.8])
    out += [_stroke(_offset(creek, d)) for d in (-0.015, 0.015)]
    return _spin(out, rng.uniform(0, TAU))


# --------------------------------------------------------------------------------------------------------------------
# Runway

_GLYPHS = {  # runway designators as block figures in a 0.6 x 1 cell, y down
    "0": [[(0, 0), (0.6, 0), (0.6, 1), (0, 1), (0, 0)]],
    "1": [[(0.3, 0), (0.3, 1)]],
    "2": [[(0, 0), (0.6, 0), (0.6, 0.5), (0, 0.5), (0, 1), (0.6, 1)]],
    "3": [[(0, 0), (0.6, 0), (0.6, 1), (0, 1)], [(0.1, 0.5), (0.6, 0.5)]],
    "4": [[(0, 0), (0, 0.55), (0.6, 0.55)], [(0.45, 0.2), (0.45, 1)]],
    "5": [[(0.6, 0), (0, 0), (0, 0.45), (0.6, 0.45), (0.6, 1), (0, 1)]],
    "6": [[(0.6, 0), (0, 0), (0, 1), (0.6, 1), (0.6, 0.5), (0, 0.5)]],
    "7": [[(0, 0), (0.6, 0), (0.2, 1)]],
    "8": [[(0, 0), (0.6, 0), (0.6, 1), (0, 1), (0, 0)], [(0, 0.5), (0.6, 0.5)]],
    "9": [[(0.6, 0.5), (0, 0.5), (0, 0), (0.6, 0), (0.6, 1), (0, 1)]],
    "L": [[(0, 0), (0, 1), (0.6, 1)]],
    "R": [[(0, 1), (0, 0), (0.6, 0), (0.6, 0.5), (0, 0.5), (0.6, 1)]],
    "C": [[(0.6, 0), (0, 0), (0, 1), (0.6, 1)]],
}


def _text(label: str, height: float) -> list[Stroke]:
    """Block-figure text centred on the origin, reading left to right, top towards -y."""
    width = (len(label) * 0.9 - 0.3) * height
    return [_stroke(np.asarray(line, dtype=float) * height + [i * 0.9 * height - width / 2, -height / 2])
            for i, ch in enumerate(label) for line in _GLYPHS[ch]]


def _runway_body(rng: Rng, half: float, x0: float, x1: float, dashes_from: float | None = None,
                 open_side: int = 0) -> list[Stroke]:
    """Pavement edges, side stripes and the dashed centre line of a runway along y = 0.5 from x0 to x1. The centre
    line may start later (after the threshold markings); the pavement edge on `open_side` (+1 or -1) is left for
    the caller to draw round a taxiway link."""
    out = [_line((x0, 0.5 + s * half * 1.12), (x1, 0.5 + s * half * 1.12)) for s in (-1, 1) if s != open_side]
    out += [_line((x0, 0.5 + s * half * 0.96), (x1, 0.5 + s * half * 0.96)) for s in (-1, 1)]
    start = x0 if dashes_from is None else dashes_from
    return out + _dashes(np.array([[start, 0.5], [x1, 0.5]]), 1.2 * half, 0.8 * half,
                         rng.uniform(0, 2 * half) if dashes_from is None else 0.0)


def _threshold(rng: Rng, half: float, x: float) -> list[Stroke]:
    """Threshold bar, piano keys and the designator (number, sometimes L/R/C) for landings towards +x."""
    out = [_line((x, 0.5 - half * 0.96), (x, 0.5 + half * 0.96))]
    keys = int(rng.choice([3, 4, 6]))  # per side
    lateral = np.linspace(0.12, 0.85, keys) * half
    key_w = min(0.5 * (lateral[1] - lateral[0]), 0.09 * half)
    for side in (-1, 1):
        for y in lateral:
            out.append(_rect((x + 0.08 * half + 0.65 * half, 0.5 + side * y), 1.3 * half, key_w))
    # the designator reads upright to a pilot landing towards +x: glyph tops point along +x, a parallel-runway
    # letter (if any) nearer the keys and the number beyond it
    glyph, at = 0.7 * half, x + 1.55 * half
    if rng.random() < 0.35:
        out += _move(_text(str(rng.choice(list("LRC"))), 0.8 * glyph), np.pi / 2, at=(at + 0.4 * glyph, 0.5))
        at += 0.8 * glyph + 0.15 * half
    return out + _move(_text(f"{int(rng.integers(1, 37)):02d}", glyph), np.pi / 2, at=(at + 0.5 * glyph, 0.5))


def _runway_iconic(rng: Rng) -> list[Stroke]:
    """A close-up across most of a runway's width: either the aiming-point blocks or the threshold and number."""
    half = rng.uniform(0.36, 0.44)
    if rng.random() < 0.5:
        out = _runway_body(rng, half, -0.6, 1.6)
        a = rng.uniform(0.0, 0.5)
        out += [_rect((a + 1.1 * half, 0.5 + s * 0.55 * half), 2.2 * half, 0.3 * half) for s in (-1, 1)]
    else:
        x = rng.uniform(-0.15, 0.05)
        out = _runway_body(rng, half, x, 1.6, dashes_from=x + 3.6 * half) + _threshold(rng, half, x)
    return _spin(out, rng.uniform(0, TAU))


def _runway_threshold(rng: Rng) -> list[Stroke]:
    """A runway end: blast-pad chevrons or displaced-threshold arrows before the bar, then keys and number."""
    half = rng.uniform(0.28, 0.4)
    x = rng.uniform(0.1, 0.3)
    out = _runway_body(rng, half, x - 1.0, 1.6, dashes_from=x + 3.6 * half) + _threshold(rng, half, x)
    if rng.random() < 0.5:
        for k in range(1, 4):  # blast pad chevrons pointing at the threshold
            tip = x - k * 0.7 * half
            out.append(_stroke([(tip - 0.6 * half, 0.5 - 0.9 * half), (tip, 0.5),
                                (tip - 0.6 * half, 0.5 + 0.9 * half)]))
    else:
        for k in range(1, 3):  # displaced threshold: arrows down the centre line and heads at the bar
            out.append(_arrow((x - k * 0.8 * half - 0.5 * half, 0.5), (x - k * 0.8 * half, 0.5), 0.15 * half))
        for y in np.linspace(-0.6, 0.6, 4) * half:
            out.append(_stroke([(x - 0.2 * half, 0.5 + y - 0.1 * half), (x - 0.05 * half, 0.5 + y),
                                (x - 0.2 * half, 0.5 + y + 0.1 * half)]))
    return _spin(out, rng.uniform(0, TAU))


def _runway_touchdown(rng: Rng) -> list[Stroke]:
    """Mid-runway: touchdown-zone bar groups and aiming-point blocks either side of the centre line, tyre marks."""
    half = rng.uniform(0.28, 0.38)
    out = _runway_body(rng, half, -0.6, 1.6)
    x = rng.uniform(-0.6, -0.2)
    bars = int(rng.integers(1, 4))
    for side in (-1, 1):  # touchdown bar groups, then the aiming-point blocks further along
        for k in range(bars):
            out.append(_rect((x + 0.7 * half, 0.5 + side * (0.3 + 0.16 * k) * half), 1.4 * half, 0.08 * half))
        out.append(_rect((x + 2.6 * half, 0.5 + side * 0.55 * half), 2.2 * half, 0.3 * half))
    for y in rng.uniform(-0.25, 0.25, int(rng.integers(2, 5))) * half:  # rubber streaks on the touchdown zone
        a = rng.uniform(-0.6, 0.8)
        out.append(_line((a, 0.5 + y), (a + rng.uniform(0.3, 0.6), 0.5 + y + rng.uniform(-0.01, 0.01))))
    return _spin(out, rng.uniform(0, TAU))


def _runway_taxiway(rng: Rng) -> list[Stroke]:
    """A runway with its parallel taxiway and a filleted link between them, hold-short bars at the runway side."""
    half = rng.uniform(0.14, 0.2)
    ty, thalf = 0.5 + half * 1.12 + rng.uniform(0.18, 0.28), rng.uniform(0.06, 0.08)
    out = _runway_body(rng, half, -0.6, 1.6, open_side=1)
    link, lhalf, fillet = rng.uniform(0.3, 0.7), rng.uniform(0.06, 0.08), rng.uniform(0.05, 0.08)
    gap = ty - thalf - (0.5 + half * 1.12)
    for sx in (-1, 1):
        out.append(_corner((link + sx * lhalf, 0.5 + half * 1.12), (sx, 0), (0, 1), fillet, 1.2, gap / 2))
        out.append(_corner((link + sx * lhalf, ty - thalf), (sx, 0), (0, -1), fillet, 1.2, gap / 2))
    out += [_line((-0.6, ty + thalf), (1.6, ty + thalf)), _line((-0.6, ty), (1.6, ty))]
    turn = ty - 0.5 - half * 0.96
    out.append(_arc((link - turn, ty - turn), turn, 0.0, np.pi / 2))  # lead-off line from taxiway into the link
    for k, y in enumerate(0.5 + half * 1.12 + np.array([0.03, 0.042, 0.054, 0.066])):
        pts = np.array([[link - lhalf, y], [link + lhalf, y]])
        out += [_stroke(pts)] if k < 2 else _dashes(pts, 0.015, 0.01)
    out.append(_rect((link + lhalf + 0.08, 0.5 + half * 1.12 + 0.05), 0.06, 0.02))  # sign board
    return _spin(out, rng.uniform(0, TAU))


# --------------------------------------------------------------------------------------------------------------------
# Storage tanks

def _tank(rng: Rng, centre, r: float, detail: bool = False) -> list[Stroke]:
    """A round tank: shell, a roof (floating roof with its rim and rolling ladder, cone roof with seams and vent, or
    dome with rings), and the stairway winding up the outside of the shell to a landing."""
    c = np.asarray(centre, dtype=float)
    out = [_circle(c, r)]
    roof = rng.choice(3)
    if roof == 0:
        a = rng.uniform(0, TAU)
        out += [_circle(c, 0.9 * r), _line(c + _unit(a) * 0.9 * r, c + _unit(a) * 0.2 * r), _circle(c, 0.06 * r)]
    elif roof == 1:
        out.append(_circle(c, 0.12 * r))
        seams = int(rng.integers(8, 16)) if detail else int(rng.integers(0, 7))
        a0 = rng.uniform(0, TAU)
        out += [_line(c + _unit(a) * 0.12 * r, c + _unit(a) * 0.97 * r)
                for a in a0 + np.arange(seams) * TAU / max(seams, 1)]
    else:
        out.append(_circle(c, 0.6 * r))
        if detail:
            out.append(_circle(c, 0.3 * r))
    if detail or rng.random() < 0.5:
        a = rng.uniform(0, TAU)
        out.append(_arc(c, 1.07 * r, a, a + rng.uniform(0.6, 1.0)))
        out.append(_rect(c + _unit(a) * 0.95 * r, 0.12 * r, 0.12 * r, a))
    if detail:
        out += [_circle(c + _unit(a) * rng.uniform(0.4, 0.75) * r, 0.04 * r) for a in rng.uniform(0, TAU, 3)]
    return out


def _clarifier(rng: Rng, centre, r: float) -> list[Stroke]:
    """A round treatment basin: wall, weir ring, centre well and the rotating bridge across it."""
    c = np.asarray(centre, dtype=float)
    a = rng.uniform(0, TAU)
    bridge = _bar(c - _unit(a) * r * (1.0 if rng.random() < 0.5 else 0.0), c + _unit(a) * r, 0.06 * r)
    return [_circle(c, r), _circle(c, 0.9 * r), _circle(c, 0.13 * r), bridge]


def _storagetanks_iconic(rng: Rng) -> list[Stroke]:
    """One tank filling the frame with its roof detail and stairway, sometimes its bund."""
    r = rng.uniform(0.34, 0.42)
    c = 0.5 + rng.uniform(-0.04, 0.04, 2)
    out = _tank(rng, c, r, detail=True)
    if rng.random() < 0.5:  # the edge of the containment bund
        out.append(_rounded(c, 2 * r + 0.16, 2 * r + 0.16, 0.05, rng.uniform(0, np.pi / 2)))
    return out


def _storagetanks_farm(rng: Rng) -> list[Stroke]:
    """A tank farm: a grid of tanks inside an earth bund, piped to a manifold, with a road and pump house."""
    nx, ny = int(rng.integers(2, 4)), int(rng.integers(1, 3))
    r = rng.uniform(0.08, 0.13) if nx * ny > 3 else rng.uniform(0.11, 0.16)
    gap = r * rng.uniform(2.4, 2.9)
    x0, y0 = 0.5 - (nx - 1) * gap / 2, 0.5 - (ny - 1) * gap / 2
    out = [_rounded((0.5, 0.5), (nx - 1) * gap + 2 * r + 0.1, (ny - 1) * gap + 2 * r + 0.1, 0.03)]
    manifold = y0 + (ny - 1) * gap + r + 0.03
    out.append(_line((x0 - r, manifold), (x0 + (nx - 1) * gap + r + 0.15, manifold)))
    for i in range(nx):
        for j in range(ny):
            c = (x0 + i * gap, y0 + j * gap)
            out += _tank(rng, c, r * rng.uniform(0.9, 1.0))
            if j == ny - 1:
                out.append(_line((c[0], c[1] + r), (c[0], manifold)))
    out.append(_rect((x0 + (nx - 1) * gap + r + 0.2, manifold), 0.08, 0.06))
    road = manifold + 0.14
    out += _two_lane_road(np.array([[-0.5, road], [1.5, road]]), 0.035, 0.03)
    return _spin(out, _angle(rng))


def _storagetanks_treatment(rng: Rng) -> list[Stroke]:
    """A water treatment plant: round clarifiers with their bridges beside rectangular basins and walkways."""
    r = rng.uniform(0.16, 0.24)
    count = int(rng.integers(2, 4))
    gap = 2 * r + rng.uniform(0.03, 0.08)
    out = []
    for i in range(count):
        out += _clarifier(rng, (0.5 + (i - (count - 1) / 2) * gap, 0.5 - r * 0.4), r)
    top = 0.5 + r * 0.6 + 0.04
    out.append(_line((-0.5, top), (1.5, top)))
    cells = int(rng.integers(3, 6))
    w = rng.uniform(0.12, 0.2)
    for k in range(cells):  # aeration basins in a block
        x = 0.5 + (k - cells / 2) * w
        out.append(_box((x, top + 0.03, x + w - 0.01, top + 0.3)))
        out.append(_line((x + 0.02, top + 0.165), (x + w - 0.03, top + 0.165)))
    return _spin(out, _angle(rng))


def _storagetanks_depot(rng: Rng) -> list[Stroke]:
    """A small depot: a few tanks of different sizes in a fenced yard beside a building, a road and a tanker."""
    out = [_box((0.02, 0.03, 0.98, 0.78))]  # the fence
    x = rng.uniform(0.06, 0.12)
    for _ in range(3):
        r = rng.uniform(0.1, 0.19)
        if x + 2 * r > 0.96:
            break
        out += _tank(rng, (x + r, 0.07 + r + rng.uniform(0.0, 0.3 - r)), r)
        x += 2 * r + rng.uniform(0.03, 0.07)
    bx = rng.uniform(0.1, 0.5)
    out += _building(rng, (bx, 0.55, bx + rng.uniform(0.2, 0.4), 0.74))
    out.append(_rect((0.85, 0.6), 0.05, 0.17))
    out.append(_rect((0.85, 0.49), 0.05, 0.04))
    out += _two_lane_road(np.array([[-0.5, 0.88], [1.5, 0.88]]), 0.045, 0.035)
    return _spin(out, _angle(rng))


# --------------------------------------------------------------------------------------------------------------------
# Tennis court (metres, scaled into the frame)

_COURT = (23.77, 10.97, 8.23, 6.40)  # length, doubles width, singles width, service line from the net
_ENCLOSURE = (36.6, 18.3)


def _court(scale: float, detail: bool = False) -> list[Stroke]:
    """The painted lines of a tennis court centred on the origin, long axis along x, `scale` units per metre."""
    length, doubles, singles, service = _COURT
    hl, hw, hs, sv = length / 2 * scale, doubles / 2 * scale, singles / 2 * scale, service * scale
    net = hw + 0.9 * scale
    out = [_rect((0, 0), 2 * hl, 2 * hw), _line((-hl, -hs), (hl, -hs)), _line((-hl, hs), (hl, hs)),
           _line((-sv, -hs), (-sv, hs)), _line((sv, -hs), (sv, hs)), _line((-sv, 0), (sv, 0)),
           _line((-hl, 0), (-hl + 0.5 * scale, 0)), _line((hl, 0), (hl - 0.5 * scale, 0)), _line((0, -net), (0, net))]
    if detail:
        out += [_circle((0, s * net), 0.2 * scale) for s in (-1, 1)]
    return out


def _tennis_iconic(rng: Rng) -> list[Stroke]:
    """One court with all its lines, net and posts inside its fence, filling the frame."""
    scale = rng.uniform(0.88, 0.96) / _ENCLOSURE[0]
    out = _court(scale, detail=True) + [_rect((0, 0), _ENCLOSURE[0] * scale, _ENCLOSURE[1] * scale)]
    return _move(out, rng.uniform(0, TAU), at=0.5 + rng.uniform(-0.03, 0.03, 2))


def _courts(rng: Rng, count: int, scale: float) -> tuple[list[Stroke], float]:
    """A row of courts side by side inside one fence with windscreens between them. Returns strokes and the
    fenced width."""
    pitch = _ENCLOSURE[1] * scale * rng.uniform(0.85, 1.0)
    width = (count - 1) * pitch + _ENCLOSURE[1] * scale
    out = [_rect((0, 0), _ENCLOSURE[0] * scale, width)]
    for i in range(count):
        out += _move(_court(scale), at=(0.0, (i - (count - 1) / 2) * pitch))
        if i:
            y = (i - count / 2) * pitch
            out.append(_line((-_ENCLOSURE[0] * scale / 2, y), (_ENCLOSURE[0] * scale / 2, y)))
    return out, width


def _tennis_battery(rng: Rng) -> list[Stroke]:
    """Two to four courts in one enclosure, a path along the fence, a clubhouse and trees."""
    scale = rng.uniform(1 / 85, 1 / 65)
    count = int(rng.integers(2, 5))
    out, width = _courts(rng, count, scale)
    length = _ENCLOSURE[0] * scale
    out.append(_line((-length / 2 - 0.04, -1.0), (-length / 2 - 0.04, 1.0)))
    out += _house(rng, (length / 2 + 0.12, 0.0), 0.12, 0.2, 0.0)
    for _ in range(int(rng.integers(3, 8))):
        out.append(_tree(rng, (rng.uniform(-0.5, 0.5), _sign(rng) * (width / 2 + rng.uniform(0.04, 0.2))),
                         rng.uniform(0.025, 0.045)))
    return _move(out, _angle(rng), at=0.5 + rng.uniform(-0.08, 0.08, 2))


def _tennis_backyard(rng: Rng) -> list[Stroke]:
    """A single court in a large garden, next to the house and its pool, among trees."""
    scale = rng.uniform(1 / 80, 1 / 62)
    out, width = _courts(rng, 1, scale)
    length = _ENCLOSURE[0] * scale
    side = _sign(rng)
    house = np.array([rng.uniform(-0.15, 0.15), side * (width / 2 + 0.2)])
    out += _house(rng, house, rng.uniform(0.22, 0.3), rng.uniform(0.13, 0.17), 0.0)
    pool = house + [_sign(rng) * 0.26, -side * 0.02]
    if rng.random() < 0.5:
        out += [_rounded(pool, 0.14, 0.07, 0.02), _rounded(pool, 0.18, 0.11, 0.03)]
    else:
        out.append(_blob(rng, pool, 0.07, 0.04, 0.0, 0.25))
    out += [_tree(rng, (rng.uniform(-0.5, 0.5), -side * (width / 2 + rng.uniform(0.05, 0.3))), rng.uniform(0.03, 0.06))
            for _ in range(int(rng.integers(3, 8)))]
    out.append(_tree(rng, (_sign(rng) * (length / 2 + 0.08), 0.0), rng.uniform(0.03, 0.05)))
    return _move(out, _angle(rng), at=0.5 + rng.uniform(-0.05, 0.05, 2))


def _tennis_by_street(rng: Rng) -> list[Stroke]:
    """One or two courts between a street with its sidewalk and a neighbouring building, trees along the curb."""
    scale = rng.uniform(1 / 85, 1 / 65)
    out, width = _courts(rng, int(rng.integers(1, 3)), scale)
    street = width / 2 + rng.uniform(0.06, 0.1)
    out += _two_lane_road(np.array([[-1.0, street + 0.06], [1.0, street + 0.06]]), 0.05, 0.04)
    out.append(_line((-1.0, street), (1.0, street)))
    out += [_tree(rng, (x, street - 0.025), 0.02) for x in np.arange(-0.6, 0.6, rng.uniform(0.12, 0.2))]
    out += _building(rng, (-0.4, -width / 2 - rng.uniform(0.25, 0.4), 0.4, -width / 2 - 0.04))
    return _move(out, _angle(rng), at=0.5 + rng.uniform(-0.05, 0.05, 2))


# --------------------------------------------------------------------------------------------------------------------
# Registry and public API

_SCENES: dict[str, tuple[Builder, ...]] = {
    "airplane": (_airplane_at_gate, _airplane_on_taxiway, _airplanes_in_a_row),
    "baseballdiamond": (_baseball_ballpark, _baseball_pair, _baseball_park_diamond),
    "buildings": (_buildings_city_blocks, _buildings_complex, _buildings_downtown),
    "freeway": (_freeway_scene_straight, _freeway_scene_curve, _freeway_scene_ramp),
    "golfcourse": (_golf_fairway, _golf_green_complex, _golf_dogleg),
    "harbor": (_harbor_marina, _harbor_quay, _harbor_breakwater),
    "intersection": (_intersection_residential, _intersection_arterial, _intersection_skewed),
    "mobilehomepark": (_mobilehome_straight, _mobilehome_angled, _mobilehome_grid),
    "overpass": (_overpass_bridge, _overpass_flyover, _overpass_diamond),
    "parkinglot": (_parking_perpendicular, _parking_angled, _parking_by_building),
    "river": (_river_meander, _river_bridge, _river_island),
    "runway": (_runway_threshold, _runway_touchdown, _runway_taxiway),
    "storagetanks": (_storagetanks_farm, _storagetanks_treatment, _storagetanks_depot),
    "tenniscourt": (_tennis_battery, _tennis_backyard, _tennis_by_street),
}

_ICONIC: dict[str, Builder] = {
    "airplane": _airplane_iconic,
    "baseballdiamond": _baseball_iconic,
    "buildings": _buildings_iconic,
    "freeway": _freeway_iconic,
    "golfcourse": _golf_iconic,
    "harbor": _harbor_iconic,
    "intersection": _intersection_iconic,
    "mobilehomepark": _mobilehome_iconic,
    "overpass": _overpass_iconic,
    "parkinglot": _parking_iconic,
    "river": _river_iconic,
    "runway": _runway_iconic,
    "storagetanks": _storagetanks_iconic,
    "tenniscourt": _tennis_iconic,
}

CLASSES: tuple[str, ...] = tuple(sorted(_SCENES))


def _lookup(table: dict, label: str):
    if label not in table:
        raise ValueError(f"no drawing description for class {label!r}; known: {', '.join(CLASSES)}")
    return table[label]


def scene(label: str, rng: Rng) -> list[Stroke]:
    """A whole aerial scene of class `label` as the second hand draws it.

    One of the class's compositions is picked with `rng`, which also sets every proportion, count, position and the
    heading, so the same generator state always gives the same drawing. Strokes are in unit-square coordinates and
    may run past the border; strokes wholly outside the frame are dropped.

    Raises ValueError for an unknown class.
    """
    builders = _lookup(_SCENES, label)
    return _in_view(builders[int(rng.integers(len(builders)))](rng))


def iconic(label: str, rng: Rng) -> list[Stroke]:
    """One object of class `label` filling the frame (a close-up stretch for long structures: freeway, river,
    runway, overpass, intersection, parking rows), deterministic given the state of `rng`.

    Raises ValueError for an unknown class.
    """
    return _in_view(_lookup(_ICONIC, label)(rng))
