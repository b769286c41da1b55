"""The imagery-shift photo suite: the UC Merced test photos (80-99) as other imagery would show them.

Shifts (``crossmodal.robustness.SHIFTS``), each drawn per photo from a seed:

- ``zoom_out_x0.5``: half the ground resolution: the photo at half size in the middle, the frame
  completed with its mirror images (a mosaic of flipped copies), so it keeps its pixel size;
- ``zoom_in_x2``: twice the ground resolution: the centre half of each side, enlarged (bicubic);
- ``colour``: hue turned by 0.04-0.10 of the circle, saturation x0.5-0.7 or x1.3-1.6 and a white
  balance off by 8-15 % towards warm or cold;
- ``contrast_haze``: contrast x0.5-0.7, then 25-40 % of a bluish-grey haze;
- ``blur``: Gaussian, sigma 1.5-2.5 px;
- ``jpeg``: JPEG at quality 15-25;

and the reference ``clean`` (the photo unchanged). Only test-split photos are ever read. Pillow
does all of it: on a 2-core CPU its colour, contrast and blur operations are 5-20 times faster
than torchvision's tensor versions, and nothing here needs torch.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from ..data import EOC_CLASSES, Sample, load_image, photo_split, scan_folder
from . import REFERENCE_SHIFT, SHIFTS


@dataclass(frozen=True)
class ShiftedPhoto:
    """One test photo under one shift."""

    source: Sample
    shift: str
    image: Image.Image

    @property
    def name(self) -> str:
        """The source photo as checkpoints name files: ``<class>/<file name>``."""
        return f"{self.source.label}/{self.source.path.name}"


def _zoom_out(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    small = np.asarray(image.resize((w // 2, h // 2), Image.Resampling.BOX))
    top, left = (h - h // 2) // 2, (w - w // 2) // 2
    # mirror images of the photo around it, as a mosaic of flipped copies would be
    return Image.fromarray(np.pad(small, ((top, h - h // 2 - top), (left, w - w // 2 - left), (0, 0)),
                                  mode="symmetric"))


def _zoom_in(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    left, top = (w - w // 2) // 2, (h - h // 2) // 2
    return image.crop((left, top, left + w // 2, top + h // 2)).resize((w, h), Image.Resampling.BICUBIC)


def _sign(rng: np.random.Generator) -> float:
    return float(rng.choice([-1.0, 1.0]))


def _colour(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    # Pillow's HSV conversion: torchvision's adjust_hue is some 20 times slower on a 2-core CPU
    hue, saturation, value = image.convert("HSV").split()
    turn = round(_sign(rng) * rng.uniform(0.04, 0.10) * 256)
    hue = hue.point(lambda level: (level + turn) % 256)
    image = Image.merge("HSV", (hue, saturation, value)).convert("RGB")
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.5, 0.7) if rng.random() < 0.5 else rng.uniform(1.3, 1.6))
    balance = _sign(rng) * rng.uniform(0.08, 0.15)
    gains = np.array([1 + balance, 1 + rng.uniform(-0.03, 0.03), 1 - balance])
    return Image.fromarray(np.clip(np.asarray(image) * gains, 0, 255).round().astype(np.uint8))


def _contrast_haze(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    flat = np.asarray(ImageEnhance.Contrast(image).enhance(rng.uniform(0.5, 0.7)), dtype=np.float64)
    grey = rng.uniform(195, 225)
    amount = rng.uniform(0.25, 0.4)
    hazy = flat * (1 - amount) + np.array([grey, grey + 4, grey + 12]) * amount
    return Image.fromarray(np.clip(hazy, 0, 255).round().astype(np.uint8))


def _blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 2.5)))  # the argument is the sigma


def _jpeg(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(rng.integers(15, 26)))
    return Image.open(buffer).convert("RGB")


_SHIFTS = {REFERENCE_SHIFT: lambda image, rng: image.copy(), "zoom_out_x0.5": _zoom_out, "zoom_in_x2": _zoom_in,
           "colour": _colour, "contrast_haze": _contrast_haze, "blur": _blur, "jpeg": _jpeg}


def shift_photo(image: Image.Image, shift: str, rng: np.random.Generator) -> Image.Image:
    """One photo under one shift, as a new RGB image of the same size.

    Raises:
        ValueError: an unknown shift.
    """
    if shift not in _SHIFTS:
        raise ValueError(f"unknown imagery shift {shift!r}; known: {', '.join(_SHIFTS)}")
    return _SHIFTS[shift](image.convert("RGB"), rng)


def suite_photos(photos_dir: str | Path, classes: Sequence[str] = EOC_CLASSES) -> list[Sample]:
    """The test-split photos (numbers 80-99) of ``classes`` under ``photos_dir``, in sorted order.

    Raises:
        DatasetNotFoundError: the folder is missing or has none of the classes.
    """
    return [s for s in scan_folder(photos_dir, tuple(classes)) if photo_split(s.path) == "test"]


def imagery_suite(photos_dir: str | Path, classes: Sequence[str] = EOC_CLASSES, seed: int = 0,
                  shifts: Sequence[str] = SHIFTS) -> Iterator[ShiftedPhoto]:
    """Every test photo under every shift, shift by shift; the same seed gives the same pixels.

    Raises:
        ValueError: an unknown shift.
        DatasetNotFoundError: the folder is missing or has none of the classes.
        ImageLoadError: a test photo cannot be decoded.
    """
    unknown = [s for s in shifts if s not in _SHIFTS]
    if unknown:
        raise ValueError(f"unknown imagery shifts {unknown}; known: {', '.join(_SHIFTS)}")
    photos = suite_photos(photos_dir, classes)
    images = [load_image(s.path) for s in photos]
    for shift in shifts:
        for sample, image in zip(photos, images):
            name = f"{sample.label}/{sample.path.name}"
            rng = np.random.default_rng([seed, zlib.crc32(shift.encode()), zlib.crc32(name.encode())])
            yield ShiftedPhoto(sample, shift, shift_photo(image, shift, rng))
