"""Sketch-based aerial image search: draw a scene from above and find aerial photos; upload a photo, find sketches.

Usage::

    python app.py [--checkpoint PATH] [--photos DIR] [--sketches DIR] [--scene FILE ...] [--gsd M] [--index-dir DIR]
                  [--port N] [--share]

With no data arguments the app looks for UC Merced photos in ``~/.cache/crossmodal/data/ucmerced``
(and Earth on Canvas sketches in ``~/.cache/crossmodal/data/eoc-sketches``) and serves them with
``checkpoints/ucm14.pt``; when there are none it generates the synthetic demo world once (into
``~/.cache/crossmodal/demo-world``) and serves it with ``checkpoints/demo.pt``. Gallery indexes are
built on the first start (progress in the terminal) and memory-mapped on later starts.

Every option can also come from an environment variable, for hosting: ``CROSSMODAL_CHECKPOINT``,
``CROSSMODAL_PHOTOS``, ``CROSSMODAL_SKETCHES``, ``CROSSMODAL_SCENES`` (files separated by ``os.pathsep``),
``CROSSMODAL_GSD``, ``CROSSMODAL_INDEX_DIR``, ``CROSSMODAL_EVAL_JSON``,
``CROSSMODAL_HOST``, ``CROSSMODAL_PORT``, ``CROSSMODAL_SHARE``, ``CROSSMODAL_THREADS``,
``CROSSMODAL_CONCURRENCY``, ``CROSSMODAL_QUEUE_SIZE``, ``CROSSMODAL_MAX_UPLOAD_MB``,
``CROSSMODAL_CACHE_AGE``, ``CROSSMODAL_CACHE`` (the cache root) and ``CROSSMODAL_DEMO_PER_CLASS``
(scenes a class in the demo world, default 60). Command-line options win over the environment.

As a public service the app serves gallery images only by their id, and only those of its indexes
(``/gallery/<photo|sketch>/<id>``); uploads are limited in size, requests in length, images in
pixels; cached uploads and results are deleted after ``--cache-age`` seconds; its temporary
files (thumbnails, cache) go to a private folder removed on exit, SIGTERM included. When a gallery
folder changed since its index was built, the old index is served while the new one is built.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from crossmodal.canvas import sketch_canvas
from crossmodal.gallery import has_chips
from crossmodal.retrieval import DEFAULT_K, MAX_K, Retriever, prerender_in_background
from crossmodal.service import (
    CACHE_AGE_SECONDS,
    CACHE_SWEEP_SECONDS,
    MAX_BODY_BYTES,
    MAX_UPLOAD_MB,
    CacheSweeper,
    RequestGuard,
    RetrieverSwap,
    gallery_route,
    private_temp_folder,
    with_urls,
)
from crossmodal.ui import (
    AUTO,
    CHART_COLORS,
    CHART_KINDS,
    CITATIONS,
    DEMO_BANNER,
    DRAW_HINT,
    LEGEND,
    NOT_CHOSEN,
    PANEL,
    PHOTO_HINT,
    TARGET_LABEL,
    api_markdown,
    canvas_query,
    class_ap_frame,
    example_drawing,
    gallery_examples,
    load_eval_report,
    model_card,
    scene_map,
    search_panel,
)

ROOT = Path(__file__).resolve().parent
ASSETS = ROOT / "assets"
REAL_CHECKPOINT = ROOT / "checkpoints" / "ucm14.pt"
DEMO_CHECKPOINT = ROOT / "checkpoints" / "demo.pt"
DEMO_PER_CLASS = 60  # scenes a class in the generated demo world
DEMO_SEED = 1  # demo.pt trained on the seed-0 world: seed 1 shows scenes it has never seen
ENTER_APPLIES_JS = """() => {
  // Enter in a slider's number box applies the value, as releasing the slider does (the box fires on blur)
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.matches('.k-slider input[type=number]')) { e.target.blur(); }
  }, true);
}"""
CSS = """
.banner {border-left: 6px solid #e8a33d; background: #fff7e8; padding: 10px 14px; border-radius: 6px}
.banner p {margin: 0.2em 0}
.summary p {font-size: 1.05em; margin: 0.3em 0}
.legend p {font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0}
/* result tiles as wide as the space allows: four on a desktop, two on a phone */
.results-gallery .grid-container {grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)) !important}
.results-gallery .grid-wrap {max-height: none !important; overflow-y: visible !important}  /* no box in a box */
@media (max-width: 720px) {
  /* phone: canvas, then the summary and the results, then the controls */
  .query-row {flex-direction: column !important}
  .query-col {display: contents !important}
  .query-row > .query-col > *, .query-row > .results-col {order: 1}
  .query-row .query-controls {order: 3}
  .query-row > .results-col {order: 2}
  .results-gallery .grid-container {grid-template-columns: repeat(2, minmax(0, 1fr)) !important}
}
"""


# ---------------------------------------------------------------------------- settings


@dataclass
class Settings:
    """Where the app's model and data come from, and how it is served."""

    checkpoint: Path  # the model checkpoint
    photos: Path | None  # photo gallery folder; None until the demo world is generated, or with scenes only
    sketches: Path | None  # sketch gallery folder, or None (no photo -> sketch search)
    scenes: tuple[Path, ...]  # large rasters whose chips join the photo gallery
    gsd: float | None  # the scenes' ground resolution, metres a pixel (None: from their georeferencing)
    index_dir: Path | None  # where the gallery indexes live; None = derived from the cache root
    cache: Path  # cache root: default data folder, demo world, indexes
    eval_json: Path | None  # evaluation report shown in the About tab
    host: str
    port: int
    share: bool
    threads: int  # torch threads per search
    concurrency: int  # searches run at once
    queue_size: int  # requests waiting at most
    max_upload_mb: float  # largest upload accepted, MB
    cache_age: int  # seconds Gradio's cached uploads and results are kept
    demo_world: bool  # serving the synthetic demo world


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring); unset options are None so the environment can fill them."""
    parser = argparse.ArgumentParser(
        prog="python app.py", description="Sketch-based aerial image search (Gradio web app).",
        epilog="Without --photos, the app uses ~/.cache/crossmodal/data/ucmerced if present, else the synthetic "
               "demo world. Each option may also be set by the environment variable in brackets.")
    parser.add_argument("--checkpoint", help="model checkpoint (default checkpoints/ucm14.pt for real imagery, "
                        "checkpoints/demo.pt for the demo world) [CROSSMODAL_CHECKPOINT]")
    parser.add_argument("--photos", help="photo gallery: a folder of images at any depth; folders named after the "
                        "model's classes label what is under them, e.g. UC Merced [CROSSMODAL_PHOTOS]")
    parser.add_argument("--scene", action="append", metavar="FILE",
                        help="a large GeoTIFF (or PNG/JPEG with --gsd) searched chip by chip, results drawn on its "
                        "overview; repeat for several [CROSSMODAL_SCENES]")
    parser.add_argument("--gsd", type=float, metavar="METRES", help="ground resolution of the scenes in metres a "
                        "pixel (default: from their georeferencing) [CROSSMODAL_GSD]")
    parser.add_argument("--sketches", help="sketch gallery: a folder of <class>/<image> files, e.g. Earth on Canvas "
                        "[CROSSMODAL_SKETCHES]")
    parser.add_argument("--index-dir", help="where the gallery indexes are kept (default: under the cache) "
                        "[CROSSMODAL_INDEX_DIR]")
    parser.add_argument("--eval-json", help="evaluation report for the About tab (default: <checkpoint>.eval.json "
                        "if present) [CROSSMODAL_EVAL_JSON]")
    parser.add_argument("--host", help="address to listen on; 0.0.0.0 to serve the local network "
                        "(default 127.0.0.1) [CROSSMODAL_HOST]")
    parser.add_argument("--port", type=int, help="port (default 7860) [CROSSMODAL_PORT]")
    parser.add_argument("--share", action="store_true", default=None,
                        help="also create a public gradio.live share link; needs internet access, and anyone "
                             "with the link can use the app for 72 hours (off by default) [CROSSMODAL_SHARE=1]")
    parser.add_argument("--threads", type=int, help="torch threads per search (default 1) [CROSSMODAL_THREADS]")
    parser.add_argument("--concurrency", type=int, help="searches run at once (default: CPU cores, at most 4) "
                        "[CROSSMODAL_CONCURRENCY]")
    parser.add_argument("--queue-size", type=int, help="requests that may wait at once (default 64) "
                        "[CROSSMODAL_QUEUE_SIZE]")
    parser.add_argument("--max-upload-mb", type=float, help=f"largest upload accepted, MB (default "
                        f"{MAX_UPLOAD_MB:g}) [CROSSMODAL_MAX_UPLOAD_MB]")
    parser.add_argument("--cache-age", type=int, help=f"seconds uploads and results stay in the server's cache "
                        f"(default {CACHE_AGE_SECONDS}) [CROSSMODAL_CACHE_AGE]")
    return parser.parse_args(argv)


def _truthy(value: str | None) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def default_cache(env: Mapping[str, str] = os.environ) -> Path:
    """The cache root: ``CROSSMODAL_CACHE`` or ``~/.cache/crossmodal``."""
    value = env.get("CROSSMODAL_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "crossmodal"


def resolve_settings(args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> Settings:
    """Combine the command line, the environment and what is on disk into the app's settings.

    Real imagery is used when ``--photos`` / ``CROSSMODAL_PHOTOS`` is given or the default data
    folder ``<cache>/data/ucmerced`` exists; otherwise the synthetic demo world (generated later,
    by :func:`open_retriever`).

    Raises:
        ValueError: a number that is not a number, or not positive where it must be.
    """
    def pick(name: str, env_name: str) -> str | None:
        value = getattr(args, name, None)
        return value if value not in (None, "") else (env.get(env_name) or None)

    def number(name: str, env_name: str, kind: type, default: float) -> Any:
        value = pick(name, env_name)  # 0 is a value (refused below), not "unset"
        return kind(default if value is None else value)

    cache = default_cache(env)
    photos, sketches = pick("photos", "CROSSMODAL_PHOTOS"), pick("sketches", "CROSSMODAL_SKETCHES")
    scenes = getattr(args, "scene", None) or [p for p in (env.get("CROSSMODAL_SCENES") or "").split(os.pathsep) if p]
    gsd = pick("gsd", "CROSSMODAL_GSD")
    demo_world = False
    if photos is None and scenes:  # the scenes are the photo gallery; sketches from the default folder if any
        default_sketches = cache / "data" / "eoc-sketches"
        if sketches is None and default_sketches.is_dir():
            sketches = str(default_sketches)
    elif photos is None:
        default_photos = cache / "data" / "ucmerced"
        if default_photos.is_dir():
            photos = str(default_photos)
            default_sketches = cache / "data" / "eoc-sketches"
            if sketches is None and default_sketches.is_dir():
                sketches = str(default_sketches)
        else:
            demo_world = True
    checkpoint = pick("checkpoint", "CROSSMODAL_CHECKPOINT")
    default_checkpoint = DEMO_CHECKPOINT if demo_world else REAL_CHECKPOINT
    checkpoint_path = Path(checkpoint).expanduser() if checkpoint else default_checkpoint
    eval_json = pick("eval_json", "CROSSMODAL_EVAL_JSON")
    index_dir = pick("index_dir", "CROSSMODAL_INDEX_DIR")
    share = args.share if getattr(args, "share", None) else _truthy(env.get("CROSSMODAL_SHARE"))
    cores = os.cpu_count() or 1
    settings = Settings(
        checkpoint=checkpoint_path,
        photos=Path(photos).expanduser() if photos else None,
        sketches=Path(sketches).expanduser() if sketches else None,
        scenes=tuple(Path(p).expanduser() for p in scenes),
        gsd=float(gsd) if gsd else None,
        index_dir=Path(index_dir).expanduser() if index_dir else None,
        cache=cache,
        eval_json=Path(eval_json).expanduser() if eval_json else None,
        host=pick("host", "CROSSMODAL_HOST") or "127.0.0.1",
        port=int(pick("port", "CROSSMODAL_PORT") or 7860),
        share=bool(share),
        threads=number("threads", "CROSSMODAL_THREADS", int, 1),
        concurrency=number("concurrency", "CROSSMODAL_CONCURRENCY", int, min(4, cores)),
        queue_size=number("queue_size", "CROSSMODAL_QUEUE_SIZE", int, 64),
        max_upload_mb=number("max_upload_mb", "CROSSMODAL_MAX_UPLOAD_MB", float, MAX_UPLOAD_MB),
        cache_age=number("cache_age", "CROSSMODAL_CACHE_AGE", int, CACHE_AGE_SECONDS),
        demo_world=demo_world,
    )
    for name in ("threads", "concurrency", "queue_size", "max_upload_mb", "cache_age"):
        if getattr(settings, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, not {getattr(settings, name)}")
    return settings


def ensure_demo_world(cache: Path, per_class: int = DEMO_PER_CLASS, progress: bool = True) -> tuple[Path, Path]:
    """The synthetic demo world's (photos, sketches) folders under ``<cache>/demo-world``, generated once.

    A ``world.json`` marker is written when generation finishes, so an interrupted run starts over; a
    world made by another version of the renderer, or with another size or seed, is made again.
    """
    from crossmodal.synthetic import VERSION, generate_world

    wanted = {"per_class": per_class, "seed": DEMO_SEED, "version": VERSION}

    root = cache / "demo-world"
    marker = root / "world.json"
    if marker.is_file():
        try:
            saved = json.loads(marker.read_text())
            photos, sketches = Path(saved["photos"]), Path(saved["sketches"])
            if all(saved.get(k) == v for k, v in wanted.items()) and photos.is_dir() and sketches.is_dir():
                return photos, sketches
        except (OSError, KeyError, TypeError, ValueError):
            pass  # damaged marker: generate again
    if progress:
        print(f"generating the synthetic demo world ({per_class} scenes a class) in {root}, once ...", flush=True)
    started = time.time()
    marker.unlink(missing_ok=True)
    shutil.rmtree(root / "photos", ignore_errors=True)  # a smaller world must not keep the old extra scenes
    shutil.rmtree(root / "sketches", ignore_errors=True)
    photos, sketches = generate_world(root, per_class=per_class, seed=DEMO_SEED, progress=progress)
    seconds = round(time.time() - started, 1)
    marker.write_text(json.dumps({"photos": str(Path(photos).resolve()), "sketches": str(Path(sketches).resolve()),
                                  **wanted, "seconds": seconds}))
    if progress:
        print(f"demo world generated in {seconds} s", flush=True)
    return Path(photos), Path(sketches)


def default_index_dir(settings: Settings) -> Path:
    """``<cache>/indexes/<hash of checkpoint and folders>``: one index pair per (model file, data) combination."""
    key = "|".join(str(p.resolve()) if p else "" for p in (settings.checkpoint, settings.photos, settings.sketches))
    if settings.scenes:  # keyed by the scenes too, so that each set of scenes keeps its own index
        key += "|" + "|".join(str(p.resolve()) for p in settings.scenes) + f"|{settings.gsd}"
    return settings.cache / "indexes" / hashlib.sha1(key.encode()).hexdigest()[:16]


def open_retriever(settings: Settings, progress: bool = True, stale_ok: bool = False,
                   thumb_dir: Path | None = None) -> Retriever:
    """Generate the demo world if needed, load the checkpoint and load or build the gallery indexes.

    Args:
        stale_ok: keep an index whose folder changed since it was built (``retriever.stale`` says
            which), for :func:`serve` to rebuild it while the old one serves.
        thumb_dir: where thumbnails are cached (default: a temporary folder of the retriever's own).

    Raises:
        CheckpointError: the checkpoint is missing or unreadable (the message says how to get one).
        DatasetNotFoundError: a gallery folder is missing or has none of the model's classes.
    """
    from crossmodal.checkpoint import CheckpointError

    if settings.demo_world and settings.photos is None:
        if not settings.checkpoint.is_file():
            raise CheckpointError(f"the demo checkpoint {settings.checkpoint} is missing: get the repository's "
                                  f"checkpoints/demo.pt, or start with --photos DIR --checkpoint PATH")
        per_class = int(os.environ.get("CROSSMODAL_DEMO_PER_CLASS") or DEMO_PER_CLASS)
        settings.photos, settings.sketches = ensure_demo_world(settings.cache, per_class, progress)
    if not settings.checkpoint.is_file():
        raise CheckpointError(f"checkpoint {settings.checkpoint} does not exist: pass --checkpoint PATH, or train "
                              f"one with `python -m crossmodal train --photos DIR --sketches DIR --out "
                              f"{settings.checkpoint}`")
    if settings.index_dir is None:
        settings.index_dir = default_index_dir(settings)
    started = time.time()
    retriever = Retriever.open(settings.checkpoint, settings.photos, settings.sketches, settings.index_dir, progress,
                               scenes=settings.scenes, gsd=settings.gsd, thumb_dir=thumb_dir, stale_ok=stale_ok)
    if progress:
        print(f"ready in {time.time() - started:.1f} s: {retriever.gallery_size('photo')} photos, "
              f"{retriever.gallery_size('sketch')} sketches (indexes in {settings.index_dir})", flush=True)
    if settings.eval_json is None:
        for candidate in (settings.checkpoint.with_suffix(".eval.json"), settings.checkpoint.with_suffix(".json")):
            if candidate.is_file():
                settings.eval_json = candidate
                break
    return retriever


# ---------------------------------------------------------------------------- the interface


def _results(label: str, elem_id: str) -> dict[str, gr.components.Component]:
    """Gallery, chart and JSON of one result list (rendered where called); its summary is placed by the caller."""
    gallery = gr.Gallery(label=label, columns=4, elem_id=elem_id, height="auto", object_fit="contain",
                         allow_preview=True, show_label=True, elem_classes="results-gallery")
    chart = gr.BarPlot(x="class", y="precision", color="kind", y_lim=[0, 1], x_label_angle=-90, height=280,
                       color_map=CHART_COLORS, color_title="", colors_in_legend=list(CHART_KINDS),
                       title="Classes among the top 50", label="Class-wise P@50", sort=None)
    with gr.Accordion("Details (JSON)", open=False):
        details = gr.JSON(label="Result", elem_id=f"{elem_id}-json")
    return {"gallery": gallery, "chart": chart, "json": details}


def _summary(elem_id: str, hint: str) -> gr.Markdown:
    """The one-line result summary (P@k, the model's guess, timing); shows ``hint`` until the first search."""
    return gr.Markdown(hint, elem_classes="summary", elem_id=f"{elem_id}-summary")


def _scene_map(elem_id: str) -> gr.Gallery:
    """Overviews of the scenes that hold results, footprints numbered by rank (rendered where called)."""
    return gr.Gallery(label="Where the results are (scene overview; footprints numbered by rank, #1 in red)",
                      columns=1, height=520, object_fit="contain", allow_preview=True, elem_id=elem_id)


def _wire_scene_map(retriever: Retriever, details: gr.JSON, overview: gr.Gallery) -> None:
    """Whenever a search fills ``details`` (its JSON result), draw its results' footprints on the scene overviews."""
    def draw(payload: dict | None) -> list:
        return scene_map(retriever, "photo", payload)

    details.change(draw, details, overview, api_visibility="private", show_progress="hidden")


def build_demo(retriever: Retriever | RetrieverSwap, settings: Settings | None = None) -> gr.Blocks:
    """The Gradio interface over a retriever. Nothing is loaded here: the retriever is ready.

    Args:
        retriever: model and gallery indexes; a :class:`RetrieverSwap` when a rebuilt index may
            replace them while serving (each request uses the one current when it starts).
        settings: what the server runs with (for the demo-world banner and the About tab), or None.
    """
    swap = retriever if isinstance(retriever, RetrieverSwap) else RetrieverSwap(retriever)
    retriever = swap.current()
    classes = retriever.class_names
    target_choices = [(NOT_CHOSEN, AUTO)] + [(c, c) for c in classes]
    report = load_eval_report(settings.eval_json if settings else None)
    has_sketches = retriever.has_gallery("sketch")
    sketch_examples = [p for p in sorted(ASSETS.glob("*.png")) if p.stem in classes]  # one drawing a class
    photo_examples = gallery_examples(retriever)
    shows_scenes = has_chips(retriever.indexes["photo"])
    if shows_scenes:  # read each scene's overview now, not on the first search
        for source in retriever.indexes["photo"].info.get("sources", []):
            if source.get("kind") == "scene":
                retriever.overviews.get(source["path"])

    def headline() -> str:
        now = swap.current()
        return (f"## Sketch-based aerial image search\nDraw a scene as seen from above and find aerial photos "
                f"of it, or upload an aerial photo to find matching sketches and similar scenes. "
                f"{now.gallery_size('photo'):,} photos and {now.gallery_size('sketch'):,} sketches "
                f"of {len(classes)} classes are indexed.")

    with gr.Blocks(title="Sketch-based aerial image search", fill_width=True) as demo:
        header = gr.Markdown(headline())
        if settings is not None and settings.demo_world:
            gr.Markdown(DEMO_BANNER, elem_classes="banner")

        # ------------------------------------------------------------ sketch -> satellite
        # On a phone the left column dissolves (CSS): canvas, summary, results, then the controls.
        with gr.Tab("Sketch → satellite", id="sketch"):
            with gr.Row(elem_classes="query-row"):
                with gr.Column(scale=4, min_width=300, elem_classes="query-col"):
                    canvas = sketch_canvas(elem_id="sketch-canvas")
                    sk_summary = _summary("sketch-results", DRAW_HINT)
                    with gr.Column(elem_classes="query-controls"):
                        with gr.Row():
                            sk_k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Results (k)",
                                             elem_classes="k-slider", elem_id="sketch-k")
                            sk_target = gr.Dropdown(target_choices, value=AUTO, label=TARGET_LABEL,
                                                    elem_id="sketch-target",
                                                    allow_custom_value=True)  # checked by search_panel, briefly
                        with gr.Row():
                            sk_attention = gr.Checkbox(False, label="Show attention heat maps")
                            sk_button = gr.Button("Search", variant="primary")
                        sketch_file = gr.File(label="…or upload a sketch image", file_types=["image"], height=120,
                                              elem_id="sketch-file")
                        sk_examples = gr.Dataset(
                            components=["image"], samples=[[str(p)] for p in sketch_examples], type="index",
                            label="Example sketches (drawn for this app): click one, then keep drawing",
                            samples_per_page=8,
                            elem_id="sketch-examples")
                with gr.Column(scale=7, elem_classes="results-col"):
                    gr.Markdown(LEGEND, elem_classes="legend")
                    sk = _results("Aerial photos" + (" and scene chips" if shows_scenes else ""), "sketch-results")
                    sk_map = _scene_map("sketch-map") if shows_scenes else None
                    with gr.Row():
                        sk_predicted = gr.Label(num_top_classes=3, label="The model's guess", scale=2)
                        sk_query = gr.Image(label="Your sketch", type="pil", format="jpeg", height=200,
                                            interactive=False, scale=1, elem_id="sketch-query")
            sketch_source = gr.State("canvas")  # which input the last search used: "canvas" or "file"

        # ------------------------------------------------------------ photo -> sketches
        with gr.Tab("Photo → sketches", id="photo"):
            with gr.Row(elem_classes="query-row"):
                with gr.Column(scale=4, min_width=300, elem_classes="query-col"):
                    photo_file = gr.File(label="Upload an aerial or satellite photo (any size, any format Pillow "
                                         "reads)", file_types=["image"], height=110, elem_id="photo-file")
                    ph_query = gr.Image(label="Your photo", type="pil", format="jpeg", height=260,
                                        interactive=False, elem_id="photo-query")
                    with gr.Column(elem_classes="query-controls"):
                        with gr.Row():
                            ph_k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Results (k)",
                                             elem_classes="k-slider", elem_id="photo-k")
                            ph_target = gr.Dropdown(target_choices, value=AUTO, label="Class of your photo",
                                                    elem_id="photo-target", allow_custom_value=True)
                        with gr.Row():
                            ph_attention = gr.Checkbox(False, label="Show attention heat maps")
                            ph_button = gr.Button("Search", variant="primary")
                        ph_predicted = gr.Label(num_top_classes=3, label="The model's guess")
                        ph_examples = gr.Dataset(
                            components=["image"], samples=[[p] for p in photo_examples], type="index",
                            label="Try a photo from the gallery", samples_per_page=8, elem_id="photo-examples",
                            visible=bool(photo_examples))
                with gr.Column(scale=7, elem_classes="results-col"):
                    gr.Markdown(LEGEND, elem_classes="legend")
                    if not has_sketches:
                        gr.Markdown("*No sketch gallery is loaded: start the app with `--sketches DIR` to search "
                                    "sketches.*")
                    ps_summary = _summary("photo-sketch-results", PHOTO_HINT)
                    ps = _results("Matching sketches", "photo-sketch-results")
                    pp_summary = _summary("photo-photo-results", "")
                    pp = _results("Similar aerial scenes (the photo itself left out)", "photo-photo-results")
                    pp_map = _scene_map("photo-map") if shows_scenes else None
            photo_query = gr.State(None)  # the photo searched: an uploaded file or a gallery example

        # ------------------------------------------------------------ about
        with gr.Tab("About", id="about"):
            gr.Markdown(model_card(retriever, settings, report))
            if report:
                with gr.Row():
                    for direction, title in (("sketch_to_photo", "sketch → photo"),
                                             ("photo_to_sketch", "photo → sketch")):
                        gr.BarPlot(class_ap_frame(report, direction, classes), x="class", y="AP", y_lim=[0, 1],
                                   x_label_angle=-90, title=f"Class-wise AP, {title}", height=300, sort=None)
            gr.Markdown(LEGEND)
            gr.Markdown(api_markdown(retriever, settings))
            gr.Markdown(CITATIONS)

        # ------------------------------------------------------------ events
        sk_out = [sk_predicted, sk_summary, sk["gallery"], sk["chart"], sk_query, sk["json"]]
        ps_out = [ph_predicted, ps_summary, ps["gallery"], ps["chart"], ph_query, ps["json"]]
        pp_out = [ph_predicted, pp_summary, pp["gallery"], pp["chart"], ph_query, pp["json"]]

        def panel(request: gr.Request | None, query: Any, modality: str, gallery: str, k: Any, target: Any,
                  attention: Any, live: bool = False, leave_out_query: bool = False) -> tuple:
            """One search on the current retriever; each result's JSON gets the URL of its image."""
            *values, payload = search_panel(swap.current(), query, modality, gallery, k, target, attention, live,
                                            leave_out_query)
            return (*values, with_urls(payload, request))

        def sketch_to_photo(sketch: str | None, k: float = DEFAULT_K, target: str = AUTO, attention: bool = False,
                            request: gr.Request = None) -> tuple:
            """Search the photo gallery with a sketch image file."""
            return panel(request, sketch, "sketch", "photo", k, target, attention)

        def photo_to_sketch(photo: str | None, k: float = DEFAULT_K, target: str = AUTO, attention: bool = False,
                            request: gr.Request = None) -> tuple:
            """Search the sketch gallery with an aerial photo file."""
            return panel(request, photo, "photo", "sketch", k, target, attention)

        def photo_to_photo(photo: str | None, k: float = DEFAULT_K, target: str = AUTO, attention: bool = False,
                           request: gr.Request = None) -> tuple:
            """Search the photo gallery with an aerial photo file (similar scenes, the photo itself left out)."""
            return panel(request, photo, "photo", "photo", k, target, attention, leave_out_query=True)

        def live_sketch(drawing: str | None, k: float, target: str, attention: bool,
                        request: gr.Request = None) -> tuple:
            return (*panel(request, canvas_query(drawing), "sketch", "photo", k, target, attention, live=True),
                    "canvas")

        def current_sketch(drawing: str | None, file: str | None, source: str, k: float, target: str,
                           attention: bool, request: gr.Request = None) -> tuple:
            query = file if source == "file" and file else canvas_query(drawing)
            return panel(request, query, "sketch", "photo", k, target, attention, live=True)

        def searched_file() -> str:
            return "file"

        def sketch_example(index: int) -> str:
            return example_drawing(sketch_examples[int(index)])

        # sketch tab: one search per stroke (the latest wins), on upload (the API), on Search and on options
        canvas.change(live_sketch, [canvas, sk_k, sk_target, sk_attention], sk_out + [sketch_source],
                      trigger_mode="always_last", show_progress="hidden", api_visibility="private",
                      concurrency_id="search")
        gr.on([sketch_file.upload], sketch_to_photo, [sketch_file, sk_k, sk_target, sk_attention], sk_out,
              api_name="sketch_to_photo", concurrency_id="search", show_progress="minimal"
              ).then(searched_file, None, sketch_source, api_visibility="private")
        gr.on([sk_button.click, sk_k.release, sk_target.change, sk_attention.change], current_sketch,
              [canvas, sketch_file, sketch_source, sk_k, sk_target, sk_attention], sk_out,
              trigger_mode="always_last", api_visibility="private", concurrency_id="search", show_progress="minimal")
        # an example goes onto the canvas, which then searches it as a stroke would
        # (queued, as every event of the page: the server refuses direct calls of private events)
        sk_examples.click(sketch_example, sk_examples, canvas, api_visibility="private", show_progress="hidden")

        # photo tab: both galleries on upload, Search and option changes
        if has_sketches:
            photo_file.upload(photo_to_sketch, [photo_file, ph_k, ph_target, ph_attention], ps_out,
                              api_name="photo_to_sketch", concurrency_id="search", show_progress="minimal")
        else:  # the endpoint still exists and explains itself
            hidden = gr.Button(visible=False)
            hidden.click(photo_to_sketch, [photo_file, ph_k, ph_target, ph_attention], ps_out,
                         api_name="photo_to_sketch", concurrency_id="search")
        photo_file.upload(photo_to_photo, [photo_file, ph_k, ph_target, ph_attention], pp_out,
                          api_name="photo_to_photo", concurrency_id="search", show_progress="minimal")
        photo_file.upload(lambda path: path, photo_file, photo_query, api_visibility="private")

        def refresh_photo(photo: str | None, k: float, target: str, attention: bool,
                          request: gr.Request = None) -> tuple:
            if photo is None:
                return tuple(gr.skip() for _ in range(len(PANEL) * 2 - 2))
            s = (panel(request, photo, "photo", "sketch", k, target, attention) if has_sketches
                 else (gr.skip(),) * len(PANEL))
            p = panel(request, photo, "photo", "photo", k, target, attention, leave_out_query=True)
            # predicted and query view are shared: written once, from the photo -> photo search
            return (*s[1:4], *s[5:], *p)

        def photo_example(index: int) -> tuple[str, None]:
            return photo_examples[int(index)], None

        both_out = [ps_summary, ps["gallery"], ps["chart"], ps["json"]] + pp_out
        gr.on([ph_button.click, ph_k.release, ph_target.change, ph_attention.change], refresh_photo,
              [photo_query, ph_k, ph_target, ph_attention], both_out, trigger_mode="always_last",
              api_visibility="private", concurrency_id="search", show_progress="minimal")
        ph_examples.click(photo_example, ph_examples, [photo_query, photo_file], api_visibility="private"
                          ).then(refresh_photo, [photo_query, ph_k, ph_target, ph_attention], both_out,
                                 api_visibility="private", concurrency_id="search", show_progress="minimal")
        if shows_scenes:
            _wire_scene_map(retriever, sk["json"], sk_map)
            _wire_scene_map(retriever, pp["json"], pp_map)
        demo.load(headline, None, header, api_visibility="private")  # queued: unqueued calls are refused
    return demo


def launch_kwargs(retriever: Retriever | RetrieverSwap, settings: Settings) -> dict[str, Any]:
    """Arguments of ``demo.launch`` for these settings (also used by tests).

    Nothing outside Gradio's own cache is served by path (no ``allowed_paths``): the examples are
    copied into it, results are thumbnails copied into it, and gallery images are served by id
    from the current retriever's indexes at ``/gallery/...``.
    """
    from starlette.middleware import Middleware

    swap = retriever if isinstance(retriever, RetrieverSwap) else RetrieverSwap(retriever)
    return {"server_name": settings.host, "server_port": settings.port, "share": settings.share, "show_error": True,
            "allowed_paths": [], "max_file_size": int(settings.max_upload_mb * 2 ** 20), "css": CSS,
            "js": ENTER_APPLIES_JS, "footer_links": ["api", "gradio"],
            "app_kwargs": {"routes": [gallery_route(swap.current)],
                           "middleware": [Middleware(RequestGuard, max_body=MAX_BODY_BYTES)]}}


def serve(settings: Settings) -> None:
    """Open the retriever, build the interface and serve it until interrupted (Ctrl-C or SIGTERM).

    A gallery folder that changed since its index was built is served from the old index while a
    new one is built in the background; the new one then replaces it for the next requests.
    """
    import torch

    temp = private_temp_folder()  # thumbnails and Gradio's cache; removed on exit
    os.environ.setdefault("GRADIO_TEMP_DIR", str(temp / "gradio"))
    torch.set_num_threads(os.cpu_count() or 1)  # building indexes: all cores
    swap = RetrieverSwap(open_retriever(settings, stale_ok=True, thumb_dir=temp / "thumbs-0"))
    torch.set_num_threads(max(1, settings.threads))  # serving: a few threads per search, several searches at once
    prerender_in_background(swap.current())  # first searches then find their thumbnails made
    stale = swap.current().stale
    if stale:
        print(f"serving the previous index while a new one is built ({'; '.join(stale.values())})", flush=True)
        swap.rebuild(lambda: open_retriever(settings, thumb_dir=temp / "thumbs-1"),
                     done=lambda new: print(f"now serving the rebuilt index: {new.gallery_size('photo')} photos, "
                                            f"{new.gallery_size('sketch')} sketches", flush=True))
    demo = build_demo(swap, settings)
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)
    CacheSweeper(os.environ["GRADIO_TEMP_DIR"], settings.cache_age, min(CACHE_SWEEP_SECONDS, settings.cache_age),
                 blocks=demo).start()
    if settings.share:
        print("creating a public share link (needs internet access) ...", flush=True)
    demo.launch(**launch_kwargs(swap, settings))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app; errors about data or checkpoints print one line and return 2."""
    from crossmodal.checkpoint import CheckpointError
    from crossmodal.data import DatasetNotFoundError

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    args = parse_args(argv)
    try:
        serve(resolve_settings(args))
    except (CheckpointError, DatasetNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
