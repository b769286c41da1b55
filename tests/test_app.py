"""The demo app: search panels (crossmodal.ui) called directly, the served API, settings and a fresh-machine start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from conftest import free_port, import_app, png_header_only
from crossmodal import retrieval, ui
from crossmodal.data import ImageLoadError
from crossmodal.retrieval import (
    CLASS_TOP,
    MATCH_COLOR,
    MISS_COLOR,
    BlankSketchError,
    Retriever,
    class_precision,
    draw_marker,
    heatmap_overlay,
    open_index,
    precision_at_k,
    top_predictions,
)

app = import_app()
ROOT = Path(app.__file__).resolve().parent
JSON_KEYS = {"target_class", "predicted", "precision_at_k", "results", "latency_ms"}
API_NAMES = ("/sketch_to_photo", "/photo_to_sketch", "/photo_to_photo")


# ---------------------------------------------------------------------------- fixtures and helpers


def a_sketch(tiny_data) -> Path:
    return sorted((tiny_data[1] / "runway").iterdir())[0]


def a_photo(tiny_data) -> Path:
    return sorted((tiny_data[0] / "airplane").iterdir())[0]


def check_payload(payload: dict, k: int, gallery_size: int, classes: list[str]) -> None:
    assert JSON_KEYS <= set(payload)
    results = payload["results"]
    assert len(results) == min(k, gallery_size)
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all({"rank", "id", "class", "score"} <= set(r) and "path" not in r for r in results)
    assert all(r["id"].startswith(r["class"] + "/") for r in results)  # gallery-relative: <class>/<file>
    assert payload["target_class"] in classes
    predicted = payload["predicted"]
    assert len(predicted) == min(3, len(classes))
    assert [p for _, p in predicted] == sorted((p for _, p in predicted), reverse=True)
    expected = sum(r["class"] == payload["target_class"] for r in results) / len(results)
    assert payload["precision_at_k"] == pytest.approx(expected, abs=1e-4)
    assert payload["latency_ms"] >= 0


# ---------------------------------------------------------------------------- handlers called directly


@pytest.mark.parametrize("k", [1, 5, 12, 50])
def test_sketch_search_sorted_k_respected_and_json_fields(retriever, tiny_data, k):
    predicted, summary, items, chart, query, payload = ui.search_panel(retriever, str(a_sketch(tiny_data)),
                                                                        "sketch", "photo", k)
    n = retriever.gallery_size("photo")
    assert n == 21  # 3 classes x 7 photos, all indexed
    check_payload(payload, k, n, retriever.class_names)
    assert len(items) == min(k, n)
    assert all(Path(path).is_file() and caption.startswith(f"#{i} ") for i, (path, caption) in enumerate(items, 1))
    assert set(predicted) == {c for c, _ in payload["predicted"]}
    assert "not judged" in summary and f"see P@{k} " in summary  # no intended class: nothing judged
    assert list(chart["class"]) == retriever.class_names
    assert chart["precision"].sum() == pytest.approx(1.0, abs=0.01)
    assert isinstance(query, Image.Image)


def test_photo_searches_both_galleries(retriever, tiny_data):
    photo = str(a_photo(tiny_data))
    *_, to_sketches = ui.search_panel(retriever, photo, "photo", "sketch", 12)
    *_, to_photos = ui.search_panel(retriever, photo, "photo", "photo", 12)
    check_payload(to_sketches, 12, retriever.gallery_size("sketch"), retriever.class_names)
    check_payload(to_photos, 12, retriever.gallery_size("photo"), retriever.class_names)
    assert all((tiny_data[1] / r["id"]).is_file() for r in to_sketches["results"])
    assert all((tiny_data[0] / r["id"]).is_file() for r in to_photos["results"])
    best = to_photos["results"][0]["score"]  # the photo itself is in the gallery, at the top (ties aside)
    assert any(r["id"] == "airplane/airplane00.png" and r["score"] >= best - 1e-3 for r in to_photos["results"])


def test_chosen_target_class_sets_precision_and_markers(retriever, tiny_data):
    for target in retriever.class_names:
        result = retriever.search(str(a_sketch(tiny_data)), "sketch", "photo", 10, target_class=target)
        assert result.target_class == target
        assert result.precision_at_k == pytest.approx(sum(h.label == target for h in result.hits) / 10)
        for hit, (path, _) in zip(result.hits, retriever.thumbnails(result)):
            corner = Image.open(path).convert("RGB").getpixel((1, 1))
            expected = MATCH_COLOR if hit.label == target else MISS_COLOR
            assert np.abs(np.subtract(corner, expected)).max() < 40  # JPEG-compressed border colour
    auto = retriever.search(str(a_sketch(tiny_data)), "sketch", "photo", 10, target_class="not-a-class")
    assert auto.target_class == auto.predicted[0][0]


def test_class_precision_of_top_50(retriever, tiny_data):
    result = retriever.search(str(a_sketch(tiny_data)), "sketch", "photo", 5)
    assert len(result.hits) == 5
    full = retriever.indexes["photo"].search(result.query.embedding, k=CLASS_TOP, exact=True)
    naive = {c: sum(h.label == c for h in full) / len(full) for c in retriever.class_names}
    assert result.class_precision == pytest.approx(naive)


def test_live_drawing_dict_and_blank_canvas(retriever):
    drawing = Image.new("RGB", (512, 512), "white")
    blank = {"background": None, "layers": [], "composite": drawing}
    message = ui.search_panel(retriever, blank, "sketch", "photo", live=True)[1]
    assert "draw something" in message.lower()
    with pytest.raises(gr.Error, match="blank"):
        ui.search_panel(retriever, blank, "sketch", "photo")
    with pytest.raises(BlankSketchError):
        retriever.search(drawing, "sketch", "photo")
    assert "Draw" in ui.search_panel(retriever, None, "sketch", "photo", live=True)[1]
    with pytest.raises(gr.Error, match="No query"):
        ui.search_panel(retriever, None, "sketch", "photo")

    from PIL import ImageDraw

    ImageDraw.Draw(drawing).line([(100, 50), (100, 450)], fill="black", width=8)
    payload = ui.search_panel(retriever, {"background": None, "layers": [], "composite": drawing},
                               "sketch", "photo", 7, live=True)[-1]
    assert len(payload["results"]) == 7


def test_bad_files_get_readable_messages(retriever, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    truncated = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:2000])
    cases = {text: "not an image", truncated: "truncated or damaged",
             png_header_only(tmp_path / "bomb.png", 40_000, 40_000): "too large",
             png_header_only(tmp_path / "big.png", 12_000, 12_000): "too large",  # Pillow warns; we refuse
             tmp_path / "missing.png": "could not be read|gone"}
    for path, message in cases.items():
        with pytest.raises(ImageLoadError):
            retriever.search(str(path), "photo", "photo")
        with pytest.raises(gr.Error, match=message) as info:
            ui.search_panel(retriever, str(path), "photo", "photo")
        assert str(tmp_path) not in info.value.message  # no server paths in messages


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "1", "I;16", "I", "F", "CMYK"])
def test_any_image_mode_is_accepted(retriever, tmp_path, mode):
    rng = np.random.default_rng(1)
    if mode in ("I;16", "I"):
        image = Image.fromarray(rng.integers(0, 4095, (80, 60), dtype=np.uint16)).convert(mode)
    elif mode == "F":
        image = Image.fromarray(rng.random((80, 60), dtype=np.float32))
    else:
        image = Image.fromarray(rng.integers(0, 255, (80, 60, 3), dtype=np.uint8)).convert(mode)
    path = tmp_path / ("q.tif" if mode in ("I;16", "I", "F", "CMYK") else "q.png")
    image.save(path)
    payload = ui.search_panel(retriever, str(path), "photo", "photo", 3)[-1]
    assert len(payload["results"]) == 3


def test_large_image_is_downscaled(retriever, tmp_path):
    path = tmp_path / "large.jpg"
    Image.new("RGB", (5000, 3000), (90, 120, 80)).save(path, quality=70)
    result = retriever.search(str(path), "photo", "sketch", 4)
    assert max(result.query.image.size) <= 512  # kept small for display
    assert len(result.hits) == 4


def test_bad_k_and_missing_gallery(retriever, tiny_checkpoint, tiny_data, tmp_path):
    with pytest.raises(gr.Error, match="k must be"):
        ui.search_panel(retriever, str(a_sketch(tiny_data)), "sketch", "photo", 0)
    photos_only = Retriever.open(tiny_checkpoint, tiny_data[0], None, tmp_path / "only", progress=False)
    assert not photos_only.has_gallery("sketch")
    with pytest.raises(gr.Error, match="--sketches"):
        ui.search_panel(photos_only, str(a_photo(tiny_data)), "photo", "sketch")


# ---------------------------------------------------------------------------- library pieces


def test_numbers_against_naive_loops():
    rng = np.random.default_rng(0)
    classes = ["a", "b", "c"]
    labels = [classes[i] for i in rng.integers(0, 3, 80)]
    for k in (1, 7, 50, 100):
        assert precision_at_k(labels, "b", k) == pytest.approx(
            sum(label == "b" for label in labels[:k]) / min(k, len(labels)))
    shares = class_precision(labels, classes, 50)
    assert shares == pytest.approx({c: labels[:50].count(c) / 50 for c in classes})
    assert sum(shares.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="positive"):
        precision_at_k(labels, "a", 0)
    assert top_predictions(np.array([0.1, 0.6, 0.3]), classes) == [("b", 0.6), ("c", 0.3), ("a", 0.1)]


def test_marker_and_heatmap_pictures():
    photo = Image.new("RGB", (256, 256), (120, 120, 120))
    hit, miss = draw_marker(photo, True, 96), draw_marker(photo, False, 96)
    assert hit.size == miss.size == (96, 96)
    assert hit.getpixel((0, 50)) == MATCH_COLOR and miss.getpixel((0, 50)) == MISS_COLOR
    heat = np.zeros((8, 8), np.float32)
    heat[2, 3] = 1.0
    overlay = heatmap_overlay(photo, heat)
    assert overlay.size == photo.size and overlay.mode == "RGB"
    assert overlay.getpixel((3 * 32 + 16, 2 * 32 + 16)) != (120, 120, 120)  # the hot cell is coloured
    assert overlay.getpixel((250, 250)) == (120, 120, 120)  # the coldest places stay as they were
    assert heatmap_overlay(photo, np.full((8, 8), 0.5)).getpixel((5, 5)) == (120, 120, 120)  # flat map: no colour


def test_attention_thumbnails_and_query_view(retriever, tiny_data):
    result = retriever.search(str(a_sketch(tiny_data)), "sketch", "photo", 4)
    plain, heat = retriever.thumbnails(result), retriever.thumbnails(result, attention=True)
    assert len(plain) == len(heat) == 4 and {p for p, _ in plain}.isdisjoint(p for p, _ in heat)
    assert retriever.thumbnails(result, attention=True) == heat  # cached
    view = Retriever.query_view(result.query, attention=True, size=64)
    assert max(view.size) <= 64


def test_thumbnails_made_ahead_are_the_ones_a_search_shows(retriever, tiny_data, monkeypatch):
    made = retriever.prerender_thumbnails("photo")
    assert made == retriever.gallery_size("photo") == len(list(retriever.thumb_dir.glob("*.jpg")))
    assert retriever.prerender_thumbnails("photo") == 0  # already there
    drawn = []
    monkeypatch.setattr(retrieval, "draw_marker", lambda *args: drawn.append(args) or Image.new("RGB", (8, 8)))
    result = retriever.search(str(a_sketch(tiny_data)), "sketch", "photo", 4)
    assert len(retriever.thumbnails(result, judged=False)) == 4 and drawn == []  # nothing left to draw
    retriever.thumbnails(result)  # judged: green and red borders are made on demand
    assert len(drawn) == 4


def test_no_thumbnails_made_ahead_for_a_gallery_over_the_limit_or_when_stopped(retriever):
    assert retriever.prerender_thumbnails("photo", limit=3) == 0
    stop = threading.Event()
    stop.set()
    assert retriever.prerender_thumbnails("photo", stop=stop) == 0
    assert retriever.prerender_thumbnails("no such gallery") == 0
    retrieval.prerender_in_background(retriever).join(timeout=60)
    assert len(list(retriever.thumb_dir.glob("*.jpg"))) == retriever.gallery_size("photo")


def test_exact_search_and_annoy_agree(retriever, tiny_data):
    exact = Retriever(retriever.model, retriever.indexes["photo"], retriever.indexes["sketch"], exact=True)
    for source in (a_sketch(tiny_data), a_photo(tiny_data)):
        modality = "sketch" if "sketches" in str(source) else "photo"
        a = retriever.search(str(source), modality, "photo", 10)
        b = exact.search(str(source), modality, "photo", 10)
        assert [h.path for h in a.hits] == [h.path for h in b.hits]
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-5)


def test_index_is_reused_and_rebuilt_when_the_folder_changes(tiny_checkpoint, tiny_data, tmp_path, capsys):
    from crossmodal.checkpoint import load_checkpoint

    model = load_checkpoint(tiny_checkpoint)
    photos = tiny_data[0]
    first = open_index(model, photos, "photo", tmp_path / "idx", progress=True)
    assert "building the photo index" in capsys.readouterr().out
    again = open_index(model, photos, "photo", tmp_path / "idx", progress=True)
    assert "building" not in capsys.readouterr().out and again.paths == first.paths
    Image.new("RGB", (48, 48), "gray").save(photos / "runway" / "runway90.png")
    (photos / "runway" / "runway91.png").write_text("broken")  # unreadable: skipped, and not a reason to rebuild
    grown = open_index(model, photos, "photo", tmp_path / "idx", progress=True)
    assert "folder changed" in capsys.readouterr().out and len(grown) == len(first) + 1
    open_index(model, photos, "photo", tmp_path / "idx", progress=True)
    assert "building" not in capsys.readouterr().out


# ---------------------------------------------------------------------------- settings and start-up


def test_settings_from_arguments_environment_and_disk(tmp_path):
    cache = tmp_path / "cache"
    empty = app.resolve_settings(app.parse_args([]), env={"CROSSMODAL_CACHE": str(cache)})
    assert empty.demo_world and empty.photos is None and empty.checkpoint == app.DEMO_CHECKPOINT
    assert (empty.host, empty.port, empty.share) == ("127.0.0.1", 7860, False)

    (cache / "data" / "ucmerced").mkdir(parents=True)
    (cache / "data" / "eoc-sketches").mkdir(parents=True)
    real = app.resolve_settings(app.parse_args([]), env={"CROSSMODAL_CACHE": str(cache)})
    assert not real.demo_world and real.checkpoint == app.REAL_CHECKPOINT
    assert real.photos == cache / "data" / "ucmerced" and real.sketches == cache / "data" / "eoc-sketches"

    env = {"CROSSMODAL_CACHE": str(tmp_path / "none"), "CROSSMODAL_PHOTOS": "/data/p", "CROSSMODAL_PORT": "9000",
           "CROSSMODAL_SHARE": "1", "CROSSMODAL_CHECKPOINT": "/m.pt", "CROSSMODAL_HOST": "0.0.0.0"}
    hosted = app.resolve_settings(app.parse_args([]), env=env)
    assert (hosted.photos, hosted.sketches, hosted.port, hosted.share) == (Path("/data/p"), None, 9000, True)
    assert (hosted.checkpoint, hosted.host, hosted.demo_world) == (Path("/m.pt"), "0.0.0.0", False)
    cli = app.resolve_settings(app.parse_args(["--photos", "/x", "--port", "7000"]), env=env)
    assert (cli.photos, cli.port) == (Path("/x"), 7000)


def test_missing_checkpoint_is_one_clear_line(tiny_data, tmp_path, capsys):
    code = app.main(["--checkpoint", str(tmp_path / "nope.pt"), "--photos", str(tiny_data[0]),
                     "--index-dir", str(tmp_path / "idx")])
    assert code == 2
    assert "nope.pt does not exist" in capsys.readouterr().err


def test_model_card_and_evaluation_report(retriever, settings, tmp_path, monkeypatch):
    card = ui.model_card(retriever, settings, None)
    assert "untrained" in card and "No evaluation report" in card
    report = {"sketch_to_photo": {"mAP": 0.5, "P@10": 0.6, "per_class_AP": {"runway": 0.7}},
              "photo_to_sketch": {"mAP": 0.4, "P@10": 0.3, "per_class_AP": {"runway": 0.2}},
              "n_queries": {"sketch_to_photo": 6, "photo_to_sketch": 6}, "n_gallery": {}, "split": "test",
              "ranked": {"sketch_to_photo": {"mAP": 0.55, "P@10": 0.65}}}
    path = tmp_path / "tiny.eval.json"
    path.write_text(json.dumps(report))
    loaded = ui.load_eval_report(path)
    card = ui.model_card(retriever, settings, loaded)
    assert "| sketch → photo | cosine | 0.500 | 0.600 |" in card
    assert "| sketch → photo | cosine + class agreement (as here) | 0.550 | 0.650 |" in card
    assert "| photo → sketch | cosine | 0.400 | 0.300 |" in card and "photo → sketch | cosine +" not in card
    assert list(ui.class_ap_frame(loaded, "photo_to_sketch")["AP"]) == [0.2]
    assert "averaged" not in card  # a report and a gallery searched as they are
    path.write_text(json.dumps({**report, "neighbour_average": 3}))
    assert "ranked as here: each gallery photo averaged with its 3 nearest" in ui.model_card(
        retriever, settings, ui.load_eval_report(path))
    monkeypatch.setattr(retriever.indexes["photo"], "neighbours", 3)  # as a gallery of 100 photos or more is
    assert "each photo searched as the mean of itself and its 3 nearest others" in ui.model_card(retriever, settings,
                                                                                                 None)
    (tmp_path / "bad.json").write_text("{not json")
    assert ui.load_eval_report(tmp_path / "bad.json") is None


def test_build_demo_names_its_api(retriever, settings):
    demo = app.build_demo(retriever, settings)
    assert isinstance(demo, gr.Blocks)
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {name.lstrip("/") for name in API_NAMES}


# ---------------------------------------------------------------------------- the served app


def test_served_app_answers_gradio_client_for_each_api_name(served, retriever, tiny_data, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(served, verbose=False, download_files=False)
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == set(API_NAMES)
    for api_name, query in zip(API_NAMES, (a_sketch(tiny_data), a_photo(tiny_data), a_photo(tiny_data))):
        out = client.predict(handle_file(str(query)), 5, api_name=api_name)
        assert len(out) == 6
        gallery, payload = out[2], out[-1]
        assert len(gallery) == len(payload["results"]) == 5
        check_payload(payload, 5, 21 if api_name.endswith("photo") else 12, retriever.class_names)
        assert gallery[0]["caption"].startswith("#1 ")
    default_k = client.predict(handle_file(str(a_sketch(tiny_data))), api_name="/sketch_to_photo")[-1]
    assert len(default_k["results"]) == 12
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    with pytest.raises(AppError, match="not an image"):
        client.predict(handle_file(str(bad)), 5, api_name="/photo_to_photo")


def test_fresh_machine_start_serves_the_demo_world(tmp_path):
    if not app.DEMO_CHECKPOINT.is_file():
        pytest.skip(f"{app.DEMO_CHECKPOINT.relative_to(ROOT)} is not in the repository: the demo world has no model")
    from gradio_client import Client, handle_file

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSMODAL_")}
    env.update(HOME=str(tmp_path / "home"), CROSSMODAL_DEMO_PER_CLASS="3", GRADIO_ANALYTICS_ENABLED="False",
               CROSSMODAL_THREADS="1")
    log = tmp_path / "app.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=tmp_path,
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 300
        while True:
            assert process.poll() is None, f"app.py exited early:\n{log.read_text()[-3000:]}"
            assert time.time() < deadline, f"app.py did not serve within 300 s:\n{log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(url + "config", timeout=5) as response:
                    config = response.read().decode()
                break
            except OSError:
                time.sleep(1)
        assert "synthetic demo world" in config
        assert (tmp_path / "home" / ".cache" / "crossmodal" / "demo-world" / "world.json").is_file()
        client = Client(url, verbose=False, download_files=False)
        payload = client.predict(handle_file(str(ROOT / "assets" / "airplane.png")), 6,
                                 api_name="/sketch_to_photo")[-1]
        assert len(payload["results"]) == 6
        assert all("/" in r["id"] and "demo-world" not in r["id"] for r in payload["results"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_demo_world_is_reused_and_remade_when_the_renderer_changes(tmp_path, monkeypatch):
    from crossmodal import synthetic

    photos, sketches = app.ensure_demo_world(tmp_path, per_class=1, progress=False)
    marker = json.loads((tmp_path / "demo-world" / "world.json").read_text())
    assert marker["seed"] == app.DEMO_SEED != 0  # demo.pt trained on the seed-0 world: show unseen scenes
    assert marker["version"] == synthetic.VERSION
    assert len(list(photos.glob("*/*.png"))) == len(list(sketches.glob("*/*.png"))) == 14
    first = {p: p.stat().st_mtime_ns for p in photos.glob("*/*.png")}

    assert app.ensure_demo_world(tmp_path, per_class=1, progress=False) == (photos, sketches)
    assert {p: p.stat().st_mtime_ns for p in photos.glob("*/*.png")} == first  # reused, not redrawn

    monkeypatch.setattr(synthetic, "VERSION", synthetic.VERSION + "-next")
    app.ensure_demo_world(tmp_path, per_class=1, progress=False)
    assert json.loads((tmp_path / "demo-world" / "world.json").read_text())["version"] == synthetic.VERSION
    assert {p: p.stat().st_mtime_ns for p in photos.glob("*/*.png")} != first
