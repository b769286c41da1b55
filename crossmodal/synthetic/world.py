"""One scene from a class and a seed, and whole worlds of them written to disk in the loaders' layout."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..data import EOC_CLASSES
from .photo import render_photo
from .scene import Scene
from .scenes import BUILDERS, VARIANTS
from .sketch import render_sketch


def _streams(label: str, seed: int) -> list[np.random.Generator]:
    """Independent random streams for the layout, the photo and the sketch of one scene."""
    sequence = np.random.SeedSequence([zlib.crc32(label.encode()), int(seed) & 0xFFFFFFFF, int(seed) >> 32])
    return [np.random.default_rng(s) for s in sequence.spawn(3)]


def make_scene(label: str, seed: int, varied: bool = False) -> Scene:
    """The geometric description of scene ``seed`` of class ``label``.

    With ``varied``, a class that has another layout (``VARIANTS``) uses it for half of its scenes.

    Raises:
        ValueError: ``label`` is not one of the 14 Earth on Canvas classes.
    """
    if label not in BUILDERS:
        raise ValueError(f"no scene generator for class {label!r}: choose from {sorted(BUILDERS)}")
    layout, _, _ = _streams(label, seed)
    builder = BUILDERS[label]
    if varied and label in VARIANTS and layout.random() < 0.5:
        builder = VARIANTS[label]
    scene = builder(layout)
    angle = layout.uniform(0, 2 * np.pi)
    length = layout.uniform(0.45, 0.9)
    scene.sun = (float(np.cos(angle) * length), float(np.sin(angle) * length))
    return scene


def render_scene(label: str, seed: int, varied: bool = False) -> tuple[Image.Image, Image.Image]:
    """Generate one scene of a class and render it as a photo and as a sketch.

    Args:
        label: one of the 14 Earth on Canvas classes (``crossmodal.data.EOC_CLASSES``).
        seed: any non-negative integer; the same (label, seed) always gives the same two images.
        varied: draw from the class's other layouts too (``make_scene``).

    Returns:
        (photo, sketch): two RGB images of ``SIZE`` x ``SIZE`` pixels of the same geometry.

    Raises:
        ValueError: unknown class or negative seed.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, not {seed}")
    scene = make_scene(label, seed, varied)
    _, photo_rng, sketch_rng = _streams(label, seed)
    return render_photo(scene, photo_rng), render_sketch(scene, sketch_rng)


def scene_seed(seed: int, index: int) -> int:
    """The seed of scene ``index`` of a world generated with ``seed`` (the same for every class)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0])


def _write_scene(job: tuple[str, int, int, str, str, int, bool]) -> None:
    label, n, seed, photos_dir, sketches_dir, digits, varied = job
    photo, sketch = render_scene(label, scene_seed(seed, n), varied)
    photo.save(Path(photos_dir) / label / f"{label}{n:0{digits}d}.png", compress_level=1)
    sketch.convert("L").save(Path(sketches_dir) / label / f"{n:0{digits}d}.png")  # gray: 3x smaller, same pixels


def _worker_init() -> None:
    cv2.setNumThreads(1)  # the processes already share the cores


def generate_world(out: str | Path, per_class: int = 60, seed: int = 0, classes: Sequence[str] = EOC_CLASSES,
                   progress: bool = False, workers: int | None = None, varied: bool = False) -> tuple[Path, Path]:
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
        varied: draw from each class's other layouts too (``make_scene``); off, the world is the
            same as before those layouts existed.

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
    jobs = [(label, n, seed, str(photos_dir), str(sketches_dir), digits, varied)
            for label in classes for n in range(per_class)]
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
