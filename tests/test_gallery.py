"""Galleries of any folder and of scenes: labels from class folders, skip reports, incremental updates, search."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import draw_scene, make_scene

from crossmodal.cli import main
from crossmodal.data import DatasetNotFoundError
from crossmodal.gallery import (
    EMPTY_FILE,
    HIDDEN,
    NOT_IMAGE,
    UNREADABLE,
    build_index,
    item_record,
    rank_matches,
    scan_images,
    search_gallery,
)
from crossmodal.index import EmbeddingIndex
from crossmodal.scenes import TRAINING_GSD

CLASSES = ("airplane", "runway", "tenniscourt")


def put(path: Path, label: str = "runway", seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_scene(label, random.Random(seed), sketch=False).save(path)
    return path


@pytest.fixture
def model(tiny_checkpoint):
    from crossmodal.checkpoint import load_checkpoint

    return load_checkpoint(tiny_checkpoint)


def count_embedded(model, monkeypatch) -> list[int]:
    """Record how many images each call of ``model.embed`` receives."""
    calls, real = [], model.embed

    def embed(images, *args, **kwargs):
        calls.append(len(images))
        return real(images, *args, **kwargs)

    monkeypatch.setattr(model, "embed", embed)
    return calls


def test_flat_nested_and_mixed_folders_index_every_image(tmp_path):
    flat = tmp_path / "flat"
    for i in range(4):
        put(flat / f"tile{i}.png", seed=i)
    (flat / "notes.txt").write_text("not an image")
    (flat / "empty.jpg").write_bytes(b"")
    put(flat / ".thumbs" / "x.png")
    sources = scan_images(flat, CLASSES)
    assert [s.id for s in sources] == [f"tile{i}.png" for i in range(4)]
    assert all(s.label == "" and s.kind == "image" for s in sources)

    nested = tmp_path / "nested"
    put(nested / "site" / "2023" / "a.png")
    put(nested / "site" / "2024" / "b.png")
    put(nested / "Runway" / "deeper" / "c.png")  # one level below a class folder: still that class
    put(nested / "Tennis Court" / "d.png", "tenniscourt")
    put(nested / "agricultural" / "e.png")  # a UC Merced class the model does not know: unlabelled
    put(nested / "f.png")
    sources = scan_images(nested, CLASSES)
    assert {s.id: s.label for s in sources} == {
        "Runway/deeper/c.png": "runway", "Tennis Court/d.png": "tenniscourt", "agricultural/e.png": "",
        "f.png": "", "site/2023/a.png": "", "site/2024/b.png": ""}

    from crossmodal.gallery import SkipReport

    report = SkipReport()
    scan_images(flat, CLASSES, report)
    assert report.counts == {NOT_IMAGE: 1, EMPTY_FILE: 1, HIDDEN: 1}
    assert report.examples[NOT_IMAGE] == ["notes.txt"] and report.examples[HIDDEN] == [".thumbs/"]
    assert "1 not an image file (notes.txt)" in report.lines()

    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        scan_images(tmp_path / "missing", CLASSES)
    (tmp_path / "textonly").mkdir()
    (tmp_path / "textonly" / "a.txt").write_text("x")
    with pytest.raises(DatasetNotFoundError, match="no images.*not an image file"):
        scan_images(tmp_path / "textonly", CLASSES)


def test_mixed_folder_builds_with_labels_predictions_and_a_skip_report(model, tmp_path):
    root = tmp_path / "mixed"
    put(root / "runway" / "r1.png")
    put(root / "airplane" / "a1.png", "airplane")
    put(root / "survey" / "x.png", "tenniscourt")
    (root / "survey" / "broken.png").write_bytes(b"not a picture")
    (root / "README.md").write_text("x")
    index, report = build_index(model, tmp_path / "idx", images=root, n_trees=2, progress=False)
    assert len(index) == 3 and report.embedded == 3 and report.labelled == 2
    assert report.skipped.counts == {UNREADABLE: 1, NOT_IMAGE: 1}
    assert report.skipped.examples[UNREADABLE] == ["survey/broken.png"]
    assert sorted(index.labels) == ["", "airplane", "runway"]
    results = search_gallery(index, index.embeddings[2], k=3, exact=True)
    assert [r["rank"] for r in results] == [1, 2, 3] and results[0]["id"] == "survey/x.png"
    assert results[0]["class"] is None and results[0]["predicted_class"] in CLASSES
    assert 0 < results[0]["predicted_probability"] <= 1 and results[0]["url"].startswith("file://")
    assert all("path" not in r for r in results)


def test_incremental_index_embeds_only_new_files_and_drops_removed_ones(model, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    for i in range(3):
        put(root / "runway" / f"r{i}.png", seed=i)
    out = tmp_path / "idx"
    first, report = build_index(model, out, images=root, n_trees=2, progress=False)
    assert report.embedded == 3
    calls = count_embedded(model, monkeypatch)

    put(root / "airplane" / "new1.png", "airplane", seed=7)
    put(root / "unsorted" / "new2.png", seed=8)
    grown, report = build_index(model, out, images=root, n_trees=2, progress=False)
    assert sum(calls) == 2 and (report.embedded, report.reused) == (2, 3)
    assert len(grown) == 5 and len(EmbeddingIndex.load(out)) == 5
    old_rows = {p: first.embeddings[i] for i, p in enumerate(first.paths)}
    for i, path in enumerate(grown.paths):  # the stored embeddings were carried over unchanged
        if path in old_rows:
            assert np.array_equal(grown.embeddings[i], old_rows[path])

    calls.clear()
    (root / "runway" / "r1.png").unlink()
    shrunk, report = build_index(model, out, images=root, n_trees=2, progress=False)
    assert calls == [] and report.removed == 1 and len(shrunk) == 4
    assert str(root / "runway" / "r1.png") not in shrunk.paths

    changed = root / "runway" / "r0.png"
    put(changed, "airplane", seed=3)
    os.utime(changed, ns=(1, 1))  # a new mtime even where the clock is coarse
    _, report = build_index(model, out, images=root, n_trees=2, progress=False)
    assert sum(calls) == 1 and report.embedded == 1

    calls.clear()
    again, report = build_index(model, out, images=root, n_trees=2, progress=False)
    assert calls == [] and report.embedded == 0 and report.reused == 4
    sources = again.info["sources"]
    assert [s["id"] for s in sources] == sorted(s["id"] for s in sources)
    assert all({"path", "bytes", "mtime_ns", "start", "stop"} <= set(s) for s in sources)

    _, report = build_index(model, out, images=root, n_trees=2, rebuild=True, progress=False)
    assert report.embedded == 4 and report.rebuilt_because == "--rebuild was given"


def test_an_averaged_gallery_is_averaged_again_from_the_own_embeddings_when_it_grows(model, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    for i in range(5):
        put(root / "runway" / f"r{i}.png", seed=i)
    scene = make_scene(tmp_path / "area.tif")  # 6 chips: searched as they are, never neighbours of a photo
    out = tmp_path / "idx"
    first, report = build_index(model, out, images=root, scenes=[scene], chip=32, stride=32, n_trees=2,
                                progress=False, neighbours=2)
    assert first.neighbours == 2 and report.averaged == 5
    chips = np.isfinite(first.items["window"]).all(1)
    assert chips.sum() == 6 and first.embeddings[chips] == pytest.approx(first.own_embeddings[chips])
    calls = count_embedded(model, monkeypatch)
    put(root / "airplane" / "a0.png", "airplane", seed=9)
    grown, report = build_index(model, out, images=root, scenes=[scene], chip=32, stride=32, n_trees=2,
                                progress=False, neighbours=2)
    assert sum(calls) == 1 and report.reused == 11 and report.averaged == 6
    fresh, _ = build_index(model, tmp_path / "fresh", images=root, scenes=[scene], chip=32, stride=32, n_trees=2,
                           progress=False, neighbours=2, rebuild=True)
    assert grown.paths == fresh.paths
    assert grown.own_embeddings == pytest.approx(fresh.own_embeddings, abs=1e-6)
    assert grown.embeddings == pytest.approx(fresh.embeddings, abs=1e-6)  # as if built at once
    calls.clear()
    same, report = build_index(model, out, images=root, scenes=[scene], chip=32, stride=32, n_trees=2,
                               progress=False, neighbours=2)
    assert calls == [] and report.embedded == 0 and same.neighbours == 2
    # by default a gallery this small is searched as it is, and the build says why
    plain, report = build_index(model, out, images=root, scenes=[scene], chip=32, stride=32, n_trees=2,
                                progress=False)
    assert plain.neighbours == 0 and plain.embeddings == pytest.approx(grown.own_embeddings)
    assert report.embedded == 0 and "6 photos: fewer than the 100" in report.not_averaged_because


def test_the_app_averages_an_index_built_before_averaging_without_embedding_again(model, tmp_path, monkeypatch):
    from crossmodal import gallery
    from crossmodal.retrieval import load_current_index, open_index

    root = tmp_path / "photos"
    for i in range(4):
        put(root / "runway" / f"r{i}.png", seed=i)
    out = tmp_path / "idx"
    build_index(model, out, images=root, n_trees=2, progress=False, neighbours=0)  # as an older version did
    monkeypatch.setattr(gallery, "MIN_AVERAGED_ITEMS", 3)  # this gallery counts as large enough to average
    index, reason = load_current_index(model, root, "photo", out)
    assert index.neighbours == 0 and reason == "it searches each image as it is, not averaged with its 3 nearest others"
    calls = count_embedded(model, monkeypatch)
    opened = open_index(model, root, "photo", out, progress=False)
    assert calls == [] and opened.neighbours == 3 and load_current_index(model, root, "photo", out)[1] == ""


def test_scene_index_stores_footprints_and_is_incremental(model, tmp_path, monkeypatch):
    scene = make_scene(tmp_path / "area.tif")
    out = tmp_path / "idx"
    index, report = build_index(model, out, scenes=[scene], chip=32, stride=32, n_trees=2, progress=False)
    assert len(index) == report.embedded == 6  # 96 x 64 px at the model's resolution: 3 x 2 chips
    loaded = EmbeddingIndex.load(out)
    assert loaded.items["window"][4].tolist() == [32.0, 32.0, 32.0, 32.0]
    left, top = 500000 + 32 * TRAINING_GSD, 1e7 - 32 * TRAINING_GSD
    assert loaded.items["bounds"][4].tolist() == pytest.approx([left, top - 32 * TRAINING_GSD,
                                                                left + 32 * TRAINING_GSD, top])
    record = search_gallery(loaded, loaded.embeddings[4], k=1, exact=True)[0]
    assert record["id"] == "area.tif:32,32" and record["scene"] == "area.tif" and record["class"] is None
    assert record["centre"][0] == pytest.approx(15.0001, abs=1e-4) and record["centre"][1] < 0
    assert len(record["footprint"]) == 4

    calls = count_embedded(model, monkeypatch)
    _, report = build_index(model, out, scenes=[scene], chip=32, stride=32, n_trees=2, progress=False)
    assert calls == [] and report.reused == 6
    _, report = build_index(model, out, scenes=[scene], chip=32, stride=16, n_trees=2, progress=False)
    assert sum(calls) == 5 * 3 and report.embedded == 15  # other chipping settings: the scene is chipped again


def test_search_merges_overlapping_chips(model, tmp_path):
    scene = make_scene(tmp_path / "area.tif", width=128, height=64)
    index, _ = build_index(model, tmp_path / "idx", scenes=[scene], chip=32, stride=8, n_trees=2, progress=False)
    merged = search_gallery(index, index.embeddings[0], k=50, exact=True)
    everything = search_gallery(index, index.embeddings[0], k=50, exact=True, nms_iou=None)
    assert len(everything) == 50 and len(merged) < len(everything)
    chips = [tuple(int(v) for v in r["id"].split(":")[1].split(",")) for r in merged]  # "area.tif:col,row"
    from crossmodal.footprints import window_iou

    assert all(window_iou((*a, 32, 32), (*b, 32, 32)) <= 0.1 for i, a in enumerate(chips) for b in chips[i + 1:])
    assert [r["rank"] for r in merged] == list(range(1, len(merged) + 1))
    assert [r["score"] for r in merged] == sorted((r["score"] for r in merged), reverse=True)


def test_candidates_a_result_are_twenty_over_chips_merged_or_not_and_four_over_whole_images(model, tmp_path,
                                                                                              monkeypatch):
    scene = make_scene(tmp_path / "area.tif", width=256, height=128)
    chips, _ = build_index(model, tmp_path / "chips", scenes=[scene], chip=32, stride=8, n_trees=2, progress=False)
    asked = []
    query = EmbeddingIndex.query
    monkeypatch.setattr(EmbeddingIndex, "query", lambda self, v, k=10, **kw: asked.append(k) or query(self, v, k, **kw))
    classifier = model.classifier_weights()
    for nms_iou in (0.1, None):
        rank_matches(chips, chips.embeddings[0], 2, classifier, nms_iou, exact=True)
    images = EmbeddingIndex.from_embeddings(chips.embeddings[:60], [f"{i}.png" for i in range(60)], [""] * 60, "photo",
                                            "fingerprint", n_trees=2)
    rank_matches(images, images.embeddings[0], 2, classifier, exact=True)
    rank_matches(images, images.embeddings[0], 2, None, exact=True)
    assert asked == [40, 40, 8, 2]  # the cosine alone needs no pool


def test_a_merged_hit_is_placed_among_its_chips_by_their_scores(model, tmp_path):
    scene = make_scene(tmp_path / "area.tif", width=128, height=64)
    index, _ = build_index(model, tmp_path / "idx", scenes=[scene], chip=32, stride=8, n_trees=2, progress=False)
    match = rank_matches(index, index.embeddings[0], 1, exact=True)[0]
    windows, bounds = index.items["window"][list(match.members)], index.items["bounds"][list(match.members)]
    assert match.members[0] == match.item and len(match.members) > 1 and sum(match.weights) == pytest.approx(1.0)
    assert max(match.weights) == match.weights[0]  # the hit itself scores best of its chips
    record = item_record(index, match.item, match)
    assert record["window"] == pytest.approx(np.average(windows, axis=0, weights=match.weights), abs=1e-3)
    assert record["bounds"] == pytest.approx(np.average(bounds, axis=0, weights=match.weights))
    assert record["id"] == item_record(index, match.item)["id"]  # the id still names the chip that matched


def test_index_and_search_cli_on_a_scene_with_geojson(tiny_checkpoint, tiny_data, tmp_path, capsys):
    scene = make_scene(tmp_path / "area.tif")
    png = tmp_path / "plain.png"
    from PIL import Image

    Image.fromarray(np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(png)
    out = tmp_path / "idx"
    assert main(["index", "--checkpoint", str(tiny_checkpoint), "--scene", str(scene), "--chip", "32",
                 "--stride", "32", "--out", str(out), "--n-trees", "2"]) == 0
    assert "6 photo items from 1 files (6 embedded" in capsys.readouterr().out
    assert main(["index", "--checkpoint", str(tiny_checkpoint), "--scene", str(png), "--out", str(tmp_path / "x")]) == 2
    assert "--gsd" in capsys.readouterr().err
    assert main(["index", "--checkpoint", str(tiny_checkpoint), "--scene", str(png), "--gsd", "0.6096", "--chip",
                 "32", "--out", str(tmp_path / "png-idx"), "--n-trees", "2"]) == 0
    assert "from 1 files" in capsys.readouterr().out

    query = tiny_data[1] / "runway" / "0.png"
    geojson = tmp_path / "hits.geojson"
    assert main(["search", "--index", str(out), "--checkpoint", str(tiny_checkpoint), "--query", str(query),
                 "--modality", "sketch", "-k", "3", "--json", "--geojson", str(geojson)]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))
    assert all({"rank", "id", "class", "score", "url", "footprint", "centre", "window"} <= set(r) for r in results)
    features = json.loads(geojson.read_text())["features"]
    assert [f["properties"]["rank"] for f in features] == [r["rank"] for r in results]
    assert features[0]["geometry"]["coordinates"][0][0] == pytest.approx(results[0]["footprint"][0])
    assert main(["search", "--index", str(out), "--checkpoint", str(tiny_checkpoint), "--query", str(query),
                 "--modality", "sketch", "-k", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "(predicted)" in table[1] and "area.tif:" in table[1]


def test_overview_draws_numbered_footprints(tmp_path):
    from crossmodal.overview import BEST_COLOR, FOOTPRINT_COLOR, Overviews

    scene = make_scene(tmp_path / "area.tif", width=200, height=100)
    overviews = Overviews(side=100)
    base, size = overviews.get(scene)
    assert base.size == (100, 50) and size == (200, 100)
    hits = [{"rank": 1, "window": [0, 0, 40, 40]}, {"rank": 2, "window": [100, 50, 40, 40]}]
    drawn = np.asarray(overviews.draw(scene, hits))
    assert tuple(drawn[19, 0]) == BEST_COLOR  # left edge of the first footprint, below its label
    assert tuple(drawn[45, 50]) == FOOTPRINT_COLOR  # left edge of the second, scaled by one half
    assert np.array_equal(np.asarray(overviews.get(scene)[0]), np.asarray(base))  # the cached overview is untouched


def test_a_large_query_photo_is_searched_by_its_best_chip(model, tmp_path):
    from PIL import Image

    from crossmodal.gallery import best_query_chip, is_large_photo

    root = tmp_path / "photos"
    for i in range(3):
        put(root / "runway" / f"r{i}.png", seed=i)
    index, _ = build_index(model, tmp_path / "idx", images=root, n_trees=2, progress=False)
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 255, (700, 900, 3), dtype=np.uint8)).save(big)
    assert is_large_photo(big) and not is_large_photo(root / "runway" / "r0.png")
    chosen = best_query_chip(model, index, big)
    assert chosen.chips == 4 * 3  # columns 0, 256, 512, 644; rows 0, 256, 444
    assert chosen.assumed_gsd and chosen.photo_size == (900, 700)
    assert chosen.image.size == (256, 256)
    col, row, width, height = chosen.window
    assert width == height == 256 and 0 <= col <= 900 - 256 and 0 <= row <= 700 - 256
    assert "12 chips" in chosen.describe() and "assuming" in chosen.describe()
