"""The app as a public service: the result JSON contract, only indexed files served, bounded inputs."""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from crossmodal.data import MAX_PIXELS, MAX_SIDE, ImageTooLargeError, load_image
from crossmodal.retrieval import gallery_id

RESULT_KEYS = {"rank", "id", "class", "score"}


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares a size but holds no pixels: refused from its header, or unreadable when decoded."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) +
                     chunk(b"IEND", b""))
    return path


def big_sketch(path: Path, side: int = 2048) -> Path:
    """A sketch of thin lines on a large canvas, as a high-resolution drawing tablet would export it."""
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    for i in range(8):
        draw.line([(side // 10, side // 9 * (i + 1)), (side - side // 10, side // 9 * (i + 1))], fill="black", width=3)
    image.save(path)
    return path


def keys_named_path(value) -> list[str]:
    """Every key called 'path' anywhere in a JSON value: Gradio clients take such objects for files."""
    if isinstance(value, dict):
        return [k for k in value if k == "path"] + [k for v in value.values() for k in keys_named_path(v)]
    if isinstance(value, list):
        return [k for v in value for k in keys_named_path(v)]
    return []


# ---------------------------------------------------------------------------- the result JSON


def test_gallery_ids_are_paths_inside_the_gallery_folder(tmp_path):
    root = tmp_path / "photos"
    assert gallery_id(root / "runway" / "runway49.jpg", root) == "runway/runway49.jpg"
    assert gallery_id(root / "a" / "b" / "c.png", root) == "a/b/c.png"
    assert gallery_id(tmp_path / "elsewhere" / "x.png", root) == "elsewhere/x.png"
    assert gallery_id("/srv/data/runway/runway01.jpg", None) == "runway/runway01.jpg"


def test_result_json_has_ids_and_no_server_paths(retriever, tiny_data):
    for source, modality, gallery, root in ((tiny_data[1] / "runway" / "0.png", "sketch", "photo", tiny_data[0]),
                                            (tiny_data[0] / "airplane" / "airplane00.png", "photo", "sketch",
                                             tiny_data[1])):
        payload = retriever.search(str(source), modality, gallery, 7).to_json()
        assert keys_named_path(payload) == []
        assert str(tiny_data[0].parent) not in str(payload)  # no server folder anywhere
        results = payload["results"]
        assert [r["rank"] for r in results] == list(range(1, 8))
        assert all(set(r) == RESULT_KEYS for r in results)
        assert all((root / r["id"]).is_file() and r["id"].split("/")[0] == r["class"] for r in results)


# ---------------------------------------------------------------------------- gallery files


def test_only_indexed_ids_map_to_files(retriever, tiny_data):
    photos, sketches = tiny_data
    assert retriever.gallery_file("photo", "runway/runway01.png") == (photos / "runway" / "runway01.png").resolve()
    assert retriever.gallery_file("sketch", "runway/0.png") == (sketches / "runway" / "0.png").resolve()
    (photos / "forest").mkdir()  # a class the model does not know: in the folder, never indexed
    Image.new("RGB", (8, 8)).save(photos / "forest" / "forest00.png")
    for item in ("forest/forest00.png", "../sketches/runway/0.png", "runway/../runway/runway01.png",
                 str((photos / "runway" / "runway01.png").resolve()), "runway/0.png", ""):
        assert retriever.gallery_file("photo", item) is None, item
    assert retriever.gallery_file("nonsense", "runway/runway01.png") is None


def test_a_gallery_file_gone_at_run_time_is_skipped_with_one_log_line(retriever, tiny_data, caplog):
    sketch = str(tiny_data[1] / "runway" / "0.png")
    before = retriever.search(sketch, "sketch", "photo", 21)
    gone = before.hits[0]
    Path(gone.path).unlink()
    with caplog.at_level(logging.WARNING, logger="crossmodal.retrieval"):
        after = retriever.search(sketch, "sketch", "photo", 20)
        again = retriever.search(sketch, "sketch", "photo", 20)
    assert [h.id for h in after.hits] == [h.id for h in before.hits[1:]] == [h.id for h in again.hits]
    assert [h.rank for h in after.hits] == list(range(1, 21))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and gone.id in lines[0]
    assert retriever.gallery_file("photo", gone.id) is None
    assert len(retriever.thumbnails(after)) == 20


def test_a_file_gone_between_search_and_thumbnails_gets_a_grey_tile(retriever, tiny_data):
    result = retriever.search(str(tiny_data[1] / "airplane" / "0.png"), "sketch", "photo", 5)
    Path(result.hits[2].path).unlink()
    tiles = retriever.thumbnails(result)
    assert len(tiles) == 5 and Image.open(tiles[2][0]).getpixel((96, 96)) == (200, 200, 200)


# ---------------------------------------------------------------------------- bounded inputs


def test_images_over_the_pixel_budget_are_refused_from_their_header(tmp_path):
    side = int(MAX_PIXELS ** 0.5) + 1
    with pytest.raises(ImageTooLargeError, match=f"{side} x {side} pixels is more than the 16.8-megapixel limit"):
        load_image(png_header_only(tmp_path / "big.png", side, side))  # no pixel data: it was never decoded
    huge_jpeg = tmp_path / "huge.jpg"  # a JPEG decodes at a reduced scale: within the budget however large
    Image.new("RGB", (6000, 4000), (90, 120, 80)).save(huge_jpeg, quality=50)
    assert max(load_image(huge_jpeg).size) == MAX_SIDE


def test_a_2048_sketch_is_searched_within_the_budget(retriever, tmp_path):
    result = retriever.search(str(big_sketch(tmp_path / "tablet.png")), "sketch", "photo", 5)
    assert result.query.decoded_pixels == 2048 * 2048 <= MAX_PIXELS
    assert max(result.query.image.size) <= 512 and len(result.hits) == 5


def test_photo_queries_decode_at_display_size(retriever, tmp_path):
    path = tmp_path / "scene.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(path)
    result = retriever.search(str(path), "photo", "photo", 3)
    assert result.query.decoded_pixels <= 512 * 512 and max(result.query.image.size) == 512
