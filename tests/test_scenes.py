"""Large scenes: chip windows, footprints and lon/lat against hand-computed values; skipped chips; GeoJSON; NMS."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import rasterio
from PIL import Image
from affine import Affine

from crossmodal.footprints import feature_collection, non_max_suppression, polygon, ring_area, window_iou
from crossmodal.scenes import SKIP_BLANK, SKIP_NODATA, TRAINING_GSD, Scene, SceneError, grid_offsets

# UTM zone 33 south: easting 500 000 is the central meridian 15 E, northing 10 000 000 the equator. There,
# one metre east is 1 / (k0 a) radians of longitude and one metre north 1 / (k0 a (1 - e^2)) of latitude.
K0, A, E2 = 0.9996, 6378137.0, 0.00669437999014
DEG_PER_M_EAST = math.degrees(1 / (K0 * A))
DEG_PER_M_NORTH = math.degrees(1 / (K0 * A * (1 - E2)))
PIXEL = 2 * TRAINING_GSD  # the test scene is half the model's resolution: one scene pixel = two chip pixels


def write_scene(path, width=100, height=80, pixel=PIXEL, nodata=None, data=None, crs="EPSG:32733"):
    """A 3-band GeoTIFF with its top-left corner on the equator at 15 E (UTM 33S), textured so no chip is blank."""
    if data is None:
        rng = np.random.default_rng(0)
        data = rng.integers(30, 220, (3, height, width), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8", crs=crs,
                       transform=Affine(pixel, 0, 500000.0, 0, -pixel, 10000000.0), nodata=nodata) as dst:
        dst.write(data)
    return path


def test_grid_offsets_end_flush_with_the_edge():
    assert grid_offsets(200, 64, 32) == [0, 32, 64, 96, 128, 136]
    assert grid_offsets(160, 64, 32) == [0, 32, 64, 96]
    assert grid_offsets(64, 64, 32) == [0]
    with pytest.raises(ValueError, match="no chip"):
        grid_offsets(63, 64, 32)


def test_chip_windows_and_footprints_equal_hand_computed_values(tmp_path):
    with Scene(write_scene(tmp_path / "s.tif"), chip=64, stride=32) as scene:
        assert scene.gsd == pytest.approx((PIXEL, PIXEL))
        assert scene.scale == pytest.approx((2.0, 2.0))
        assert (scene.grid_width, scene.grid_height) == (200, 160)
        assert scene.cols == [0, 32, 64, 96, 128, 136] and scene.rows == [0, 32, 64, 96]
        windows = scene.grid_windows()
        assert len(windows) == len(scene) == 24
        # grid row 1 (y = 32 model px), last column (x = 136): scene pixels 68..100 x 16..48
        assert windows[6 + 5].tolist() == pytest.approx([68.0, 16.0, 32.0, 32.0])
        fp = scene.footprints(windows[[11]])
    left, right = 500000 + 68 * PIXEL, 500000 + 100 * PIXEL
    top, bottom = 10000000 - 16 * PIXEL, 10000000 - 48 * PIXEL
    assert fp.bounds[0].tolist() == pytest.approx([left, bottom, right, top], abs=1e-6)
    assert fp.corners[0] == pytest.approx(np.array([[left, top], [left, bottom], [right, bottom], [right, top]]))
    lon = lambda x: 15 + (x - 500000) * DEG_PER_M_EAST  # noqa: E731
    lat = lambda y: (y - 10000000) * DEG_PER_M_NORTH  # noqa: E731
    assert fp.lonlat[0] == pytest.approx(np.array(
        [[lon(left), lat(top)], [lon(left), lat(bottom)], [lon(right), lat(bottom)], [lon(right), lat(top)]]), abs=1e-8)
    assert fp.centre[0].tolist() == pytest.approx([lon((left + right) / 2), lat((top + bottom) / 2)], abs=1e-8)


def test_chips_are_resampled_to_the_model_resolution(tmp_path):
    data = np.broadcast_to(np.arange(100, dtype=np.uint8) * 2, (3, 80, 100)).copy()  # value = 2 x scene column
    with Scene(write_scene(tmp_path / "s.tif", data=data), chip=64, stride=32) as scene:
        pixels, windows = next(scene.chips())
    assert pixels.shape == (6, 3, 64, 64) and pixels.dtype == np.uint8
    second = pixels[1, 0, 10]  # chip at model column 32 = scene column 16: two chip pixels a scene pixel
    expected = 2 * (16 + (np.arange(64) + 0.5) / 2 - 0.5)
    assert np.abs(second[1:-1].astype(float) - expected[1:-1]).max() <= 1.0
    assert windows[1].tolist() == pytest.approx([16.0, 0.0, 32.0, 32.0])


def test_nodata_and_blank_chips_are_skipped(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(30, 220, (3, 80, 100), dtype=np.uint8)
    data[:, :, :50] = 0  # nodata: the left half
    data[:, 30:, 50:] = 128  # one flat colour: the lower right
    with Scene(write_scene(tmp_path / "s.tif", data=data, nodata=0), chip=64, stride=64) as scene:
        assert scene.cols == [0, 64, 128, 136] and scene.rows == [0, 64, 96]
        kept = np.concatenate([w for _, w in scene.chips()])
        assert scene.skipped == {SKIP_NODATA: 6, SKIP_BLANK: 4}
    # kept: the chips of the upper right that are at least half valid and not flat
    assert sorted(map(tuple, kept[:, :2].tolist())) == [(64.0, 0.0), (68.0, 0.0)]


def test_plain_image_needs_gsd_and_uses_pixel_coordinates(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(path)
    with pytest.raises(SceneError, match="--gsd"):
        Scene(path)
    with Scene(path, gsd=TRAINING_GSD, chip=64, stride=64) as scene:
        assert not scene.georeferenced and scene.scale == (1.0, 1.0)
        assert scene.cols == [0, 64, 128, 136] and scene.rows == [0, 64, 86]
        fp = scene.footprints(scene.grid_windows()[[5]])  # row 64, column 64
        assert scene.lonlat_bounds() is None
    assert fp.corners[0].tolist() == [[64, 64], [64, 128], [128, 128], [128, 64]]
    assert fp.bounds[0].tolist() == [64, 128, 128, 64]
    assert np.isnan(fp.lonlat).all() and np.isnan(fp.centre).all()


def test_bad_scenes_are_clear_errors(tmp_path):
    (tmp_path / "broken.tif").write_bytes(b"II*\x00 not really")
    with pytest.raises(SceneError, match="cannot read scene"):
        Scene(tmp_path / "broken.tif")
    with pytest.raises(SceneError, match="less than one chip"):
        Scene(write_scene(tmp_path / "small.tif", width=20, height=20), chip=64)
    with pytest.raises(SceneError, match="--gsd must be"):
        Scene(write_scene(tmp_path / "s.tif"), gsd=0)


def test_sixteen_bit_and_single_band_scenes_become_rgb(tmp_path):
    path = tmp_path / "gray16.tif"
    data = (np.arange(80 * 100, dtype=np.uint16).reshape(1, 80, 100) * 7) % 4000
    with rasterio.open(path, "w", driver="GTiff", width=100, height=80, count=1, dtype="uint16", crs="EPSG:32733",
                       transform=Affine(PIXEL, 0, 500000.0, 0, -PIXEL, 10000000.0)) as dst:
        dst.write(data)
    with Scene(path, chip=64, stride=64) as scene:
        pixels, _ = next(scene.chips())
        assert scene.overview(50).mode == "RGB"
    assert pixels.dtype == np.uint8 and pixels.shape[1] == 3
    assert (pixels[:, 0] == pixels[:, 1]).all() and pixels.max() > 200 and pixels.min() < 50


def test_window_iou_and_non_max_suppression():
    assert window_iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert window_iou([0, 0, 10, 10], [10, 0, 10, 10]) == 0.0
    windows = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [10, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4], float)
    sources = np.array([0, 0, 0, 1, 2])
    # 1 overlaps 0 (IoU 1/3): merged; 2 touches 0 only at an edge; 3 is another scene; 4 is a whole image
    assert non_max_suppression([0, 1, 2, 3, 4], sources, windows, iou=0.1) == [0, 2, 3, 4]
    assert non_max_suppression([1, 0, 2, 3, 4], sources, windows, iou=0.1) == [1, 3, 4]
    assert non_max_suppression([0, 1, 2], sources, windows, iou=0.5) == [0, 1, 2]
    assert non_max_suppression([0, 1, 2, 3], sources, windows, iou=0.1, limit=2) == [0, 2]


def test_geojson_is_rfc7946(tmp_path):
    with Scene(write_scene(tmp_path / "s.tif"), chip=64, stride=32) as scene:
        fp = scene.footprints(scene.grid_windows()[:2])
    records = [{"rank": r + 1, "id": f"s.tif:{r}", "score": 0.9 - r / 10, "footprint": fp.lonlat[r].tolist(),
                "centre": fp.centre[r].tolist()} for r in range(2)]
    records.append({"rank": 3, "id": "plain.png", "score": 0.5})  # no footprint: left out
    collection = json.loads(json.dumps(feature_collection(records)))
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 2
    for rank, feature in enumerate(collection["features"], start=1):
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) == 5 and ring[0] == ring[-1]  # closed
        assert ring_area(ring[:-1]) > 0  # counter-clockwise
        assert all(14.99 < lon < 15.01 and -0.01 < lat <= 0 for lon, lat in ring)  # longitude first
        assert feature["properties"]["rank"] == rank and "score" in feature["properties"]
        assert "footprint" not in feature["properties"]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        assert feature["bbox"] == [min(lons), min(lats), max(lons), max(lats)]
    clockwise = [[0, 0], [0, 1], [1, 1], [1, 0]]
    assert ring_area(polygon(clockwise)["coordinates"][0][:-1]) > 0
