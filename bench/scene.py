"""Search a large scene: index time, chips/s, peak memory and where the top hits of each sketch land.

Builds a test scene from UC Merced *test* photos (numbers 80-99, never trained on) laid out on a
known grid (a seeded shuffle, each photo resized to 256 px), written as a tiled GeoTIFF in UTM
zone 10N at the photos' own ground resolution (1 foot, 0.3048 m: "0.3 m" below), and the same scene
downsampled to 0.6 m (windowed, average resampling). ``--gsd`` declares another pixel size for the
fine scene (e.g. 0.3: the photos then cover 76.8 m and the 78 m chips drift across them).

Each scene is indexed by ``python -m crossmodal index --scene`` in a child process (its wall time
and peak RSS are measured), then searched with the checkpoint's held-out Earth on Canvas sketches
(those its meta does not list as trained on, as ``evaluate`` does). For every sketch, the share of
its top-k footprints (overlapping chips merged, each placed among its chips) whose centre lies on a
photo of the sketch's class is compared with P@k of the same sketches over the same photos as a
plain gallery (the 0.6 m scene must stay within 0.1 of the 0.3 m one). Both are ranked as the app
ranks (cosine plus class agreement, ``crossmodal.ranking``) and, for comparison, by the cosine
alone. Embedding throughput alone, and the time projected for a million chips, are printed too.
Images go under ``--out`` (git-ignored ``runs/``), never into the repository.

Usage::

    python bench/scene.py [--grid 32] [--stride 128] [--no-tta] [--json runs/scene-bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crossmodal.data import EOC_CLASSES, UCM_CLASSES, load_image, photo_split, scan_folder  # noqa: E402

CELL = 256  # pixels of one photo in the fine scene
ORIGIN = (580_000.0, 4_140_000.0)  # upper-left corner in UTM 10N (EPSG:32610), metres
CRS = "EPSG:32610"


def default_data() -> Path:
    """The shared data folder: ``CROSSMODAL_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("CROSSMODAL_DATA") or ROOT.parent / "shared" / "data")


def add_gallery_options(parser: argparse.ArgumentParser) -> None:
    """The validation benches' options for what their photo gallery holds and how it is searched."""
    parser.add_argument("--other-classes", nargs="*", metavar="CLASS",
                        help="also put the photos of the folder's other classes (the gallery's split; these only, "
                             "when named) in the gallery")
    parser.add_argument("--neighbour-average", type=int, default=0, metavar="K",
                        help="gallery photos averaged with their K nearest others (default 0: as they are)")


def layout(photos_dir: Path, classes: tuple[str, ...], grid: int, seed: int,
           split: str = "test") -> list[list[dict[str, str]]]:
    """A grid x grid table of photos of ``split`` (class, file): every photo used about equally often, seeded order."""
    photos = [s for s in scan_folder(photos_dir, classes) if photo_split(s.path) == split]
    rng = random.Random(seed)
    rng.shuffle(photos)
    cells = [photos[i % len(photos)] for i in range(grid * grid)]
    rng.shuffle(cells)
    return [[{"class": s.label, "file": str(s.path)} for s in cells[r * grid:(r + 1) * grid]] for r in range(grid)]


def write_scene(path: Path, cells: list[list[dict[str, str]]], gsd: float) -> None:
    """The mosaic as a tiled GeoTIFF at ``gsd`` metres a pixel, written a row of photos at a time."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    grid = len(cells)
    side = grid * CELL
    cache: dict[str, np.ndarray] = {}
    profile = {"driver": "GTiff", "width": side, "height": side, "count": 3, "dtype": "uint8", "crs": CRS,
               "transform": Affine(gsd, 0, ORIGIN[0], 0, -gsd, ORIGIN[1]), "tiled": True, "blockxsize": 256,
               "blockysize": 256, "photometric": "RGB"}
    with rasterio.open(path, "w", **profile) as dst:
        for r, row in enumerate(cells):
            strip = np.empty((3, CELL, side), np.uint8)
            for c, cell in enumerate(row):
                if cell["file"] not in cache:
                    image = load_image(cell["file"]).resize((CELL, CELL))
                    cache[cell["file"]] = np.asarray(image).transpose(2, 0, 1)
                strip[:, :, c * CELL:(c + 1) * CELL] = cache[cell["file"]]
            dst.write(strip, window=Window(0, r * CELL, side, CELL))


def downsample(src_path: Path, dst_path: Path, factor: int) -> None:
    """The scene at ``factor`` times coarser pixels (average resampling), read and written a strip at a time."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    with rasterio.open(src_path) as src:
        profile = dict(src.profile, width=src.width // factor, height=src.height // factor,
                       transform=src.transform @ src.transform.scale(factor, factor))
        with rasterio.open(dst_path, "w", **profile) as dst:
            for top in range(0, src.height, CELL):
                strip = src.read(window=Window(0, top, src.width, CELL), out_shape=(3, CELL // factor, dst.width),
                                 resampling=Resampling.average)
                dst.write(strip, window=Window(0, top // factor, dst.width, CELL // factor))


def index_scene(checkpoint: Path, scene: Path, out: Path, stride: int, tta: bool) -> dict[str, float]:
    """Run ``python -m crossmodal index --scene`` in a child; its wall time and peak RSS."""
    command = [sys.executable, "-m", "crossmodal", "index", "--checkpoint", str(checkpoint), "--scene", str(scene),
               "--stride", str(stride), "--out", str(out), "--rebuild"] + ([] if tta else ["--no-tta"])
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"indexing {scene} failed:\n{printed}")
    print(printed.strip().splitlines()[-1])
    return {"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024}


def held_out_sketches(model, sketches_dir: Path) -> list:
    """Sketches of the model's classes that its checkpoint does not list as trained on."""
    from crossmodal.train import relative_name

    trained = set(model.info.get("meta", {}).get("train_sketches", []))
    return [s for s in scan_folder(sketches_dir, tuple(model.class_names)) if relative_name(s) not in trained]


def cell_class(cells: list[list[dict[str, str]]], x: float, y: float, gsd: float) -> str:
    """Class of the photo under a point of the scene (CRS metres; a cell is 256 px of the fine scene's ``gsd``)."""
    size = CELL * gsd
    col, row = int((x - ORIGIN[0]) // size), int((ORIGIN[1] - y) // size)
    return cells[row][col]["class"] if 0 <= row < len(cells) and 0 <= col < len(cells) else ""


def footprint_class(cells: list[list[dict[str, str]]], bounds, gsd: float) -> str:
    """Class of the photo under the centre of a result's ``bounds`` (CRS metres: left, bottom, right, top)."""
    return cell_class(cells, (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, gsd)


def footprint_shares(index, labels, vectors, cells, gsd: float, k: int, nms: float | None,
                     classifier=None) -> dict[str, list[float]]:
    """Per class: for each query, the share of its top-k footprints whose centre lies on a photo of its class.

    ``classifier``: rank as the app does (cosine plus class agreement, crossmodal.ranking); None: cosine alone.
    """
    from crossmodal.gallery import search_gallery

    shares: dict[str, list[float]] = {}
    for label, vector in zip(labels, vectors):
        results = search_gallery(index, vector, k=k, nms_iou=nms, exact=True, classifier=classifier)
        hits = [footprint_class(cells, r["bounds"], gsd) for r in results]
        shares.setdefault(label, []).append(sum(h == label for h in hits) / len(hits))
    return shares


def hits_by_chip_kind(index, labels, vectors, cells, gsd: float, k: int, classifier) -> dict[str, list[int]]:
    """Top-k results over the fine scene (as the app ranks and places them) by where their best chip lies.

    Returns ``[right, all]`` for each kind of chip:
    ``one photo`` (the chip coincides with a photo of the mosaic), ``two photos`` / ``four photos``:
    it straddles the seam between two, or the corner of four (the mosaic's seams: no gallery photo
    and no real landscape has them).
    """
    from crossmodal.gallery import item_record, rank_matches

    kinds: dict[str, list[int]] = {"one photo": [0, 0], "two photos": [0, 0], "four photos": [0, 0]}
    for label, vector in zip(labels, vectors):
        for match in rank_matches(index, vector, k, classifier, exact=True):
            col, row = index.items["window"][match.item][:2]  # scene pixels of the fine scene: CELL a photo
            kind = ("one photo", "two photos", "four photos")[int(col % CELL != 0) + int(row % CELL != 0)]
            right = footprint_class(cells, item_record(index, match.item, match)["bounds"], gsd) == label
            kinds[kind][0] += int(right)
            kinds[kind][1] += 1
    return kinds


def gallery_embeddings(model, cells, tta: bool) -> tuple[np.ndarray, np.ndarray]:
    """The scene's photos as a plain gallery (each photo once): embeddings and labels."""
    import torch

    from crossmodal.data import photo_array

    files = sorted({(c["file"], c["class"]) for row in cells for c in row})
    size = model.config.image_size
    x = np.stack([photo_array(load_image(f), size) for f, _ in files])
    return model.embed(torch.from_numpy(x).float() / 255.0, "photo", tta=tta), np.array([label for _, label in files])


def gallery_precision(gallery, gallery_labels, labels, vectors, k: int, classifier=None) -> dict[str, list[float]]:
    """Per class: P@k of each query over a plain gallery, ranked as :func:`footprint_shares` ranks."""
    from crossmodal.ranking import ranking_scores

    out: dict[str, list[float]] = {}
    for label, vector in zip(labels, vectors):
        top = np.argsort(-ranking_scores(vector, gallery, classifier), kind="stable")[:k]
        out.setdefault(label, []).append(float((gallery_labels[top] == label).mean()))
    return out


def embedding_throughput(model, tta: bool, n: int = 128) -> float:
    """Chips embedded a second by the model alone (random 128-px chips, batches of 64)."""
    import torch

    x = torch.rand(n, 3, model.config.image_size, model.config.image_size)
    model.embed(x[:8], "photo", tta=tta)
    started = time.perf_counter()
    model.embed(x, "photo", tta=tta)
    return n / (time.perf_counter() - started)


def mean_of(per_class: dict[str, list[float]]) -> float:
    """Mean over all queries."""
    values = [v for vs in per_class.values() for v in vs]
    return float(np.mean(values)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Build the scenes, index and search them, print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=default_data() / "ucmerced", help="UC Merced photos")
    parser.add_argument("--sketches", type=Path, default=default_data() / "eoc-sketches", help="query sketches")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "ucm14.pt")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "scene-bench")
    parser.add_argument("--grid", type=int, default=32, help="photos a side: 32 x 256 px = 8192 px at 0.3 m")
    parser.add_argument("--classes", choices=("eoc", "ucm"), default="eoc",
                        help="photos of the 14 sketch classes (as the gallery's P@10), or all 21 UC Merced classes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stride", type=int, default=128)
    parser.add_argument("--no-tta", action="store_true", help="embed chips once, not as the mean of 8 views")
    parser.add_argument("--gsd", type=float, default=None,
                        help="metres a pixel declared for the fine scene (default: the photos' own, 0.3048)")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    parser.add_argument("--reuse-index", action="store_true",
                        help="search the indexes a previous run left under --out (no index time or memory measured)")
    args = parser.parse_args(argv)

    from crossmodal.checkpoint import load_checkpoint
    from crossmodal.footprints import DEFAULT_NMS_IOU
    from crossmodal.index import EmbeddingIndex
    from crossmodal.scenes import TRAINING_GSD

    load_before = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    classes = EOC_CLASSES if args.classes == "eoc" else UCM_CLASSES
    cells = layout(args.photos, classes, args.grid, args.seed)
    gsd = args.gsd or TRAINING_GSD
    fine, coarse = args.out / "scene-0.3m.tif", args.out / "scene-0.6m.tif"
    layout_file = args.out / "layout.json"
    if not (fine.is_file() and coarse.is_file() and layout_file.is_file()
            and json.loads(layout_file.read_text()) == {"gsd": gsd, "cells": cells}):  # else they are there
        layout_file.unlink(missing_ok=True)
        started = time.perf_counter()
        write_scene(fine, cells, gsd)
        downsample(fine, coarse, 2)
        layout_file.write_text(json.dumps({"gsd": gsd, "cells": cells}))
        print(f"wrote {fine.name} ({args.grid * CELL} px a side) and {coarse.name} in "
              f"{time.perf_counter() - started:.0f} s")

    model = load_checkpoint(args.checkpoint)
    tta = not args.no_tta
    queries = held_out_sketches(model, args.sketches)
    labels = [s.label for s in queries]
    vectors = model.embed([s.path for s in queries], "sketch")
    classifier = model.classifier_weights()
    gallery, gallery_labels = gallery_embeddings(model, cells, tta)
    baseline = gallery_precision(gallery, gallery_labels, labels, vectors, args.k, classifier)
    baseline_cosine = gallery_precision(gallery, gallery_labels, labels, vectors, args.k)
    rows = {}
    for name, scene in (("0.3 m", fine), ("0.6 m", coarse)):
        out = args.out / f"index-{name.split()[0]}"
        timing = {"seconds": float("nan"), "peak_rss_mib": float("nan")} if args.reuse_index else \
            index_scene(args.checkpoint, scene, out, args.stride, tta)
        index = EmbeddingIndex.load(out)
        shares = footprint_shares(index, labels, vectors, cells, gsd, args.k, DEFAULT_NMS_IOU, classifier)
        cosine = footprint_shares(index, labels, vectors, cells, gsd, args.k, DEFAULT_NMS_IOU)
        raw = footprint_shares(index, labels, vectors, cells, gsd, args.k, None, classifier)
        rows[name] = {**timing, "chips": len(index), "chips_per_s": len(index) / timing["seconds"],
                      "share": mean_of(shares), "share_cosine": mean_of(cosine), "share_without_nms": mean_of(raw),
                      "per_class": {c: float(np.mean(v)) for c, v in sorted(shares.items())}}
        if name == "0.3 m":
            rows[name]["hits_by_chip"] = hits_by_chip_kind(index, labels, vectors, cells, gsd, args.k, classifier)
    throughput = embedding_throughput(model, tta)
    load_after = os.getloadavg()

    print(f"\n{len(queries)} held-out sketches of {len(baseline)} classes, top {args.k}, chips "
          f"{'with' if tta else 'without'} 8-view TTA, stride {args.stride} px; {os.cpu_count()} CPU cores "
          f"({platform.processor() or platform.machine()}), load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after")
    print("share@k and gallery P@k ranked as the app ranks (cosine + class agreement); 'cosine': by the cosine alone")
    print(f"{'scene':<8}{'chips':>7}{'index s':>9}{'chips/s':>9}{'peak RSS MiB':>14}{'share@k':>9}"
          f"{'no NMS':>8}{'cosine':>8}{'gallery P@k':>13}{'cosine':>8}")
    for name, row in rows.items():
        print(f"{name:<8}{row['chips']:>7}{row['seconds']:>9.0f}{row['chips_per_s']:>9.2f}{row['peak_rss_mib']:>14.0f}"
              f"{row['share']:>9.3f}{row['share_without_nms']:>8.3f}{row['share_cosine']:>8.3f}"
              f"{mean_of(baseline):>13.3f}{mean_of(baseline_cosine):>8.3f}")
    print(f"\n{'class':<17}{'queries':>8}{'share 0.3 m':>12}{'share 0.6 m':>12}{'gallery P@k':>13}")
    for c in sorted(baseline):
        print(f"{c:<17}{len(baseline[c]):>8}{rows['0.3 m']['per_class'][c]:>12.3f}"
              f"{rows['0.6 m']['per_class'][c]:>12.3f}{np.mean(baseline[c]):>13.3f}")
    print("\n0.3 m results by where their best chip lies: " + ", ".join(
        f"{kind} {right}/{n} right" for kind, (right, n) in rows["0.3 m"]["hits_by_chip"].items()))
    end_to_end = rows["0.3 m"]["chips_per_s"]
    print(f"\nembedding alone: {throughput:.1f} chips/s; a million chips: {1e6 / throughput / 3600:.1f} h of "
          f"embedding, {1e6 / end_to_end / 3600:.1f} h end to end at the 0.3 m rate")
    print(f"0.6 m share - 0.3 m share: {rows['0.6 m']['share'] - rows['0.3 m']['share']:+.3f} (target within 0.1)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "queries": len(queries), "k": args.k, "tta": tta, "stride": args.stride, "grid": args.grid,
            "classes": args.classes, "gsd": gsd, "gallery_precision": mean_of(baseline),
            "gallery_precision_cosine": mean_of(baseline_cosine), "scenes": rows,
            "embedding_chips_per_s": throughput, "load_before": load_before, "load_after": load_after,
            "cpu_count": os.cpu_count()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
