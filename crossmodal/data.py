"""Image folders of photos and sketches: class names, robust image loading, the fixed splits."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

EOC_CLASSES: tuple[str, ...] = (
    "airplane", "baseballdiamond", "buildings", "freeway", "golfcourse", "harbor", "intersection",
    "mobilehomepark", "overpass", "parkinglot", "river", "runway", "storagetanks", "tenniscourt",
)
UCM_CLASSES: tuple[str, ...] = tuple(sorted(EOC_CLASSES + (
    "agricultural", "beach", "chaparral", "denseresidential", "forest", "mediumresidential",
    "sparseresidential",
)))
# Earth on Canvas ships its own folder names; these are the ones that are not UC Merced names
# once case, spaces and plurals are ignored.
_ALIASES = {"aeroplane": "airplane", "plane": "airplane", "tennis": "tenniscourt",
            "baseball": "baseballdiamond", "golf": "golfcourse", "mobilehome": "mobilehomepark",
            "parking": "parkinglot", "storagetank": "storagetanks", "building": "buildings"}

IMAGE_EXTENSIONS = frozenset(ext for ext in Image.registered_extensions())
TEST_NUMBERS = range(80, 100)  # photos <class>80..99 are the test gallery, for everyone
MAX_SIDE = 2048  # images are reduced to this side while decoding: bounded memory for huge uploads
# pixels decoded at most (after a JPEG's reduced-scale decoding): larger files are refused from their
# header, before a byte of pixels is decoded; a 16.8-megapixel PNG takes about 0.5 s of CPU to decode
MAX_PIXELS = 4096 * 4096


class DatasetNotFoundError(FileNotFoundError):
    """A data folder is missing or holds no usable class folders."""


class ImageLoadError(ValueError):
    """A file is not an image Pillow can decode, or is too large to decode safely."""


class ImageTooLargeError(ImageLoadError):
    """An image has more pixels than the decoding budget; ``size`` and ``max_pixels`` say by how much."""

    def __init__(self, message: str, size: tuple[int, int], max_pixels: int):
        super().__init__(message)
        self.size, self.max_pixels = size, max_pixels


@dataclass(frozen=True)
class Sample:
    """One image file and its canonical class name."""

    path: Path
    label: str


def canonical_class(folder_name: str, known: tuple[str, ...] = UCM_CLASSES) -> str:
    """Map a class folder name (``Aeroplane``, ``Tennis Court``, ``storagetanks``) to a UC Merced name.

    Names outside ``known`` come back lower-cased without spaces, so user classes still work.
    """
    key = re.sub(r"[^a-z0-9]", "", folder_name.lower())
    for candidate in (key, _ALIASES.get(key, ""), key + "s", key.rstrip("s"), _ALIASES.get(key.rstrip("s"), "")):
        if candidate in known:
            return candidate
    return key


def photo_number(path: Path) -> int | None:
    """The trailing number of a file name (``harbor83.jpg`` -> 83), or None."""
    match = re.search(r"(\d+)$", path.stem)
    return int(match.group(1)) if match else None


def photo_split(path: Path, val_from: int = 70) -> str:
    """The fixed split of a photo: ``test`` (80-99), ``val`` (val_from-79) or ``train``."""
    number = photo_number(path)
    if number is None:
        return "train"
    number %= 100
    if number in TEST_NUMBERS:
        return "test"
    return "val" if number >= val_from else "train"


def sketch_fold(samples: list[Sample], folds: int) -> dict[Path, int]:
    """Assign real sketches to folds, deterministically from their class and file names.

    Within a class, files in natural name order go round-robin over the folds; the round-robin
    continues from class to class, so classes with one sketch are spread over the folds too.
    """
    by_class: dict[str, list[Path]] = {}
    for sample in samples:
        by_class.setdefault(sample.label, []).append(sample.path)
    assignment, counter = {}, 0
    for label in sorted(by_class):
        for path in sorted(by_class[label], key=lambda p: (photo_number(p) or 0, p.name)):
            assignment[path] = counter % folds
            counter += 1
    return assignment


def scan_folder(root: str | Path, classes: tuple[str, ...] | None = None) -> list[Sample]:
    """List the images of a ``<class>/<image>`` folder, in sorted order.

    Args:
        root: the folder holding one sub-folder per class.
        classes: keep only these canonical class names (None keeps all).

    Raises:
        DatasetNotFoundError: ``root`` is missing or has no class folder with images.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist: give a folder of <class>/<image> files")
    samples = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = canonical_class(folder.name)
        if classes is not None and label not in classes:
            continue
        samples.extend(Sample(f, label) for f in sorted(folder.iterdir())
                       if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
    if not samples:
        wanted = f" of the classes {list(classes)}" if classes else ""
        raise DatasetNotFoundError(f"no images{wanted} under {root}: expected <class>/<image> files")
    return samples


def other_class_photos(photos_dir: str | Path, classes: Sequence[str], split: str,
                       only: Sequence[str] = (), val_from: int = 70) -> list[Sample]:
    """The photos of one split (``photo_split``) of the classes under ``photos_dir`` that are not ``classes``
    (only those named in ``only``, when given), in sorted order.

    Scenes the model has no class for (UC Merced: beaches, forests, three kinds of residential areas...):
    training learns from the ``"train"`` ones without their labels, and the benches put the ``"val"`` or
    ``"test"`` ones in a gallery as a user's own gallery holds them, never a right answer. ``only`` keeps
    some of them apart, e.g. the classes a model never saw when it learnt from the others. An empty list
    when the folder holds no other class.

    Raises:
        DatasetNotFoundError: the folder is missing or holds no image.
        ValueError: ``only`` names a class of ``classes`` or one not under ``photos_dir``.
    """
    found = [s for s in scan_folder(photos_dir) if s.label not in classes]
    unknown = set(only) - {s.label for s in found}
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))} is not a class under {photos_dir} other than the model's "
                         f"(those are {', '.join(sorted({s.label for s in found})) or 'none'})")
    return [s for s in found if (not only or s.label in only) and photo_split(s.path, val_from) == split]


def load_image(source: str | Path | Image.Image, max_side: int = MAX_SIDE,
               max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode any image Pillow reads into 8-bit RGB, bounded to ``max_side`` pixels a side.

    Grayscale, palette, RGBA (composited on white, as a drawing on a transparent canvas is meant),
    16-bit and float images are all accepted. A file is checked against ``max_pixels`` from its
    header, after a JPEG's reduced-scale decoding is chosen, so a huge file costs no decoding.

    Raises:
        ImageTooLargeError: a file would decode to more than ``max_pixels`` pixels.
        ImageLoadError: the file is missing, not an image, truncated, or a decompression bomb.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = source if isinstance(source, Image.Image) else Image.open(source)
            # a JPEG decodes at a reduced scale, cheap for huge files; draft keeps at least the size
            # asked for on both sides, so ask for the bounded size of this image's own shape
            scale = min(1.0, max_side / max(image.size))
            image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
            if not isinstance(source, Image.Image) and image.width * image.height > max_pixels:
                image.close()
                raise ImageTooLargeError(
                    f"cannot read image {source}: {image.width} x {image.height} pixels is more than the "
                    f"{max_pixels / 1e6:.1f}-megapixel limit; downscale it", image.size, max_pixels)
            image.load()
    except ImageTooLargeError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(f"cannot read image {source}: {err}") from err
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    elif image.mode == "RGB" and image is not source:  # decoded here: already a new image of our own
        return image
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        top = float(values.max()) if values.size else 0.0
        # 16-bit and float rasters: stretch to 8 bits by their own maximum (12-bit data stays visible)
        scale = 255.0 / top if top > 255 else (255.0 if top <= 1.0 and image.mode == "F" else 1.0)
        image = Image.fromarray(np.clip(values * scale, 0, 255).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        # pasted through its alpha: the same pixels as alpha_composite on white, a fifth of its time
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def photo_array(image: Image.Image, size: int) -> np.ndarray:
    """A photo as a (3, size, size) uint8 array: the whole scene resized, no crop."""
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR)).transpose(2, 0, 1).copy()


def photo_at_resolution(image: Image.Image, size: int, factor: float) -> np.ndarray:
    """A photo of ``factor`` times the training photos' ground resolution, seen as if it had theirs.

    Returns (3, size, size) uint8. Coarser imagery (``factor`` < 1) shows more ground: its centre,
    ``factor`` of the side, is enlarged to fill the input. Finer imagery (> 1) shows less: it is
    shrunk to 1 / ``factor`` of the side in the middle of the input and the rest completed with its
    mirror images, as the training augmentation shows wider views (``sketchify.GroundResolution``).
    """
    if factor < 1:
        w, h = image.size
        side = max(1, round(min(w, h) * factor))
        left, top = (w - side) // 2, (h - side) // 2
        return photo_array(image.crop((left, top, left + side, top + side)), size)
    shown = max(2, min(size, round(size / factor)))
    before = (size - shown) // 2
    # mirror padding needs each border narrower than the image it mirrors: a factor up to 3
    padding = ((0, 0), (before, size - shown - before), (before, size - shown - before))
    return np.pad(photo_array(image, shown), padding, mode="reflect")


SKETCH_INPUTS = ("skeleton", "legacy")


def sketch_array(image: Image.Image, size: int, method: str = "skeleton") -> np.ndarray:
    """A sketch as a (1, size, size) uint8 *ink* map: 255 where the strokes are, 0 on paper.

    Args:
        method: ``"skeleton"`` normalises the drawing (``crossmodal.ink``): cropped to its strokes,
            which are thinned and redrawn at one pen width, so pen, canvas size and framing do not
            change what the model sees. ``"legacy"`` is the plain resize of checkpoints trained
            before it (thin strokes thickened before a large reduction).
    """
    if method == "skeleton":
        from .ink import normalize_sketch

        return normalize_sketch(image, size)[None]
    if method != "legacy":
        raise ValueError(f"sketch input must be one of {SKETCH_INPUTS}, not {method!r}")
    import cv2  # only here: reading folders and images needs no OpenCV

    gray = ImageOps.grayscale(image)
    factor = max(gray.size) / size
    if factor >= 2:
        width = 2 * int(factor // 2) + 1 if factor >= 4 else 3
        # a min filter (dark strokes spread); OpenCV's erosion gives Pillow's MinFilter pixel for pixel,
        # at a cost that does not grow with the width (12 s -> 7 ms for 17 pixels over 2048^2)
        kernel = np.ones((width, width), np.uint8)
        gray = Image.fromarray(cv2.erode(np.asarray(gray), kernel, borderType=cv2.BORDER_REPLICATE))
    gray = gray.resize((size, size), Image.Resampling.BOX)
    ink = 255 - np.asarray(gray, dtype=np.int16)
    # paper is rarely pure white in scans and photos of drawings: its level becomes zero ink
    ink = np.clip((ink - np.percentile(ink, 50)) * 1.5, 0, 255)
    return ink.astype(np.uint8)[None]


def is_blank_sketch(ink: np.ndarray, min_fraction: float = 0.001) -> bool:
    """True when an ink map has (almost) no strokes."""
    return float((ink > 64).mean()) < min_fraction


def load_arrays(samples: list[Sample], modality: str, size: int, progress: bool = False,
                sketch_input: str = "skeleton") -> tuple[np.ndarray, list[Sample], list[tuple[Path, str]]]:
    """Decode samples into one array, skipping unreadable files (sketches by ``sketch_input``).

    Returns:
        The (n, c, size, size) uint8 array, the samples that were kept, and (path, reason) of each
        skipped file.
    """
    from tqdm import tqdm

    arrays, kept, skipped = [], [], []
    plural = "sketches" if modality == "sketch" else "photos"
    for sample in tqdm(samples, desc=f"loading {plural}", disable=not progress, leave=False):
        try:
            image = load_image(sample.path)
            arrays.append(photo_array(image, size) if modality == "photo" else sketch_array(image, size, sketch_input))
            kept.append(sample)
        except ImageLoadError as err:
            skipped.append((sample.path, str(err)))
    channels = 3 if modality == "photo" else 1
    stacked = np.stack(arrays) if arrays else np.zeros((0, channels, size, size), np.uint8)
    return stacked, kept, skipped
