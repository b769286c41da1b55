"""The robustness suites: seeded generators, the stated counts and sizes, honest scoring, never trained on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TINY_CLASSES, add_other_class
from crossmodal.data import EOC_CLASSES, TEST_NUMBERS, is_blank_sketch, other_class_photos, photo_split, sketch_array
from crossmodal.metrics import retrieval_metrics
from crossmodal.robustness import HANDS, REFERENCE_SHIFT, REFERENCE_STYLE, SHIFTS, STYLES, second_hand, shapes
from crossmodal.robustness.imagery import imagery_suite, shift_photo, suite_photos
from crossmodal.robustness.shapes import CLASSES, Stroke
from crossmodal.robustness.sketches import PENS, _leave_out, canvas_paths, geometry, sketch_suite, style_sketch

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "checkpoints").glob("*.pt"))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


# ---------------------------------------------------------------------------- sketches


def test_the_suite_draws_the_fourteen_classes():
    assert CLASSES == second_hand.CLASSES == tuple(sorted(EOC_CLASSES))


@pytest.mark.parametrize("style", STYLES + (REFERENCE_STYLE,))
def test_a_sketch_is_the_same_for_the_same_seed_and_differs_for_another(style):
    first = pixels(style_sketch("tenniscourt", style, seed=3, index=1))
    assert np.array_equal(first, pixels(style_sketch("tenniscourt", style, seed=3, index=1)))
    assert not np.array_equal(first, pixels(style_sketch("tenniscourt", style, seed=4, index=1)))
    assert not np.array_equal(first, pixels(style_sketch("tenniscourt", style, seed=3, index=2)))


def test_every_class_in_every_style_has_the_stated_count_and_size():
    sketches = list(sketch_suite(per_class=1, seed=0))
    assert len(sketches) == len(STYLES) * len(EOC_CLASSES) == 84
    assert {(s.style, s.label) for s in sketches} == {(st, c) for st in STYLES for c in EOC_CLASSES}
    for s in sketches:
        side = 512 if s.style == "mouse" else 256
        assert s.image.mode == "RGB" and s.image.size == (side, side), s.name
        ink = sketch_array(s.image, 128)
        assert not is_blank_sketch(ink), f"{s.name} has no strokes"
        assert float(np.median(pixels(s.image))) > 200, f"{s.name} is not dark lines on light paper"
    assert len(list(sketch_suite(per_class=3, seed=0, styles=["iconic"], classes=["river", "runway"]))) == 6


def grey_share(image: np.ndarray) -> float:
    """Share of mid-grey pixels among the inked ones: higher when strokes are blurred."""
    level = image.mean(2)
    return float(((level > 60) & (level < 200)).sum() / (level < 200).sum())


def test_the_styles_look_as_documented():
    plain = pixels(style_sketch("parkinglot", REFERENCE_STYLE, 0, 0))
    pencil = pixels(style_sketch("parkinglot", "pencil", 0, 0))
    assert plain.min() < 40 and np.median(plain) == 255  # black ink on white
    assert pencil.min() > 30 and np.median(pencil) < 250  # grey lines on paper that is not white
    assert np.std(pencil[pencil.mean(2) > 200]) > 2  # paper grain
    assert grey_share(pixels(style_sketch("parkinglot", "lowres", 0, 0))) > grey_share(plain) + 0.2
    mouse = style_sketch("runway", "mouse", 0, 0).resize((256, 256), Image.Resampling.BOX)
    thin = pixels(style_sketch("runway", REFERENCE_STYLE, 0, 0))
    assert (pixels(mouse).mean(2) < 128).sum() > 1.4 * (thin.mean(2) < 128).sum()  # 3-6 px at 256 px, not 2


def test_the_non_iconic_styles_draw_the_same_scene():
    from PIL import ImageFilter

    near_plain = pixels(style_sketch("runway", REFERENCE_STYLE, 5, 0).filter(ImageFilter.MinFilter(7))).mean(2) < 128
    partial = pixels(style_sketch("runway", "partial", 5, 0)).mean(2) < 128
    other = pixels(style_sketch("runway", "partial", 6, 0)).mean(2) < 128
    assert (partial & ~near_plain).sum() < 0.02 * partial.sum()  # a part of the same strokes
    assert (other & ~near_plain).sum() > 0.3 * other.sum()  # another seed, another scene


def test_partial_leaves_out_30_to_50_percent_of_the_strokes():
    strokes = [Stroke(np.array([[0.1 * i, 0.1], [0.1 * i, 0.9]])) for i in range(10)]
    for seed in range(20):
        kept = _leave_out(strokes, np.random.default_rng(seed))
        assert 5 <= len(kept) <= 7
        assert all(any(k is s for s in strokes) for k in kept)
    one = [Stroke(np.array([[0.0, 0.5], [1.0, 0.5]]))]
    (cut,) = _leave_out(one, np.random.default_rng(0))
    assert 0.45 <= np.ptp(cut.points[:, 0]) <= 0.75


@pytest.mark.parametrize("hand", [shapes, second_hand], ids=HANDS)
@pytest.mark.parametrize("label", EOC_CLASSES)
def test_each_class_description_stays_in_the_picture(label, hand):
    for compose in (hand.scene, hand.iconic):
        for seed in range(3):
            points = np.concatenate([s.points for s in compose(label, np.random.default_rng(seed))])
            inside = np.all((points >= 0) & (points <= 1), axis=1)
            assert np.isfinite(points).all(), f"{compose.__name__} {label}"
            assert inside.mean() > 0.3, f"{compose.__name__} {label}"
            assert np.ptp(points[inside], axis=0).max() > 0.45, f"{compose.__name__} {label} is tiny"


def test_the_first_hand_draws_what_it_drew_before_there_was_a_second():
    # the strokes of two scenes as SUITE_VERSION 1 drew them: reports of that version stay comparable
    for label, strokes, total in (("runway", 25, 179.044712), ("harbor", 38, 261.616792)):
        drawn = geometry(label, 0, 0)
        assert len(drawn) == strokes
        assert sum(s.points.sum() for s in drawn) == pytest.approx(total, abs=1e-5)


@pytest.mark.parametrize("style", ["iconic", "mouse"])
def test_the_second_hand_draws_its_own_seeded_drawings_with_the_same_pens(style):
    second = pixels(style_sketch("harbor", style, seed=3, index=1, hand="second"))
    assert np.array_equal(second, pixels(style_sketch("harbor", style, seed=3, index=1, hand="second")))
    assert not np.array_equal(second, pixels(style_sketch("harbor", style, seed=4, index=1, hand="second")))
    assert second.shape == pixels(style_sketch("harbor", style, seed=3, index=1)).shape
    first = geometry("harbor", 3, 1, close_up=style == "iconic")
    theirs = geometry("harbor", 3, 1, close_up=style == "iconic", hand="second")
    assert len(first) != len(theirs) or any(a.points.shape != b.points.shape or not np.allclose(a.points, b.points)
                                            for a, b in zip(first, theirs))
    drawings = list(sketch_suite(per_class=1, seed=0, styles=[style], classes=["river", "runway"], hand="second"))
    assert [d.label for d in drawings] == ["river", "runway"]
    assert np.array_equal(pixels(drawings[1].image), pixels(style_sketch("runway", style, 0, 0, hand="second")))


def test_unknown_class_or_style_is_a_clear_error():
    with pytest.raises(ValueError, match="no drawing description"):
        style_sketch("volcano", "iconic")
    with pytest.raises(ValueError, match="unknown sketch style"):
        style_sketch("river", "crayon")
    with pytest.raises(ValueError, match="per_class"):
        list(sketch_suite(per_class=0))
    with pytest.raises(ValueError, match="unknown hand 'third'"):
        style_sketch("river", "iconic", hand="third")
    for hand in (shapes, second_hand):
        with pytest.raises(ValueError, match="no drawing description"):
            hand.iconic("volcano", np.random.default_rng(0))


def test_canvas_paths_stay_on_the_canvas():
    paths = canvas_paths("tenniscourt", 0, 0, 460)
    assert paths and all(len(p) >= 2 for p in paths)
    points = np.concatenate(paths)
    assert points.min() >= 4 and points.max() <= 456


# ---------------------------------------------------------------------------- photos


def test_the_imagery_suite_reads_only_test_photos_and_is_seeded(tiny_data):
    photos, _ = tiny_data
    classes = ("airplane", "runway", "tenniscourt")
    sources = suite_photos(photos, classes)
    assert len(sources) == 6 and all(photo_split(s.path) == "test" for s in sources)
    shifted = list(imagery_suite(photos, classes, seed=0, shifts=(REFERENCE_SHIFT,) + SHIFTS))
    assert len(shifted) == 7 * 6
    assert {p.shift for p in shifted} == set(SHIFTS) | {REFERENCE_SHIFT}
    again = list(imagery_suite(photos, classes, seed=0, shifts=SHIFTS))
    other = list(imagery_suite(photos, classes, seed=1, shifts=SHIFTS))
    differs = set()
    for a, b, c in zip([p for p in shifted if p.shift != REFERENCE_SHIFT], again, other):
        assert a.name == b.name and a.image.size == Image.open(a.source.path).size
        assert np.array_equal(pixels(a.image), pixels(b.image))
        if not np.array_equal(pixels(a.image), pixels(c.image)):
            differs.add(a.shift)
    assert differs == {"colour", "contrast_haze", "blur", "jpeg"}  # the zooms have nothing to draw at random


def test_the_zooms_halve_and_double_the_ground_resolution():
    rng = np.random.default_rng(0)
    coarse = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    photo = coarse.resize((64, 64), Image.Resampling.BILINEAR)  # smooth enough to survive a resampling
    out = pixels(shift_photo(photo, "zoom_out_x0.5", rng))
    half = pixels(photo.resize((32, 32), Image.Resampling.BOX))
    assert np.array_equal(out[16:48, 16:48], half)
    assert np.array_equal(out[15], out[16]) and np.array_equal(out[:, 47], out[:, 48])  # mirrored outwards
    zoomed = shift_photo(photo, "zoom_in_x2", rng)
    assert zoomed.size == (64, 64)
    assert np.abs(pixels(zoomed.resize((32, 32), Image.Resampling.BOX)) - pixels(photo.crop((16, 16, 48, 48)))
                  ).mean() < 12
    with pytest.raises(ValueError, match="unknown imagery shift"):
        shift_photo(photo, "fog", rng)


# ---------------------------------------------------------------------------- scoring


def test_photo_to_photo_precision_leaves_the_query_original_out():
    gallery = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
    labels = ["a", "a", "b", "b"]
    query = gallery[:1]  # a shifted copy of gallery item 0 that kept its embedding
    with_self = retrieval_metrics(query, ["a"], gallery, labels, k=2)
    without = retrieval_metrics(query, ["a"], gallery, labels, k=2, exclude=[0])
    assert with_self["P@2"] == 1.0 and with_self["mAP"] == 1.0  # finds itself, then item 1
    # ranking without item 0: item 1 (0.8), item 3 (0.6), item 2 (0.0)
    assert without["P@2"] == 0.5 and without["mAP"] == 1.0
    query_b = np.array([[0.0, 1.0]])  # a copy of item 2: next come item 3 (b, 0.8) and item 1 (a, 0.6)
    assert retrieval_metrics(query_b, ["b"], gallery, labels, k=2, exclude=[2])["P@2"] == 0.5
    assert retrieval_metrics(query_b, ["b"], gallery, labels, k=1, exclude=[-1])["P@1"] == 1.0
    with pytest.raises(ValueError, match="exclude"):
        retrieval_metrics(query, ["a"], gallery, labels, exclude=[0, 1])


def test_score_queries_by_hand():
    from crossmodal.robustness.evaluation import score_queries

    gallery = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    queries = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    probabilities = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    report = score_queries(queries, probabilities, ["a", "a", "b"], ["a", "b"], gallery, ["a", "a", "b", "b"])
    assert report["n"] == 3
    assert report["accuracy"] == pytest.approx(1 / 3)  # a -> a right, a -> b wrong, b -> a wrong
    assert report["per_class"]["a"] == {"n": 2, "AP": pytest.approx((1.0 + (1 / 3 + 2 / 4) / 2) / 2),
                                        "P@10": pytest.approx(0.2), "accuracy": 0.5}
    assert report["per_class"]["b"]["AP"] == 1.0
    assert report["confusion"] == {"a": {"a": 1, "b": 1}, "b": {"a": 1}}


def test_the_other_classes_found_are_counted_in_each_query_class_top_k():
    from crossmodal.robustness.evaluation import other_classes_found

    # gallery at 0, 10, 20, 80 and 90 degrees: classes a, beach, a, forest, b
    angles = np.radians([0.0, 10.0, 20.0, 80.0, 90.0])
    gallery = np.stack([np.cos(angles), np.sin(angles)], 1)
    labels = ["a", "beach", "a", "forest", "b"]
    queries = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # an a at 0 degrees, two b at 90
    found = other_classes_found(queries, ["a", "b", "b"], gallery, labels, {"beach", "forest"}, None, k=2)
    # a's top 2: a (0), beach (10); each b's: b (90), forest (80)
    assert found == {"a": {"share": 0.5, "by_class": {"beach": 0.5}},
                     "b": {"share": 0.5, "by_class": {"forest": 0.5}}}
    found = other_classes_found(queries, ["a", "b", "b"], gallery, labels, {"beach", "forest"}, None, k=4)
    assert found["a"] == {"share": 0.5, "by_class": {"beach": 0.25, "forest": 0.25}}  # a, beach, a, forest


def test_robustness_command_end_to_end(tiny_checkpoint, tiny_data, tmp_path, capsys):
    from crossmodal.cli import main

    photos, sketches = tiny_data
    out = tmp_path / "report.json"
    assert main(["robustness", "--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--per-class", "2",
                 "--styles", "iconic", "mouse", REFERENCE_STYLE, "--shifts", REFERENCE_SHIFT, "jpeg",
                 "--sketches", f"eoc={sketches}", "--json", str(out), "--save-images", str(tmp_path / "images")]) == 0
    printed = capsys.readouterr().out
    assert "overall (2 styles)" in printed and "zoom_in" not in printed and "jpeg" in printed
    report = json.loads(out.read_text())
    assert report["classes"] == ["airplane", "runway", "tenniscourt"]
    assert set(report["sketch_styles"]) == {"iconic", "mouse", REFERENCE_STYLE, "eoc"}
    assert report["sketch_styles"]["iconic"]["n"] == 6 and report["sketch_overall"]["n"] == 12
    assert report["sketch_styles"]["eoc"]["n"] == 12  # the tiny checkpoint lists no trained sketch
    assert report["photo_shifts"][REFERENCE_SHIFT]["n"] == 6
    for entry in [*report["sketch_styles"].values(), *report["photo_shifts"].values()]:
        assert 0 <= entry["mAP"] <= 1 and 0 <= entry["accuracy"] <= 1
        assert set(entry["per_class"]) == {"airplane", "runway", "tenniscourt"}
    # 2 test photos a class: once its own original is left out, one relevant photo is left for 10 ranks
    assert all(r["P@10"] <= 0.1 + 1e-9 for r in report["photo_shifts"].values())
    assert len(list((tmp_path / "images" / "sketches" / "mouse").rglob("*.png"))) == 6
    assert len(list((tmp_path / "images" / "photos" / "jpeg").rglob("*.png"))) == 6
    assert report["photo_queries"] == "gallery"  # query photos as the app sees them

    # or as the resolution head alone would see them (the tiny model has none: as they are); the
    # report says which
    assert main(["robustness", "--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--styles",
                 "--shifts", REFERENCE_SHIFT, "--photo-queries", "head", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["photo_queries"] == "head"
    assert report["hand"] == "first"

    # the styles drawn by the second hand: the same pens on other drawings
    capsys.readouterr()
    assert main(["robustness", "--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--styles", "iconic",
                 "--shifts", "--hand", "second", "--json", str(out)]) == 0
    assert "drawn by the second hand" in capsys.readouterr().out
    second = json.loads(out.read_text())
    assert second["hand"] == "second" and second["sketch_styles"]["iconic"]["n"] == 30


def test_robustness_command_explains_bad_arguments(tiny_checkpoint, tiny_data, tmp_path, capsys):
    from crossmodal.cli import main

    photos, _ = tiny_data
    assert main(["robustness", "--checkpoint", str(tiny_checkpoint), "--photos", str(photos),
                 "--sketches", "no-equals-sign"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err
    assert main(["robustness", "--checkpoint", str(tiny_checkpoint), "--photos", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_other_classes_join_the_gallery_and_are_never_a_right_answer(tiny_checkpoint, tiny_data, tmp_path, capsys):
    from crossmodal.cli import main

    photos, _ = tiny_data
    out = tmp_path / "report.json"
    args = ["robustness", "--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--styles", "iconic",
            "--shifts", REFERENCE_SHIFT, "--other-classes", "--json", str(out)]
    assert main(args) == 2  # the tiny dataset holds only the model's classes
    assert "no test photos (80-99) of a class the model does not know" in capsys.readouterr().err

    add_other_class(photos, numbers=(0, 70, 80, 81, 82))
    assert [s.path.name for s in other_class_photos(photos, TINY_CLASSES, "test")] == ["beach80.png", "beach81.png",
                                                                               "beach82.png"]
    assert main(args) == 0
    assert "9 test photos, 3 of them of 1 class the model does not know (beach)" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["gallery"]["photos"] == 9 and report["gallery"]["other_classes"] == {"beach": 3}
    # the queries are the model's classes only
    assert report["sketch_styles"]["iconic"]["n"] == 30 and report["photo_shifts"][REFERENCE_SHIFT]["n"] == 6
    found = report["sketch_overall"]["other_classes_found"]  # which scenes of the other classes the drawings find
    assert set(found) == set(TINY_CLASSES) and all(0 <= f["share"] <= 1 for f in found.values())
    assert set(report["photo_shifts"][REFERENCE_SHIFT]["per_class"]) == set(TINY_CLASSES)
    # and each gallery photo searched with its nearest others: said in the report
    assert main(args + ["--neighbour-average", "2"]) == 0
    assert "each searched as the mean of itself and its 2 nearest others" in capsys.readouterr().out
    assert json.loads(out.read_text())["neighbour_average"] == 2


def test_named_other_classes_only_join_the_gallery(tiny_checkpoint, tiny_data, tmp_path, capsys):
    from crossmodal.cli import main

    photos, _ = tiny_data
    add_other_class(photos, numbers=(0, 80, 81))
    add_other_class(photos, numbers=(0, 80), label="forest")
    assert [s.label for s in other_class_photos(photos, TINY_CLASSES, "test", ("forest",))] == ["forest"]
    out = tmp_path / "report.json"
    args = ["robustness", "--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--styles", "iconic",
            "--shifts", "--json", str(out), "--other-classes"]
    assert main(args) == 0
    assert json.loads(out.read_text())["gallery"]["other_classes"] == {"beach": 2, "forest": 1}
    assert main(args + ["forest"]) == 0  # e.g. the classes a model's --outlier-classes left out
    assert json.loads(out.read_text())["gallery"]["other_classes"] == {"forest": 1}
    # a class of the model's own, or one the folder lacks, is no other class: one clear line
    for name in ("runway", "desert"):
        assert main(args + [name]) == 2
        assert f"{name} is not a class under" in capsys.readouterr().err


# ---------------------------------------------------------------------------- never trained on


@pytest.mark.parametrize("checkpoint", COMMITTED, ids=[c.name for c in COMMITTED])
def test_no_suite_input_is_in_the_checkpoint_training_set(checkpoint):
    from crossmodal.checkpoint import load_checkpoint

    model = load_checkpoint(checkpoint)
    meta = model.info["meta"]
    train_photos, train_sketches = set(meta["train_photos"]), set(meta["train_sketches"])
    # the imagery suite's sources are the test photos <class>80..99
    suite_sources = {f"{c}/{c}{n:02d}.jpg" for c in model.class_names for n in TEST_NUMBERS}
    assert not suite_sources & train_photos
    assert all(photo_split(Path(name)) != "test" for name in train_photos)
    # nor a photo of another class, which --other-classes puts in the gallery as scenes the model does not know
    assert {name.split("/")[0] for name in train_photos} <= set(model.class_names)
    # the sketch suite's drawings are generated: no name of a trained sketch, no file of it
    suite_names = {s.name for s in sketch_suite(per_class=1, seed=0, styles=["iconic"], classes=["river"])}
    assert not suite_names & train_sketches
    assert not any(name.startswith(tuple(f"{s}/" for s in STYLES)) for name in train_sketches)


def test_suite_photo_sources_are_not_trained_on_with_the_real_data(real_data):
    from crossmodal.checkpoint import load_checkpoint

    model = load_checkpoint(ROOT / "checkpoints" / "ucm14.pt")
    names = {f"{s.label}/{s.path.name}" for s in suite_photos(real_data / "ucmerced", tuple(model.class_names))}
    assert len(names) == 20 * len(model.class_names)
    assert not names & set(model.info["meta"]["train_photos"])


def loaded_modules(imports: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules under ``prefixes`` that a fresh interpreter holds after ``import <imports>``."""
    code = (f"import sys, {imports}\n"
            f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.replace("'", '"'))


def test_training_code_never_imports_the_suite_generators():
    training = "crossmodal.train, crossmodal.synthetic, crossmodal.sketchify, crossmodal.ink, crossmodal.evaluate"
    assert loaded_modules(training, ("crossmodal.robustness",)) == []


def test_the_suite_generators_import_no_training_renderer():
    generators = ("crossmodal.robustness.sketches, crossmodal.robustness.shapes, crossmodal.robustness.second_hand, "
                  "crossmodal.robustness.imagery")
    assert loaded_modules(generators, ("crossmodal.synthetic", "crossmodal.sketchify", "crossmodal.ink", "torch",
                                       "assets")) == []


def test_every_style_has_a_pen():
    assert set(PENS) == set(STYLES) | {REFERENCE_STYLE}
