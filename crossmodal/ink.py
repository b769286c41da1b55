"""Sketch input normalisation: any drawing becomes the same kind of ink map before the model sees it.

People draw with a 2 px pen on a 512 px web canvas, a thick finger on a phone, a grey pencil on
paper they scan small, or fill the frame with one airplane where another draws a whole airport.
The model should not have to learn each of these. So every sketch, in training and at query time,
goes through the same steps:

1. reduce to a bounded working size (cheap box filter: cost does not grow with the upload);
2. separate ink from paper relative to the drawing's own contrast (pencil and marker alike);
3. drop specks of dust, crop to the drawing with a margin, square (object-filling and scene-level drawings alike);
4. thin the strokes to a one-pixel skeleton (``skimage.morphology.skeletonize``) and redraw them
   at one fixed, anti-aliased pen width (pen width and resolution disappear).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageOps
from skimage.morphology import skeletonize

WORK_SIDE = 256  # side at which strokes are thinned and redrawn
REDUCE_SIDE = 512  # larger drawings are box-filtered to this side first: bounded cost, thin strokes survive
PEN_RADIUS = 2.0  # redrawn stroke half-width at WORK_SIDE (about 2 px at a 128 px model input)
MARGIN = 0.08  # paper kept around the drawing, as a share of its larger side
INK_FLOOR = 0.08  # darkness below this (of paper white) is never ink: paper texture, JPEG noise
INK_RELATIVE = 0.4  # ink is darker than this share of the drawing's typical stroke darkness
OUTLIER_SHARE = (0.2, 99.8)  # percentiles of the ink's coordinates that bound the drawing
SPECK_PIXELS = 5  # smaller bits of ink (at the reduced side) are dust or grain, not strokes
MIN_EXTENT = 3.0  # pixels beyond the pen's own width that a drawing must span
MIN_SKELETON = 0.1 * WORK_SIDE  # fewer stroke pixels than this after normalising: a dot, not a drawing
VERSION = "skeleton-r2-m0.08"  # recorded in checkpoints: the normalisation their sketches went through


def ink_darkness(image: Image.Image, reduce_side: int = REDUCE_SIDE) -> np.ndarray:
    """How much darker than the paper each pixel is: an (h, w) float32 map in [0, 1].

    The image is first box-reduced so that its larger side is at most ``reduce_side``; the paper
    level is the bright majority of the pixels, so grey or yellowed scans start at zero too.
    """
    gray = ImageOps.grayscale(image)
    if max(gray.size) > reduce_side:
        factor = max(gray.size) / reduce_side
        gray = gray.resize((max(1, round(gray.width / factor)), max(1, round(gray.height / factor))),
                           Image.Resampling.BOX)
    values = np.asarray(gray, dtype=np.float32) / 255.0
    paper = float(np.percentile(values, 75))
    return np.clip(paper - values, 0.0, 1.0)


def ink_mask(darkness: np.ndarray) -> np.ndarray:
    """Binarise a darkness map relative to the drawing's own stroke darkness (a boolean map)."""
    strong = darkness[darkness > INK_FLOOR]
    if strong.size == 0:
        return np.zeros(darkness.shape, bool)
    threshold = max(INK_FLOOR, INK_RELATIVE * float(np.percentile(strong, 90)))
    return darkness > threshold


def drop_specks(mask: np.ndarray, min_pixels: int = SPECK_PIXELS) -> np.ndarray:
    """Remove connected bits of ink smaller than ``min_pixels``: scanner dust and paper grain."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_pixels
    keep[0] = False  # the background
    return keep[labels] if count > 1 else mask


def drawing_box(mask: np.ndarray, margin: float = MARGIN) -> tuple[float, float, float] | None:
    """The square around a drawing's strokes: (centre x, centre y, side), or None for no drawing.

    The box is taken around the stroke centre lines (the mask shrunk by its typical half-width),
    so the same drawing in a thin or a thick pen gets the same box.
    """
    if not mask.any():
        return None
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    half_width = max(0.0, float(np.percentile(distance[mask], 90)) - 0.5)
    ys, xs = np.nonzero(mask)
    # a stray speck of dirt on a scan must not set the frame: the outermost 0.2 % of ink is ignored
    (x0, x1), (y0, y1) = np.percentile(xs, OUTLIER_SHARE), np.percentile(ys, OUTLIER_SHARE)
    x0, x1, y0, y1 = x0 + half_width, x1 - half_width, y0 + half_width, y1 - half_width
    extent = max(x1 - x0, y1 - y0)
    if extent < MIN_EXTENT + 2.0 * half_width:  # no longer than it is wide: a dot or a smudge
        return None
    side = extent * (1.0 + 2.0 * margin) + 2.0
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0, side


def crop_square(mask: np.ndarray, box: tuple[float, float, float], side: int = WORK_SIDE) -> np.ndarray:
    """Resample the square ``box`` of a mask onto a (side, side) boolean grid; outside is paper."""
    cx, cy, extent = box
    scale = side / extent
    # maps output pixel centres to input coordinates: one affine warp, no intermediate copies
    matrix = np.array([[scale, 0.0, side / 2.0 - cx * scale], [0.0, scale, side / 2.0 - cy * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    warped = cv2.warpAffine(mask.astype(np.float32), matrix, (side, side), flags=interpolation,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return warped > 0.5 if scale >= 1 else warped > 0.25


def redraw(skeleton: np.ndarray, radius: float = PEN_RADIUS) -> np.ndarray:
    """Draw a skeleton's pixels as strokes of one anti-aliased width: float32 ink in [0, 1]."""
    distance = cv2.distanceTransform((~skeleton).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip(radius + 0.5 - distance, 0.0, 1.0).astype(np.float32)


def normalize_sketch(image: Image.Image, size: int) -> np.ndarray:
    """A drawing as a (size, size) uint8 ink map (255 = stroke) with its pen width and framing removed.

    A blank page, or a single dot, gives an all-zero map (``data.is_blank_sketch`` says so).
    """
    return normalize_darkness(ink_darkness(image), size)


def normalize_darkness(darkness: np.ndarray, size: int) -> np.ndarray:
    """``normalize_sketch`` from a darkness map (float, 0 = paper, 1 = black), e.g. an augmented one."""
    mask = drop_specks(ink_mask(darkness))
    box = drawing_box(mask)
    if box is None:
        return np.zeros((size, size), np.uint8)
    skeleton = skeletonize(crop_square(mask, box))
    if skeleton.sum() < MIN_SKELETON:
        return np.zeros((size, size), np.uint8)
    ink = redraw(skeleton)
    if size != WORK_SIDE:
        ink = cv2.resize(ink, (size, size), interpolation=cv2.INTER_AREA if size < WORK_SIDE else cv2.INTER_LINEAR)
    return np.clip(ink * 255.0 + 0.5, 0, 255).astype(np.uint8)
