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

import hashlib
import json
import shutil
import tempfile
import threading
import time
import weakref
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from .checkpoint import load_checkpoint
from .data import ImageLoadError, is_blank_sketch, load_image, scan_folder
from .index import EmbeddingIndex, IndexMismatchError, IndexNotFoundError, build_folder_index
from .model import MODALITIES, CrossModalModel

DEFAULT_K = 12  # results shown by default
MAX_K = 50  # largest k the app offers
CLASS_TOP = 50  # class-wise precision is computed over this many top results (the paper's top-50 chart)
TOP_PREDICTIONS = 3  # predicted classes shown for a query
THUMB_SIZE = 192  # side of a result thumbnail, pixels
DISPLAY_SIDE = 512  # queries are kept at most this large for display (recent queries are cached)
MATCH_COLOR = (34, 160, 70)  # border of a result whose class is the target class
MISS_COLOR = (214, 45, 45)  # border of a result of another class
NEUTRAL_COLOR = (200, 204, 210)  # border of a result while no intended class is chosen: nothing is judged
_THUMB_VERSION = "v2"  # part of the thumbnail cache key: change it when drawing changes


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


@dataclass(frozen=True)
class Hit:
    """One search result: rank from 1, gallery file, class and cosine similarity to the query."""

    rank: int
    path: str
    label: str
    score: float


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

    def to_json(self) -> dict[str, Any]:
        """The machine-readable result: plain values only."""
        return {
            "query_modality": self.query.modality,
            "gallery": self.gallery,
            "k": self.k,
            "target_class": self.target_class,
            "predicted": [[c, round(p, 4)] for c, p in self.predicted],
            "precision_at_k": round(self.precision_at_k, 4),
            "class_precision_top50": {c: round(v, 4) for c, v in self.class_precision.items()},
            "results": [{"rank": h.rank, "path": h.path, "class": h.label, "score": round(h.score, 4)}
                        for h in self.hits],
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


def _as_image(source: Any) -> Image.Image:
    """A query as an RGB PIL image; accepts files, PIL images, RGB(A)/gray arrays and Sketchpad dicts."""
    if isinstance(source, dict):  # a gr.Sketchpad / gr.ImageEditor value: the composite is the drawing
        source = source.get("composite")
    if source is None:
        raise BlankSketchError("the query is empty: draw something or upload an image")
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8:
            source = np.clip(source, 0, 255).astype(np.uint8)
        source = Image.fromarray(source)
    return load_image(source)


@torch.no_grad()
def encode_query(model: CrossModalModel, source: Any, modality: str) -> EncodedQuery:
    """Decode one query and run the model once: embedding, class probabilities and attention map.

    Args:
        model: the cross-modal model.
        source: a file path, PIL image, numpy image or Sketchpad dict (``composite`` is used).
        modality: ``"photo"`` or ``"sketch"``.

    Raises:
        ImageLoadError: the file is not a readable image (or is too large to decode safely).
        BlankSketchError: a sketch without strokes.
        ValueError: unknown modality.
    """
    if modality not in MODALITIES:
        raise ValueError(f"modality must be 'photo' or 'sketch', not {modality!r}")
    image = _as_image(source)
    x = model.preprocess([image], modality)
    if modality == "sketch" and is_blank_sketch((x[0].numpy() * 255).astype(np.uint8)):
        raise BlankSketchError("the sketch is blank: draw something")
    model.eval()
    out = model.encode(x, modality)
    embedding = F.normalize(out["V"], dim=1)[0].numpy().astype(np.float32)
    probabilities = torch.softmax(out["proto_logits"], 1)[0].numpy()
    image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.BILINEAR)  # kept for display only
    return EncodedQuery(modality, image, embedding, probabilities, _upsample(out["weights"], x.shape[-1])[0])


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


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


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
    """A result's caption: rank, class and cosine score (the thumbnail's badge shows match or not)."""
    return f"#{hit.rank} {hit.label} · {hit.score:.3f}"


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


def gallery_samples(folder: str | Path, class_names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Absolute paths and classes of a gallery folder's images, restricted to the model's classes.

    Raises:
        DatasetNotFoundError: the folder is missing or has none of the classes.
    """
    samples = scan_folder(folder, tuple(class_names))
    return [str(s.path.resolve()) for s in samples], [s.label for s in samples]


def open_index(model: CrossModalModel, folder: str | Path, modality: str, index_dir: str | Path,
               progress: bool = True) -> EmbeddingIndex:
    """Load the index in ``index_dir`` if it was built by this model from these files; else build it.

    An index is rebuilt when it is missing, damaged, from another checkpoint, or when the
    folder's image files changed (added, removed or renamed), so it always matches what is on disk.
    """
    fingerprint = model.info.get("fingerprint", "")
    paths, _ = gallery_samples(folder, model.class_names)
    skipped_file = Path(f"{Path(index_dir).absolute()}.skipped.json")  # unreadable files, not a reason to rebuild
    try:
        index = EmbeddingIndex.load(index_dir, fingerprint=fingerprint)
        unreadable = set(json.loads(skipped_file.read_text())) if skipped_file.is_file() else set()
        if index.modality == modality and set(index.paths) == set(paths) - unreadable:
            return index
        reason = f"the {modality} folder changed since it was built"
    except IndexNotFoundError:
        reason = "no index yet"
    except IndexMismatchError as err:
        reason = str(err).split(";")[0]
    except (OSError, ValueError) as err:  # an unreadable list of skipped files
        reason = f"unreadable index files ({err})"
    if progress:
        print(f"building the {modality} index in {index_dir} ({reason})", flush=True)
    index, skipped = build_folder_index(model, folder, modality, index_dir, progress=progress)
    for path, why in skipped:
        print(f"skipped unreadable file {path}: {why}", flush=True)
    skipped_file.write_text(json.dumps(sorted(str(Path(p).resolve()) for p, _ in skipped)))
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
        self._cache: OrderedDict[tuple, EncodedQuery] = OrderedDict()
        self._counts: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, checkpoint: str | Path, photos_dir: str | Path, sketches_dir: str | Path | None,
             index_dir: str | Path, progress: bool = True, thumb_dir: str | Path | None = None) -> Retriever:
        """Load a checkpoint and the gallery indexes under ``index_dir`` (``photo/``, ``sketch/``); build missing ones.

        Raises:
            CheckpointError: the checkpoint cannot be loaded.
            DatasetNotFoundError: a gallery folder is missing or has none of the model's classes.
        """
        model = load_checkpoint(checkpoint)
        index_dir = Path(index_dir)
        photo_index = open_index(model, photos_dir, "photo", index_dir / "photo", progress)
        sketch_index = open_index(model, sketches_dir, "sketch", index_dir / "sketch", progress) \
            if sketches_dir else None
        return cls(model, photo_index, sketch_index, thumb_dir)

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
        query = encode_query(self.model, source, modality)
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
        found = index.search(query.embedding, k=min(wanted + int(leave_out_query), len(index)), exact=self.exact)
        if leave_out_query and isinstance(source, (str, Path)):
            found = [h for h in found if not same_file(source, h.path)]
        found = sorted(found, key=lambda h: -h.score)[:wanted]  # Annoy is approximate: show best first regardless
        hits = [Hit(rank, h.path, h.label, float(h.score)) for rank, h in enumerate(found, 1)]
        predicted = top_predictions(query.probabilities, self.class_names)
        target = target_class if target_class in self.class_names else predicted[0][0]
        labels = [h.label for h in hits]
        return SearchResult(
            query=query, gallery=gallery, k=k, target_class=target, predicted=predicted, hits=hits[:k],
            precision_at_k=precision_at_k(labels, target, k),
            class_precision=class_precision(labels, self.class_names, CLASS_TOP),
            latency_ms=(time.perf_counter() - started) * 1000.0)

    def thumbnails(self, result: SearchResult, attention: bool = False, judged: bool = True) -> list[tuple[str, str]]:
        """(thumbnail file, caption) of each result, bordered green / red for the target class.

        With ``judged=False`` (the user has not named the class they meant) every border is neutral.
        Thumbnails are rendered once per (file, marker, attention) and cached in ``thumb_dir``.
        """
        def marker(hit: Hit) -> bool | None:
            return hit.label == result.target_class if judged else None

        wanted = [(h, self._thumb_path(h.path, marker(h), attention)) for h in result.hits]
        missing = [(h, p) for h, p in wanted if not p.exists()]
        if missing:
            heats = attention_maps(self.model, [h.path for h, _ in missing], result.gallery) if attention else None
            for i, (hit, path) in enumerate(missing):
                image = load_image(hit.path, max_side=1024)
                if heats is not None:
                    image = heatmap_overlay(image, heats[i])
                thumb = draw_marker(image, marker(hit))
                tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
                thumb.save(tmp, format="JPEG", quality=88)
                tmp.replace(path)
        return [(str(p), caption(h)) for h, p in wanted]

    def _thumb_path(self, path: str, match: bool | None, attention: bool) -> Path:
        key = hashlib.sha1(f"{_THUMB_VERSION}|{path}|{match}|{attention}|{THUMB_SIZE}".encode()).hexdigest()[:20]
        return self.thumb_dir / f"{key}.jpg"

    @staticmethod
    def query_view(query: EncodedQuery, attention: bool = False, size: int = 320) -> Image.Image:
        """The query as the app shows it: resized to ``size`` pixels, with its attention heat map when asked."""
        image = query.image.copy()
        image.thumbnail((size, size), Image.Resampling.BILINEAR)
        return heatmap_overlay(image, query.attention) if attention else image
