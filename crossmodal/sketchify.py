"""Pseudo-sketches of aerial photos, and the augmentations that make sketches look hand-drawn.

Raw edge maps of aerial photos are cluttered texture, while people draw a few clean strokes of
the main structures. The pseudo-sketch therefore smooths the photo while keeping region borders
(mean-shift, then bilateral filtering), keeps only long contours, simplifies each into a polyline
and redraws it as a thin black stroke on white, like the Earth on Canvas drawings.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import v2

from .config import AUGMENTS
from .data import Sample, load_image, sketch_array
from .ink import normalize_darkness

WORK_SIDE = 256  # contours are traced at the sketches' own resolution
MIN_CONTOUR_LENGTH = 70.0  # pixels at WORK_SIDE: shorter contours are texture, not structure
POLY_EPSILON = 2.5  # Douglas-Peucker tolerance, pixels: strokes become straight where the scene is
PSEUDO_VERSION = "ms12-30_b9_len70_eps2.5"  # part of the cache key; change it with the parameters


PSEUDO_STYLES = ("contours", "canny")
DETAIL_SIDE = 0.12  # a separate part of a drawing narrower and shorter than this share of its side is a detail
LEFT_OUT = (0.3, 0.8)  # share of the details a hastier hand leaves out


def pseudo_sketch(image: Image.Image, style: str = "contours") -> Image.Image:
    """Draw a photo's main structures as black polylines on white (an ``L`` image, 256 px).

    ``style="canny"`` is the plain edge map (the baseline that real sketches did not match).
    """
    if style not in PSEUDO_STYLES:
        raise ValueError(f"pseudo-sketch style must be one of {PSEUDO_STYLES}, not {style!r}")
    bgr = cv2.cvtColor(np.asarray(image.convert("RGB").resize((WORK_SIDE, WORK_SIDE))), cv2.COLOR_RGB2BGR)
    if style == "canny":
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        median = float(np.median(gray))
        return Image.fromarray(255 - cv2.Canny(gray, 0.66 * median, 1.33 * median))
    smooth = cv2.bilateralFilter(cv2.pyrMeanShiftFiltering(bgr, 12, 30), 9, 50, 7)
    gray = cv2.cvtColor(smooth, cv2.COLOR_BGR2GRAY)
    median = float(np.median(gray))
    edges = cv2.Canny(gray, 0.55 * median, 1.2 * median)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    canvas = np.full((WORK_SIDE, WORK_SIDE), 255, np.uint8)
    strokes = [cv2.approxPolyDP(c, POLY_EPSILON, False) for c in contours
               if cv2.arcLength(c, False) >= MIN_CONTOUR_LENGTH]
    cv2.polylines(canvas, strokes, False, 0, 1, cv2.LINE_AA)
    return Image.fromarray(canvas)


def _pseudo_ink(args: tuple[str, int, str, str | None, str]) -> np.ndarray:
    path, size, style, cache_dir, sketch_input = args
    cache_file = None
    if cache_dir:
        stat = os.stat(path)
        key = hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{style}|{PSEUDO_VERSION}".encode()).hexdigest()
        cache_file = Path(cache_dir) / f"{key}.png"
        if cache_file.exists():
            return sketch_array(Image.open(cache_file), size, sketch_input)
    drawing = pseudo_sketch(load_image(path), style)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.png")
        drawing.save(tmp)
        os.replace(tmp, cache_file)
    return sketch_array(drawing, size, sketch_input)


def pseudo_sketch_arrays(samples: list[Sample], size: int, style: str = "contours",
                         cache_dir: str | Path | None = None, workers: int | None = None,
                         sketch_input: str = "skeleton") -> np.ndarray:
    """Pseudo-sketch ink maps (n, 1, size, size) of photo samples, in parallel and cached on disk.

    ``workers``: processes tracing contours (None: one per CPU core, at most 16). ``sketch_input``:
    the normalisation of ``data.sketch_array``.
    """
    workers = min(os.cpu_count() or 1, 16) if workers is None else workers
    jobs = [(str(s.path), size, style, str(cache_dir) if cache_dir else None, sketch_input) for s in samples]
    if workers <= 1 or len(jobs) < 8:
        arrays = [_pseudo_ink(job) for job in jobs]
    else:
        with ProcessPoolExecutor(workers) as pool:
            arrays = list(pool.map(_pseudo_ink, jobs, chunksize=8))
    return np.stack(arrays) if arrays else np.zeros((0, 1, size, size), np.uint8)


class DrawingStyle:
    """Redraw a normalised ink map as another hand, pen or scanner would, then normalise it again.

    Works on the (WORK_SIDE, WORK_SIDE) uint8 maps that ``sketch_array(..., ink.WORK_SIDE)`` makes
    and returns a (size, size) uint8 map as ``sketch_array(..., size)`` would. With probability
    ``p`` one or more of: a close-up of one part (an iconic, object-filling drawing), a thick pen
    that merges nearby strokes, a small low-resolution scan, a faint grey pencil with paper noise.
    Otherwise the map is only reduced to ``size``. Before either, with probability ``simplify``, a
    hastier hand's drawing: some of its details left out (:func:`leave_out_details`). Draws from
    ``numpy.random`` (seeded by training).
    """

    def __init__(self, size: int, p: float = 0.5, simplify: float = 0.0):
        """``size``: output side; ``p``: chance that the drawing is restyled at all; ``simplify``: chance
        that it first loses some of its details (:func:`leave_out_details`)."""
        self.size, self.p, self.simplify = size, p, simplify

    def __call__(self, ink: np.ndarray) -> np.ndarray:
        """Restyle one (side, side) uint8 ink map into a (size, size) uint8 ink map."""
        # no draw without it: runs that do not simplify keep their random stream, and so their models
        if self.simplify and np.random.rand() < self.simplify:
            ink = leave_out_details(ink)
        if np.random.rand() >= self.p:
            return cv2.resize(ink, (self.size, self.size), interpolation=cv2.INTER_AREA)
        darkness = ink.astype(np.float32) / 255.0
        side = darkness.shape[0]
        if np.random.rand() < 0.4:
            darkness = _close_up(darkness)
        if np.random.rand() < 0.5:
            radius = np.random.randint(1, 8)
            darkness = cv2.dilate(darkness, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
        if np.random.rand() < 0.25:
            small = np.random.randint(40, 81)
            darkness = cv2.resize(cv2.resize(darkness, (small, small), interpolation=cv2.INTER_AREA), (side, side),
                                  interpolation=cv2.INTER_LINEAR)
        if np.random.rand() < 0.25:
            grain = cv2.GaussianBlur(np.random.normal(0, 0.04, darkness.shape).astype(np.float32), (0, 0), 1.0)
            darkness = darkness * np.random.uniform(0.25, 0.7) + grain
        out = normalize_darkness(np.clip(darkness, 0.0, 1.0).astype(np.float32), self.size)
        # a restyling that erased the drawing (a close-up of empty paper) keeps the original
        if out.max() == 0:
            return cv2.resize(ink, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return out


def leave_out_details(ink: np.ndarray) -> np.ndarray:
    """A drawing as a hastier hand makes it: 30-80 % of its details left out, its structure kept.

    A detail is a separate part (8-connected ink) smaller than ``DETAIL_SIDE`` of the side both
    ways: a car, a boat, a tree, a home. Larger parts (roads, piers, shores, outlines) all stay,
    and so does one detail at least, so a drawing made of details alone (storage tanks) keeps some.
    Draws from ``numpy.random``.
    """
    _, labels, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    limit = DETAIL_SIDE * ink.shape[0]
    details = np.flatnonzero((stats[1:, cv2.CC_STAT_WIDTH] < limit) & (stats[1:, cv2.CC_STAT_HEIGHT] < limit)) + 1
    n = min(int(round(np.random.uniform(*LEFT_OUT) * len(details))), len(details) - 1)
    if n < 1:
        return ink
    gone = np.isin(labels, np.random.choice(details, n, replace=False))
    out = ink.copy()
    out[gone] = 0
    return out


def _close_up(darkness: np.ndarray) -> np.ndarray:
    """A square window of 30-70 % of the side around a random stroke pixel, scaled to the full side."""
    ys, xs = np.nonzero(darkness > 0.5)
    if len(xs) == 0:
        return darkness
    side = darkness.shape[0]
    window = int(side * np.random.uniform(0.3, 0.7))
    i = np.random.randint(len(xs))
    x0 = int(np.clip(xs[i] - window // 2, 0, side - window))
    y0 = int(np.clip(ys[i] - window // 2, 0, side - window))
    return cv2.resize(darkness[y0:y0 + window, x0:x0 + window], (side, side), interpolation=cv2.INTER_LINEAR)


class Wobble(torch.nn.Module):
    """A shaky hand: displace the drawing by a smooth random field of a few pixels.

    The field is random on a coarse grid and upsampled bicubically, which makes it smooth at a
    fraction of the cost of blurring a full-resolution field (``v2.ElasticTransform``: ~100x slower
    on a 128 px map, most of the training time).
    """

    def __init__(self, amplitude: float = 1.5, cells: int = 12):
        """``amplitude``: displacement standard deviation in pixels; ``cells``: grid of the field."""
        super().__init__()
        self.amplitude, self.cells = amplitude, cells

    def forward(self, ink: torch.Tensor) -> torch.Tensor:
        """Wobble a (C, H, W) float ink map."""
        _, h, w = ink.shape
        coarse = torch.randn(1, 2, self.cells, self.cells) * self.amplitude
        field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)[0]
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        grid = torch.stack([xs + field[0] * 2 / w, ys + field[1] * 2 / h], -1)
        return F.grid_sample(ink[None], grid[None], mode="bilinear", padding_mode="zeros", align_corners=True)[0]


class StrokeWidth(torch.nn.Module):
    """Randomly thicken or thin the strokes of an ink map, as different pens would."""

    def forward(self, ink: torch.Tensor) -> torch.Tensor:
        choice = torch.randint(0, 4, ()).item()
        if choice == 0:
            return F.max_pool2d(ink[None], 3, 1, 1)[0]
        if choice == 1:
            thin = -F.max_pool2d(-ink[None], 3, 1, 1)[0]
            return thin if thin.amax() > 0.3 else ink  # never erase a drawing made of thin strokes
        return ink


def is_robust(kind: str) -> bool:
    """Whether an augmentation kind restyles sketches and keeps photos at twice the model input."""
    return kind in ("robust", "sensors")


def sketch_augmentation(size: int, kind: str = "v1") -> v2.Compose:
    """Hand-drawn variation for (1, size, size) float ink maps: pen width, pose, jitter, missing strokes."""
    return v2.Compose([
        StrokeWidth(),
        v2.RandomHorizontalFlip(),
        v2.RandomVerticalFlip(),
        # aerial scenes have no "up": any rotation is the same scene
        v2.RandomAffine(degrees=180, translate=(0.12, 0.12), scale=(0.65, 1.2), shear=8, fill=0.0),
        # "v1" pays ~100x more for the same kind of shaky line
        v2.RandomApply([Wobble() if is_robust(kind) else v2.ElasticTransform(alpha=25.0, sigma=5.0, fill=0.0)],
                       p=0.4),
        v2.RandomErasing(p=0.5, scale=(0.02, 0.1), value=0.0),
        v2.RandomErasing(p=0.3, scale=(0.02, 0.1), value=0.0),
    ])


def mirror_frame(small: torch.Tensor, height: int, width: int, top: int, left: int) -> torch.Tensor:
    """A (C, height, width) image with ``small`` at (top, left) and the rest of the frame its mirror images.

    Each border must be narrower than ``small`` (what reflection can fill).
    """
    padding = (left, width - small.shape[2] - left, top, height - small.shape[1] - top)
    return F.pad(small[None].float(), padding, mode="reflect")[0].round().to(small.dtype)


class ReflectZoomOut(torch.nn.Module):
    """Show the scene from higher up: shrink it by a random factor and complete it by mirroring.

    Other sensors image the same ground at a coarser resolution; mirrored borders continue the
    scene's texture instead of adding a frame the model could key on.
    """

    def __init__(self, smallest: float = 0.5):
        """``smallest``: the strongest zoom-out, as a share of the side."""
        super().__init__()
        self.smallest = smallest

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Zoom a (C, H, W) uint8 image out; the output has the input's size."""
        _, h, w = image.shape
        factor = float(torch.empty(()).uniform_(self.smallest, 1.0))
        small = v2.functional.resize(image, [max(2, round(h * factor)), max(2, round(w * factor))], antialias=True)
        return mirror_frame(small, h, w, (h - small.shape[1]) // 2, (w - small.shape[2]) // 2)


class Haze(torch.nn.Module):
    """Atmospheric haze: blend the image towards a light grey by a random amount."""

    def __init__(self, strength: tuple[float, float] = (0.1, 0.4)):
        """``strength``: range of the blend weight of the haze colour."""
        super().__init__()
        self.strength = strength

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Haze a (C, H, W) uint8 image."""
        amount = float(torch.empty(()).uniform_(*self.strength))
        level = float(torch.empty(()).uniform_(190, 235))
        return (image.float() * (1 - amount) + level * amount).round().clamp(0, 255).to(image.dtype)


class GroundResolution(torch.nn.Module):
    """Show the scene as a sensor of another ground resolution would: from half to twice the photo's.

    The factor is log-uniform, so that coarser and finer imagery are equally likely: above 1 a
    random square of 1/factor of the side is enlarged (finer ground sampling: fewer metres per
    pixel), below 1 the whole photo is shrunk to factor of the side, placed anywhere, and the frame
    completed by mirroring (coarser: the scene's surroundings take the rest of the frame).

    With ``chip_prob``, a view that would be finer is instead, that often, a smaller chip at the
    photo's own resolution: the random square of 1/factor of the side is shrunk back and the frame
    completed by mirroring. That is how a finer query photo reaches the model once it is seen at
    the gallery's resolution (``data.photo_at_resolution``), and what a user's smaller chips of
    the same imagery look like.
    """

    def __init__(self, size: int, finest: float = 2.0, coarsest: float = 0.5, chip_prob: float = 0.0):
        """``size``: output side; ``finest`` / ``coarsest``: the factors' range (side of the source per side
        shown); ``chip_prob``: chance that a finer view is a smaller chip at the photo's own resolution."""
        super().__init__()
        self.size, self.finest, self.coarsest, self.chip_prob = size, finest, coarsest, chip_prob

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """A (C, S, S) uint8 image (S = 2 x size, the model input at the photo's own resolution) to (C, size, size)."""
        return self.show(image, *self.draw_view())

    def draw_view(self) -> tuple[float, bool]:
        """A random factor (:meth:`draw`) and whether its view is a smaller chip (ground resolution 1)."""
        factor = self.draw()
        # no draw at all without chips: the random stream, and so earlier recipes, stay as they were
        return factor, self.chip_prob > 0 and factor > 1 and float(torch.rand(())) < self.chip_prob

    def draw(self) -> float:
        """A random factor, log-uniform between ``coarsest`` and ``finest``."""
        return float(torch.empty(()).uniform_(np.log(self.coarsest), np.log(self.finest)).exp())

    def show(self, image: torch.Tensor, factor: float, chip: bool = False) -> torch.Tensor:
        """``image`` as :meth:`forward` shows it, at a given factor (placed at random).

        ``chip`` (``factor`` >= 1): the random square of 1/``factor`` of the side at the photo's own
        resolution in a mirrored frame, instead of enlarged to fill the output.
        """
        if factor < 1:
            return self._mirrored(v2.functional.resize(image, [max(2, round(self.size * factor))] * 2, antialias=True))
        _, h, w = image.shape
        side = max(2, round(min(h, w) / factor))
        top, left = (int(torch.randint(0, n - side + 1, ())) for n in (h, w))
        if not chip:
            return v2.functional.resized_crop(image, top, left, side, side, [self.size, self.size], antialias=True)
        shown = max(2, round(self.size / factor))
        return self._mirrored(v2.functional.resized_crop(image, top, left, side, side, [shown, shown], antialias=True))

    def _mirrored(self, small: torch.Tensor) -> torch.Tensor:
        """``small`` placed at random in the output frame, the rest its mirror images."""
        shown = small.shape[1]
        # reflection needs each border narrower than the photo it mirrors
        lowest, highest = max(0, self.size - 2 * shown + 1), min(self.size - shown, shown - 1)
        top, left = (int(torch.randint(lowest, highest + 1, ())) for _ in range(2))
        return mirror_frame(small, self.size, self.size, top, left)


class WhiteBalance(torch.nn.Module):
    """Another sensor's or processing chain's white balance: red and blue gains moved apart."""

    def __init__(self, strength: float = 0.15):
        """``strength``: largest relative change of the red and blue gains."""
        super().__init__()
        self.strength = strength

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Re-balance a (3, H, W) uint8 image."""
        shift = float(torch.empty(()).uniform_(-self.strength, self.strength))
        green = float(torch.empty(()).uniform_(-0.03, 0.03))
        gains = torch.tensor([1 + shift, 1 + green, 1 - shift]).view(3, 1, 1)
        return (image.float() * gains).round().clamp(0, 255).to(image.dtype)


def photo_augmentation(size: int, kind: str = "v1", resolution: bool = True, chip_prob: float = 0.0,
                       finest: float = 2.0) -> v2.Compose:
    """Aerial-photo augmentation for (3, S, S) uint8 tensors (S >= size) into (3, size, size) uint8.

    ``"sensors"``: imagery from other sources: any ground resolution from half to twice the
    photo's (``GroundResolution``, S = 2 x size; ``finest`` moves the upper end), any orientation,
    other colours and white balance, haze, blur and JPEG compression. ``"robust"``: the same but
    for the resolution, which is mostly finer (zoom-out by mirroring a quarter of the time, then
    crops down to a quarter of the area) and for the white balance. ``"v1"``: crops down to 35 %,
    orientation and colour only. ``resolution=False`` leaves out ``"sensors"``' first step,
    ``GroundResolution``, for a caller that draws the factor itself (and then passes a
    (3, size, size) image).
    """
    if kind == "v1":
        return v2.Compose([
            v2.RandomResizedCrop(size, scale=(0.35, 1.0), ratio=(0.8, 1.25), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            v2.RandomChoice([v2.RandomRotation((a, a)) for a in (0, 90, 180, 270)]),
            v2.ColorJitter(0.3, 0.3, 0.3, 0.04),
            v2.RandomGrayscale(0.1),
        ])
    if not is_robust(kind):
        raise ValueError(f"augmentation must be one of {AUGMENTS}, not {kind!r}")
    if kind == "robust":
        scale_steps = [v2.RandomApply([ReflectZoomOut(0.5)], p=0.25),
                      v2.RandomResizedCrop(size, scale=(0.25, 1.0), ratio=(0.8, 1.25), antialias=True)]
        colour = [v2.ColorJitter(0.4, 0.4, 0.4, 0.06)]
    else:
        scale_steps = [GroundResolution(size, finest=finest, chip_prob=chip_prob)] if resolution else []
        colour = [v2.ColorJitter(0.4, 0.4, 0.4, 0.1), v2.RandomApply([WhiteBalance()], p=0.5)]
    return v2.Compose([
        *scale_steps,
        v2.RandomHorizontalFlip(),
        v2.RandomVerticalFlip(),
        v2.RandomChoice([v2.RandomRotation((a, a)) for a in (0, 90, 180, 270)]),
        *colour,
        v2.RandomGrayscale(0.1),
        v2.RandomApply([Haze()], p=0.2),
        v2.RandomApply([v2.GaussianBlur(5, sigma=(0.3, 1.5))], p=0.2),
        v2.RandomApply([v2.JPEG((15, 90))], p=0.2),
    ])
