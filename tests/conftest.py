"""Shared fixtures: a tiny seeded dataset in tmp_path and a tiny untrained checkpoint."""

from __future__ import annotations

import importlib
import os
import random
import socket
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares a size but holds no pixels: refused from its header, or unreadable when decoded."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) +
                     chunk(b"IEND", b""))
    return path

TINY_CLASSES = ("airplane", "runway", "tenniscourt")
TINY_NUMBERS = (0, 1, 2, 3, 70, 80, 81)  # train 00-03, validation 70, test gallery 80-81


def draw_scene(label: str, rng: random.Random, sketch: bool, size: int = 48) -> Image.Image:
    """A toy scene whose layout depends on the class: a cross, parallel strips or a framed box."""
    image = Image.new("RGB", (size, size), "white" if sketch else (90 + rng.randint(0, 30), 110, 80))
    draw = ImageDraw.Draw(image)
    ink = "black" if sketch else (220, 220, 220)
    o = rng.randint(-4, 4)
    if label == "airplane":
        draw.line([(8 + o, size // 2), (size - 8 + o, size // 2)], fill=ink, width=3)
        draw.line([(size // 2 + o, 10), (size // 2 + o, size - 10)], fill=ink, width=3)
    elif label == "runway":
        for x in (14, 30):
            draw.line([(x + o, 2), (x + o, size - 2)], fill=ink, width=3)
    else:
        draw.rectangle([10 + o, 12, size - 10 + o, size - 12], outline=ink, width=2)
        draw.line([(size // 2 + o, 12), (size // 2 + o, size - 12)], fill=ink, width=1)
    return image


def make_tiny_dataset(root: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write photos/<class>/<class>NN.png and sketches/<class>/<n>.png under root."""
    rng = random.Random(seed)
    photos, sketches = root / "photos", root / "sketches"
    for label in TINY_CLASSES:
        (photos / label).mkdir(parents=True)
        (sketches / label).mkdir(parents=True)
        for n in TINY_NUMBERS:
            draw_scene(label, rng, sketch=False).save(photos / label / f"{label}{n:02d}.png")
        for n in range(4):
            draw_scene(label, rng, sketch=True).save(sketches / label / f"{n}.png")
    return photos, sketches


def add_other_class(photos: Path, numbers: tuple[int, ...] = (0, 70, 80), label: str = "beach") -> None:
    """A class folder the tiny checkpoint has no class for: noise photos <label>NN.png, one a number."""
    rng = np.random.default_rng(0)
    (photos / label).mkdir()
    for n in numbers:
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(photos / label / f"{label}{n:02d}.png")


@pytest.fixture
def tiny_data(tmp_path: Path) -> tuple[Path, Path]:
    """(photos_dir, sketches_dir) of a 3-class toy dataset."""
    return make_tiny_dataset(tmp_path / "data")


def constant_resolution_head(log2: float):
    """A resolution head that finds every photo at one ground resolution (log2 of the factor)."""
    import torch

    class ConstantHead(torch.nn.Module):
        def forward(self, stats: torch.Tensor) -> torch.Tensor:
            return torch.full((len(stats), 1), log2)

    return ConstantHead()


def tiny_model_config():
    from crossmodal.config import ModelConfig

    return ModelConfig(widths=(8, 8, 16, 16), image_size=32, num_queries=2, num_heads=2)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    """An untrained, seeded tiny checkpoint over TINY_CLASSES."""
    import torch

    from crossmodal.checkpoint import save_checkpoint
    from crossmodal.config import TrainConfig
    from crossmodal.model import CrossModalModel

    torch.manual_seed(0)
    model = CrossModalModel(tiny_model_config(), TINY_CLASSES)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, model, TrainConfig(classes=TINY_CLASSES),
                    {"train_photos": [], "train_sketches": [], "training_seconds": 0.0})
    return path


@pytest.fixture
def real_data() -> Path:
    """The shared dataset folder from CROSSMODAL_DATA; skips when it is unset."""
    value = os.environ.get("CROSSMODAL_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("CROSSMODAL_DATA is not set to the shared data folder")
    return Path(value)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def import_app():
    """The repository's ``app.py`` as a module (it lives beside the package, not in it)."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("app")


@pytest.fixture
def retriever(tiny_checkpoint, tiny_data, tmp_path):
    """A Retriever over the tiny dataset with the tiny checkpoint (indexes and thumbnails in tmp_path)."""
    from crossmodal.retrieval import Retriever

    photos, sketches = tiny_data
    return Retriever.open(tiny_checkpoint, photos, sketches, tmp_path / "indexes", progress=False,
                          thumb_dir=tmp_path / "thumbs")


@pytest.fixture
def settings(tiny_checkpoint, tiny_data, tmp_path):
    """The app's settings for the tiny dataset, on a free port, ignoring the environment."""
    app = import_app()
    photos, sketches = tiny_data
    args = app.parse_args(["--checkpoint", str(tiny_checkpoint), "--photos", str(photos), "--sketches", str(sketches),
                           "--index-dir", str(tmp_path / "indexes"), "--port", str(free_port())])
    return app.resolve_settings(args, env={})


@pytest.fixture
def served(retriever, settings):
    """The app served in this process (as ``python app.py`` would, without the share link); its URL."""
    app = import_app()
    demo = app.build_demo(retriever, settings)
    demo.queue(max_size=16, default_concurrency_limit=2)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(retriever, settings))
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        demo.close()


torch_threads = 1  # tiny test models gain nothing from threads; one keeps runs steady on a busy CI machine



def pytest_configure(config):
    import torch

    torch.set_num_threads(torch_threads)


def make_scene(path: Path, width: int = 96, height: int = 64, seed: int = 0) -> Path:
    """A textured 3-band GeoTIFF at the model's resolution in UTM 33S, its top-left corner on the equator at 15 E."""
    import numpy as np
    import rasterio
    from affine import Affine

    from crossmodal.scenes import TRAINING_GSD

    data = np.random.default_rng(seed).integers(30, 220, (3, height, width), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                       crs="EPSG:32733", transform=Affine(TRAINING_GSD, 0, 500000.0, 0, -TRAINING_GSD, 1e7)) as dst:
        dst.write(data)
    return path
