r"""Latency of the app's sketch -> photo search through its HTTP API, measured with gradio_client.

Starts ``app.py`` on a free port (or uses ``--url`` of a running app), sends ``--queries`` distinct
sketch files to ``/sketch_to_photo`` (or photo files to ``--endpoint photo_to_photo`` or
``photo_to_sketch``) one after another, and prints the p50 / p95 of

- the server-side latency: the handler's own ``latency_ms`` (from the sketch arriving in the
  handler to the results ready: decode, embed, Annoy search, class numbers, thumbnails), and the
  search within it (its ``search_ms``: the same without the thumbnails), and
- the round trip seen by the client (upload, queue, handler, response; files not downloaded).

Usage::

    python bench/app_latency.py --checkpoint checkpoints/ucm14.pt --photos DATA/ucmerced \\
        --sketches DATA/eoc-sketches [--queries 20] [--k 12]
    python bench/app_latency.py --url http://127.0.0.1:7860/
    python bench/app_latency.py --checkpoint checkpoints/ucm14.pt --photos DATA/ucmerced \\
        --endpoint photo_to_photo --query-dir PHOTOS

Queries are the example sketches in ``assets/`` and their rotations and mirror images (distinct
files, so that no query is answered from the app's cache of recent queries), or the files of
``--query-dir`` (photos for the photo endpoints). Two warm-up queries are not counted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = ("sketch_to_photo", "photo_to_photo", "photo_to_sketch")
QUERY_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SERVER_OPTIONS = ("checkpoint", "photos", "sketches", "index_dir", "threads", "concurrency", "cache_age")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def query_files(n: int, out_dir: Path, query_dir: str | None = None) -> list[Path]:
    """``n`` query files: from ``query_dir``, or variants of the example sketches written to ``out_dir``."""
    if query_dir:
        files = sorted(p for p in Path(query_dir).rglob("*") if p.suffix.lower() in QUERY_SUFFIXES)
        if not files:
            raise SystemExit(f"no {'/'.join(QUERY_SUFFIXES)} files under {query_dir}")
        return [files[i % len(files)] for i in range(n)]
    out_dir.mkdir(parents=True, exist_ok=True)
    examples = sorted(p for p in (ROOT / "assets").glob("*.png") if p.stem != "screenshot")  # the sketches
    variants = []
    for turn in (0, 90, 180, 270):
        for mirror in (False, True):
            for path in examples:
                variants.append((path, turn, mirror))
    files = []
    for i in range(n):
        path, turn, mirror = variants[i % len(variants)]
        image = Image.open(path).convert("L").rotate(turn, fillcolor=255)
        if mirror:
            image = ImageOps.mirror(image)
        target = out_dir / f"q{i:03d}_{path.stem}_{turn}{'m' if mirror else ''}.png"
        image.save(target)
        files.append(target)
    return files


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen | None, log: Path | None, timeout: float = 600) -> None:
    """Poll the app's /config until it answers (the first start may build indexes)."""
    deadline = time.time() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"app.py exited with {process.returncode}:\n{log.read_text()[-3000:] if log else ''}")
        try:
            with urllib.request.urlopen(url + "config", timeout=5):
                return
        except OSError:
            if time.time() > deadline:
                raise SystemExit(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(1)


@contextmanager
def app_server(args: argparse.Namespace):
    """Yield the URL of the app: ``--url``, or an ``app.py`` started here (and stopped afterwards)."""
    if args.url:
        url = args.url if args.url.endswith("/") else args.url + "/"
        wait_until_serving(url, None, None, timeout=30)
        yield url
        return
    with started_app(args) as (url, _):
        yield url


@contextmanager
def started_app(args: argparse.Namespace, env: dict[str, str] | None = None):
    """Start ``app.py`` with the server options of ``args``; yield its URL and process, stop it afterwards.

    ``env``: extra environment variables for the app.
    """
    port = free_port()
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    for name in SERVER_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    log = Path(tempfile.mkdtemp(prefix="crossmodal-bench-")) / "app.log"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", **(env or {}))
    print("starting:", " ".join(command), f"(log {log})", flush=True)
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(url, process, log)
        yield url, process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """End a started app: politely, then by force after 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by the app benches: which app to measure."""
    parser.add_argument("--url", help="a running app (default: start app.py here)")
    parser.add_argument("--checkpoint", help="passed to app.py")
    parser.add_argument("--photos", help="passed to app.py (1,400 UC Merced photos of the 14 classes)")
    parser.add_argument("--sketches", help="passed to app.py")
    parser.add_argument("--index-dir", dest="index_dir", help="passed to app.py")
    parser.add_argument("--threads", type=int, help="passed to app.py: torch threads per search")
    parser.add_argument("--concurrency", type=int, help="passed to app.py: searches run at once")
    parser.add_argument("--cache-age", dest="cache_age", type=int,
                        help="passed to app.py: seconds uploads and results stay in its cache")
    parser.add_argument("--query-dir", help="files to send: sketches, or photos for the photo endpoints "
                        "(default: variants of assets/*.png)")
    parser.add_argument("--k", type=int, default=12, help="results per query (default 12)")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the latencies."""
    from gradio_client import Client, handle_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--queries", type=int, default=20, help="queries measured (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="queries sent first and not counted (default 2)")
    parser.add_argument("--endpoint", choices=ENDPOINTS, default=ENDPOINTS[0],
                        help="the search to time (the photo endpoints need photos in --query-dir)")
    args = parser.parse_args(argv)
    if args.endpoint != ENDPOINTS[0] and not args.query_dir:
        parser.error(f"--endpoint {args.endpoint} needs --query-dir with photos to send")

    with tempfile.TemporaryDirectory() as tmp:
        files = query_files(args.warmup + args.queries, Path(tmp), args.query_dir)
        with app_server(args) as url:
            client = Client(url, verbose=False, download_files=False)
            server_ms, search_ms, round_trip_ms, gallery = [], [], [], None
            for i, path in enumerate(files):
                started = time.perf_counter()
                payload = client.predict(handle_file(str(path)), args.k, api_name=f"/{args.endpoint}")[-1]
                elapsed = (time.perf_counter() - started) * 1000.0
                if len(payload["results"]) != args.k:
                    raise SystemExit(f"query {path.name} returned {len(payload['results'])} results, not {args.k}")
                if i >= args.warmup:
                    server_ms.append(float(payload["latency_ms"]))
                    search_ms.append(float(payload["search_ms"]))
                    round_trip_ms.append(elapsed)
                gallery = payload.get("results", [{}])[0].get("id", "")
    print(f"\n/{args.endpoint}, k={args.k}, {len(server_ms)} queries after {args.warmup} warm-up "
          f"({os.cpu_count()} CPUs; first result {gallery or '?'})")
    print(f"{'':<28}{'p50':>9}{'p95':>9}{'mean':>9}{'max':>9}")
    # the handler's total, the search inside it (decoding, the model, ranking; not thumbnails), and the client's
    for name, values in (("server-side latency (ms)", server_ms), ("... of it the search (ms)", search_ms),
                         ("client round trip (ms)", round_trip_ms)):
        print(f"{name:<28}{percentile(values, 50):>9.1f}{percentile(values, 95):>9.1f}"
              f"{statistics.fmean(values):>9.1f}{max(values):>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
