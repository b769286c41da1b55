"""The demo world: deterministic scenes, the loaders' layout, sketches that look like sketches."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from crossmodal.data import EOC_CLASSES, photo_split, scan_folder
from crossmodal.synthetic import SIZE, generate_world, make_scene, render_scene
from crossmodal.synthetic.scenes import BUILDERS, VARIANTS
from crossmodal.synthetic.world import _streams


def _digest(image: Image.Image) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def one_per_class() -> dict[str, tuple[Image.Image, Image.Image]]:
    return {label: render_scene(label, 7) for label in EOC_CLASSES}


def test_same_seed_same_images_other_seed_other_images():
    photo_a, sketch_a = render_scene("harbor", 3)
    photo_b, sketch_b = render_scene("harbor", 3)
    photo_c, sketch_c = render_scene("harbor", 4)
    assert _digest(photo_a) == _digest(photo_b) and _digest(sketch_a) == _digest(sketch_b)
    assert _digest(photo_a) != _digest(photo_c) and _digest(sketch_a) != _digest(sketch_c)


def test_every_class_renders_rgb_images_of_the_right_size(one_per_class):
    for label, (photo, sketch) in one_per_class.items():
        assert photo.mode == "RGB" and sketch.mode == "RGB", label
        assert photo.size == (SIZE, SIZE) == sketch.size, label


def test_sketches_are_mostly_white_with_dark_strokes_and_photos_are_not(one_per_class):
    for label, (photo, sketch) in one_per_class.items():
        gray = np.asarray(sketch.convert("L"))
        assert (gray > 220).mean() > 0.75, f"{label}: sketch paper is not mostly white"
        assert (gray < 180).mean() > 0.003 and gray.min() < 130, f"{label}: sketch has no dark strokes"
        assert np.ptp(np.asarray(sketch), axis=2).max() == 0, f"{label}: sketch is not gray"
        photo_gray = np.asarray(photo.convert("L"))
        assert (photo_gray > 220).mean() < 0.3, f"{label}: photo looks like paper"
        assert photo_gray.std() > 8 and np.asarray(photo).std(axis=(0, 1)).max() > 8, f"{label}: flat photo"


def test_photo_and_sketch_show_the_same_geometry(one_per_class):
    """Sketch strokes lie near the photo's edges, more than near the edges of another scene's photo."""
    def near_edges(photo: Image.Image, sketch: Image.Image) -> float:
        edges = cv2.Canny(np.asarray(photo.convert("L")), 60, 140)
        near = cv2.dilate(edges, np.ones((17, 17), np.uint8)) > 0  # the sketcher's copy is a little off
        ink = np.asarray(sketch.convert("L")) < 128
        return float(near[ink].mean()) if ink.any() else 0.0

    labels = list(one_per_class)
    matched = np.mean([near_edges(one_per_class[c][0], one_per_class[c][1]) for c in labels])
    shuffled = np.mean([near_edges(one_per_class[c][0], one_per_class[labels[(i + 1) % len(labels)]][1])
                        for i, c in enumerate(labels)])
    assert matched > shuffled + 0.1


def test_scenes_vary_within_a_class():
    scenes = [make_scene("tenniscourt", seed) for seed in range(6)]
    centres = {tuple(np.round(s.parts[0].points.mean(0))) for s in scenes}
    assert len(centres) == 6


def test_a_varied_world_draws_classes_with_another_layout_in_both_and_the_others_as_before():
    photo, sketch = render_scene("runway", 5)
    photo_varied, sketch_varied = render_scene("runway", 5, varied=True)
    assert _digest(photo) == _digest(photo_varied) and _digest(sketch) == _digest(sketch_varied)
    assert set(VARIANTS) == {"harbor", "overpass"}
    for label, other in VARIANTS.items():
        took_other = []
        for seed in range(12):
            layout = _streams(label, seed)[0]
            took_other.append(layout.random() < 0.5)  # the draw make_scene makes before building
            expected = (other if took_other[-1] else BUILDERS[label])(layout)
            scene = make_scene(label, seed, varied=True)
            assert [p.points.tolist() for p in scene.parts] == [p.points.tolist() for p in expected.parts], label
        assert any(took_other) and not all(took_other), label


def test_generate_world_writes_the_loaders_layout(tmp_path: Path):
    photos, sketches = generate_world(tmp_path / "world", per_class=2, seed=1, workers=1)
    assert photos == tmp_path / "world" / "photos" and sketches == tmp_path / "world" / "sketches"
    for label in EOC_CLASSES:
        assert sorted(p.name for p in (photos / label).iterdir()) == [f"{label}00.png", f"{label}01.png"]
        assert sorted(p.name for p in (sketches / label).iterdir()) == ["00.png", "01.png"]
    assert {s.label for s in scan_folder(photos)} == set(EOC_CLASSES)
    assert {s.label for s in scan_folder(sketches)} == set(EOC_CLASSES)
    with Image.open(photos / "river" / "river01.png") as image:
        assert image.size == (SIZE, SIZE)
    # the same NN is the same scene, rendered by render_scene
    from crossmodal.synthetic import scene_seed

    photo, sketch = render_scene("river", scene_seed(1, 1))
    with Image.open(photos / "river" / "river01.png") as p, Image.open(sketches / "river" / "01.png") as s:
        assert _digest(p.convert("RGB")) == _digest(photo) and _digest(s.convert("RGB")) == _digest(sketch)


def test_generate_world_is_deterministic_and_names_follow_the_split(tmp_path: Path):
    classes = ("runway", "storagetanks")
    a, _ = generate_world(tmp_path / "a", per_class=3, seed=5, classes=classes, workers=1)
    b, _ = generate_world(tmp_path / "b", per_class=3, seed=5, classes=classes, workers=2)  # in two processes
    c, _ = generate_world(tmp_path / "c", per_class=3, seed=6, classes=classes, workers=1)
    for label in classes:
        for n in range(3):
            name = f"{label}{n:02d}.png"
            assert (a / label / name).read_bytes() == (b / label / name).read_bytes()
            assert (a / label / name).read_bytes() != (c / label / name).read_bytes()
    assert photo_split(Path("runway85.png")) == "test" and photo_split(Path("runway75.png")) == "val"


def test_bad_arguments_raise_value_errors(tmp_path: Path):
    with pytest.raises(ValueError, match="no scene generator"):
        render_scene("volcano", 0)
    with pytest.raises(ValueError, match="per_class"):
        generate_world(tmp_path, per_class=0)
    with pytest.raises(ValueError, match="no scene generator"):
        generate_world(tmp_path, per_class=1, classes=("airplane", "volcano"))
    with pytest.raises(ValueError, match="seed"):
        render_scene("airplane", -1)


def test_synth_command(tmp_path: Path, capsys):
    from crossmodal.cli import main

    assert main(["synth", "--out", str(tmp_path / "w"), "--per-class", "2", "--classes", "airplane", "golfcourse",
                 "--workers", "1"]) == 0
    assert "4 photo/sketch pairs" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "w" / "photos" / "golfcourse").iterdir()) == ["golfcourse00.png",
                                                                                         "golfcourse01.png"]
    assert main(["synth", "--out", str(tmp_path / "w"), "--per-class", "0"]) == 2
