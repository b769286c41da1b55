"""Shapes, curves and outlines that the scene builders draw with (image coordinates, float pixels)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .scene import _MARGIN, SIZE


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
