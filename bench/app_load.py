"""Load test of the app as a public service: many default gradio_client clients, unique queries, for a while.

Starts ``app.py`` on a free port (or uses ``--url``), then ``--clients`` threads (default 8), each
with its own ``gradio_client.Client(url)`` at its defaults (result files downloaded, as a new user's
script would), send searches back to back for ``--seconds`` (default 60): every query a sketch that
no one sent before (an example sketch, turned or mirrored, with a random stroke added) to
``/sketch_to_photo``. ``--heavy N`` adds N clients that alternate a 2048 x 2048 sketch and a
9000 x 9000 photo (to ``/photo_to_photo``), both unique files too; the normal queries' numbers are
then those to compare with a run without them.

Prints, for normal and heavy queries apart: searches, errors (a full queue's refusal, and an upload
over the limit, are counted on their own), throughput, the p50 / p95 / max round trip and the p50 /
p95 server-side latency (the handler's own ``latency_ms``); and, for an app started here, the CPU
time it used during the run (per search: a number a busy machine changes less than latencies), its
resident memory (RSS) and the disk its temporary files take (Gradio's cache of uploads and results,
thumbnails), after warm-up and at the end. Exits with status 1 if a request failed.

Usage::

    python bench/app_load.py --checkpoint checkpoints/ucm14.pt --photos DATA/ucmerced --sketches DATA/eoc-sketches \\
        --clients 8 --seconds 60
    python bench/app_load.py ... --clients 4 --heavy 2 --seconds 60
    python bench/app_load.py --url http://127.0.0.1:7860/ --clients 8
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_latency import ROOT, add_server_arguments, percentile, started_app, wait_until_serving  # noqa: E402

sys.path.insert(0, str(ROOT))
from crossmodal.files import folder_size  # noqa: E402

HEAVY_SKETCH_SIDE = 2048
HEAVY_PHOTO_SIDE = 9000


@dataclass
class Record:
    """What the clients saw, shared between their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    round_trip: dict[str, list[float]] = field(default_factory=lambda: {"normal": [], "heavy": []})
    server: dict[str, list[float]] = field(default_factory=lambda: {"normal": [], "heavy": []})
    refused: dict[str, int] = field(default_factory=lambda: {"normal": 0, "heavy": 0})  # queue full
    too_large: dict[str, int] = field(default_factory=lambda: {"normal": 0, "heavy": 0})  # over the upload limit
    errors: list[str] = field(default_factory=list)


class Queries:
    """Unique query files, written on demand into a folder."""

    def __init__(self, folder: Path, seed: int):
        self.folder = folder
        self.rng = random.Random(seed)
        self.count = 0
        self.bases = []
        for path in sorted((ROOT / "assets").glob("*.png")):
            image = Image.open(path).convert("L")
            for turn in (0, 90, 180, 270):
                self.bases.append(image.rotate(turn, fillcolor=255))
                self.bases.append(ImageOps.mirror(self.bases[-1]))

    def _name(self, suffix: str) -> Path:
        self.count += 1
        return self.folder / f"q{self.count:05d}{suffix}"

    def sketch(self) -> Path:
        """A sketch no one sent before: an example variant with a random stroke added."""
        image = self.rng.choice(self.bases).copy()
        w, h = image.size
        draw = ImageDraw.Draw(image)
        x, y = self.rng.randrange(w), self.rng.randrange(h)
        draw.line([(x, y), (x + self.rng.randint(-60, 60), y + self.rng.randint(-60, 60))], fill=0, width=3)
        path = self._name(".png")
        image.save(path)
        return path

    def unique_copy(self, original: Path) -> Path:
        """The same picture in a file no one sent before (bytes after the image's end; decoders ignore them)."""
        path = self._name(original.suffix)
        path.write_bytes(original.read_bytes() + os.urandom(16))
        return path


def heavy_files(folder: Path) -> tuple[Path, Path]:
    """A 2048 x 2048 sketch (PNG) and a 9000 x 9000 photo (JPEG), drawn once."""
    sketch = folder / "heavy-sketch.png"
    image = Image.new("L", (HEAVY_SKETCH_SIDE, HEAVY_SKETCH_SIDE), 255)
    draw = ImageDraw.Draw(image)
    rng = random.Random(0)
    for _ in range(60):
        draw.line([tuple(rng.randrange(HEAVY_SKETCH_SIDE) for _ in range(2)) for _ in range(2)], fill=0, width=4)
    image.save(sketch)
    photo = folder / "heavy-photo.jpg"  # smooth enough to stay under a 10 MB upload limit
    tile = Image.merge("RGB", [Image.effect_noise((HEAVY_PHOTO_SIDE // 32,) * 2, 40 + 10 * c) for c in range(3)])
    tile.resize((HEAVY_PHOTO_SIDE, HEAVY_PHOTO_SIDE), Image.Resampling.BICUBIC).save(photo, quality=80)
    return sketch, photo


def client_loop(url: str, heavy: tuple[Path, Path] | None, folder: Path, seed: int, k: int, stop_at: float,
                record: Record) -> None:
    """One client: search until ``stop_at``; ``heavy`` = (sketch, photo) makes it a heavy client."""
    from gradio_client import Client, handle_file

    kind = "heavy" if heavy else "normal"
    folder.mkdir(parents=True, exist_ok=True)
    queries = Queries(folder / "queries", seed)
    queries.folder.mkdir(exist_ok=True)
    try:
        client = Client(url, verbose=False, download_files=str(folder / "downloads"))
    except Exception as err:  # a client that cannot even connect is an error of the run
        with record.lock:
            record.errors.append(f"connect: {type(err).__name__}: {err}")
        return
    turn = 0
    while time.time() < stop_at:
        if heavy:
            source, api = (heavy[0], "/sketch_to_photo") if turn % 2 == 0 else (heavy[1], "/photo_to_photo")
            path = queries.unique_copy(source)
        else:
            path, api = queries.sketch(), "/sketch_to_photo"
        turn += 1
        started = time.perf_counter()
        try:
            payload = client.predict(handle_file(str(path)), k, api_name=api)[-1]
            elapsed = (time.perf_counter() - started) * 1000.0
            if len(payload["results"]) != k or not all({"rank", "id", "class", "score"} <= set(r)
                                                       for r in payload["results"]):
                raise RuntimeError(f"unexpected results {str(payload.get('results'))[:200]}")
        except Exception as err:
            message = f"{type(err).__name__}: {err}"
            with record.lock:
                if "queue is full" in message.lower():
                    record.refused[kind] += 1
                elif "maximum file size" in message.lower() or "maximum allowed size" in message.lower():
                    record.too_large[kind] += 1
                else:
                    record.errors.append(f"{api} {path.name}: {message[:300]}")
            continue
        finally:
            path.unlink(missing_ok=True)
        with record.lock:
            record.round_trip[kind].append(elapsed)
            record.server[kind].append(float(payload["latency_ms"]))


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, user + system, in seconds (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def disk_use(folder: Path) -> tuple[float, int]:
    """(MB, files and folders) under a folder."""
    size, entries = folder_size(folder)
    return size / 2 ** 20, entries


def warm_up(url: str, folder: Path, k: int, n: int = 6) -> None:
    """A few sequential searches first: imports, thread pools and thumbnails of the common results."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=str(folder / "downloads"))
    queries = Queries(folder, seed=10_000)
    for _ in range(n):
        client.predict(handle_file(str(queries.sketch())), k, api_name="/sketch_to_photo")


def run(url: str, args: argparse.Namespace, tmp: Path, record: Record) -> float:
    """All clients at once, for ``args.seconds``; the wall time taken."""
    heavy = heavy_files(tmp) if args.heavy else None
    started = time.time()
    stop_at = started + args.seconds
    threads = [threading.Thread(target=client_loop, args=(url, heavy if i >= args.clients else None,
                                                          tmp / f"client{i}", i, args.k, stop_at, record))
               for i in range(args.clients + args.heavy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.time() - started


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--clients", type=int, default=8, help="clients sending normal sketches (default 8)")
    parser.add_argument("--heavy", type=int, default=0, help="clients sending 2048^2 sketches and 9000^2 photos")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they search (default 60)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    record = Record()
    numbers: dict[str, object] = {"clients": args.clients, "heavy_clients": args.heavy, "seconds": args.seconds,
                                  "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="crossmodal-load-") as tmp:
        tmp = Path(tmp)
        if args.url:
            url = args.url if args.url.endswith("/") else args.url + "/"
            wait_until_serving(url, None, None, timeout=30)
            warm_up(url, tmp / "warm-up", args.k)
            wall = run(url, args, tmp, record)
        else:
            server_tmp = tmp / "server"  # the app's temporary files: Gradio's cache, thumbnails
            server_tmp.mkdir()
            with started_app(args, env={"TMPDIR": str(server_tmp)}) as (url, process):
                numbers["rss_start_mb"] = rss_mb(process.pid)
                warm_up(url, tmp / "warm-up", args.k)
                numbers["rss_warm_mb"] = rss_mb(process.pid)
                numbers["disk_warm_mb"], numbers["disk_warm_entries"] = disk_use(server_tmp)
                cpu = cpu_seconds(process.pid)
                wall = run(url, args, tmp, record)
                numbers["app_cpu_s"] = cpu_seconds(process.pid) - cpu
                numbers["rss_end_mb"] = rss_mb(process.pid)
                numbers["disk_end_mb"], numbers["disk_end_entries"] = disk_use(server_tmp)
    numbers["load_after"] = os.getloadavg()
    print(f"\n{args.clients} clients" + (f" + {args.heavy} heavy clients" if args.heavy else "")
          + f" for {args.seconds:.0f} s on {os.cpu_count()} CPUs (load average before "
          f"{numbers['load_before'][0]:.2f}, after {numbers['load_after'][0]:.2f})")
    for kind in ("normal", "heavy") if args.heavy else ("normal",):
        trips, server = record.round_trip[kind], record.server[kind]
        numbers[kind] = {"searches": len(trips), "per_second": len(trips) / wall, "refused_queue_full":
                         record.refused[kind], "refused_too_large": record.too_large[kind],
                         "round_trip_ms": {q: percentile(trips, q) for q in (50, 95, 100)},
                         "server_ms": {q: percentile(server, q) for q in (50, 95)}}
        print(f"{kind:>6} queries: {len(trips)} searches ({len(trips) / wall:.1f}/s), {record.refused[kind]} "
              f"refused (queue full), {record.too_large[kind]} over the upload limit; round trip ms p50 "
              f"{percentile(trips, 50):.0f}, p95 {percentile(trips, 95):.0f}, "
              f"max {max(trips, default=float('nan')):.0f}; server ms p50 {percentile(server, 50):.0f}, "
              f"p95 {percentile(server, 95):.0f}")
    if "rss_end_mb" in numbers:
        searches = sum(len(v) for v in record.round_trip.values())
        print(f"app CPU during the run: {numbers['app_cpu_s']:.1f} s, "
              f"{1000 * numbers['app_cpu_s'] / max(1, searches):.0f} ms a search")
        print(f"app RSS MB: {numbers['rss_start_mb']:.0f} at start, {numbers['rss_warm_mb']:.0f} after warm-up, "
              f"{numbers['rss_end_mb']:.0f} at the end")
        print(f"app temporary files: {numbers['disk_warm_mb']:.1f} MB in {numbers['disk_warm_entries']} entries "
              f"after warm-up, {numbers['disk_end_mb']:.1f} MB in {numbers['disk_end_entries']} at the end")
    numbers["errors"] = record.errors
    print(f"{len(record.errors)} errors")
    for message in record.errors[:10]:
        print("error:", message)
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2))
    return 1 if record.errors or not record.round_trip["normal"] else 0


if __name__ == "__main__":
    sys.exit(main())
