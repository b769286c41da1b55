"""What the app shows (crossmodal.ui, crossmodal.canvas): honest overlays, best achievable P@k, the query
left out of its own similar scenes, the drawing canvas's value, and no server path in anything rendered."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import import_app, png_header_only
from crossmodal import ui
from crossmodal.canvas import CANVAS_SIDE, PNG_PREFIX, canvas_image, image_data_url
from crossmodal.data import ImageLoadError
from crossmodal.retrieval import MATCH_COLOR, MISS_COLOR, NEUTRAL_COLOR, Retriever

app = import_app()
ABSOLUTE = re.compile(r"(?<![\w.])(/(tmp|home|root|work|usr|var)\b|\.\./|~/)")  # server paths in rendered text


def corner(path: str) -> tuple[int, int, int]:
    return Image.open(path).convert("RGB").getpixel((0, 0))


def close(a, b, tolerance: int = 40) -> bool:
    return int(np.abs(np.subtract(a, b)).max()) < tolerance  # JPEG-compressed border colour


def drawing_url(lines: list[tuple[int, int, int, int]]) -> str:
    image = Image.new("RGB", (CANVAS_SIDE, CANVAS_SIDE), "white")
    for line in lines:
        ImageDraw.Draw(image).line(line, fill="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return PNG_PREFIX + base64.b64encode(buffer.getvalue()).decode()


def rendered_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in rendered_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in rendered_strings(v)]
    return []


# ---------------------------------------------------------------------------- overlays


def test_no_intended_class_marks_nothing_as_a_success(retriever, tiny_data):
    sketch = str(sorted((tiny_data[1] / "runway").iterdir())[0])
    predicted, summary, items, chart, _, payload = ui.search_panel(retriever, sketch, "sketch", "photo", 8)
    assert len(items) == 8
    assert all(close(corner(path), NEUTRAL_COLOR) for path, _ in items)
    assert not any(close(corner(path), MATCH_COLOR) or close(corner(path), MISS_COLOR) for path, _ in items)
    assert "P@8 =" not in summary and "not judged" in summary
    assert f"model's guess: {payload['target_class']}" in summary
    assert payload["target_chosen"] is False
    assert list(chart.loc[chart["kind"] == ui.CHART_KINDS[0], "class"]) == [payload["target_class"]]

    _, chosen, judged, chart, _, payload = ui.search_panel(retriever, sketch, "sketch", "photo", 8, "runway")
    assert "runway: P@8 =" in chosen and payload["target_chosen"] is True
    labels = [r["class"] for r in payload["results"]]
    assert [close(corner(p), MATCH_COLOR) for p, _ in judged] == [label == "runway" for label in labels]
    assert list(chart.loc[chart["kind"] == ui.CHART_KINDS[0], "class"]) == ["runway"]
    assert set(chart["kind"]) == set(ui.CHART_KINDS)  # the same colour domain whatever is chosen


def test_best_achievable_precision_for_a_class_with_one_gallery_item(tiny_checkpoint, tiny_data, tmp_path):
    photos, sketches = tiny_data
    for extra in sorted((sketches / "runway").iterdir())[1:]:
        extra.unlink()  # the sketch gallery now holds one runway sketch
    retriever = Retriever.open(tiny_checkpoint, photos, sketches, tmp_path / "one", progress=False,
                               thumb_dir=tmp_path / "thumbs")
    assert retriever.class_counts("sketch") == {"airplane": 4, "runway": 1, "tenniscourt": 4}
    photo = str(sorted((photos / "runway").iterdir())[0])
    _, summary, _, _, _, payload = ui.search_panel(retriever, photo, "photo", "sketch", 9, "runway")
    rank = next(r["rank"] for r in payload["results"] if r["class"] == "runway")  # 9 sketches: all come back
    assert f"1 of 1 runway sketches found, at rank {rank}" in summary
    assert "best possible P@9 = 0.11" in summary and "runway: P@9 = 0.11" in summary

    _, plenty, *_ = ui.search_panel(retriever, photo, "photo", "sketch", 3, "airplane")
    assert "best possible" not in plenty  # four airplane sketches fill three places


def test_the_query_photo_is_not_among_its_own_similar_scenes(retriever, tiny_data, tmp_path):
    photo = sorted((tiny_data[0] / "airplane").iterdir())[0]
    copy = tmp_path / "upload" / "my photo.png"  # an uploaded copy: another path, the same bytes
    copy.parent.mkdir()
    shutil.copy(photo, copy)
    own_id = f"airplane/{photo.name}"
    for query in (photo, copy):
        payload = ui.search_panel(retriever, str(query), "photo", "photo", 20, leave_out_query=True)[-1]
        assert own_id not in {r["id"] for r in payload["results"]}
        assert len(payload["results"]) == 20  # the 21-photo gallery less the query
    kept = ui.search_panel(retriever, str(photo), "photo", "photo", 20)[-1]
    assert own_id in {r["id"] for r in kept["results"]}


# ---------------------------------------------------------------------------- the canvas


def test_canvas_value_decodes_and_bad_values_are_refused():
    url = drawing_url([(40, 20, 40, 230), (200, 20, 200, 230)])
    image = canvas_image(url)
    assert image.size == (CANVAS_SIDE, CANVAS_SIDE) and image.mode == "RGB"
    assert image.getpixel((40, 100)) == (0, 0, 0) and image.getpixel((120, 100)) == (255, 255, 255)
    assert canvas_image("") is None and canvas_image(None) is None
    for bad in ("data:image/jpeg;base64,AAAA", PNG_PREFIX + "not base64!", PNG_PREFIX + "QUFBQQ==",
                PNG_PREFIX + "A" * 300_000, "/etc/passwd"):
        with pytest.raises(ImageLoadError):
            canvas_image(bad)
    with pytest.raises(gr.Error, match="drawing could not be read"):
        ui.canvas_query("/etc/passwd")


def test_the_canvas_refuses_an_oversized_drawing_from_its_header(tmp_path):
    from crossmodal.data import MAX_PIXELS, ImageTooLargeError

    side = int(MAX_PIXELS ** 0.5) + 1
    header = png_header_only(tmp_path / "huge.png", side, side).read_bytes()  # decoding it would fail otherwise
    with pytest.raises(ImageTooLargeError, match="megapixel limit"):
        canvas_image(PNG_PREFIX + base64.b64encode(header).decode())


def test_a_drawing_from_the_canvas_is_searched(retriever):
    url = drawing_url([(60, 10, 60, 240), (180, 10, 180, 240)])
    payload = ui.search_panel(retriever, ui.canvas_query(url), "sketch", "photo", 6, live=True)[-1]
    assert len(payload["results"]) == 6
    blank = ui.search_panel(retriever, ui.canvas_query(drawing_url([])), "sketch", "photo", live=True)
    assert blank[1] == ui.BLANK_HINT and blank[2] == []
    assert ui.search_panel(retriever, ui.canvas_query(""), "sketch", "photo", live=True)[1] == ui.DRAW_HINT


def test_an_example_goes_onto_the_canvas_as_a_data_url():
    example = Path(app.__file__).parent / "assets" / "runway.png"
    url = ui.example_drawing(example)
    assert url.startswith(PNG_PREFIX)
    assert canvas_image(url).size == Image.open(example).size
    with pytest.raises(ImageLoadError):
        image_data_url(example.with_name("missing.png"))


# ---------------------------------------------------------------------------- about tab and rendered text


def test_about_tab_charts_every_class_and_cites_its_sources(retriever, settings):
    report = {"sketch_to_photo": {"mAP": 0.5, "P@10": 0.6, "per_class_AP": {"runway": 0.7}}}
    frame = ui.class_ap_frame(report, "sketch_to_photo", retriever.class_names)
    assert list(frame["class"]) == ["airplane (no test sketches)", "runway", "tenniscourt (no test sketches)"]
    assert list(frame["AP"]) == [0.0, 0.7, 0.0]
    assert "doi.org/10.1145/1869790.1869829" in ui.CITATIONS and "arxiv.org/abs/2008.05225" in ui.CITATIONS
    api = ui.api_markdown(retriever, settings)
    assert f'Client("http://127.0.0.1:{settings.port}/")' in api and 'api_name="/sketch_to_photo"' in api
    assert "`" not in ui.DEMO_BANNER and "python" not in ui.DEMO_BANNER  # words, not shell commands


def test_demo_world_model_card_says_its_sketches_are_generated(retriever, settings):
    retriever.model.info["meta"] = {"train_photos": ["a"] * 980, "train_sketches": ["s"] * 700,
                                    "heldout_sketches": ["h"] * 700, "training_seconds": 127.0,
                                    "photos_dir": "/tmp/w/photos", "sketches_dir": "/tmp/w/sketches"}
    settings.demo_world = True
    card = ui.model_card(retriever, settings, None)
    assert "980 generated scenes and 700 generated sketches" in card and "real sketches" not in card
    settings.demo_world = False
    assert "700 real sketches trained on" in ui.model_card(retriever, settings, None)


def test_model_card_says_a_fine_tuned_checkpoints_time_is_its_last_stage(retriever, settings):
    retriever.model.info["meta"] = {"training_seconds": 630.0, "init_checkpoint_sha256": "58af8f373203d9d5" * 4}
    card = ui.model_card(retriever, settings, None)
    assert "**Training time:** 10.5 min (its last stage, which started from checkpoint sha256 `58af8f373203`)" in card
    retriever.model.info["meta"] = {"training_seconds": 630.0}
    assert "last stage" not in ui.model_card(retriever, settings, None)


def test_model_card_says_when_the_model_has_a_resolution_head(retriever, settings):
    assert "resolution head" not in ui.model_card(retriever, settings, None)
    retriever.model.config = dataclasses.replace(retriever.model.config, resolution_head=True)
    assert "a resolution head: it tells how far a query photo's ground resolution is from the training photos'" \
        in ui.model_card(retriever, settings, None)


def test_no_server_path_in_rendered_markdown_or_json(retriever, settings, tiny_data, tmp_path):
    retriever.model.info.setdefault("meta", {}).update(photos_dir="../shared/data/ucmerced",
                                                       sketches_dir="/tmp/w/sketches")
    report = {"sketch_to_photo": {"mAP": 0.5, "P@10": 0.6, "per_class_AP": {"runway": 0.7}}, "split": "test"}
    texts = [ui.model_card(retriever, settings, report), ui.model_card(retriever, settings, None),
             ui.api_markdown(retriever, settings), ui.DEMO_BANNER, ui.LEGEND, ui.CITATIONS, ui.DRAW_HINT,
             ui.PHOTO_HINT]
    sketch = str(sorted((tiny_data[1] / "runway").iterdir())[0])
    photo = str(sorted((tiny_data[0] / "runway").iterdir())[0])
    for target in (ui.AUTO, "runway"):
        for query, modality, gallery in ((sketch, "sketch", "photo"), (photo, "photo", "sketch"),
                                         (photo, "photo", "photo")):
            _, summary, _, _, _, payload = ui.search_panel(retriever, query, modality, gallery, 5, target)
            texts += [summary, json.dumps(payload)]
    demo = app.build_demo(retriever, settings)
    texts += [block.value for block in demo.blocks.values() if isinstance(block, gr.Markdown) and block.value]
    for text in texts:
        found = ABSOLUTE.search(text.replace(str(settings.port), ""))
        assert found is None, f"server path {found.group(0)!r} in {text[max(0, found.start() - 80):found.end() + 80]!r}"
    assert str(tmp_path) not in json.dumps(rendered_strings(texts))
