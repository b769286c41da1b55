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
import pandas as pd
from PIL import Image, UnidentifiedImageError

from .canvas import canvas_image, image_data_url
from .data import ImageLoadError, ImageTooLargeError
from .gallery import chip_window
from .retrieval import DEFAULT_K, MAX_K, BlankSketchError, Retriever, SearchResult
from .service import check_flag, check_k, check_target

AUTO = "auto"  # the target-class dropdown value meaning "not chosen": results are not judged
TARGET_LABEL = "Intended class"  # the label of the dropdown where the user names the class they meant
NOT_CHOSEN = "— not chosen: nothing judged —"
# Bar colours of the class-share chart. Always the same two kinds: Gradio's BarPlot keeps the colour
# domain of the first value it draws, so a kind that appears only later would draw no bar.
CHART_KINDS = ("class searched for", "other classes")
CHART_COLORS = {"class searched for": "#3b82f6", "other classes": "#9aa4b1"}
PANEL = ("predicted", "summary", "gallery", "chart", "query", "json")  # what a search handler returns, in order
DRAW_HINT = "Draw a scene as seen from above: results appear as you draw."
BLANK_HINT = "The canvas is blank: draw something and results appear as you draw."
PHOTO_HINT = ("Upload an aerial photo, or click one of the gallery's photos: matching sketches and similar "
              "scenes appear here.")
DEMO_BANNER = """**You are looking at the synthetic demo world**: scenes and sketches generated on this machine and
searched with the small demo model, so that the app works without any dataset. How well it does here says how
well the model tells the generated scene classes apart, not how it does on real imagery. To search real aerial
photos, download the UC Merced dataset (the README's section on your own imagery says how; one command) and
restart the app: it then serves those photos, and the Earth on Canvas sketches if you add them, with the model
trained on them."""
CITATIONS = """### Citations

- The method: Ushasi Chaudhuri, Biplab Banerjee, Avik Bhattacharya, Mihai Datcu, "Attention-driven cross-modal
  remote sensing image retrieval", IEEE International Geoscience and Remote Sensing Symposium (IGARSS), 2021
  ([search the paper](https://scholar.google.com/scholar?q=%22Attention-driven+cross-modal+remote+sensing+image+retrieval%22)).
- UC Merced Land Use photos: Yi Yang and Shawn Newsam, "Bag-of-visual-words and spatial extensions for land-use
  classification", ACM SIGSPATIAL GIS 2010, [doi:10.1145/1869790.1869829](https://doi.org/10.1145/1869790.1869829).
- Earth on Canvas sketches: Ushasi Chaudhuri, Biplab Banerjee, Avik Bhattacharya, Mihai Datcu, "A zero-shot
  sketch-based inter-modal object retrieval scheme for remote sensing images",
  [arXiv:2008.05225](https://arxiv.org/abs/2008.05225), 2020."""
LEGEND = ("Once you choose the class you meant, a **green** border and ✓ mark results of that class and a "
          "**red** border and ✗ the others; P@k is the share of green among the first k. Until then borders "
          "are grey: nothing is judged against the model's own guess. The chart shows each class's share of "
          "the top 50 results (the paper's class-wise P@50). Results without a label (an unlabelled folder, "
          "chips of a scene) are captioned with the model's predicted class, marked *(predicted)*, and judged "
          "by it.")


class GalleryFolders(Protocol):
    """Where the served galleries come from (the app's settings satisfy this)."""

    photos: Path | None
    sketches: Path | None
    scenes: tuple[Path, ...]
    demo_world: bool  # the galleries are the generated demo world


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

    The target class (the user's choice, else the model's guess; the summary says which) is the
    "class searched for". Empty (no chart) when none of those results has a label: shares of
    predicted classes alone would only chart the model's own guesses.
    """
    if result is None or (result.hits and result.unlabelled_top >= min(len(result.hits), 50)
                          and result.unlabelled_top > 0):
        return pd.DataFrame({"class": [], "precision": [], "kind": []})
    return pd.DataFrame({
        "class": list(result.class_precision),
        "precision": [round(v, 3) for v in result.class_precision.values()],
        "kind": [CHART_KINDS[0] if c == result.target_class else CHART_KINDS[1] for c in result.class_precision],
    })


def summary_markdown(result: SearchResult, class_count: int, gallery_size: int, chosen: bool) -> str:
    """The line beside the results: P@k for the chosen class (or the model's guess) and how long the search took.

    Args:
        result: the search.
        class_count: how many items of the target class the searched gallery holds.
        gallery_size: how many items the searched gallery holds.
        chosen: whether the user named the class; if not, nothing is judged.
    """
    noun = "photos" if result.gallery == "photo" else "sketches"
    if chosen:
        guess, probability = result.predicted[0]
        judged = f"{precision_line(result, class_count, noun)} · the model's guess: {guess} ({probability:.0%})"
    else:
        judged = guess_line(result)
    return f"{judged} · {gallery_size:,} {noun} in {result.latency_ms:.0f} ms" + unlabelled_notes(result)


def unlabelled_notes(result: SearchResult) -> str:
    """Paragraphs saying which results are judged by the model's predicted class, and how the query was read."""
    shown = min(result.k, len(result.hits))
    text = ""
    if result.unlabelled_at_k == shown and shown:
        text += ("\n\nNo result has a label (an unlabelled folder or a scene): each shows the model's predicted "
                 "class, and P@k counts those predictions, not ground truth; the class chart is hidden.")
    elif result.vs_predicted:
        text += (f"\n\n{result.unlabelled_at_k} of these {shown} results have no label: they are counted by the "
                 f"model's predicted class (marked *predicted*), not by ground truth.")
    if result.query.note:
        text += f"\n\n{result.query.note}"
    return text


def guess_line(result: SearchResult) -> str:
    """The model's top class, and how to have the results judged."""
    guess, probability = result.predicted[0]
    return (f"**The model's guess: {guess}** ({probability:.0%}) · not judged: choose the *{TARGET_LABEL.lower()}* "
            f"to mark matches and see P@{result.k}")


def precision_line(result: SearchResult, class_count: int, noun: str) -> str:
    """P@k of the target class, with the best achievable P@k when the gallery holds fewer than k of it."""
    shown = len(result.hits)
    ranks = [h.rank for h in result.hits if h.judged_class == result.target_class]
    line = (f"**{result.target_class}: P@{result.k} = {result.precision_at_k:.2f}"
            f"{' vs. predicted classes' if result.vs_predicted else ''}** ({len(ranks)} of {shown} results)")
    if class_count < shown:
        where = f", at rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}" if ranks else ""
        line += (f" · {len(ranks)} of {class_count} {result.target_class} {noun} found{where}; "
                 f"best possible P@{result.k} = {class_count / shown:.2f}")
    return line


def run_search(retriever: Retriever, source: Any, query_modality: str, gallery: str, k: float,
               target: str | None, leave_out_query: bool = False) -> SearchResult:
    """``retriever.search`` with every failure turned into a ``gr.Error`` the user can read.

    Raises:
        BlankSketchError: a blank sketch (the caller decides between a hint and an error).
        gr.Error: no gallery of that kind, an unreadable image, a bad k.
    """
    if not retriever.has_gallery(gallery):
        plural = "photos" if gallery == "photo" else "sketches"
        raise gr.Error(f"No {gallery} gallery is loaded: start the app with --{plural} DIR to search {plural}.")
    try:
        return retriever.search(source, query_modality, gallery, int(k), target, leave_out_query)
    except BlankSketchError:
        raise
    except ImageLoadError as err:
        raise gr.Error(user_message(err)) from None
    except ValueError as err:
        raise gr.Error(str(err)) from None


def search_panel(retriever: Retriever, source: Any, query_modality: str, gallery: str, k: float = DEFAULT_K,
                 target: str | None = AUTO, attention: bool = False, live: bool = False,
                 leave_out_query: bool = False) -> tuple:
    """Run one search and return a result panel's values (see ``PANEL``).

    Args:
        retriever: the search engine.
        source: the query: a file path, PIL image, array or Sketchpad dict; None when nothing was given.
        query_modality: ``"sketch"`` or ``"photo"``.
        gallery: ``"photo"`` or ``"sketch"``.
        k: number of results.
        target: the class the user meant; ``"auto"`` / None = not chosen: nothing is marked as a match
            (P@k and the JSON's ``target_class`` then refer to the model's guess, ``target_chosen`` is false).
        attention: draw attention heat maps over the query and the results.
        live: a search triggered while drawing: an empty query shows a hint instead of an error.
        leave_out_query: leave the query file itself out of the results (similar scenes of a gallery photo).

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
        result = run_search(retriever, source, query_modality, gallery, k, target, leave_out_query)
    except BlankSketchError:
        if live:
            return empty_panel(BLANK_HINT)
        raise gr.Error("The sketch is blank: draw something first.") from None
    items = retriever.thumbnails(result, attention, judged=chosen)
    view = Retriever.query_view(result.query, attention)
    payload = result.to_json()
    payload["target_chosen"] = chosen
    payload["search_ms"] = payload["latency_ms"]
    payload["latency_ms"] = round((time.perf_counter() - started) * 1000.0, 1)  # handler total, thumbnails included
    result.latency_ms = payload["latency_ms"]
    count = retriever.class_counts(gallery)[result.target_class]
    summary = summary_markdown(result, count, retriever.gallery_size(gallery), chosen)
    return dict(result.predicted), summary, items, chart_frame(result), view, payload


def canvas_query(value: str | None) -> Image.Image | None:
    """The sketch canvas's drawing as an image; None while the canvas is empty.

    Raises:
        gr.Error: the value did not come from the canvas (not a PNG data URL, or not a readable image).
    """
    try:
        return canvas_image(value)
    except ImageLoadError as err:
        raise gr.Error(f"The drawing could not be read: {err}") from None


def example_drawing(path: str | Path) -> str:
    """An example sketch file as the canvas's value (a PNG data URL), to put it on the canvas."""
    return image_data_url(path)


def scene_map(retriever: Retriever, gallery: str, payload: dict[str, Any] | None) -> list[tuple[Any, str]]:
    """Overviews of the scenes holding results of a search (its JSON ``payload``), footprints numbered by rank."""
    if not payload:
        return []
    return retriever.scene_overviews(gallery, payload.get("results", []))


def gallery_examples(retriever: Retriever, n: int = 8) -> list[str]:
    """A few gallery photos of different classes (whole images, not scene chips), as examples for the photo tab."""
    index = retriever.indexes["photo"]
    seen, picks = set(), []
    for i, (path, label) in enumerate(zip(index.paths, index.labels)):
        if chip_window(index, i) is not None:
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
    generated = bool(folders is not None and getattr(folders, "demo_world", False))
    lines = ["### Model card", "", *_checkpoint_lines(retriever, generated), "", "### Retrieval quality", "",
             *_quality_lines(retriever, report)]
    if folders is not None:
        lines += ["", "### This server", "", *_server_lines(retriever, folders)]
    return "\n".join(lines)


def _checkpoint_lines(retriever: Retriever, generated: bool = False) -> list[str]:
    """Model card bullets: the checkpoint, its classes, architecture, training data, time and validation.

    Folders are named by their last part only (no paths of the machine the model was trained on);
    ``generated`` says the model was trained on the generated demo world.
    """
    model = retriever.model
    info = getattr(model, "info", {}) or {}
    meta = info.get("meta", {}) or {}
    config = model.config
    lines = [f"- **Checkpoint:** `{Path(info.get('path', '?')).name}` "
             f"(sha256 `{str(info.get('fingerprint', ''))[:12]}`)",
             f"- **Classes ({len(model.class_names)}):** {', '.join(model.class_names)}",
             f"- **Model:** {config.backbone} {tuple(config.widths)}"
             + (f" (photos {tuple(config.photo_widths)})" if config.photo_widths else "")
             + f", {config.image_size} px input, "
             f"{config.embed_dim}-d shared space, attention pooling {'on' if config.attention else 'off'}"
             + ("; a resolution head: it tells how far a query photo's ground resolution is from the training photos'"
                if config.resolution_head else "")]
    n_photos, n_sketches = len(meta.get("train_photos", [])), len(meta.get("train_sketches", []))
    held_out = len(meta.get("heldout_sketches", []))
    if generated and (n_photos or n_sketches):
        lines.append(f"- **Trained on:** the generated demo world: {n_photos} generated scenes and {n_sketches} "
                     f"generated sketches of them ({held_out} more held out); the world served here is generated "
                     f"with another seed, so none of its scenes were trained on")
    elif meta.get("photos_dir"):
        lines.append(f"- **Trained on:** photos `{Path(meta['photos_dir']).name}/`"
                     + (f", sketches `{Path(meta['sketches_dir']).name}/`" if meta.get("sketches_dir") else ""))
    if n_photos and not generated:
        lines.append(f"- **Split:** {n_photos} training photos (numbers 00-69 of each class; 70-79 validation, "
                     f"80-99 test gallery never trained on), {n_sketches} real sketches trained on, "
                     f"{held_out} held out for evaluation")
    if meta.get("training_seconds"):
        # a checkpoint fine-tuned from another one records only its own stage's time
        start = meta.get("init_checkpoint_sha256")
        lines.append(f"- **Training time:** {meta['training_seconds'] / 60:.1f} min"
                     + (f" (its last stage, which started from checkpoint sha256 `{start[:12]}`)" if start else "")
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
    lines = ["| direction | ranked by | mAP | P@10 | queries | gallery |", "|---|---|---|---|---|---|"]
    for direction, name in (("sketch_to_photo", "sketch → photo"), ("photo_to_sketch", "photo → sketch")):
        for ranking, r in (("cosine", report.get(direction, {})),
                           ("cosine + class agreement (as here)", report.get("ranked", {}).get(direction))):
            if r is None:  # a report written before evaluate measured the app's ranking
                continue
            lines.append(f"| {name} | {ranking} | {r.get('mAP', float('nan')):.3f} | "
                         f"{r.get('P@10', float('nan')):.3f} | {report.get('n_queries', {}).get(direction, '?')} | "
                         f"{report.get('n_gallery', {}).get(direction, '?')} |")
    averaged = report.get("neighbour_average")  # reports written before the option have none
    how = f"; ranked as here: each gallery photo averaged with its {averaged} nearest" if averaged else ""
    lines.append(f"\n(split `{report.get('split', '?')}`; sketches trained on are never queries{how})")
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
            f"- searched with Annoy ({retriever.indexes['photo'].n_trees} trees), top {MAX_K} at most"
            + _averaged_line(retriever.indexes["photo"])]


def _averaged_line(index: Any) -> str:
    """How the photo gallery's items are searched, when each is averaged with its nearest others."""
    if not getattr(index, "neighbours", 0):
        return ""
    return f"; each photo searched as the mean of itself and its {index.neighbours} nearest others"


def class_ap_frame(report: dict[str, Any] | None, direction: str, classes: list[str] | None = None
                   ) -> pd.DataFrame:
    """Per-class AP of one direction of an evaluation report, for ``gr.BarPlot``.

    With ``classes``, every class gets a bar: one the report has no AP for (no test sketches) is
    drawn at 0 and named "<class> (no test sketches)".
    """
    per_class = (report or {}).get(direction, {}).get("per_class_AP", {})
    names = list(classes) if classes is not None else list(per_class)
    return pd.DataFrame({
        "class": [c if c in per_class else f"{c} (no test sketches)" for c in names],
        "AP": [round(float(per_class[c]), 3) if c in per_class else 0.0 for c in names],
    })


def api_markdown(retriever: Retriever, server: Any | None = None) -> str:
    """How to call the app from Python: the default ``gradio_client`` snippet and the endpoints."""
    host, port = getattr(server, "host", "127.0.0.1"), getattr(server, "port", 7860)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '', '::') else host}:{port}/"
    endpoints = ["`/sketch_to_photo` (a sketch file → aerial photos)"]
    if retriever.has_gallery("sketch"):
        endpoints.append("`/photo_to_sketch` (an aerial photo → sketches)")
    endpoints.append("`/photo_to_photo` (an aerial photo → similar scenes)")
    return f"""### Use it from your code

Each search is an HTTP endpoint: {", ".join(endpoints)}. With `pip install gradio_client`:

```python
from gradio_client import Client, handle_file

client = Client("{url}")
predicted, summary, gallery, chart, query, result = client.predict(
    handle_file("my_sketch.png"), 12, api_name="/sketch_to_photo")
for hit in result["results"]:
    print(hit["rank"], hit["class"], hit["score"])
```

The arguments are the query file, k (1-{MAX_K}), optionally the class you meant (`"auto"`: not chosen) and
whether to draw attention maps. "Use via API" at the bottom of the page lists every endpoint with its parameters."""
