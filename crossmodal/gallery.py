"""Galleries of your own imagery: any folder of images and large scenes, indexed incrementally, results on the map.

:func:`build_index` turns a folder (at any depth, labelled or not) and/or large scenes into an
:class:`~crossmodal.index.EmbeddingIndex`:

- **folders**: every readable image at any depth is indexed. An image under a folder named after
  one of the model's classes (``runway/``, ``Tennis Court/``, at any level) is labelled with it;
  every other image is unlabelled and carries only the model's predicted class. What was skipped
  and why is counted in a :class:`SkipReport`. A large georeferenced raster found in the folder is
  indexed as a scene.
- **scenes**: cut into chips at the model's ground resolution (:class:`~crossmodal.scenes.Scene`);
  each chip keeps its window and footprint (``items.npz`` of the index).
- **incremental**: each source file is recorded in the sidecar (``info["sources"]``: path, size,
  mtime, how a scene was chipped, and its rows). Run again, only new or changed files (size or
  mtime, or chipping settings) are embedded; removed ones are dropped; the Annoy forest is rebuilt
  from the stored and new embeddings.
- **neighbour averaging**: the whole photos of a photo gallery (not the chips of a scene, whose
  overlapping neighbours are the same ground) are searched as the mean of their own embedding and
  their ``DEFAULT_NEIGHBOURS`` nearest other photos' (:func:`crossmodal.ranking.neighbour_average`),
  re-averaged at every build from each item's own embedding, which the index keeps. A gallery that
  mixes in scenes the model has no class for loses less this way (docs/robustness.md).

:func:`search_gallery` searches such an index and returns plain result records (``rank``, ``id``,
``class``, ``predicted_class``, ``score``, ``similarity``, and for chips ``footprint``/``centre`` in
lon/lat), ranked as :mod:`crossmodal.ranking` says, with overlapping chips of one place merged
and the place set among them (:func:`rank_matches`).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .config import DEFAULT_NEIGHBOURS, MIN_AVERAGED_ITEMS, check_modality
from .data import (
    IMAGE_EXTENSIONS,
    MAX_PIXELS,
    DatasetNotFoundError,
    Sample,
    canonical_class,
    load_arrays,
    photo_array,
)
from .footprints import DEFAULT_NMS_IOU, merged_chips, non_max_suppression
from .index import (
    DEFAULT_N_TREES,
    EmbeddingIndex,
    IndexMismatchError,
    IndexNotFoundError,
    check_index_dir,
    remove_stale_temporaries,
)
from .ranking import CLASS_AGREEMENT_WEIGHT, ranking_scores
from .scenes import DEFAULT_CHIP, DEFAULT_STRIDE, TRAINING_GSD, Scene, SceneError, is_scene_file

if TYPE_CHECKING:
    from .model import CrossModalModel

EXAMPLES_PER_REASON = 3  # file names a skip report lists for each reason
CANDIDATES_PER_RESULT = 20  # a search over chips fetches this many candidates a result before merging overlaps
# ... and a search of whole images this many before ranking them by class agreement: on the 2,100 UC Merced
# photos the top 50 of 4 x 50 cosine candidates equal the top 50 of the whole gallery for every Earth on
# Canvas test sketch (2 x: 96 % of them), at a quarter of the work of 20 x
RANKING_CANDIDATES_PER_RESULT = 4
NOT_IMAGE = "not an image file"
EMPTY_FILE = "empty file"
HIDDEN = "hidden"
UNREADABLE = "unreadable image"


@dataclass
class SkipReport:
    """What was left out of an index and why: counts by reason and the first few names of each."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, reason: str, count: int = 1) -> None:
        """Count ``count`` items skipped for ``reason``; ``name`` is kept as an example."""
        self.counts[reason] += count
        names = self.examples.setdefault(reason, [])
        if len(names) < EXAMPLES_PER_REASON:
            names.append(name)

    def __len__(self) -> int:
        """Number of items skipped."""
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """One line a reason, most frequent first: ``12 not an image file (a.txt, b.csv, ...)``."""
        out = []
        for reason, count in self.counts.most_common():
            names = self.examples.get(reason, [])
            more = ", ..." if count > len(names) else ""
            out.append(f"{count} {reason} ({', '.join(names)}{more})")
        return out

    def to_json(self) -> dict[str, Any]:
        """Counts and examples as plain values."""
        return {"counts": dict(self.counts), "examples": self.examples}


@dataclass
class BuildReport:
    """What :func:`build_index` did."""

    embedded: int = 0  # items embedded in this run
    reused: int = 0  # items whose stored embeddings were kept
    removed: int = 0  # source files that were indexed before and are gone now
    sources: int = 0  # source files in the index
    labelled: int = 0  # items with a class from their folder
    skipped: SkipReport = field(default_factory=SkipReport)  # files left out
    chips_skipped: SkipReport = field(default_factory=SkipReport)  # scene chips left out (nodata, blank)
    rebuilt_because: str = ""  # why nothing was reused, when an index existed
    averaged: int = 0  # items searched as the mean of themselves and their nearest others
    not_averaged_because: str = ""  # why a photo gallery's items are searched as they are, when they are


@dataclass(frozen=True)
class Source:
    """One file to index: a photo or sketch (one item), or a scene (one item per chip)."""

    path: Path  # absolute
    id: str  # the name results show: relative to the folder indexed, or the scene's file name
    kind: str  # "image" or "scene"
    label: str  # class from the folder name, "" when unlabelled (always "" for a scene)


def folder_label(relative: Path, class_names: Sequence[str]) -> str:
    """The class of a file from the nearest folder above it named after one of ``class_names``, or ""."""
    for folder in reversed(relative.parts[:-1]):
        label = canonical_class(folder)
        if label in class_names:
            return label
    return ""


def scan_images(root: str | Path, class_names: Sequence[str], report: SkipReport | None = None,
                find_scenes: bool = True) -> list[Source]:
    """Every image under ``root`` at any depth, sorted, labelled from class folders where there are any.

    Hidden files and folders, files that are not images (by extension) and empty files are
    skipped and counted in ``report``. Large georeferenced rasters become scenes (see
    :func:`~crossmodal.scenes.is_scene_file`) when ``find_scenes``.

    Raises:
        DatasetNotFoundError: ``root`` is not a folder, or holds no image at all.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist")
    report = report if report is not None else SkipReport()
    sources = []
    for folder, dirs, files in os.walk(root):
        hidden = sorted(d for d in dirs if d.startswith("."))
        for name in hidden:
            report.add(str(Path(folder, name).relative_to(root)) + "/", HIDDEN)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            relative = path.relative_to(root)
            if name.startswith("."):
                report.add(str(relative), HIDDEN)
            elif path.suffix.lower() not in IMAGE_EXTENSIONS:
                report.add(str(relative), NOT_IMAGE)
            elif not path.is_file() or path.stat().st_size == 0:
                report.add(str(relative), EMPTY_FILE)
            elif find_scenes and is_scene_file(path):
                sources.append(Source(path, relative.as_posix(), "scene", ""))
            else:
                sources.append(Source(path, relative.as_posix(), "image", folder_label(relative, class_names)))
    if not sources:
        raise DatasetNotFoundError(f"no images under {root}" + (f" ({'; '.join(report.lines())} skipped)"
                                                                 if len(report) else ""))
    return sources


def scene_sources(paths: Sequence[str | Path]) -> list[Source]:
    """Sources for scene files given one by one; their ids are file names (with the folder where two clash).

    Raises:
        SceneError: a file does not exist.
    """
    resolved = [Path(p).resolve() for p in paths]
    for path in resolved:
        if not path.is_file():
            raise SceneError(f"scene {path} does not exist")
    names = Counter(p.name for p in resolved)
    return [Source(p, p.name if names[p.name] == 1 else f"{p.parent.name}/{p.name}", "scene", "") for p in resolved]


# ---------------------------------------------------------------------------- building


def _fingerprint(source: Source, scene_settings: dict[str, Any]) -> dict[str, Any]:
    """What decides whether a stored source can be reused: size, mtime and, for a scene, how it is chipped."""
    stat = source.path.stat()
    record = {"path": str(source.path), "id": source.id, "kind": source.kind, "label": source.label,
              "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if source.kind == "scene":
        record["settings"] = scene_settings
    return record


def _unchanged(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = ("kind", "label", "bytes", "mtime_ns", "settings")
    return all(old.get(key) == new.get(key) for key in keys)


def _previous(out_dir: Path, fingerprint: str, modality: str, rebuild: bool) -> tuple[EmbeddingIndex | None, str]:
    """The index already at ``out_dir`` if its embeddings can be reused, else None and why not."""
    if rebuild:
        return None, "--rebuild was given"
    try:
        old = EmbeddingIndex.load(out_dir, fingerprint=fingerprint)
    except IndexNotFoundError:
        return None, ""
    except IndexMismatchError as err:
        return None, str(err).split(";")[0]
    if old.modality != modality:
        return None, f"it holds {old.modality} embeddings, not {modality}"
    if "sources" not in old.info:
        return None, "it was built without a record of its source files"
    return old, ""


class _Collector:
    """Embeddings, labels, paths and item arrays of the new index, gathered source by source."""

    def __init__(self):
        self.embeddings: list[np.ndarray] = []
        self.paths: list[str] = []
        self.labels: list[str] = []
        self.arrays: dict[str, list[np.ndarray]] = {name: [] for name in ITEM_ARRAYS}
        self.records: list[dict[str, Any]] = []
        self.count = 0

    def add(self, record: dict[str, Any], embeddings: np.ndarray, arrays: dict[str, np.ndarray], label: str) -> None:
        n = len(embeddings)
        record = {**record, "start": self.count, "stop": self.count + n}
        number = len(self.records)
        self.records.append(record)
        self.embeddings.append(np.asarray(embeddings, np.float32))
        self.paths.extend([record["path"]] * n)
        self.labels.extend([label] * n)
        arrays = {**arrays, "source": np.full(n, number, np.int32)}
        for name in ITEM_ARRAYS:
            self.arrays[name].append(arrays[name])
        self.count += n


ITEM_ARRAYS = ("source", "predicted", "confidence", "window", "corners", "bounds", "lonlat", "centre")


def _image_arrays(n: int) -> dict[str, np.ndarray]:
    """Item arrays of whole images: no window and no footprint."""
    return {"window": np.full((n, 4), np.nan), "corners": np.full((n, 4, 2), np.nan),
            "bounds": np.full((n, 4), np.nan), "lonlat": np.full((n, 4, 2), np.nan), "centre": np.full((n, 2), np.nan)}


def _predict(model: CrossModalModel, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and its probability from the embeddings (the model's class prototypes)."""
    import torch

    with torch.no_grad():
        logits = model.prototype_logits(torch.from_numpy(np.asarray(embeddings, np.float32)).to(model.device))
        probabilities = torch.softmax(logits, 1).cpu().numpy()
    return probabilities.argmax(1).astype(np.int16), probabilities.max(1).astype(np.float32)


def _embed_images(model: CrossModalModel, sources: list[Source], modality: str, batch_size: int, tta: bool | None,
                  report: SkipReport, progress: Callable[[int], None]) -> list[tuple[Source, np.ndarray]]:
    """Embeddings of single images, a batch at a time; unreadable files go to ``report``."""
    import torch

    out = []
    size = model.config.image_size
    for start in range(0, len(sources), batch_size):
        batch = sources[start:start + batch_size]
        arrays, kept, bad = load_arrays([Sample(s.path, s.label) for s in batch], modality, size,
                                        sketch_input=model.config.sketch_input)
        by_path = {s.path: s for s in batch}
        for path, _ in bad:
            report.add(by_path[Path(path)].id, UNREADABLE)
        if kept:
            vectors = model.embed(torch.from_numpy(arrays).float() / 255.0, modality, batch_size, tta=tta)
            out.extend((by_path[s.path], v[None]) for s, v in zip(kept, vectors))
        progress(len(batch))
    return out


def _tile_image(tile: np.ndarray) -> Image.Image:
    """A chip as :meth:`~crossmodal.scenes.Scene.chips` yields it, (3, H, W) uint8, as an RGB image."""
    return Image.fromarray(tile.transpose(1, 2, 0))


def _embed_scene(model: CrossModalModel, scene: Scene, batch_size: int, tta: bool | None,
                 progress: Callable[[int], None]) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings and windows of a scene's chips (blank and nodata chips are left out)."""
    import torch

    size = model.config.image_size
    vectors, windows, pending, pending_windows = [], [], [], []

    def flush() -> None:
        x = torch.from_numpy(np.stack(pending)).float() / 255.0
        vectors.append(model.embed(x, "photo", batch_size, tta=tta))
        windows.append(np.concatenate(pending_windows))
        pending.clear()
        pending_windows.clear()

    done = 0
    for pixels, block_windows in scene.chips():
        for tile in pixels:
            pending.append(photo_array(_tile_image(tile), size))
        pending_windows.append(block_windows)
        if len(pending) >= batch_size:
            flush()
        now = sum(scene.skipped.values()) + sum(len(w) for w in windows) + len(pending)
        progress(now - done)
        done = now
    if pending:
        flush()
    progress(len(scene) - done)
    if not vectors:
        return np.zeros((0, model.config.embed_dim), np.float32), np.zeros((0, 4))
    return np.concatenate(vectors), np.concatenate(windows)


@dataclass
class IndexPlan:
    """What :func:`build_index` would do: the sources found, what can be reused, what must be embedded."""

    out_dir: Path
    sources: list[Source]
    records: list[dict[str, Any]]  # how each source is recorded in the sidecar (size, mtime, settings)
    old: EmbeddingIndex | None  # the index at ``out_dir``, when its embeddings can be reused
    old_sources: dict[str, dict[str, Any]]  # path -> its record in ``old``
    reuse: set[str]  # paths whose stored rows are kept
    unreadable: dict[str, dict[str, Any]]  # paths known to be unreadable (not tried again until they change)
    to_embed: list[Source]
    report: BuildReport
    neighbours: int  # nearest others each whole image would be averaged with (see _neighbours_for)

    @property
    def files_unchanged(self) -> bool:
        """True when the index at ``out_dir`` holds exactly these files as they are now."""
        return self.old is not None and not self.to_embed and not self.report.removed and \
            len(self.reuse) == len(self.old_sources)

    @property
    def up_to_date(self) -> bool:
        """True when the index at ``out_dir`` holds exactly these files, searched as a build would now."""
        return self.files_unchanged and self.old.neighbours == self.neighbours

    def reason(self) -> str:
        """Why the index must be (re)built, in a few words; "" when it is up to date."""
        if self.up_to_date:
            return ""
        if self.old is None:
            return self.report.rebuilt_because or "no index yet"
        if self.files_unchanged:
            def how(k: int) -> str:
                return f"averaged with its {k} nearest others" if k else "as it is"
            return f"it searches each image {how(self.old.neighbours)}, not {how(self.neighbours)}"
        return f"{len(self.to_embed)} new or changed files, {self.report.removed} removed since it was built"


def plan_index(model: CrossModalModel, out_dir: str | Path, images: str | Path | None = None,
               scenes: Sequence[str | Path] = (), modality: str = "photo", gsd: float | None = None,
               chip: int = DEFAULT_CHIP, stride: int = DEFAULT_STRIDE, rebuild: bool = False,
               neighbours: int | None = None) -> IndexPlan:
    """Compare the files to index with the index at ``out_dir``, without embedding anything.

    Arguments as for :func:`build_index`.

    Raises:
        DatasetNotFoundError, SceneError, ValueError: as :func:`build_index`.
    """
    fingerprint = getattr(model, "info", {}).get("fingerprint")
    if not fingerprint:
        raise ValueError("the model has no checkpoint fingerprint: load it with crossmodal.checkpoint.load_checkpoint")
    out_dir = check_index_dir(out_dir)
    report = BuildReport()
    sources = scan_images(images, model.class_names, report.skipped) if images is not None else []
    if modality != "photo":
        for s in [s for s in sources if s.kind == "scene"]:
            report.skipped.add(s.id, "scene in a sketch gallery")
        sources = [s for s in sources if s.kind == "image"]
    sources += scene_sources(scenes)
    settings = {"gsd": gsd, "chip": chip, "stride": stride, "target_gsd": TRAINING_GSD}
    old, report.rebuilt_because = _previous(out_dir, fingerprint, modality, rebuild)
    old_sources = {s["path"]: s for s in old.info["sources"]} if old is not None else {}
    records = [_fingerprint(s, settings) for s in sources]
    if len({r["path"] for r in records}) != len(records):
        raise ValueError("a file is given twice (a scene inside the image folder, or the same scene twice)")
    reuse = {r["path"] for r in records if r["path"] in old_sources and _unchanged(old_sources[r["path"]], r)}
    old_unreadable = old.info.get("unreadable", {}) if old is not None else {}
    unreadable = {r["path"]: r for r in records
                  if r["path"] in old_unreadable and _unchanged(old_unreadable[r["path"]], r)}
    for source in sources:  # not tried again until the file changes
        if str(source.path) in unreadable:
            report.skipped.add(source.id, UNREADABLE)
    report.removed = len(set(old_sources) - {r["path"] for r in records})
    to_embed = [s for s, r in zip(sources, records) if r["path"] not in reuse and r["path"] not in unreadable]
    images = sum(s.kind == "image" and str(s.path) not in unreadable for s in sources)
    k, _ = _neighbours_for(modality, images, neighbours)
    return IndexPlan(out_dir, sources, records, old, old_sources, reuse, unreadable, to_embed, report, k)


def build_index(model: CrossModalModel, out_dir: str | Path, images: str | Path | None = None,
                scenes: Sequence[str | Path] = (), modality: str = "photo", gsd: float | None = None,
                chip: int = DEFAULT_CHIP, stride: int = DEFAULT_STRIDE, n_trees: int = DEFAULT_N_TREES,
                n_shards: int | None = None, batch_size: int = 64, tta: bool | None = None, rebuild: bool = False,
                progress: bool = True, neighbours: int | None = None) -> tuple[EmbeddingIndex, BuildReport]:
    """Index a folder of images and/or large scenes into ``out_dir``, re-embedding only what changed.

    Args:
        model: a model from ``load_checkpoint``.
        out_dir: the index directory; an index already there is updated (see the module docstring).
        images: a folder of images at any depth (class folders give labels; others are unlabelled).
        scenes: large rasters (GeoTIFF, or PNG/JPEG with ``gsd``) to cut into chips; photos only.
        modality: ``"photo"`` or ``"sketch"``: what the images are.
        gsd: ground resolution of the scenes in metres a pixel; overrides their transforms.
        chip: chip side in pixels at the model's resolution (``TRAINING_GSD``).
        stride: chip spacing in pixels at the model's resolution.
        n_trees: Annoy trees (of each shard).
        n_shards: Annoy shards (None: by size).
        batch_size: images embedded at a time.
        tta: embed each item as the mean of its 8 rotations and flips (None: the model's default,
            on for photos).
        rebuild: embed everything again, ignoring the index at ``out_dir``.
        progress: show a progress bar (a line every few seconds when stderr is not a terminal).
        neighbours: search each whole image as the mean of it and its ``neighbours`` nearest other
            images (None: ``DEFAULT_NEIGHBOURS`` for a photo gallery of ``MIN_AVERAGED_ITEMS``
            photos or more, else 0; 0: as they are). Scene chips never are.

    Returns:
        The saved index and a :class:`BuildReport`.

    Raises:
        DatasetNotFoundError: the folder is missing or has no image.
        SceneError: a scene cannot be read or chipped.
        ValueError: nothing to index, no readable item, bad arguments, or an unusable ``out_dir``
            (checked before embedding: see :func:`~crossmodal.index.check_index_dir`).
    """
    from .progress import progress_bar

    check_modality(modality)
    if scenes and modality != "photo":
        raise ValueError("scenes are aerial photos: index them with --modality photo")
    if images is None and not scenes:
        raise ValueError("nothing to index: give a folder of images, scenes, or both")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if n_shards is not None and n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, not {n_shards}")
    if neighbours is not None and (not isinstance(neighbours, int) or neighbours < 0):
        raise ValueError(f"neighbours must be a whole number from 0 up, not {neighbours!r}")
    plan = plan_index(model, out_dir, images, scenes, modality, gsd, chip, stride, rebuild, neighbours)
    report, old, reuse, unreadable = plan.report, plan.old, plan.reuse, plan.unreadable
    sources, records, old_sources, to_embed = plan.sources, plan.records, plan.old_sources, plan.to_embed
    fingerprint = model.info["fingerprint"]
    if plan.up_to_date and old.n_trees == n_trees and n_shards in (None, len(old.shards)):
        report.reused, report.sources = len(old), len(records)
        report.labelled = sum(bool(label) for label in old.labels)
        report.averaged = int(_whole_images(old.items, len(old)).sum()) if old.neighbours else 0
        return old, report  # nothing changed: the index on disk is this one
    for folder in remove_stale_temporaries(plan.out_dir):
        print(f"removed {folder}, left over by an interrupted index build", file=sys.stderr, flush=True)
    scenes_open: dict[Path, Scene] = {}
    try:
        total = 0
        for s in to_embed:
            if s.kind == "scene":
                scenes_open[s.path] = Scene(s.path, gsd=gsd, chip=chip, stride=stride)
                total += len(scenes_open[s.path])
            else:
                total += 1
        what = "sketches" if modality == "sketch" else "photos"
        with progress_bar(total=total, desc=f"embedding {what}", unit="item", disable=not progress) as bar:
            new_images = {s.path: v for s, v in _embed_images(
                model, [s for s in to_embed if s.kind == "image"], modality, batch_size, tta, report.skipped,
                bar.update)}
            new_scenes = {}
            for path, scene in scenes_open.items():
                vectors, windows = _embed_scene(model, scene, batch_size, tta, bar.update)
                for reason, count in scene.skipped.items():
                    report.chips_skipped.add(path.name, reason, count)
                new_scenes[path] = (scene, vectors, windows)
        collector = _Collector()
        for source, record in zip(sources, records):
            if record["path"] in reuse:
                _add_stored(collector, old, old_sources[record["path"]], record)
                continue
            if record["path"] in unreadable:
                continue
            if source.kind == "image":
                if source.path not in new_images:
                    unreadable[record["path"]] = record  # in the report too
                    continue
                vectors, arrays = new_images[source.path], _image_arrays(1)
            else:
                scene, vectors, windows = new_scenes[source.path]
                if not len(vectors):
                    report.skipped.add(source.id, "scene without a usable chip")
                    continue
                footprints = scene.footprints(windows)
                arrays = {"window": windows, "corners": footprints.corners, "bounds": footprints.bounds,
                          "lonlat": footprints.lonlat, "centre": footprints.centre}
                record = {**record, "scene": scene.describe(), "chips_skipped": dict(scene.skipped)}
            predicted, confidence = _predict(model, vectors)
            collector.add(record, vectors, {**arrays, "predicted": predicted, "confidence": confidence},
                          source.label)
            report.embedded += len(vectors)
    finally:
        for scene in scenes_open.values():
            scene.close()
    if not collector.count:
        raise ValueError("no readable image or chip to index" + (f" ({'; '.join(report.skipped.lines())})"
                                                                  if len(report.skipped) else ""))
    report.reused = collector.count - report.embedded
    report.sources = len(collector.records)
    report.labelled = sum(bool(label) for label in collector.labels)
    info = {"images": str(Path(images).absolute()) if images is not None else "",
            "scenes": [str(Path(p).absolute()) for p in scenes], "checkpoint": str(model.info.get("path", "")),
            "classes": list(model.class_names), "sources": collector.records, "unreadable": unreadable,
            "skipped": report.skipped.to_json()}
    items = {name: np.concatenate(parts) for name, parts in collector.arrays.items()}
    whole = _whole_images(items, collector.count)
    k, report.not_averaged_because = _neighbours_for(modality, int(whole.sum()), neighbours)
    report.averaged = int(whole.sum()) if k else 0
    index = EmbeddingIndex.from_embeddings(np.concatenate(collector.embeddings), collector.paths, collector.labels,
                                           modality, fingerprint, n_trees, n_shards=n_shards, info=info, items=items,
                                           neighbours=k, averaged=whole)
    index.save(plan.out_dir)
    return index, report


def _add_stored(collector: _Collector, old: EmbeddingIndex, stored: dict[str, Any], record: dict[str, Any]) -> None:
    """Carry a source's rows over from the previous index, as they are."""
    start, stop = int(stored["start"]), int(stored["stop"])
    arrays = {name: np.asarray(old.items[name][start:stop]) for name in ITEM_ARRAYS}
    kept = {key: stored[key] for key in ("scene", "chips_skipped") if key in stored}
    collector.add({**record, **kept}, np.asarray(old.own_embeddings[start:stop]), arrays, old.labels[start] if
                  stop > start else "")


def _whole_images(items: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Mask of the items that are whole images, not chips of a scene."""
    window = items.get("window")
    return np.ones(n, bool) if window is None else ~np.isfinite(window).all(1)


def _neighbours_for(modality: str, photos: int, neighbours: int | None) -> tuple[int, str]:
    """How many nearest others each whole image of a new index is averaged with, and why none if so.

    Photo galleries are by default; sketch galleries only when asked (not measured).
    """
    if neighbours == 0 or (modality != "photo" and neighbours is None):
        return 0, ""
    if photos < 2:
        return 0, "fewer than two whole images" if photos else ""
    if neighbours is None and photos < MIN_AVERAGED_ITEMS:
        return 0, (f"{photos} photos: fewer than the {MIN_AVERAGED_ITEMS} from which a photo's nearest are "
                   f"mostly its own kind of scene; ask for neighbours to average them anyway")
    return DEFAULT_NEIGHBOURS if neighbours is None else neighbours, ""


# ---------------------------------------------------------------------------- searching


def has_chips(index: EmbeddingIndex) -> bool:
    """True when some items of the index are chips of a scene."""
    return not _whole_images(index.items, len(index)).all()


def chip_window(index: EmbeddingIndex, i: int) -> tuple[float, ...] | None:
    """Where item ``i`` lies in its scene (col_off, row_off, width, height in scene pixels); None for a whole image."""
    windows = index.items.get("window")
    if windows is None or np.isnan(windows[i]).any():
        return None
    return tuple(float(v) for v in windows[i])


def item_id(index: EmbeddingIndex, i: int) -> str:
    """The name of item ``i``: the file relative to the folder indexed, or ``scene.tif:col,row`` for a chip."""
    sources = index.info.get("sources")
    if not sources or "source" not in index.items:
        return Path(index.paths[i]).name
    source = sources[int(index.items["source"][i])]
    window = chip_window(index, i)
    if window is None:
        return source["id"]
    return f"{source['id']}:{round(window[0])},{round(window[1])}"


def item_record(index: EmbeddingIndex, i: int, place: Match | None = None) -> dict[str, Any]:
    """A plain description of item ``i``: id, class (None when unlabelled), predicted class, and where a chip lies.

    With a ``place`` (the :class:`Match` of a search), a chip's ``window``, ``bounds``, ``centre``
    and ``footprint`` are those of the match: the weighted mean of the chips merged into it.
    """
    i = int(i)
    label = index.labels[i]
    record: dict[str, Any] = {"id": item_id(index, i), "class": label or None}
    classes = index.info.get("classes")
    if classes and "predicted" in index.items:
        record["predicted_class"] = classes[int(index.items["predicted"][i])]
        record["predicted_probability"] = round(float(index.items["confidence"][i]), 4)
    window = chip_window(index, i)
    if window is not None:
        members, weights = (list(place.members), np.asarray(place.weights)) if place and place.members else ([i], [1.0])

        def mean_of(name: str) -> np.ndarray:
            return np.tensordot(weights, np.asarray(index.items[name][members], np.float64), axes=1)

        source = index.info["sources"][int(index.items["source"][i])]
        record["scene"] = source["id"]
        record["window"] = [round(float(v), 3) for v in mean_of("window")]
        record["bounds"] = [float(v) for v in mean_of("bounds")]
        if not np.isnan(index.items["centre"][i]).any():
            record["centre"] = [round(float(v), 7) for v in mean_of("centre")]
            record["footprint"] = [[round(float(x), 7), round(float(y), 7)] for x, y in mean_of("lonlat")]
    return record


@dataclass(frozen=True)
class Match:
    """One result of a search: the item, its ranking score, its cosine, and the chips merged into it."""

    item: int
    score: float  # what the results are ordered by (crossmodal.ranking)
    similarity: float  # the cosine of the embeddings alone
    members: tuple[int, ...] = ()  # for a scene chip: itself and the chips merged into it ...
    weights: tuple[float, ...] = ()  # ... and their weights in placing the result (footprints.merged_chips)


def rank_matches(index: EmbeddingIndex, vector: Any, count: int, classifier: np.ndarray | None = None,
                 nms_iou: float | None = DEFAULT_NMS_IOU, keep: Callable[[int], bool] | None = None, spare: int = 0,
                 exact: bool = False, search_k: int | None = None, rerank: int = 1,
                 weight: float = CLASS_AGREEMENT_WEIGHT) -> list[Match]:
    """The best ``count`` items for a query embedding, best first.

    The index gives candidates by cosine (Annoy or exact): ``CANDIDATES_PER_RESULT`` a result over
    scene chips, ``RANKING_CANDIDATES_PER_RESULT`` over whole images;
    with the model's ``classifier`` (:meth:`~crossmodal.model.CrossModalModel.classifier_weights`)
    they are re-scored with the class agreement of :mod:`crossmodal.ranking`, else by the cosine
    alone. Items ``keep`` refuses (a file gone, the query itself) are dropped; then chips of one
    scene overlapping a better hit by more than ``nms_iou`` are merged into it and place it
    (:func:`~crossmodal.footprints.merged_chips`); ``None`` keeps every chip.

    Args:
        spare: candidates to fetch beyond ``count`` a result, for those ``keep`` may drop.
        weight: of the class agreement (``bench/ranking_weight.py`` sweeps it).

    Raises:
        ValueError: as :meth:`EmbeddingIndex.query`.
    """
    over_chips = has_chips(index)  # chips need the larger pool whether or not their overlaps are merged
    chips = nms_iou is not None and over_chips
    per_result = CANDIDATES_PER_RESULT if over_chips else RANKING_CANDIDATES_PER_RESULT if classifier is not None else 1
    pool = (count + spare) * per_result
    ids, cosines = index.query(vector, k=min(len(index), pool), exact=exact, search_k=search_k, rerank=rerank)
    scores = ranking_scores(vector, index.embeddings[ids], classifier, weight) if classifier is not None else cosines
    order = np.lexsort((ids, -scores))  # Annoy is approximate: best first regardless, ties by id
    ids, scores, cosines = ids[order], scores[order], cosines[order]
    position = {int(i): n for n, i in enumerate(ids)}
    wanted = (int(i) for i in ids if keep is None or keep(int(i)))  # lazily: keep may touch the disk
    if not chips:
        return [Match(i, float(scores[position[i]]), float(cosines[position[i]])) for i in islice(wanted, count)]
    sources, windows = index.items["source"], index.items["window"]
    matches = []
    for i in non_max_suppression(wanted, sources, windows, nms_iou, count):
        members, weights = merged_chips(i, ids, scores, sources, windows, nms_iou)
        n = position[i]
        matches.append(Match(i, float(scores[n]), float(cosines[n]), tuple(members), tuple(float(w) for w in weights)))
    return matches


def search_gallery(index: EmbeddingIndex, vector: Any, k: int = 10, nms_iou: float | None = DEFAULT_NMS_IOU,
                   exact: bool = False, search_k: int | None = None, rerank: int = 1,
                   url: Callable[[int], str] | None = None, classifier: np.ndarray | None = None
                   ) -> list[dict[str, Any]]:
    """The top ``k`` items for a query embedding as records (:func:`item_record` plus ``rank``, ``score``,
    ``similarity``, ``url``), found by :func:`rank_matches`.

    Args:
        url: where a client fetches item ``i``'s image (default: the ``file:`` URI of its file,
            the scene's for a chip).
        classifier: the model's :meth:`~crossmodal.model.CrossModalModel.classifier_weights`, to
            rank by :mod:`crossmodal.ranking`; None ranks by the cosine alone.

    Raises:
        ValueError: as :meth:`EmbeddingIndex.query`.
    """
    url = url or (lambda i: Path(index.paths[i]).as_uri())
    matches = rank_matches(index, vector, k, classifier, nms_iou, exact=exact, search_k=search_k, rerank=rerank)
    return [{"rank": rank, **item_record(index, m.item, m), "score": round(m.score, 4),
             "similarity": round(m.similarity, 4), "url": url(m.item)} for rank, m in enumerate(matches, start=1)]


# ---------------------------------------------------------------------------- large query photos

LARGE_QUERY_CHIPS = 2  # a query photo at least this many chips wide and high is searched chip by chip
MAX_QUERY_CHIPS_A_SIDE = 4  # at most this many chips a side are embedded for one query (bounded work)


@dataclass(frozen=True)
class ChipQuery:
    """The chip of a large query photo that matches the gallery best, and how it was found."""

    image: Any  # the chosen chip, RGB PIL image at the model's resolution
    window: tuple[float, float, float, float]  # where it is in the photo: col_off, row_off, width, height (pixels)
    photo_size: tuple[int, int]  # the photo's width and height in pixels
    chips: int  # chips that were compared
    gsd: float  # the photo's ground resolution used (metres a pixel)
    assumed_gsd: bool  # True when the photo had no georeferencing and the model's resolution was assumed

    def describe(self) -> str:
        """One sentence for the user: what was searched and on which assumption."""
        how = (f"assuming {self.gsd:.2f} m a pixel like the gallery (the file says nothing about its resolution)"
               if self.assumed_gsd else f"at its georeferenced {self.gsd:.2f} m a pixel")
        return (f"Your photo ({self.photo_size[0]} x {self.photo_size[1]} px) covers more ground than one gallery "
                f"scene: it was cut into {self.chips} chips of {DEFAULT_CHIP * TRAINING_GSD:.0f} m, {how}; the "
                f"outlined chip matched the gallery best and is the query.")


def is_large_photo(path: str | Path, max_pixels: int = MAX_PIXELS) -> bool:
    """True when a query photo covers at least ``LARGE_QUERY_CHIPS`` chips a side at its (or the model's) resolution.

    Photos over the decoding budget ``max_pixels`` are not (they are refused like any other query).
    """
    try:
        with Scene(path, fallback_gsd=TRAINING_GSD) as scene:
            return scene.width * scene.height <= max_pixels and \
                min(scene.grid_width, scene.grid_height) >= LARGE_QUERY_CHIPS * scene.chip
    except SceneError:
        return False


def best_query_chip(model: CrossModalModel, index: EmbeddingIndex, path: str | Path, top: int = 5) -> ChipQuery:
    """Cut a large query photo into chips at the model's resolution and pick the one the gallery matches best.

    At most ``MAX_QUERY_CHIPS_A_SIDE`` chips a side are taken, spread evenly over the photo (a
    huge photo is sampled, not embedded whole); each chip's score is the mean cosine of its
    ``top`` nearest gallery items.

    Raises:
        SceneError: the photo cannot be read or is smaller than a chip.
    """
    import torch

    with Scene(path, fallback_gsd=TRAINING_GSD) as scene:
        extent = max(scene.grid_width, scene.grid_height) - scene.chip
        scene.set_stride(max(scene.chip, -(-extent // (MAX_QUERY_CHIPS_A_SIDE - 1))))
        tiles, windows = [], []
        for pixels, block in scene.chips():
            tiles.extend(pixels)
            windows.extend(block)
        if not tiles:
            raise SceneError(f"{Path(path).name} has no chip with content (blank or nodata)")
        size = model.config.image_size
        x = torch.from_numpy(np.stack([photo_array(_tile_image(t), size) for t in tiles]))
        vectors = model.embed(x.float() / 255.0, "photo", tta=False)
        scores = [float(np.mean(index.query(v, k=min(top, len(index)), exact=True)[1])) for v in vectors]
        best = int(np.argmax(scores))
        return ChipQuery(_tile_image(tiles[best]), tuple(float(v) for v in windows[best]),
                         (scene.width, scene.height), len(tiles), scene.gsd[0], not scene.georeferenced)
