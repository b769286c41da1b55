"""Load test of the app: several gradio_client clients searching at once for a while; errors are counted.

Starts ``app.py`` on a free port (or uses ``--url``), then ``--clients`` threads (default 8), each
with its own client, send searches back to back for ``--seconds`` (default 30): sketches to
``/sketch_to_photo`` and, when the app has a sketch gallery, photos to ``/photo_to_sketch`` and
``/photo_to_photo``. Prints requests, errors, throughput and the p50 / p95 / max round trip, and
exits with status 1 if any request failed.

Usage::

    python bench/app_load.py --checkpoint checkpoints/ucm14.pt --photos DATA/ucmerced --sketches DATA/eoc-sketches
    python bench/app_load.py --url http://127.0.0.1:7860/ --clients 8 --seconds 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_latency import add_server_arguments, app_server, percentile, query_files  # noqa: E402


def client_loop(url: str, sketches: list[Path], photos: list[Path], k: int, stop_at: float, seed: int,
                latencies: list[tuple[str, float]], errors: list[str], lock: threading.Lock) -> None:
    """One client: search until ``stop_at``, recording each round trip or error."""
    from gradio_client import Client, handle_file

    try:
        client = Client(url, verbose=False, download_files=False)
    except Exception as err:  # a client that cannot even connect is an error of the run
        with lock:
            errors.append(f"connect: {type(err).__name__}: {err}")
        return
    jobs = [("/sketch_to_photo", p) for p in sketches]
    jobs += [(api, p) for p in photos for api in ("/photo_to_sketch", "/photo_to_photo")]
    i = seed
    while time.time() < stop_at:
        api, path = jobs[i % len(jobs)]
        i += 7
        started = time.perf_counter()
        try:
            payload = client.predict(handle_file(str(path)), k, api_name=api)[-1]
            if len(payload["results"]) == 0:
                raise RuntimeError("no results")
        except Exception as err:
            with lock:
                errors.append(f"{api} {path.name}: {type(err).__name__}: {err}")
            continue
        with lock:
            latencies.append((api, (time.perf_counter() - started) * 1000.0))


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long they search (default 30)")
    parser.add_argument("--photo-dir", help="photos to send to the photo endpoints (default: --photos)")
    args = parser.parse_args(argv)

    latencies: list[tuple[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as tmp:
        sketches = query_files(32, Path(tmp), args.query_dir)
        photo_root = args.photo_dir or args.photos
        suffixes = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
        photos = sorted(p for p in Path(photo_root).rglob("*") if p.suffix.lower() in suffixes) if photo_root else []
        photos = photos[::37][:24]
        with app_server(args) as url:
            from gradio_client import Client

            endpoints = Client(url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
            if "/photo_to_photo" not in endpoints:
                photos = []
            started = time.time()
            threads = [threading.Thread(target=client_loop, args=(url, sketches, photos, args.k,
                                                                  started + args.seconds, seed, latencies, errors,
                                                                  lock))
                       for seed in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.time() - started
    values = [ms for _, ms in latencies]
    per_api = Counter(api for api, _ in latencies)
    print(f"\n{args.clients} clients for {args.seconds:.0f} s: {len(values)} searches "
          f"({len(values) / wall:.1f}/s), {len(errors)} errors; by endpoint {dict(per_api)}")
    if values:
        print(f"round trip ms: p50 {percentile(values, 50):.0f}, p95 {percentile(values, 95):.0f}, "
              f"max {max(values):.0f}")
    for message in errors[:10]:
        print("error:", message)
    return 1 if errors or not values else 0


if __name__ == "__main__":
    sys.exit(main())
