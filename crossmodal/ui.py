"""What the demo app shows: result panels, summaries, chart frames and the model card, as plain values.

``app.py`` lays out the Gradio components and wires events to these functions; everything here
takes a :class:`~crossmodal.retrieval.Retriever` or a :class:`~crossmodal.retrieval.SearchResult`
and returns values Gradio components accept (Markdown strings, ``(image, caption)`` lists,
DataFrames for ``gr.BarPlot``, JSON-ready dicts), so tests call it without a browser.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from .data import ImageLoadError, ImageTooLargeError
from .retrieval import DEFAULT_K, MAX_K, BlankSketchError, Retriever, SearchResult
from .service import check_flag, check_k, check_target

AUTO = "auto"  # the target-class dropdown value meaning "the predicted class"
PANEL = ("predicted", "summary", "gallery", "chart", "query", "json")  # what a search handler returns, in order
DRAW_HINT = "✏️ Draw a scene as seen from above: results appear as you draw."
BLANK_HINT = "✏️ The canvas is blank: draw something and results appear as you draw."
DEMO_BANNER = """**You are looking at the synthetic demo world**: generated scenes and sketches searched with the
small model `checkpoints/demo.pt`, so that the app works on a fresh machine without any dataset. To search real
aerial imagery, run `python -m crossmodal download ucmerced` (UC Merced photos into
`~/.cache/crossmodal/data/ucmerced`; put Earth on Canvas sketches in `~/.cache/crossmodal/data/eoc-sketches`)
and restart, or start with `python app.py --photos DIR --sketches DIR` (model `checkpoints/ucm14.pt`)."""
LEGEND = ("Thumbnails: a **green** border and tick mark results of the target class, a **red** border "
          "and cross the others; P@k is the share of green among the first k. The bar chart is the "
          "class-wise precision of the top 50 results for this query (the paper's per-class P@50). Results "
          "without a label (an unlabelled folder, chips of a scene) are captioned with the model's predicted "
          "class, marked *(predicted)*, and judged by it.")


class GalleryFolders(Protocol):
    """Where the served galleries come from (the app's settings satisfy this)."""

    photos: Path | None
    sketches: Path | None
    scenes: tuple[Path, ...]


# ---------------------------------------------------------------------------- search panels


def user_message(err: ImageLoadError) -> str:
    """A readable reason an image could not be used, without server paths."""
    cause = err.__cause__
    if isinstance(err, ImageTooLargeError):
        width, height = err.size
        return (f"This image is {width:,} x {height:,} pixels, more than the {err.max_pixels / 1e6:.1f}-megapixel "
                f"limit. Please downscale it, e.g. to {int(err.max_pixels ** 0.5):,} pixels a side, and try again.")
    if isinstance(cause, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ("This image is too large to decode safely (Pillow's decompression-bomb guard). "
                "Please downscale it, e.g. to 4000 pixels a side, and try again.")
    if isinstance(cause, UnidentifiedImageError):
        return "This file is not an image that can be read (use PNG, JPEG, TIFF, WebP, BMP or GIF)."
    if isinstance(cause, FileNotFoundError):
        return "The uploaded file is gone; please upload it again."
    if cause is not None and "truncat" in str(cause).lower():
        return "This image file is truncated or damaged; please upload a complete file."
    text = str(cause or err)
    return f"This image could not be read: {text.split(': ', 1)[-1] if '/' in text else text}"


def empty_panel(message: str) -> tuple:
    """The values of a result panel that shows only a message (see ``PANEL``)."""
    return (None, message, [], chart_frame(None), None, {})


def chart_frame(result: SearchResult | None) -> pd.DataFrame:
    """The class-wise precision of the top 50 results as a DataFrame for ``gr.BarPlot``.

    Empty (no chart) when none of those results has a label: shares of predicted classes alone
    would only chart the model's own guesses.
    """
    if result is None or (result.hits and result.unlabelled_top >= min(len(result.hits), 50)
                          and result.unlabelled_top > 0):
        return pd.DataFrame({"class": [], "precision": [], "kind": []})
    return pd.DataFrame({
        "class": list(result.class_precision),
        "precision": [round(v, 3) for v in result.class_precision.values()],
        "kind": ["target class" if c == result.target_class else "other classes" for c in result.class_precision],
    })


def summary_markdown(result: SearchResult, gallery_size: int, chosen: bool) -> str:
    """One line above the gallery: target class, P@k and how long the search took."""
    shown = min(result.k, len(result.hits))
    matches = round(result.precision_at_k * shown)
    how = "your choice" if chosen else "predicted; pick another class on the left if you meant one"
    noun = "photos" if result.gallery == "photo" else "sketches"
    text = (f"**Target class: {result.target_class}** ({how}) · **P@{result.k} = {result.precision_at_k:.2f}"
            f"{' vs. predicted classes' if result.vs_predicted else ''}** ({matches} of {shown} results) · "
            f"{gallery_size:,} {noun} searched in {result.latency_ms:.0f} ms")
    if result.unlabelled_at_k == shown and shown:
        text += ("\n\nNo result has a label (an unlabelled folder or a scene): each shows the model's predicted "
                 "class, and P@k counts those predictions, not ground truth; the class chart is hidden.")
    elif result.vs_predicted:
        text += (f"\n\n{result.unlabelled_at_k} of these {shown} results have no label: they are counted by the "
                 f"model's predicted class (marked *predicted*), not by ground truth.")
    if result.query.note:
        text += f"\n\n{result.query.note}"
    return text


def run_search(retriever: Retriever, source: Any, query_modality: str, gallery: str, k: float,
               target: str | None) -> SearchResult:
    """``retriever.search`` with every failure turned into a ``gr.Error`` the user can read.

    Raises:
        BlankSketchError: a blank sketch (the caller decides between a hint and an error).
        gr.Error: no gallery of that kind, an unreadable image, a bad k.
    """
    if not retriever.has_gallery(gallery):
        plural = "photos" if gallery == "photo" else "sketches"
        raise gr.Error(f"No {gallery} gallery is loaded: start the app with --{plural} DIR to search {plural}.")
    try:
        return retriever.search(source, query_modality, gallery, int(k), target)
    except BlankSketchError:
        raise
    except ImageLoadError as err:
        raise gr.Error(user_message(err)) from None
    except ValueError as err:
        raise gr.Error(str(err)) from None


def search_panel(retriever: Retriever, source: Any, query_modality: str, gallery: str, k: float = DEFAULT_K,
                 target: str | None = AUTO, attention: bool = False, live: bool = False) -> tuple:
    """Run one search and return a result panel's values (see ``PANEL``).

    Args:
        retriever: the search engine.
        source: the query: a file path, PIL image, array or Sketchpad dict; None when nothing was given.
        query_modality: ``"sketch"`` or ``"photo"``.
        gallery: ``"photo"`` or ``"sketch"``.
        k: number of results.
        target: the class to judge results against; ``"auto"`` / None = the predicted class.
        attention: draw attention heat maps over the query and the results.
        live: a search triggered while drawing: an empty query shows a hint instead of an error.

    Returns:
        (top-3 classes for ``gr.Label``, summary markdown, gallery items, chart DataFrame,
        query image, JSON result).

    Raises:
        gr.Error: a readable message for the user: blank canvas, unreadable or huge image, no gallery.
    """
    started = time.perf_counter()
    if source is None or (isinstance(source, dict) and source.get("composite") is None):
        if live:
            return empty_panel(DRAW_HINT)
        raise gr.Error("No query yet: draw something on the canvas or upload an image file.")
    try:  # values from the API are anything a client sends: refused with a short message, never echoed whole
        k, target = check_k(k), check_target(target, retriever.class_names, AUTO)
        attention = check_flag(attention, "attention")
    except ValueError as err:
        raise gr.Error(str(err)) from None
    chosen = target is not None
    try:
        result = run_search(retriever, source, query_modality, gallery, k, target)
    except BlankSketchError:
        if live:
            return empty_panel(BLANK_HINT)
        raise gr.Error("The sketch is blank: draw something first.") from None
    items = retriever.thumbnails(result, attention)
    view = Retriever.query_view(result.query, attention)
    payload = result.to_json()
    payload["search_ms"] = payload["latency_ms"]
    payload["latency_ms"] = round((time.perf_counter() - started) * 1000.0, 1)  # handler total, thumbnails included
    result.latency_ms = payload["latency_ms"]
    summary = summary_markdown(result, retriever.gallery_size(gallery), chosen)
    return dict(result.predicted), summary, items, chart_frame(result), view, payload


def scene_map(retriever: Retriever, gallery: str, payload: dict[str, Any] | None) -> list[tuple[Any, str]]:
    """Overviews of the scenes holding results of a search (its JSON ``payload``), footprints numbered by rank."""
    if not payload:
        return []
    return retriever.scene_overviews(gallery, payload.get("results", []))


def gallery_examples(retriever: Retriever, n: int = 8) -> list[str]:
    """A few gallery photos of different classes (whole images, not scene chips), as examples for the photo tab."""
    index = retriever.indexes["photo"]
    windows = index.items.get("window")
    seen, picks = set(), []
    for i, (path, label) in enumerate(zip(index.paths, index.labels)):
        if windows is not None and not np.isnan(windows[i]).any():
            continue
        if label not in seen and Path(path).is_file():
            seen.add(label)
            picks.append(path)
        if len(picks) >= n:
            break
    return picks


# ---------------------------------------------------------------------------- about


def load_eval_report(path: Path | None) -> dict[str, Any] | None:
    """An evaluation report written by ``python -m crossmodal evaluate --json``, or None."""
    if path is None or not Path(path).is_file():
        return None
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and "sketch_to_photo" in report else None


def model_card(retriever: Retriever, folders: GalleryFolders | None, report: dict[str, Any] | None) -> str:
    """The About tab's markdown: data, split, training time and retrieval numbers of the checkpoint.

    Args:
        retriever: the served model and galleries.
        folders: the gallery folders (the app's settings), or None to leave out the "This server" section.
        report: an evaluation report (see :func:`load_eval_report`), or None.
    """
    lines = ["### Model card", "", *_checkpoint_lines(retriever), "", "### Retrieval quality", "",
             *_quality_lines(retriever, report)]
    if folders is not None:
        lines += ["", "### This server", "", *_server_lines(retriever, folders)]
    return "\n".join(lines)


def _checkpoint_lines(retriever: Retriever) -> list[str]:
    """Model card bullets: the checkpoint, its classes, architecture, training data, time and validation."""
    model = retriever.model
    info = getattr(model, "info", {}) or {}
    meta = info.get("meta", {}) or {}
    config = model.config
    lines = [f"- **Checkpoint:** `{Path(info.get('path', '?')).name}` "
             f"(sha256 `{str(info.get('fingerprint', ''))[:12]}`)",
             f"- **Classes ({len(model.class_names)}):** {', '.join(model.class_names)}",
             f"- **Model:** {config.backbone} {tuple(config.widths)}, {config.image_size} px input, "
             f"{config.embed_dim}-d shared space, attention pooling {'on' if config.attention else 'off'}"]
    if meta.get("photos_dir"):  # folder names only: the paths are those of the training machine
        lines.append(f"- **Trained on:** photos `{Path(meta['photos_dir']).name}/`"
                     + (f", sketches `{Path(meta['sketches_dir']).name}/`" if meta.get("sketches_dir") else ""))
    n_photos, n_sketches = len(meta.get("train_photos", [])), len(meta.get("train_sketches", []))
    if n_photos or n_sketches:
        lines.append(f"- **Split:** {n_photos} training photos (numbers 00-69 of each class; 70-79 validation, "
                     f"80-99 test gallery never trained on), {n_sketches} real sketches trained on, "
                     f"{len(meta.get('heldout_sketches', []))} held out for evaluation")
    if meta.get("training_seconds"):
        lines.append(f"- **Training time:** {meta['training_seconds'] / 60:.1f} min"
                     + (f" on {meta['machine']}" if meta.get("machine") else "")
                     + (f", finished {meta['finished']}" if meta.get("finished") else ""))
    lines += _validation_lines(meta.get("validation") or {})
    if not meta.get("training_seconds") and not n_photos:
        lines.append("- **This checkpoint is untrained** (random weights): results are not meaningful.")
    return lines


def _validation_lines(validation: dict[str, Any]) -> list[str]:
    """The last epoch's validation numbers as one bullet (none when there are none)."""
    metrics = {k: v for k, v in validation.items()
               if isinstance(v, float) and any(word in k for word in ("accuracy", "mAP", "P@"))}
    if not metrics:
        return []
    return ["- **Validation (last epoch, photos 70-79):** " + ", ".join(
        f"{k.replace('_', ' ')} {v:.3f}" for k, v in metrics.items())]


def _quality_lines(retriever: Retriever, report: dict[str, Any] | None) -> list[str]:
    """The evaluation report as a table, or how to write one."""
    if not report:
        checkpoint = Path(Path((getattr(retriever.model, "info", {}) or {}).get("path", "CHECKPOINT.pt")).name)
        return [f"No evaluation report found. Write one with `python -m crossmodal evaluate --checkpoint "
                f"{checkpoint} --photos DIR --sketches DIR --json {checkpoint.with_suffix('.eval.json')}` "
                f"and restart the app."]
    lines = ["| direction | mAP | P@10 | queries | gallery |", "|---|---|---|---|---|"]
    for direction, name in (("sketch_to_photo", "sketch → photo"), ("photo_to_sketch", "photo → sketch")):
        r = report.get(direction, {})
        lines.append(f"| {name} | {r.get('mAP', float('nan')):.3f} | {r.get('P@10', float('nan')):.3f} | "
                     f"{report.get('n_queries', {}).get(direction, '?')} | "
                     f"{report.get('n_gallery', {}).get(direction, '?')} |")
    lines.append(f"\n(split `{report.get('split', '?')}`; sketches trained on are never queries)")
    return lines


def _server_lines(retriever: Retriever, folders: GalleryFolders) -> list[str]:
    """What this server searches: the gallery folders' names and sizes and the index settings."""
    sketches = f"`{folders.sketches.name}/`" if folders.sketches else "none"
    scenes = getattr(folders, "scenes", ()) or ()
    photos = f"`{folders.photos.name}/`" if folders.photos else "none"
    return [f"- photo gallery: {photos}" + (f" and {len(scenes)} scene(s) ({', '.join(p.name for p in scenes)})"
                                            if scenes else "")
            + f" ({retriever.gallery_size('photo'):,} items)",
            f"- sketch gallery: {sketches} ({retriever.gallery_size('sketch')} images)",
            f"- searched with Annoy ({retriever.indexes['photo'].n_trees} trees), top {MAX_K} at most"]


def class_ap_frame(report: dict[str, Any] | None, direction: str) -> pd.DataFrame:
    """Per-class AP of one direction of an evaluation report, for ``gr.BarPlot``."""
    per_class = (report or {}).get(direction, {}).get("per_class_AP", {})
    return pd.DataFrame({"class": list(per_class), "AP": [round(float(v), 3) for v in per_class.values()]})
