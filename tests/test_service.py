"""The app as a public service: the result JSON contract, only indexed files served, bounded inputs."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import png_header_only
from crossmodal.data import MAX_PIXELS, MAX_SIDE, ImageTooLargeError, load_image
from crossmodal.retrieval import gallery_id

RESULT_KEYS = {"rank", "id", "class", "score"}


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
        assert all(RESULT_KEYS <= set(r) for r in results)
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
    path = tmp_path / "huge.jpg"  # over the budget as a whole: decoded at an eighth of its size, no chips
    Image.new("RGB", (6000, 5000), (90, 120, 80)).save(path, quality=60)
    result = retriever.search(str(path), "photo", "photo", 3)
    assert result.query.decoded_pixels <= 1024 * 1024 and max(result.query.image.size) == 512
    path = tmp_path / "wide.jpg"  # under two chips high: read whole, decoded at display size
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (500, 1400, 3), dtype=np.uint8)).save(path)
    result = retriever.search(str(path), "photo", "photo", 3)
    assert result.query.decoded_pixels <= 512 * 512 and max(result.query.image.size) == 512
    path = tmp_path / "scene.jpg"  # several chips a side: searched by its best chip (windowed reads), shown at 512
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(path)
    result = retriever.search(str(path), "photo", "photo", 3)
    assert "chips" in result.query.note and max(result.query.image.size) == 512


# ---------------------------------------------------------------------------- the served app


def unique_sketch(folder: Path, i: int) -> Path:
    """A small sketch that no other query had: a cross with a dot at a place of its own."""
    image = Image.new("L", (64, 64), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(8, 32), (56, 32)], fill=0, width=3)
    draw.line([(32, 8), (32, 56)], fill=0, width=3)
    image.putpixel((i % 64, (i // 64) % 64), 0)
    path = folder / f"sketch{i:04d}.png"
    image.save(path)
    return path


@pytest.fixture
def start_service(retriever, settings, tmp_path, monkeypatch):
    """Serve the app as ``serve`` does, with its own Gradio cache folder and a 64 KB upload limit.

    Returns a function of the cache age (seconds) that starts it and returns (url, demo, cache folder).
    """
    from conftest import import_app

    app = import_app()
    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    started = []

    def start(cache_age: int = 600) -> tuple[str, object, Path]:
        settings.max_upload_mb, settings.cache_age = 64 / 1024, cache_age
        demo = app.build_demo(retriever, settings)
        demo.queue(max_size=16, default_concurrency_limit=2)
        demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(retriever, settings))
        started.append(demo)
        return f"http://127.0.0.1:{settings.port}/", demo, cache

    yield start
    for demo in started:
        demo.close()


@pytest.fixture
def service(start_service):
    """(url, demo, cache folder) of the app served with a 64 KB upload limit."""
    return start_service()


def check_results(payload: dict, k: int, url: str, gallery: str) -> None:
    results = payload["results"]
    assert len(results) == k and keys_named_path(payload) == []
    assert all(RESULT_KEYS | {"url"} <= set(r) for r in results)
    assert [r["rank"] for r in results] == list(range(1, k + 1))
    assert all(r["url"] == f"{url}gallery/{gallery}/{r['id']}" for r in results)


def test_default_client_round_trip_keeps_the_json_for_every_endpoint(service, tiny_data):
    import httpx
    from gradio_client import Client, handle_file

    url, _, _ = service
    client = Client(url, verbose=False)  # its defaults: result files are downloaded
    queries = {"/sketch_to_photo": (tiny_data[1] / "runway" / "0.png", "photo"),
               "/photo_to_sketch": (tiny_data[0] / "airplane" / "airplane00.png", "sketch"),
               "/photo_to_photo": (tiny_data[0] / "airplane" / "airplane00.png", "photo")}
    for api_name, (query, gallery) in queries.items():
        out = client.predict(handle_file(str(query)), 5, api_name=api_name)
        payload, thumbnails = out[-1], out[2]
        check_results(payload, 5, url, gallery)
        assert len(thumbnails) == 5 and all(Path(t["image"]).is_file() for t in thumbnails)  # downloaded
        image = httpx.get(payload["results"][0]["url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        root = tiny_data[0] if gallery == "photo" else tiny_data[1]
        assert image.content == (root / payload["results"][0]["id"]).read_bytes()


def test_raw_http_call_returns_the_same_json(service, tiny_data):
    import httpx

    url, _, _ = service
    with open(tiny_data[1] / "airplane" / "1.png", "rb") as handle:
        uploaded = httpx.post(url + "gradio_api/upload", files={"files": ("1.png", handle, "image/png")}).json()[0]
    body = {"data": [{"path": uploaded, "meta": {"_type": "gradio.FileData"}}, 4, "runway", False]}
    event = httpx.post(url + "gradio_api/call/sketch_to_photo", json=body).json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/sketch_to_photo/{event}", timeout=60).text
    assert "event: complete" in stream, stream[:500]
    payload = json.loads(stream.split("event: complete\ndata:", 1)[1].strip().splitlines()[0])[-1]
    check_results(payload, 4, url, "photo")
    assert payload["target_class"] == "runway"


def test_only_indexed_gallery_files_are_served(service, tiny_data):
    import httpx

    from conftest import import_app

    url, demo, cache = service
    photos, _ = tiny_data
    (photos / "forest").mkdir()  # in the gallery folder, not of the model's classes: never indexed
    Image.new("RGB", (8, 8)).save(photos / "forest" / "forest00.png")
    root = Path(import_app().__file__).resolve().parent
    assert httpx.get(url + "gallery/photo/runway/runway01.png").status_code == 200
    for path in ("gallery/photo/forest/forest00.png", "gallery/photo/..%2Fsketch%2Frunway%2F0.png",
                 "gallery/photo/%2E%2E%2F%2E%2E%2Fapp.py", f"gallery/photo/{photos}/runway/runway01.png",
                 "gallery/sketch/runway/runway01.png", "gallery/nonsense/runway/runway01.png"):
        assert httpx.get(url + path).status_code == 404, path
    for path in (photos / "runway" / "runway01.png", photos / "forest" / "forest00.png", root / "app.py",
                 root / "assets" / "draw_examples.py", root / "crossmodal" / "retrieval.py", Path("/etc/passwd")):
        assert httpx.get(f"{url}gradio_api/file={path}").status_code in (403, 404), path


def test_uploads_are_never_served_back(service, tiny_data):
    import httpx

    url, _, _ = service
    with open(tiny_data[1] / "airplane" / "2.png", "rb") as handle:
        uploaded = httpx.post(url + "gradio_api/upload", files={"files": ("2.png", handle, "image/png")}).json()[0]
    assert Path(uploaded).is_file()  # the server has it ...
    assert httpx.get(f"{url}gradio_api/file={uploaded}").status_code == 403  # ... and nobody fetches it back
    assert httpx.get(f"{url}gradio_api/file=https://example.com/x.png").status_code == 403


def test_upload_over_the_limit_is_refused_with_the_limit(service, tmp_path):
    import httpx
    from gradio_client import Client, handle_file

    url, _, _ = service
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + os.urandom(70 * 1024))  # over the 64 KB limit of this server
    response = httpx.post(url + "gradio_api/upload", files={"files": ("big.png", big.read_bytes(), "image/png")})
    assert response.status_code == 413 and str(64 * 1024) in response.text
    with pytest.raises(Exception, match=str(64 * 1024)):
        Client(url, verbose=False).predict(handle_file(str(big)), 5, api_name="/sketch_to_photo")


def test_bad_options_get_short_messages_and_bodies_are_bounded(service, tiny_data):
    import httpx
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    url, _, _ = service
    client = Client(url, verbose=False)
    sketch = handle_file(str(tiny_data[1] / "runway" / "0.png"))
    for k, target, attention, message in ((5, "x" * 50_000, False, "unknown target class"),
                                          (5, ["runway"], False, "unknown target class"),
                                          (5, "auto", "yes", "attention must be true or false"),
                                          (2.5, "auto", False, "k must be a whole number")):
        with pytest.raises(AppError, match=message) as info:
            client.predict(sketch, k, target, attention, api_name="/sketch_to_photo")
        assert len(str(info.value)) < 300
    huge = {"data": [None, 5, "x" * 1_000_000, False]}
    response = httpx.post(url + "gradio_api/call/sketch_to_photo", json=huge)
    assert response.status_code == 413 and len(response.text) < 100


def test_live_sketch_is_not_part_of_the_api(service):
    import httpx
    from gradio_client import Client

    url, _, _ = service
    endpoints = Client(url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/sketch_to_photo", "/photo_to_sketch", "/photo_to_photo"}
    response = httpx.post(url + "gradio_api/call/live_sketch", json={"data": [None, 5, "auto", False]})
    assert response.status_code == 404


def test_200_unique_queries_leave_a_bounded_cache(service, tmp_path):
    import time

    from gradio_client import Client, handle_file

    from crossmodal.files import folder_size
    from crossmodal.service import CacheSweeper

    url, demo, cache = service
    client = Client(url, verbose=False, download_files=False)
    before = folder_size(cache)  # the example sketches and photos, copied in when the app was built
    for i in range(200):
        client.predict(handle_file(str(unique_sketch(tmp_path, i))), 12, api_name="/sketch_to_photo")
    grown, entries = folder_size(cache)
    assert entries > before[1] + 600  # an upload, its empty temporary file and a query view each time
    time.sleep(1.1)
    sweeper = CacheSweeper(cache, age=1, blocks=demo)  # what the server's sweeps do with a 1 s cache age
    assert sweeper.sweep() > 600
    size, entries = folder_size(cache)
    assert size <= before[0] and entries <= before[1]  # back to what was there before the queries
    assert all(Path(p).is_file() for p in sweeper._kept())  # the examples are still there
    assert sum(map(len, demo.temp_file_sets)) <= 30  # nor do Gradio's records of its temporary files grow
    client.predict(handle_file(str(unique_sketch(tmp_path, 999))), 3, api_name="/sketch_to_photo")  # examples kept


def test_a_rebuilt_index_replaces_the_old_one_between_requests(retriever, settings, tiny_data, tmp_path,
                                                               monkeypatch):
    import threading

    from gradio_client import Client, handle_file

    from conftest import import_app
    from crossmodal.retrieval import Retriever
    from crossmodal.service import RetrieverSwap

    app = import_app()
    photos, sketches = tiny_data
    Image.new("RGB", (48, 48), "gray").save(photos / "runway" / "runway95.png")
    stale = Retriever.open(settings.checkpoint, photos, sketches, tmp_path / "indexes", progress=False,
                           stale_ok=True)
    assert set(stale.stale) == {"photo"} and stale.stale["photo"].startswith("the photo folder changed")
    assert len(stale.indexes["photo"]) == 21
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-cache"))
    swap = RetrieverSwap(stale)
    demo = app.build_demo(swap, settings)
    demo.queue(max_size=16, default_concurrency_limit=2)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(swap, settings))
    try:
        url = f"http://127.0.0.1:{settings.port}/"
        client = Client(url, verbose=False, download_files=False)
        sketch = handle_file(str(sketches / "runway" / "0.png"))
        building, release = threading.Event(), threading.Event()

        def slow_build():
            building.set()
            release.wait(60)
            return Retriever.open(settings.checkpoint, photos, sketches, tmp_path / "indexes", progress=False)

        thread = swap.rebuild(slow_build)
        assert building.wait(60)
        during = client.predict(sketch, 50, api_name="/sketch_to_photo")[-1]
        assert len(during["results"]) == 21  # the old index answers while the new one is built
        release.set()
        thread.join(60)
        after = client.predict(sketch, 50, api_name="/sketch_to_photo")[-1]
        assert len(after["results"]) == 22 and "runway/runway95.png" in {r["id"] for r in after["results"]}
    finally:
        demo.close()


def test_sigterm_removes_the_servers_temporary_files(tiny_checkpoint, tiny_data, tmp_path, retriever):
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from gradio_client import Client, handle_file

    from conftest import free_port, import_app

    photos, sketches = tiny_data
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSMODAL_", "GRADIO_TEMP_DIR"))}
    env.update(TMPDIR=str(temp), GRADIO_ANALYTICS_ENABLED="False")
    (photos / "runway" / "runway96.png").write_bytes((photos / "runway" / "runway00.png").read_bytes())
    log = tmp_path / "app.log"
    command = [sys.executable, str(Path(import_app().__file__)), "--checkpoint", str(tiny_checkpoint),
               "--photos", str(photos), "--sketches", str(sketches), "--index-dir", str(tmp_path / "indexes"),
               "--port", str(port)]
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.time() + 300
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.time() < deadline, log.read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            handle_file(str(sketches / "runway" / "0.png")), 5, api_name="/sketch_to_photo")
        assert [p.name for p in temp.iterdir() if p.name.startswith("crossmodal-server-")]  # thumbnails, cache
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    printed = log.read_text()
    assert "serving the previous index while a new one is built (the photo folder changed" in printed, printed[-2000:]
    # thumbnails and Gradio's cache are gone (Gradio makes an empty gradio/vibe_edit_history there on import)
    assert [p.name for p in temp.iterdir() if p.name.startswith("crossmodal-")] == []
    assert [p for p in temp.rglob("*") if not p.is_dir()] == []


@pytest.mark.parametrize("option, message", [
    (["--index-dir", "FILE"], "cannot write the index"),
    (["--max-upload-mb", "0"], "--max-upload-mb must be positive"),
    (["--queue-size", "0"], "--queue-size must be positive"),
])
def test_bad_server_settings_are_one_line_before_any_work(tiny_checkpoint, tiny_data, tmp_path, capsys, monkeypatch,
                                                         option, message):
    import signal

    from conftest import import_app

    app = import_app()
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # serve() would take over SIGTERM of this process
    args = ["--checkpoint", str(tiny_checkpoint), "--photos", str(tiny_data[0]), "--index-dir",
            str(tmp_path / "idx")] + [str(tmp_path / "file") if a == "FILE" else a for a in option]
    assert app.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "idx").exists()
