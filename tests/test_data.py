from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crossmodal.data import (DatasetNotFoundError, ImageLoadError, Sample, canonical_class, load_arrays, load_image,
                             other_class_photos, photo_array, photo_at_resolution, photo_split, scan_folder,
                             sketch_array, sketch_fold)
from crossmodal.sketchify import pseudo_sketch

from conftest import TINY_CLASSES, add_other_class


@pytest.mark.parametrize("folder, expected", [
    ("Aeroplane", "airplane"), ("Tenniscourt", "tenniscourt"), ("Storage Tanks", "storagetanks"),
    ("building", "buildings"), ("Baseball_Diamond", "baseballdiamond"), ("harbor", "harbor"),
    ("MyOwnClass", "myownclass"),
])
def test_earth_on_canvas_folder_names_map_to_uc_merced(folder, expected):
    assert canonical_class(folder) == expected


@pytest.mark.parametrize("name, split", [
    ("harbor00.jpg", "train"), ("harbor69.jpg", "train"), ("harbor70.jpg", "val"), ("harbor79.tif", "val"),
    ("harbor80.jpg", "test"), ("harbor99.png", "test"), ("nonumber.jpg", "train"),
])
def test_fixed_photo_split(name, split):
    assert photo_split(Path(name)) == split


def test_sketch_folds_are_round_robin_across_classes():
    samples = [Sample(Path(f"a/{i}.jpg"), "a") for i in (0, 1, 2)] + [Sample(Path("b/7.jpg"), "b")]
    folds = sketch_fold(samples, 2)
    assert [folds[Path(f"a/{i}.jpg")] for i in (0, 1, 2)] == [0, 1, 0]
    assert folds[Path("b/7.jpg")] == 1
    assert sketch_fold(list(reversed(samples)), 2) == folds


def test_scan_folder_reads_classes_and_filters(tiny_data):
    photos, _ = tiny_data
    samples = scan_folder(photos)
    assert {s.label for s in samples} == {"airplane", "runway", "tenniscourt"}
    assert len(samples) == 3 * 7
    assert {s.label for s in scan_folder(photos, ("runway",))} == {"runway"}


def test_other_class_photos_are_one_split_of_the_classes_outside_the_models(tiny_data):
    photos, _ = tiny_data
    add_other_class(photos, numbers=(0, 65, 70, 80))
    add_other_class(photos, numbers=(1, 81), label="forest")

    def names(*args, **kwargs):
        return [s.path.name for s in other_class_photos(photos, TINY_CLASSES, *args, **kwargs)]

    assert names("train") == ["beach00.png", "beach65.png", "forest01.png"]
    assert names("train", val_from=60) == ["beach00.png", "forest01.png"]
    assert names("val") == ["beach70.png"] and names("test") == ["beach80.png", "forest81.png"]
    assert names("test", ("forest",)) == ["forest81.png"]
    assert other_class_photos(photos, TINY_CLASSES + ("beach", "forest"), "test") == []
    for name in ("runway", "desert"):  # one of the model's own, one the folder lacks
        with pytest.raises(ValueError, match=f"{name} is not a class under .* other than the model's"):
            other_class_photos(photos, TINY_CLASSES, "test", (name,))


def test_missing_or_empty_folders_say_what_is_wrong(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        scan_folder(tmp_path / "nowhere")
    (tmp_path / "empty" / "airplane").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="no images"):
        scan_folder(tmp_path / "empty")


def test_corrupt_files_are_listed_and_skipped(tiny_data):
    photos, _ = tiny_data
    bad = photos / "runway" / "runway05.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    samples = scan_folder(photos, ("runway",))
    arrays, kept, skipped = load_arrays(samples, "photo", 16)
    assert arrays.shape == (7, 3, 16, 16) and len(kept) == 7
    assert [path for path, _ in skipped] == [bad]
    with pytest.raises(ImageLoadError, match="cannot read"):
        load_image(bad)


def test_odd_images_become_8_bit_rgb(tmp_path):
    gray16 = Image.fromarray((np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16))
    gray16.save(tmp_path / "deep.png")
    rgba = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    rgba.putpixel((5, 5), (0, 0, 0, 255))
    rgba.save(tmp_path / "drawing.png")
    Image.new("L", (20, 20), 128).save(tmp_path / "gray.tif")
    for name in ("deep.png", "drawing.png", "gray.tif"):
        image = load_image(tmp_path / name)
        assert image.mode == "RGB"
    deep = np.asarray(load_image(tmp_path / "deep.png"))
    assert deep.max() == 255 and deep.min() == 0  # stretched, not clipped to white
    drawing = np.asarray(load_image(tmp_path / "drawing.png"))
    assert drawing[0, 0].tolist() == [255, 255, 255] and drawing[5, 5].tolist() == [0, 0, 0]


def test_half_transparent_ink_is_blended_onto_white():
    # red at alpha 128: 255 * 128/255 + 255 * 127/255 = 255; 0 * 128/255 + 255 * 127/255 = 127
    assert load_image(Image.new("RGBA", (4, 4), (255, 0, 0, 128))).getpixel((1, 1)) == (255, 127, 127)
    assert load_image(Image.new("LA", (4, 4), (0, 128))).getpixel((1, 1)) == (127, 127, 127)


def test_huge_images_are_bounded_or_refused(tmp_path, monkeypatch):
    Image.new("RGB", (3000, 1000), "white").save(tmp_path / "wide.png")
    assert max(load_image(tmp_path / "wide.png", max_side=512).size) == 512
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageLoadError, match="cannot read"):
        load_image(tmp_path / "wide.png")


def test_sketch_ink_map_keeps_thin_strokes():
    image = Image.new("RGB", (256, 256), "white")
    image.paste((0, 0, 0), (100, 0, 101, 256))  # a one-pixel pen line, off centre
    ink = sketch_array(image, 64)
    assert ink.shape == (1, 64, 64)
    # normalised: the line is framed in the middle, redrawn along its whole length, paper beside it
    assert ink[0, 8:56, 30:34].max(axis=1).min() > 100 and ink[0, :, :20].max() == 0


def test_legacy_sketch_input_is_the_plain_resize():
    image = Image.new("RGB", (256, 256), "white")
    image.paste((0, 0, 0), (100, 0, 101, 256))
    ink = sketch_array(image, 64, "legacy")
    assert ink[0, :, 25].min() > 100 and ink[0, :, :20].max() == 0
    with pytest.raises(ValueError, match="sketch input"):
        sketch_array(image, 64, "sharpie")


def test_pseudo_sketch_is_dark_strokes_on_white(tiny_data):
    photos, _ = tiny_data
    drawing = np.asarray(pseudo_sketch(load_image(photos / "runway" / "runway00.png")))
    assert drawing.shape == (256, 256)
    assert (drawing > 200).mean() > 0.8 and (drawing < 100).sum() > 50


def _numbered_photo(side: int = 64) -> Image.Image:
    """An RGB photo whose red and green channels count rows and columns in steps of 4."""
    rows, cols = np.mgrid[0:side, 0:side] * 4
    return Image.fromarray(np.stack([rows, cols, rows * 0 + 100], -1).astype(np.uint8))


def test_a_photo_at_the_training_resolution_is_seen_as_it_is():
    photo = _numbered_photo()
    assert np.array_equal(photo_at_resolution(photo, 32, 1.0), photo_array(photo, 32))


def test_coarser_imagery_is_seen_by_its_centre_enlarged():
    photo = _numbered_photo()  # at half the resolution, the middle half of the side is a training photo's ground
    assert np.array_equal(photo_at_resolution(photo, 32, 0.5), photo_array(photo.crop((16, 16, 48, 48)), 32))


def test_finer_imagery_is_shrunk_into_the_middle_of_a_mirrored_frame():
    photo = _numbered_photo()
    seen = photo_at_resolution(photo, 32, 2.0)
    assert seen.shape == (3, 32, 32)
    assert np.array_equal(seen[:, 8:24, 8:24], photo_array(photo, 16))
    assert np.array_equal(seen[:, 7, 8:24], seen[:, 9, 8:24])  # the row above the photo mirrors its second row
    assert np.array_equal(seen[:, 8:24, 24], seen[:, 8:24, 22])
