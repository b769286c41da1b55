"""The app over your own imagery: a scene's chips with footprints through the API, unlabelled results, big queries."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import free_port, import_app, make_scene
from PIL import Image


app = import_app()


@pytest.fixture
def scene_settings(tiny_checkpoint, tiny_data, tmp_path):
    scene = make_scene(tmp_path / "area.tif", width=1000, height=700)
    args = app.parse_args(["--checkpoint", str(tiny_checkpoint), "--scene", str(scene), "--sketches",
                           str(tiny_data[1]), "--index-dir", str(tmp_path / "indexes"), "--port", str(free_port())])
    return app.resolve_settings(args, env={})


@pytest.fixture
def scene_retriever(scene_settings):
    return app.open_retriever(scene_settings, progress=False)


def test_settings_take_scenes_and_build_a_chip_gallery(scene_settings, scene_retriever):
    assert scene_settings.photos is None and not scene_settings.demo_world
    assert [p.name for p in scene_settings.scenes] == ["area.tif"]
    # 1000 x 700 px at the model's resolution, chips of 256 every 128: 7 columns (0 ... 640, 744), 5 rows (0 ... 444)
    assert scene_retriever.gallery_size("photo") == 35
    assert scene_retriever.prerender_thumbnails("photo") == 0  # chips are made on demand, not ahead
    env = app.resolve_settings(app.parse_args([]), env={"CROSSMODAL_SCENES": "/a.tif:/b.tif", "CROSSMODAL_GSD": "0.5"})
    assert [str(p) for p in env.scenes] == ["/a.tif", "/b.tif"] and env.gsd == 0.5


def test_scene_results_are_unlabelled_with_footprints_and_an_overview(scene_retriever, tiny_data):
    from crossmodal import ui

    sketch = tiny_data[1] / "runway" / "0.png"
    result = scene_retriever.search(str(sketch), "sketch", "photo", k=5)
    payload = result.to_json()
    assert payload["precision_vs"] == "predicted classes" and result.vs_predicted
    ranks = [r["rank"] for r in payload["results"]]
    assert ranks == [1, 2, 3, 4, 5]
    for r in payload["results"]:
        assert r["class"] is None and r["predicted_class"] in scene_retriever.class_names
        assert r["id"].startswith("area.tif:") and r["scene"] == "area.tif" and len(r["footprint"]) == 4
        assert 15.0 < r["centre"][0] < 15.01 and -0.01 < r["centre"][1] < 0
    from crossmodal.footprints import window_iou

    chips = [h.chip for h in result.hits]  # the chips that matched: merged, so none overlaps another much
    assert all(window_iou(a, b) <= 0.1 for i, a in enumerate(chips) for b in chips[i + 1:])
    for r, chip in zip(payload["results"], chips):  # each result is placed among its chips: within half a stride
        assert r["id"] == f"area.tif:{round(chip[0])},{round(chip[1])}"
        assert all(abs(a - b) <= 64 for a, b in zip(r["window"][:2], chip[:2])) and r["window"][2:] == list(chip[2:])
    judged = ui.summary_markdown(result, 35, 35, chosen=True)
    assert "vs. predicted classes" in judged and "No result has a label" in judged
    unjudged = ui.summary_markdown(result, 35, 35, chosen=False)
    assert "P@5 =" not in unjudged and "No result has a label" in unjudged
    assert ui.chart_frame(result).empty  # no chart of the model's own guesses
    thumbs = scene_retriever.thumbnails(result)
    assert len(thumbs) == 5 and "(predicted)" in thumbs[0][1]
    maps = ui.scene_map(scene_retriever, "photo", payload)
    assert len(maps) == 1 and maps[0][1].startswith("area.tif: results #1")
    assert maps[0][0].size == (1000, 700)  # the overview (the scene is smaller than its 1024 px bound)
    chip = scene_retriever.gallery_file("photo", payload["results"][0]["id"])
    assert chip is not None and Image.open(chip).size == (256, 256)
    assert scene_retriever.gallery_file("photo", "area.tif:1,1") is None  # not an indexed chip


def test_served_app_answers_sketch_to_photo_with_footprints(scene_retriever, scene_settings, tiny_data):
    from gradio_client import Client, handle_file

    demo = app.build_demo(scene_retriever, scene_settings)
    demo.queue(max_size=8, default_concurrency_limit=2)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(scene_retriever, scene_settings))
    try:
        client = Client(f"http://127.0.0.1:{scene_settings.port}/", verbose=False)  # gradio_client's defaults
        out = client.predict(handle_file(str(tiny_data[1] / "airplane" / "0.png")), 4,
                             api_name="/sketch_to_photo")
        payload = out[-1]
        assert len(payload["results"]) == 4
        assert all({"rank", "id", "score", "footprint", "centre", "window"} <= set(r) for r in payload["results"])
        assert all(r["class"] is None and r["predicted_class"] for r in payload["results"])
    finally:
        demo.close()


def test_a_large_query_photo_is_searched_by_its_best_chip(retriever, tmp_path):
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(big)
    result = retriever.search(str(big), "photo", "photo", k=3)
    assert "chips" in result.query.note and "assuming" in result.query.note
    assert result.to_json()["query_note"] == result.query.note
    again = retriever.search(str(big), "photo", "photo", k=3)
    assert again.query is result.query  # the same upload again: from the cache
