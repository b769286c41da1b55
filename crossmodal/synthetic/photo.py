"""Render a :class:`Scene` as an aerial photo: textures, paint, shadows, trees, then camera effects."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .geometry import _ellipse
from .scene import MATERIALS, SIZE, Scene, _jitter_color


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
