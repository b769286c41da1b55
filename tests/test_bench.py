"""The benchmarks still run end to end on tiny inputs (their numbers are not checked here)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from conftest import TINY_CLASSES, add_other_class

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench(name: str):
    """Import ``bench/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"{name}_bench", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is being executed
    spec.loader.exec_module(module)
    return module


def test_ann_benchmark_runs_on_a_tiny_set(tmp_path, capsys):
    bench = _bench("ann")
    out = tmp_path / "rows.json"
    assert bench.main(["--sizes", "400", "--clusters", "5", "--queries", "30", "--exact-queries", "10",
                       "--trees", "50", "--shards", "1", "2", "--search-k", "40", "--runs", "2",
                       "--no-peak-memory", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    methods = {r["method"] for r in rows}
    assert {"exact numpy, 1 query", "annoy", "annoy, 2 shards", "annoy, 2 clients"} <= methods
    assert all(0.0 <= r["recall"] <= 1.0 for r in rows)
    assert all(r["recall"] == 1.0 for r in rows if r["method"].startswith("exact"))
    assert all(len(r["p50_ms_runs"]) == 2 for r in rows if r["method"] == "annoy")
    assert "recall@10" in capsys.readouterr().out


def test_neighbour_average_benchmark_runs_exact_and_annoy_sizes(monkeypatch, capsys):
    from crossmodal import index as index_module

    bench = _bench("neighbour_average")
    for module in (bench, index_module):  # 400 items count as a large gallery here
        monkeypatch.setattr(module, "EXACT_NEIGHBOURS_UP_TO", 200)
    assert bench.main(["--sizes", "150", "400", "--sample", "50", "--clusters", "5"]) == 0
    out = capsys.readouterr().out
    assert "exact search" in out and "(every item)" in out and "(exact neighbours)" in out
    assert "(50 items)" in out and "(Annoy neighbours)" in out


def test_scene_benchmark_runs_on_a_tiny_mosaic(tiny_data, tiny_checkpoint, tmp_path, capsys):
    bench = _bench("scene")
    photos, sketches = tiny_data
    out = tmp_path / "rows.json"
    assert bench.main(["--photos", str(photos), "--sketches", str(sketches), "--checkpoint", str(tiny_checkpoint),
                       "--classes", "ucm", "--out", str(tmp_path / "run"), "--grid", "2", "--stride", "128",
                       "--no-tta", "-k", "3", "--json", str(out)]) == 0
    numbers = json.loads(out.read_text())
    assert set(numbers["scenes"]) == {"0.3 m", "0.6 m"}
    assert all(row["chips"] == 9 and 0 <= row["share"] <= 1 for row in numbers["scenes"].values())
    assert "share@k" in capsys.readouterr().out


def test_style_validation_scores_only_validation_photos(tiny_data, tiny_checkpoint, capsys):
    bench = _bench("style_validation")
    photos, _ = tiny_data
    assert bench.main(["--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--per-class", "1"]) == 0
    printed = capsys.readouterr().out
    assert "18 drawings (seed 1), 3 validation photos" in printed  # 3 classes x 6 styles; photos numbered 70
    assert all(style in printed for style in ("iconic", "mouse", "pencil", "wobbly", "partial", "lowres"))


def test_style_validation_says_where_the_drawings_of_each_class_go(tiny_data, tiny_checkpoint, capsys):
    bench = _bench("style_validation")
    photos, _ = tiny_data
    assert bench.main(["--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--per-class", "1",
                       "--every-class", "--confusions"]) == 0
    confusions = capsys.readouterr().out.split("predicted for the drawings of each class")[1].splitlines()[1:]
    assert [line.split()[0] for line in confusions] == list(TINY_CLASSES)
    for line in confusions:  # "airplane        runway 4, airplane 2": one count a predicted class, 6 styles in all
        counts = [int(part.split()[-1]) for part in line.split(None, 1)[1].split(",")]
        assert sum(counts) == 6 and counts == sorted(counts, reverse=True)


def test_the_validation_benches_can_add_other_classes_to_the_gallery(tiny_data, tiny_checkpoint, capsys):
    photos, _ = tiny_data
    add_other_class(photos)
    assert _bench("style_validation").main(["--checkpoint", str(tiny_checkpoint), "--photos", str(photos),
                                            "--per-class", "1", "--other-classes"]) == 0
    assert "4 validation photos (1 of classes the model does not know)" in capsys.readouterr().out
    assert _bench("photo_views").main(["--checkpoint", str(tiny_checkpoint), "--photos", str(photos),
                                       "--other-classes", "--neighbour-average", "1"]) == 0
    printed = capsys.readouterr().out
    assert "3 validation photos (70-79), shifts of seed 1; 1 more in the gallery, of other classes" in printed
    assert "at gallery res." in printed


def test_train_speed_times_the_three_steps_and_projects_the_recipe(tiny_data, tmp_path, capsys):
    bench = _bench("train_speed")
    photos, sketches = tiny_data
    out = tmp_path / "speed.json"
    # the tiny photos stand in for the demo world of step 1
    world = tmp_path / "world"
    world.mkdir()
    (world / "photos").symlink_to(photos)
    (world / "sketches").symlink_to(sketches)
    assert bench.main(["--photos", str(photos), "--sketches", str(sketches), "--world", str(world),
                       "--batches", "2", "--epochs", "2", "3", "1", "--classes", *TINY_CLASSES,
                       "--synthetic-sketches", "0", "--batch-size", "2", "--precision", "fp32", "fp32", "bf16",
                       "--json", str(out)]) == 0
    numbers = json.loads(out.read_text())
    assert numbers["compile"] is False  # the eager model, as training runs it
    assert [row["epochs"] for row in numbers["rows"]] == [2, 3, 1]
    assert [row["precision"] for row in numbers["rows"]] == ["fp32", "fp32", "bf16"]
    for row in numbers["rows"]:
        assert row["prepare_s"] > 0 and row["compute_s"] > 0 and row["validation_s"] >= 0
        assert row["epoch_s"] == pytest.approx(row["batches_per_epoch"] * (row["prepare_s"] + row["compute_s"])
                                               + row["validation_s"])
        assert row["minutes"] == pytest.approx(row["epochs"] * row["epoch_s"] / 60)
    assert numbers["total_minutes"] == pytest.approx(sum(row["minutes"] for row in numbers["rows"]))
    assert "the recipe, projected" in capsys.readouterr().out
