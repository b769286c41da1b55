"""Search behind the demo app: one query against the photo or sketch gallery, with everything shown.

A :class:`Retriever` holds a model and the Annoy indexes of a photo gallery and (optionally) a
sketch gallery. ``Retriever.search`` encodes a query once (embedding, class probabilities and
attention map come from the same forward pass), searches a gallery, and returns a
:class:`SearchResult` with the class-wise numbers the app displays: the predicted classes, P@k for
the target class and the share of each class among the top 50 results. Thumbnails with a
match / no-match border and optional attention heat maps are rendered once and cached on disk.

Everything here is plain Python: the app wires it to Gradio, tests call it directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from .checkpoint import load_checkpoint
from .config import check_modality
from .data import MAX_SIDE, ImageLoadError, is_blank_sketch, load_image, photo_at_resolution
from .gallery import (
    Match,
    best_query_chip,
    build_index,
    chip_window,
    is_large_photo,
    item_record,
    plan_index,
    rank_matches,
)
from .index import EmbeddingIndex
from .model import CrossModalModel, dihedral_views, factor_to_undo, views_of
from .overview import Overviews, draw_footprints
from .resolution import CANDIDATES, pick_resolution
from .scenes import Scene, SceneError

DEFAULT_K = 12  # results shown by default
TRAINING_IMAGERY = "the imagery the model learnt from (UC Merced, 0.3 m a pixel)"  # what a head compares with
MAX_K = 50  # largest k the app offers
CLASS_TOP = 50  # class-wise precision is computed over this many top results (the paper's top-50 chart)
TOP_PREDICTIONS = 3  # predicted classes shown for a query
THUMB_SIZE = 192  # side of a result thumbnail, pixels
CHIP_VIEW_SIDE = 256  # side of a scene chip's picture (thumbnails are made from it; clients fetch it)
DISPLAY_SIDE = 512  # queries are kept at most this large for display (recent queries are cached)
MATCH_COLOR = (34, 160, 70)  # border of a result whose class is the target class
MISS_COLOR = (214, 45, 45)  # border of a result of another class
NEUTRAL_COLOR = (200, 204, 210)  # border of a result while no intended class is chosen: nothing is judged
_THUMB_VERSION = "v2"  # part of the thumbnail cache key: change it when drawing changes
TRIM_AFTER_PIXELS = 2_000_000  # a query decoded this large gives its freed memory back to the system
PRERENDER_LIMIT = 5_000  # galleries of at most this many whole images get their thumbnails made ahead (~14 KB each)

log = logging.getLogger(__name__)


class BlankSketchError(ValueError):
    """A sketch query has (almost) no strokes: there is nothing to search for."""


@dataclass(frozen=True)
class EncodedQuery:
    """One query image after a single forward pass of the model."""

    modality: str  # "photo" or "sketch"
    image: Image.Image  # the decoded query for display (RGB, at most DISPLAY_SIDE pixels a side)
    embedding: np.ndarray  # (d,) L2-normalised float32
    probabilities: np.ndarray  # (k,) over the model's class names
    attention: np.ndarray  # (S, S) float32 in [0, 1]
    decoded_pixels: int = 0  # pixels of the query as decoded, before it was reduced for display
    note: str = ""  # how the query was read, when not as a whole (a large photo searched by one of its chips)


@dataclass(frozen=True)
class Hit:
    """One search result: rank from 1, gallery file, class and ranking score (crossmodal.ranking)."""

    rank: int
    id: str  # the file's stable name in its gallery, e.g. "runway/runway49.jpg": what clients see
    path: str  # the file on this machine: for reading it here, never sent to clients
    label: str  # the class from the gallery's folders; "" for an unlabelled item
    score: float  # the cosine plus the class agreement: what results are ordered by
    predicted: str = ""  # the model's predicted class of the item (shown, marked as such, when unlabelled)
    extra: dict[str, Any] = field(default_factory=dict)  # plain values: where a scene chip lies, its prediction
    chip: tuple[float, ...] | None = None  # for a scene chip: its own window (the placed one is extra["window"])

    @property
    def judged_class(self) -> str:
        """The class the hit is judged by: its label, else the model's prediction."""
        return self.label or self.predicted


@dataclass
class SearchResult:
    """Everything the app shows for one query against one gallery."""

    query: EncodedQuery
    gallery: str  # modality of the gallery searched: "photo" or "sketch"
    k: int
    target_class: str  # the class results are judged against: the user's choice or the top prediction
    predicted: list[tuple[str, float]]  # top classes of the query with probabilities
    hits: list[Hit]  # the top-k results, best first
    precision_at_k: float  # share of the top k results whose class is the target class
    class_precision: dict[str, float]  # share of each class among the top CLASS_TOP results
    latency_ms: float  # time from the query arriving to this result (decode, encode, search, numbers)
    extra: dict[str, Any] = field(default_factory=dict)
    unlabelled_at_k: int = 0  # results among the top k judged by their predicted class (no label)
    unlabelled_top: int = 0  # the same among the top CLASS_TOP

    @property
    def vs_predicted(self) -> bool:
        """True when P@k counts some results by their predicted class, for lack of a label."""
        return self.unlabelled_at_k > 0

    def to_json(self) -> dict[str, Any]:
        """The machine-readable result: plain values only, no server paths.

        Each result is ``{"rank", "id", "class", "score", "similarity"}``; ``id`` is the file's path
        inside its gallery folder (``scene.tif:col,row`` for a chip of a scene); ``score`` orders the
        results (:mod:`crossmodal.ranking`), ``similarity`` is the cosine alone. ``class`` is None for
        an unlabelled item, whose ``predicted_class`` is then what P@k counts (``precision_vs`` says
        so); chips add ``scene``, ``window``, ``footprint`` and ``centre`` (lon/lat), placed among
        the chips merged into the result (:func:`~crossmodal.footprints.merged_chips`). (No key is
        called ``path``: web clients such as Gradio's take any object with one for a file to download.)
        """
        return {
            "query_modality": self.query.modality,
            "gallery": self.gallery,
            "k": self.k,
            "target_class": self.target_class,
            "predicted": [[c, round(p, 4)] for c, p in self.predicted],
            "precision_at_k": round(self.precision_at_k, 4),
            "precision_vs": "predicted classes" if self.vs_predicted else "labels",
            "class_precision_top50": {c: round(v, 4) for c, v in self.class_precision.items()},
            "results": [{"rank": h.rank, "id": h.id, "class": h.label or None, "score": round(h.score, 4), **h.extra}
                        for h in self.hits],
            **({"query_note": self.query.note} if self.query.note else {}),
            "latency_ms": round(self.latency_ms, 1),
            **self.extra,
        }


# ---------------------------------------------------------------------------- numbers


def precision_at_k(labels: Sequence[str], target: str, k: int) -> float:
    """Share of the first ``k`` labels that equal ``target`` (fewer than k labels: over those present).

    Raises:
        ValueError: ``k`` is not positive.
    """
    if k <= 0:
        raise ValueError(f"k must be positive, not {k}")
    top = list(labels)[:k]
    return sum(label == target for label in top) / len(top) if top else 0.0


def class_precision(labels: Sequence[str], class_names: Sequence[str], top: int = CLASS_TOP) -> dict[str, float]:
    """Share of each class among the first ``top`` results (the per-query class-wise precision chart).

    The values sum to one when every label is one of ``class_names``.
    """
    head = list(labels)[:top]
    n = max(1, len(head))
    return {c: sum(label == c for label in head) / n for c in class_names}


def top_predictions(probabilities: np.ndarray, class_names: Sequence[str], n: int = TOP_PREDICTIONS
                    ) -> list[tuple[str, float]]:
    """The ``n`` most probable classes, best first, as (class, probability)."""
    order = np.argsort(-probabilities, kind="stable")[:n]
    return [(class_names[i], float(probabilities[i])) for i in order]


# ---------------------------------------------------------------------------- encoding


def _as_image(source: Any, max_side: int = MAX_SIDE) -> Image.Image:
    """A query as an RGB PIL image; accepts files, PIL images, RGB(A)/gray arrays and Sketchpad dicts."""
    if isinstance(source, dict):  # a gr.Sketchpad / gr.ImageEditor value: the composite is the drawing
        source = source.get("composite")
    if source is None:
        raise BlankSketchError("the query is empty: draw something or upload an image")
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8:
            source = np.clip(source, 0, 255).astype(np.uint8)
        source = Image.fromarray(source)
    return load_image(source, max_side=max_side)


@torch.no_grad()
def encode_query(model: CrossModalModel, source: Any, modality: str, at_training_resolution: bool = True,
                 gallery: np.ndarray | EmbeddingIndex | None = None) -> EncodedQuery:
    """Decode one query and run the model once: embedding, class probabilities and attention map.

    Args:
        model: the cross-modal model.
        source: a file path, PIL image, numpy image or Sketchpad dict (``composite`` is used).
        modality: ``"photo"`` or ``"sketch"``.
        at_training_resolution: a photo that looks coarser or finer than the imagery it is
            compared with is seen at that imagery's resolution: with a photo ``gallery``, the one
            at which it looks most like the gallery (:mod:`crossmodal.resolution`), else, with a
            resolution head, the training photos' (``CrossModalModel.resolution_to_undo``); the
            view the model saw is then the query's image, and its ``note`` says so. False for
            imagery of known resolution (scene chips).
        gallery: the photo gallery's embeddings (L2-normalised) or index, for the above.

    Raises:
        ImageLoadError: the file is not a readable image (or is too large to decode safely).
        BlankSketchError: a sketch without strokes.
        ValueError: unknown modality.
    """
    check_modality(modality)
    # a photo is shown at DISPLAY_SIDE and seen by the model smaller still: a huge JPEG decodes at a
    # reduced scale; a sketch keeps more pixels, so that thin strokes survive until the ink is traced
    image = _as_image(source, DISPLAY_SIDE if modality == "photo" else MAX_SIDE)
    decoded_pixels = image.width * image.height
    if model.training:  # walking every module to set eval mode costs ~1 ms a query: only when needed
        model.eval()
    if modality == "photo" and at_training_resolution and gallery is not None and len(gallery):
        return _encode_at_gallery_resolution(model, image, gallery, decoded_pixels)
    x = model.preprocess([image], modality)
    if modality == "sketch" and is_blank_sketch((x[0].numpy() * 255).astype(np.uint8)):
        raise BlankSketchError("the sketch is blank: draw something")
    # as the gallery is embedded: a photo as the mean of its 8 rotations and flips, a sketch as the
    # checkpoint says (a view or two: it answers while the user draws); view 0, whose attention is
    # shown, is the image itself
    out = model.encode(views_of(x, model.views(modality)), modality)
    note = ""
    if at_training_resolution and "log_resolution" in out:  # model.estimate_resolution's, without another pass
        factor = factor_to_undo(2.0 ** out["log_resolution"].mean().item())
        if factor != 1.0:
            image, note = _seen_at(image, factor, TRAINING_IMAGERY)
            out = model.encode(dihedral_views(model.preprocess([image], modality)), modality)
    v = F.normalize(F.normalize(out["V"], dim=1).mean(0, keepdim=True), dim=1)
    return _encoded_query(model, modality, image, v, out["weights"][:1], decoded_pixels, note)


def _encode_at_gallery_resolution(model: CrossModalModel, image: Image.Image, gallery: np.ndarray | EmbeddingIndex,
                                  decoded_pixels: int) -> EncodedQuery:
    """``encode_query`` of a photo seen at the resolution at which it looks most like the gallery."""
    out, embedding, pick = pick_resolution(model, image, gallery)
    note = ""
    if CANDIDATES[pick] != 1.0:
        image, note = _seen_at(image, CANDIDATES[pick], "the gallery's photos")
    # the outputs are view-major: the first len(CANDIDATES) are the candidate views themselves
    return _encoded_query(model, "photo", image, embedding[None], out["weights"][pick:pick + 1],
                          decoded_pixels, note)


def _seen_at(image: Image.Image, factor: float, reference: str) -> tuple[Image.Image, str]:
    """A photo of ``factor`` times ``reference``'s ground resolution as it is searched, and what the app says."""
    view = Image.fromarray(photo_at_resolution(image, DISPLAY_SIDE, factor).transpose(1, 2, 0))
    return view, resolution_note(factor, reference)


def _encoded_query(model: CrossModalModel, modality: str, image: Image.Image, v: torch.Tensor, weights: torch.Tensor,
                   decoded_pixels: int, note: str) -> EncodedQuery:
    """The query from its embedding ``v`` (1, d) and the attention ``weights`` (1, h, w) of the view shown."""
    probabilities = torch.softmax(model.prototype_logits(v), 1)[0].cpu().numpy()
    image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.BILINEAR)  # kept for display only
    return EncodedQuery(modality, image, v[0].cpu().numpy().astype(np.float32), probabilities,
                        _upsample(weights, model.config.image_size)[0], decoded_pixels, note)


def resolution_note(factor: float, reference: str = TRAINING_IMAGERY) -> str:
    """What the app says of a photo query seen at another ground resolution than its own, that of ``reference``."""
    if factor < 1:
        return (f"This photo looks about {1 / factor:.1f}x coarser than {reference}: its centre was searched, "
                f"enlarged to that resolution (shown).")
    return (f"This photo looks about {factor:.1f}x finer than {reference}: it was searched shrunk to that "
            f"resolution, its surroundings mirrored (shown).")


def prerender_in_background(retriever: Retriever, gallery: str = "photo") -> threading.Thread:
    """Run :meth:`Retriever.prerender_thumbnails` in a daemon thread at low CPU priority (Linux: nice 10).

    Searches answered meanwhile render what they need themselves (thumbnails are written atomically).
    """
    def work() -> None:
        with contextlib.suppress(AttributeError, OSError):  # a thread's own priority: Linux only
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            made = retriever.prerender_thumbnails(gallery)
        except OSError as err:  # e.g. the cache folder removed while the server shuts down
            log.info("stopped making thumbnails ahead: %s", err)
            return
        log.info("made %d %s thumbnails ahead of the first searches", made, gallery)

    thread = threading.Thread(target=work, name=f"thumbnails-{gallery}", daemon=True)
    thread.start()
    return thread


def release_memory() -> None:
    """Hand the heap's free memory back to the system.

    glibc keeps the memory of freed large buffers (a decoded 2048^2 image is 12 MB) for reuse, so a
    server's resident size would otherwise stay at its largest query's peak.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def gallery_id(path: str | Path, root: str | Path | None) -> str:
    """A gallery file's stable public name: its path inside the gallery folder, with ``/`` separators.

    Files outside ``root`` (or without one) are named ``<folder>/<file>``, the class layout.
    """
    path = Path(path)
    if root:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return f"{path.parent.name}/{path.name}"


def _upsample(weights: torch.Tensor, size: int) -> np.ndarray:
    """Grid attention weights (B, h, w) -> (B, size, size) maps scaled to a maximum of one."""
    heat = F.interpolate(weights[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    heat = heat / heat.amax((1, 2), keepdim=True).clamp_min(1e-12)
    return heat.numpy().astype(np.float32)


@torch.no_grad()
def attention_maps(model: CrossModalModel, images: Sequence[Any], modality: str) -> np.ndarray:
    """Attention maps of several images in one batch: (n, S, S) float32 in [0, 1].

    Raises:
        ImageLoadError: a file cannot be decoded.
    """
    if not images:
        size = model.config.image_size
        return np.zeros((0, size, size), np.float32)
    model.eval()
    x = model.preprocess(list(images), modality)
    return _upsample(model.encode(x, modality)["weights"], x.shape[-1])


# ---------------------------------------------------------------------------- pictures

_HEAT_ANCHORS = np.array([  # a dark-blue -> cyan -> yellow -> red ramp, readable over photos and paper
    [0.00, 20, 20, 120], [0.35, 0, 160, 230], [0.60, 250, 230, 40], [0.85, 245, 110, 20], [1.00, 200, 0, 0],
], dtype=np.float32)


def heat_colors(heat: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 colours (an (h, w, 3) array)."""
    heat = np.clip(np.asarray(heat, np.float32), 0.0, 1.0)
    channels = [np.interp(heat, _HEAT_ANCHORS[:, 0], _HEAT_ANCHORS[:, c]) for c in (1, 2, 3)]
    return np.stack(channels, -1).astype(np.uint8)


def heatmap_overlay(image: Image.Image, heat: np.ndarray, strength: float = 0.6) -> Image.Image:
    """Blend an attention map over an image: where the model looked most is coloured warm and strongly.

    The map is stretched to its own minimum and maximum first; the least attended places stay
    uncoloured (and a flat map draws no colour at all).

    Args:
        image: any PIL image; the result has its size and is RGB.
        heat: (h, w) attention values; resized to the image.
        strength: the largest blend weight of the colour.
    """
    image = image.convert("RGB")
    heat = np.asarray(heat, np.float32)
    low, high = float(heat.min()), float(heat.max())
    # stretch to the map's own range: what matters is where the model looked more, not the absolute weight
    heat = (heat - low) / (high - low) if high - low > 1e-6 else np.zeros_like(heat)
    heat_img = Image.fromarray((heat * 255).astype(np.uint8)).resize(image.size, Image.Resampling.BILINEAR)
    h = np.asarray(heat_img, np.float32) / 255.0
    alpha = (strength * h)[..., None]
    blended = np.asarray(image, np.float32) * (1 - alpha) + heat_colors(h).astype(np.float32) * alpha
    return Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8))


def draw_marker(image: Image.Image, match: bool | None, size: int = THUMB_SIZE) -> Image.Image:
    """A square thumbnail with a coloured border and a corner badge: green tick = target class, red cross = not.

    ``match=None`` (nothing to judge against) draws a thin grey border and no badge. The whole
    image is kept (resized, not cropped), as the app shows whole scenes.
    """
    color = NEUTRAL_COLOR if match is None else MATCH_COLOR if match else MISS_COLOR
    border = max(3, size // 32) if match is not None else 2
    thumb = image.convert("RGB").resize((size - 2 * border, size - 2 * border), Image.Resampling.BILINEAR)
    out = Image.new("RGB", (size, size), color)
    out.paste(thumb, (border, border))
    if match is None:
        return out
    draw = ImageDraw.Draw(out)
    r = max(8, size // 11)  # badge radius
    cx, cy = size - border - r - 3, border + r + 3
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color, outline="white", width=2)
    w = max(2, r // 3)
    if match:
        draw.line([(cx - r * 0.5, cy), (cx - r * 0.1, cy + r * 0.45), (cx + r * 0.55, cy - r * 0.45)],
                  fill="white", width=w, joint="curve")
    else:
        d = r * 0.45
        draw.line([(cx - d, cy - d), (cx + d, cy + d)], fill="white", width=w)
        draw.line([(cx - d, cy + d), (cx + d, cy - d)], fill="white", width=w)
    return out


def caption(hit: Hit) -> str:
    """A result's caption: rank, class (the predicted one, marked so, when unlabelled) and ranking score."""
    name = hit.label or (f"{hit.predicted} (predicted)" if hit.predicted else "unlabelled")
    return f"#{hit.rank} {name} · {hit.score:.3f}"


def _save_atomically(image: Image.Image, path: Path, **save_options: Any) -> None:
    """Write an image beside ``path`` and rename it there: a concurrent reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    image.save(tmp, **save_options)
    tmp.replace(path)


def _write_thumbnail(image: Image.Image, match: bool | None, path: Path) -> None:
    """A result thumbnail (see :func:`draw_marker`) as the JPEG the app serves."""
    _save_atomically(draw_marker(image, match), path, format="JPEG", quality=88)


def _chip_image(path: str | Path, window: Sequence[float]) -> Image.Image:
    """The picture of a scene chip: its window of the scene at CHIP_VIEW_SIDE pixels."""
    with Scene.pixels(path) as scene:
        return scene.window_image(window, CHIP_VIEW_SIDE)


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when two paths name the same file or files with the same bytes (an uploaded copy of a gallery file)."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        if Path(a).stat().st_size != Path(b).stat().st_size:
            return False
        return _digest(a) == _digest(b)
    except OSError:
        return False


def _digest(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()


# ---------------------------------------------------------------------------- indexes


def load_current_index(model: CrossModalModel, folder: str | Path | None, modality: str, index_dir: str | Path,
                       scenes: Sequence[str | Path] = (), gsd: float | None = None
                       ) -> tuple[EmbeddingIndex | None, str]:
    """The index in ``index_dir`` if this model built it, and why it should be rebuilt ('' if it should not).

    Nothing is embedded: the folder's files (and the scenes) are compared with what the index
    recorded of them (size, mtime, chipping settings; see :func:`~crossmodal.gallery.plan_index`).

    Returns:
        ``(index, "")`` when it matches the files; ``(index, reason)`` when it is a valid index of
        this model but files changed since (it can still be served meanwhile); ``(None, reason)``
        when there is no usable index.
    """
    plan = plan_index(model, index_dir, folder, scenes, modality, gsd)
    reason = plan.reason()
    if plan.old is not None and reason and not plan.files_unchanged:  # the update prints how many changed
        reason = f"the {modality} folder changed since it was built"
    return plan.old, reason


def open_index(model: CrossModalModel, folder: str | Path | None, modality: str, index_dir: str | Path,
               progress: bool = True, stale_ok: bool = False, scenes: Sequence[str | Path] = (),
               gsd: float | None = None) -> EmbeddingIndex:
    """Load the index in ``index_dir`` if it was built by this model from these files; else build or update it.

    The folder is taken at any depth (see :func:`~crossmodal.gallery.build_index`); ``scenes`` are
    large rasters cut into chips. An update embeds only new or changed files, so the index always
    matches what is on disk; with ``stale_ok`` a valid index of an earlier state is returned as it is.
    """
    index, reason = load_current_index(model, folder, modality, index_dir, scenes, gsd)
    if index is not None and (not reason or stale_ok):
        return index
    if progress:
        print(f"building the {modality} index in {index_dir} ({reason})", flush=True)
    index, report = build_index(model, index_dir, images=folder, scenes=scenes, modality=modality, gsd=gsd,
                                progress=progress)
    for line in report.skipped.lines():
        print(f"skipped {line}", flush=True)
    for line in report.chips_skipped.lines():
        print(f"skipped chips: {line}", flush=True)
    return index


# ---------------------------------------------------------------------------- the retriever


class Retriever:
    """A model with its photo gallery index and, optionally, a sketch gallery index.

    Args:
        model: the cross-modal model (eval mode).
        photo_index: index of the photo gallery.
        sketch_index: index of the sketch gallery, or None (photo -> sketch search is then unavailable).
        thumb_dir: where rendered thumbnails are cached (default: a new temporary folder).
        exact: use exact cosine search instead of Annoy (for comparisons; Annoy is the default).
    """

    def __init__(self, model: CrossModalModel, photo_index: EmbeddingIndex,
                 sketch_index: EmbeddingIndex | None = None, thumb_dir: str | Path | None = None,
                 exact: bool = False):
        """Hold a model and its gallery indexes; see the class docstring for the arguments."""
        self.model = model.eval()
        self.indexes: dict[str, EmbeddingIndex] = {"photo": photo_index}
        if sketch_index is not None:
            self.indexes["sketch"] = sketch_index
        if thumb_dir is None:  # a private temporary folder, removed when the retriever goes away
            self.thumb_dir = Path(tempfile.mkdtemp(prefix="crossmodal-thumbs-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.thumb_dir), True)
        else:
            self.thumb_dir = Path(thumb_dir)
            self.thumb_dir.mkdir(parents=True, exist_ok=True)
        self.exact = exact
        self.classifier = model.classifier_weights()  # results are ranked by crossmodal.ranking
        self._cache: OrderedDict[tuple, EncodedQuery] = OrderedDict()
        self._counts: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        # ids are relative to the folder each index was built from (its real path: indexes store real paths)
        self._roots = {m: Path(index.info["images"]).resolve() if index.info.get("images") else None
                       for m, index in self.indexes.items()}
        self._files: dict[str, dict[str, str]] = {}  # id -> path of each gallery, made on first use
        self._missing: set[str] = set()  # gallery files found gone while serving: skipped, logged once
        self.stale: dict[str, str] = {}  # modality -> why its index should be rebuilt (see :meth:`open`)
        self.overviews = Overviews()  # reduced pictures of the scenes in the photo gallery, read once each

    @classmethod
    def open(cls, checkpoint: str | Path, photos_dir: str | Path | None, sketches_dir: str | Path | None,
             index_dir: str | Path, progress: bool = True, thumb_dir: str | Path | None = None,
             stale_ok: bool = False, scenes: Sequence[str | Path] = (), gsd: float | None = None) -> Retriever:
        """Load a checkpoint and the gallery indexes under ``index_dir`` (``photo/``, ``sketch/``); build missing ones.

        Args:
            stale_ok: keep a valid index of this checkpoint even if its folder changed since it was
                built (:attr:`stale` then says what to rebuild), so that a server can answer at once
                and rebuild in the background; missing or unusable indexes are always built.
            scenes: large rasters (GeoTIFF, or PNG/JPEG with ``gsd``) whose chips join the photo gallery.
            gsd: the scenes' ground resolution in metres a pixel (overrides their georeferencing).

        Raises:
            CheckpointError: the checkpoint cannot be loaded.
            DatasetNotFoundError: a gallery folder is missing or has none of the model's classes.
            ValueError: an index that must be built cannot be written (before any embedding).
        """
        model = load_checkpoint(checkpoint)
        index_dir = Path(index_dir)
        if not photos_dir and not scenes:
            raise ValueError("a photo gallery needs a folder of photos, scenes, or both")
        sources = {"photo": (photos_dir, tuple(scenes)), "sketch": (sketches_dir, ())}
        indexes, stale = {}, {}
        for modality, (folder, scene_files) in sources.items():
            if folder or scene_files:
                index, reason = load_current_index(model, folder, modality, index_dir / modality, scene_files, gsd)
                if index is None or (reason and not stale_ok):
                    index = open_index(model, folder, modality, index_dir / modality, progress, scenes=scene_files,
                                       gsd=gsd)
                elif reason:
                    stale[modality] = reason
                indexes[modality] = index
        retriever = cls(model, indexes["photo"], indexes.get("sketch"), thumb_dir)
        retriever.stale = stale
        return retriever

    @property
    def class_names(self) -> list[str]:
        """The classes the model knows, in its order."""
        return list(self.model.class_names)

    def has_gallery(self, modality: str) -> bool:
        """True when a gallery of this modality is indexed."""
        return modality in self.indexes

    def gallery_size(self, modality: str) -> int:
        """Number of images in a gallery (0 when absent)."""
        return len(self.indexes[modality]) if modality in self.indexes else 0

    def encode(self, source: Any, modality: str) -> EncodedQuery:
        """Encode a query; repeated file queries (the same upload searched in two galleries) are cached.

        Raises:
            ImageLoadError, BlankSketchError: see :func:`encode_query`.
        """
        key = None
        if isinstance(source, (str, Path)):
            try:
                stat = Path(source).stat()
                key = (str(source), stat.st_mtime_ns, stat.st_size, modality)
            except OSError as err:
                raise ImageLoadError(f"cannot read image {source}: {err}") from err
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
        query = self._encode_large_photo(source) if key is not None and modality == "photo" else None
        # a photo is seen at the resolution at which it looks most like the photo gallery
        query = query or encode_query(self.model, source, modality, gallery=self.indexes["photo"])
        if query.decoded_pixels > TRIM_AFTER_PIXELS:
            release_memory()
        if key is not None:
            with self._lock:
                self._cache[key] = query
                while len(self._cache) > 16:
                    self._cache.popitem(last=False)
        return query

    def class_counts(self, modality: str) -> dict[str, int]:
        """How many images of each of the model's classes a gallery holds (zeros when there is no gallery)."""
        if modality not in self._counts:
            counts = Counter(self.indexes[modality].labels if modality in self.indexes else [])
            self._counts[modality] = {c: counts[c] for c in self.class_names}
        return self._counts[modality]

    def _encode_large_photo(self, path: str | Path) -> EncodedQuery | None:
        """A photo covering several gallery scenes, searched by its chip most like the photo gallery; else None.

        The query then shows the whole photo with that chip outlined, and its ``note`` says how it was read.
        """
        if not is_large_photo(path):
            return None
        try:
            chosen = best_query_chip(self.model, self.indexes["photo"], path)
            with Scene.pixels(path) as scene:
                overview = scene.overview(DISPLAY_SIDE)
        except SceneError:
            return None  # not readable as a raster: read as a plain image, as any other query
        query = encode_query(self.model, chosen.image, "photo", at_training_resolution=False)  # chips: known
        view = draw_footprints(overview, chosen.photo_size, [{"rank": 1, "window": chosen.window}])
        return replace(query, image=view, decoded_pixels=chosen.photo_size[0] * chosen.photo_size[1],
                       note=chosen.describe())

    def search(self, source: Any, query_modality: str, gallery: str, k: int = DEFAULT_K,
               target_class: str | None = None, leave_out_query: bool = False) -> SearchResult:
        """Search a gallery with one query and compute the class-wise numbers.

        Args:
            source: the query (file, PIL image, array, Sketchpad dict) or an :class:`EncodedQuery`.
            query_modality: ``"sketch"`` or ``"photo"``.
            gallery: ``"photo"`` or ``"sketch"``: which gallery to search.
            k: results to return (1..MAX_K; larger values are clipped to the gallery size).
            target_class: the class results are judged against; None or unknown = the top prediction.
            leave_out_query: drop gallery files with the same bytes as the query file (a gallery photo
                searched for similar scenes is not its own first result).

        Raises:
            ImageLoadError: the query file is not a readable image.
            BlankSketchError: a blank sketch.
            ValueError: bad k, or no gallery of that modality.
        """
        started = time.perf_counter()
        if gallery not in self.indexes:
            raise ValueError(f"no {gallery} gallery is loaded: start the app with a {gallery} folder")
        k = int(k)
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be between 1 and {MAX_K}, not {k}")
        query = source if isinstance(source, EncodedQuery) else self.encode(source, query_modality)
        index = self.indexes[gallery]
        wanted = max(k, CLASS_TOP)

        def keep(i: int) -> bool:
            path = index.paths[i]
            leave_out = leave_out_query and isinstance(source, (str, Path)) and same_file(source, path)
            return not leave_out and self._present(path, gallery)

        matches = rank_matches(index, query.embedding, wanted, self.classifier, keep=keep,
                               spare=len(self._missing) + int(leave_out_query), exact=self.exact)
        hits = [self._hit(gallery, rank, m) for rank, m in enumerate(matches, 1)]
        predicted = top_predictions(query.probabilities, self.class_names)
        target = target_class if target_class in self.class_names else predicted[0][0]
        judged = [h.judged_class for h in hits]
        return SearchResult(
            query=query, gallery=gallery, k=k, target_class=target, predicted=predicted, hits=hits[:k],
            precision_at_k=precision_at_k(judged, target, k),
            class_precision=class_precision(judged, self.class_names, CLASS_TOP),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            unlabelled_at_k=sum(not h.label for h in hits[:k]),
            unlabelled_top=sum(not h.label for h in hits[:CLASS_TOP]))

    def _hit(self, gallery: str, rank: int, match: Match) -> Hit:
        """A match as a hit: the item's public id, label, predicted class and, for a chip, where it lies."""
        index, i = self.indexes[gallery], match.item
        if "source" not in index.items:  # an index made from embeddings alone: files and labels only
            return Hit(rank, gallery_id(index.paths[i], self._roots.get(gallery)), index.paths[i], index.labels[i],
                       match.score, extra={"similarity": round(match.similarity, 4)})
        record = item_record(index, i, match)
        extra = {key: value for key, value in record.items() if key not in ("id", "class")}
        return Hit(rank, record["id"], index.paths[i], index.labels[i], match.score, record.get("predicted_class", ""),
                   {**extra, "similarity": round(match.similarity, 4)}, chip_window(index, i))

    def _item_id(self, gallery: str, i: int) -> str:
        index = self.indexes[gallery]
        if "source" not in index.items:
            return gallery_id(index.paths[i], self._roots.get(gallery))
        return item_record(index, i)["id"]

    def _present(self, path: str, gallery: str) -> bool:
        """False for a gallery file that is gone from the disk (logged the first time it is found gone)."""
        if path in self._missing:
            return False
        if os.path.exists(path):
            return True
        with self._lock:
            if path not in self._missing:
                self._missing.add(path)
                log.warning("gallery file %s is gone from the %s gallery; skipped until the index is rebuilt",
                            gallery_id(path, self._roots.get(gallery)), gallery)
        return False

    def gallery_file(self, gallery: str, item_id: str) -> Path | None:
        """The file on this machine of a gallery item's public id; None when the id is not in the index.

        Only ids of indexed items resolve: nothing else under the gallery folder, and no path a
        client makes up (``..`` included), ever maps to a file.
        """
        if gallery not in self.indexes:
            return None
        files = self._files.get(gallery)
        if files is None:
            files = {self._item_id(gallery, i): i for i in range(len(self.indexes[gallery]))}
            self._files[gallery] = files
        i = files.get(item_id)
        if i is None:
            return None
        path = self.indexes[gallery].paths[i]
        if path in self._missing:
            return None
        window = chip_window(self.indexes[gallery], i)
        return self._chip_file(path, window) if window is not None else Path(path)

    def _chip_file(self, path: str, window: tuple[float, ...]) -> Path:
        """A chip of a scene as a PNG in ``thumb_dir`` (rendered once), for clients to fetch."""
        key = hashlib.sha1(f"chip|{path}|{window}".encode()).hexdigest()[:20]
        out = self.thumb_dir / f"chip-{key}.png"
        if not out.exists():
            _save_atomically(_chip_image(path, window), out, format="PNG")
        return out

    def thumbnails(self, result: SearchResult, attention: bool = False, judged: bool = True) -> list[tuple[str, str]]:
        """(thumbnail file, caption) of each result, bordered green / red for the target class.

        With ``judged=False`` (the user has not named the class they meant) every border is neutral.
        Thumbnails are rendered once per (file, marker, attention) and cached in ``thumb_dir``.
        """
        def marker(hit: Hit) -> bool | None:
            return hit.judged_class == result.target_class if judged else None

        wanted = [(h, self._thumb_path(h.path, h.id, marker(h), attention)) for h in result.hits]
        # a file gone since the search gets a grey tile (not cached); the next search skips it
        wanted = [(h, p if p.exists() or self._present(h.path, result.gallery) else self._placeholder())
                  for h, p in wanted]
        missing = [(h, p) for h, p in wanted if not p.exists()]
        if missing:
            images = [self._hit_image(hit) for hit, _ in missing]
            heats = attention_maps(self.model, images, result.gallery) if attention else None
            for i, (hit, path) in enumerate(missing):
                image = images[i]
                if heats is not None:
                    image = heatmap_overlay(image, heats[i])
                _write_thumbnail(image, marker(hit), path)
        return [(str(p), caption(h)) for h, p in wanted]

    def prerender_thumbnails(self, gallery: str = "photo", limit: int = PRERENDER_LIMIT,
                             stop: threading.Event | None = None) -> int:
        """Make the unjudged thumbnail of every whole image of a gallery ahead of its first search.

        A first search otherwise decodes and renders each result it shows for the first time, a
        good part of its time. Scene chips are left to be made on demand, and so is a gallery of
        more than ``limit`` whole images (minutes of work at start-up). ``stop`` ends it early.
        Returns how many thumbnails were made.
        """
        index = self.indexes.get(gallery)
        if index is None:
            return 0
        whole = [i for i in range(len(index.paths)) if chip_window(index, i) is None]
        if len(whole) > limit:
            return 0
        made = 0
        for i in whole:
            if stop is not None and stop.is_set():
                break
            path = index.paths[i]
            out = self._thumb_path(path, self._item_id(gallery, i), None, False)
            if out.exists() or not self._present(path, gallery):
                continue
            try:
                image = load_image(path, max_side=1024)
            except ImageLoadError:
                continue  # the search shows why, if it is ever a result
            _write_thumbnail(image, None, out)
            made += 1
        return made

    @staticmethod
    def _hit_image(hit: Hit) -> Image.Image:
        """The picture of a hit: its file, or for a chip the chip's window of its scene (what its id names)."""
        if hit.chip is not None:
            return _chip_image(hit.path, hit.chip)
        return load_image(hit.path, max_side=1024)

    def scene_overviews(self, gallery: str, results: Sequence[dict[str, Any]]) -> list[tuple[Image.Image, str]]:
        """For each scene with a result: its overview with the results' footprints numbered by rank, and a caption.

        Args:
            gallery: the gallery searched.
            results: result records (as in :meth:`SearchResult.to_json`); those with ``scene`` and
                ``window`` are drawn, in the order of each scene's best result (the best overall in red).
        """
        index = self.indexes.get(gallery)
        paths = {s["id"]: s["path"] for s in (index.info.get("sources") or []) if s.get("kind") == "scene"} \
            if index is not None else {}
        by_scene: dict[str, list[dict[str, Any]]] = {}
        for record in results:
            if record.get("scene") in paths and record.get("window"):
                by_scene.setdefault(record["scene"], []).append({"rank": record["rank"], "window": record["window"]})
        out = []
        for scene, hits in by_scene.items():
            try:
                image = self.overviews.draw(paths[scene], hits)
            except SceneError:  # the scene is gone or damaged since it was indexed
                log.warning("scene %s cannot be read; its results are shown without an overview", scene)
                continue
            ranks = ", ".join(f"#{h['rank']}" for h in hits)
            out.append((image, f"{scene}: results {ranks}"))
        return out

    def _placeholder(self) -> Path:
        """A grey tile shown in place of a gallery file that can no longer be read."""
        path = self.thumb_dir / f"missing-{THUMB_SIZE}.jpg"
        if not path.exists():
            _save_atomically(Image.new("RGB", (THUMB_SIZE, THUMB_SIZE), (200, 200, 200)), path, format="JPEG")
        return path

    def _thumb_path(self, path: str, item_id: str, match: bool | None, attention: bool) -> Path:
        """Where the thumbnail of one gallery item (file and id: a chip is its scene file and a window) is cached."""
        fields = f"{_THUMB_VERSION}|{path}|{item_id}|{match}|{attention}|{THUMB_SIZE}"
        key = hashlib.sha1(fields.encode()).hexdigest()[:20]
        return self.thumb_dir / f"{key}.jpg"

    @staticmethod
    def query_view(query: EncodedQuery, attention: bool = False, size: int = 320) -> Image.Image:
        """The query as the app shows it: resized to ``size`` pixels, with its attention heat map when asked."""
        image = query.image.copy()
        image.thumbnail((size, size), Image.Resampling.BILINEAR)
        return heatmap_overlay(image, query.attention) if attention else image
