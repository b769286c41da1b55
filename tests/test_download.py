"""Dataset download against a local HTTP server: success, resume, checksum mismatch, no network."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crossmodal import download as dl
from crossmodal.data import load_image, scan_folder

CLASSES = ("airplane", "runway", "tenniscourt")


def make_zip() -> bytes:
    """A small archive laid out like UCMerced_LandUse.zip: UCMerced_LandUse/Images/<class>/<class>NN.tif."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("UCMerced_LandUse/", "")
        z.writestr("UCMerced_LandUse/readme.txt", "not an image")
        for label in CLASSES:
            z.writestr(f"UCMerced_LandUse/Images/{label}/", "")
            for n in range(2):
                image = io.BytesIO()
                Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(image, format="TIFF")
                z.writestr(f"UCMerced_LandUse/Images/{label}/{label}{n:02d}.tif", image.getvalue())
        z.writestr("UCMerced_LandUse/Images/../../evil.txt", "zip slip")
    return buffer.getvalue()


class Server:
    """A local HTTP server for one file, with Range support and an optional cut of the first transfer."""

    def __init__(self, payload: bytes):
        self.payload, self.cut_first_at, self.ranges, self.ignore_range = payload, None, [], False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                header = self.headers.get("Range")
                server.ranges.append(header)
                start = int(header.split("=")[1].split("-")[0]) if header and not server.ignore_range else 0
                if start >= len(server.payload):
                    self.send_response(416)
                    self.end_headers()
                    return
                body = server.payload[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if server.cut_first_at is not None:  # the connection drops half-way
                    body, server.cut_first_at = body[:server.cut_first_at], None
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/UCMerced_LandUse.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def payload() -> bytes:
    return make_zip()


@pytest.fixture
def server(payload):
    s = Server(payload)
    yield s
    s.close()


def archive_for(url: str, payload: bytes, sha256: str | None = None) -> dl.Archive:
    return dl.Archive(name="ucmerced", url=url, filename="UCMerced_LandUse.zip", size=len(payload),
                      sha256=sha256 or hashlib.sha256(payload).hexdigest(), inner="UCMerced_LandUse/Images")


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/UCMerced_LandUse.zip"


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_download_verifies_and_extracts_into_the_loaders_layout(server, payload, tmp_path):
    root = tmp_path / "data"
    target = dl.download_dataset(archive_for(server.url, payload), root, progress=False)
    assert target == root / "ucmerced"
    assert sorted(p.name for p in target.iterdir()) == sorted(CLASSES)
    assert sorted(p.name for p in (target / "runway").iterdir()) == ["runway00.tif", "runway01.tif"]
    assert leftovers(root) == ["ucmerced"]  # no zip, no .part, no staging folder
    assert not (tmp_path / "evil.txt").exists()
    samples = scan_folder(target)
    assert {s.label for s in samples} == set(CLASSES) and len(samples) == 6
    assert load_image(samples[0].path).size == (16, 16)
    assert server.ranges == [None]
    # a second run finds the dataset and does not download again
    assert dl.download_dataset(archive_for(server.url, payload), root, progress=False) == target
    assert server.ranges == [None]


def test_an_interrupted_download_resumes_where_it_stopped(server, payload, tmp_path):
    root = tmp_path / "data"
    half = len(payload) // 2
    server.cut_first_at = half
    with pytest.raises(dl.DownloadError, match="run the same command again to resume"):
        dl.download_dataset(archive_for(server.url, payload), root, progress=False, retries=0)
    part = root / "UCMerced_LandUse.zip.part"
    assert part.stat().st_size == half
    assert not (root / "ucmerced").exists()
    dl.download_dataset(archive_for(server.url, payload), root, progress=False)
    assert server.ranges == [None, f"bytes={half}-"]
    assert sorted(p.name for p in (root / "ucmerced").iterdir()) == sorted(CLASSES)
    assert leftovers(root) == ["ucmerced"]


def test_a_cut_is_resumed_within_the_same_call(server, payload, tmp_path):
    server.cut_first_at = 1000
    dl.download_dataset(archive_for(server.url, payload), tmp_path, progress=False, retries=2)
    assert server.ranges == [None, "bytes=1000-"]
    assert (tmp_path / "ucmerced" / "airplane" / "airplane01.tif").is_file()


def test_a_server_that_ignores_range_gives_a_whole_fresh_file(server, payload, tmp_path):
    (tmp_path / "UCMerced_LandUse.zip.part").write_bytes(payload[:500])
    server.ignore_range = True
    dl.download_dataset(archive_for(server.url, payload), tmp_path, progress=False)
    assert server.ranges == ["bytes=500-"]
    assert (tmp_path / "ucmerced" / "tenniscourt" / "tenniscourt00.tif").is_file()


def test_checksum_mismatch_is_a_clear_error_and_leaves_no_dataset(server, payload, tmp_path):
    root = tmp_path / "data"
    with pytest.raises(dl.ChecksumError, match="SHA-256"):
        dl.download_dataset(archive_for(server.url, payload, sha256="0" * 64), root, progress=False)
    assert leftovers(root) == []  # the corrupt file is deleted and nothing was extracted
    wrong_size = dl.Archive(**{**archive_for(server.url, payload).__dict__, "size": len(payload) + 1})
    with pytest.raises(dl.DownloadError):
        dl.download_dataset(wrong_size, root, progress=False, retries=0)
    assert not (root / "ucmerced").exists()


def test_no_network_is_a_clear_error(tmp_path):
    archive = dl.Archive(name="ucmerced", url=closed_port_url(), filename="UCMerced_LandUse.zip", size=10,
                         sha256=None, inner="UCMerced_LandUse/Images")
    with pytest.raises(dl.DownloadError, match="no connection to 127.0.0.1"):
        dl.download_dataset(archive, tmp_path / "data", progress=False, timeout=5)
    assert leftovers(tmp_path / "data") == []


def test_an_archive_put_there_by_hand_is_used_without_network(payload, tmp_path):
    (tmp_path / "UCMerced_LandUse.zip").write_bytes(payload)
    archive = archive_for(closed_port_url(), payload)
    dl.download_dataset(archive, tmp_path, progress=False, keep_archive=True)
    assert (tmp_path / "ucmerced" / "runway" / "runway00.tif").is_file()
    assert (tmp_path / "UCMerced_LandUse.zip").is_file()


def test_a_damaged_archive_extracts_nothing(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(dl.DownloadError, match="cannot extract"):
        dl.extract_archive(bad, tmp_path / "out" / "ucmerced", "UCMerced_LandUse/Images")
    assert leftovers(tmp_path / "out") == []
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("other/file.txt", "x")
    with pytest.raises(dl.DownloadError, match="no files under"):
        dl.extract_archive(empty, tmp_path / "out" / "ucmerced", "UCMerced_LandUse/Images")
    assert leftovers(tmp_path / "out") == []


def test_the_recorded_ucmerced_archive():
    assert dl.UCMERCED.url == "http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip"
    assert dl.UCMERCED.size == 332_468_434 and len(dl.UCMERCED.sha256) == 64
    assert dl.DEFAULT_ROOT.parts[-3:] == (".cache", "crossmodal", "data")


def test_download_command(server, payload, tmp_path, monkeypatch, capsys):
    from crossmodal.cli import main

    monkeypatch.setitem(dl.DATASETS, "ucmerced", archive_for(server.url, payload))
    assert main(["download", "ucmerced", "--to", str(tmp_path)]) == 0
    assert "ucmerced is in" in capsys.readouterr().out
    assert (tmp_path / "ucmerced" / "airplane" / "airplane00.tif").is_file()

    monkeypatch.setitem(dl.DATASETS, "ucmerced", archive_for(closed_port_url(), payload))
    assert main(["download", "ucmerced", "--to", str(tmp_path / "elsewhere"), "--timeout", "5"]) == 2
    assert "error: cannot download" in capsys.readouterr().err

    assert main(["download", "eoc"]) == 1
    assert "IEEE DataPort" in capsys.readouterr().out
