"""Benchmark the retrieval index the way the ANN field does: recall@10 against exact search, latency, QPS.

For each data set (synthetic clustered 128-d vectors at several sizes, and optionally the real
gallery's embeddings from an index built by ``python -m crossmodal index``) it measures, in one run:

- exact brute force: numpy (the index's ``exact=True`` path, one query at a time), torch one query at
  a time, and torch in batches (throughput only);
- ``EmbeddingIndex`` (Annoy) for each ``--trees`` and ``--shards`` value: build time, size on disk,
  and for each ``--search-k`` value (candidates per query, over all shards) the query latency p50 /
  p99, queries per second (one query at a time from one client thread; a sharded index searches its
  shards on one thread each) and recall@10 against exact search; at the default ``search_k`` also
  the throughput of ``--client-threads`` threads querying at once. Before timing, every query runs
  once on each index (so that no setting pays for mapping the file's pages in); each setting then
  runs ``--runs`` passes over the queries and reports the pass with the lowest p50, as
  ann-benchmarks reports the best of its runs;
- the peak resident memory of building (and saving) the largest synthetic index with the default
  ``n_trees``, in a fresh child process.

Queries are fresh draws from the same distribution (never items of the index); for the real gallery
they are the embeddings of another index (e.g. the sketches, for sketch -> photo queries).

Synthetic data: a mixture of ``--clusters`` isotropic Gaussians in 128-d: centres uniform on the unit
sphere, every coordinate N(0, ``--spread``^2) around its centre (0.08 puts a point about 42 degrees
from its centre), then normalised to unit length.

Usage::

    nice -n 19 .venv/bin/python bench/ann.py --sizes 10000 100000 1000000 \
        --real-gallery runs/index-photo --real-queries runs/index-sketch --json runs/ann-bench.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crossmodal.index import DEFAULT_N_TREES, DEFAULT_SEARCH_K_PER_SHARD, EmbeddingIndex, default_shards  # noqa: E402

K = 10


def clustered_vectors(n: int, dim: int, centres: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors from a mixture of isotropic Gaussians around ``centres`` (chunked: bounded memory)."""
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = centres[rng.integers(0, len(centres), m)] + spread * rng.standard_normal((m, dim), dtype=np.float32)
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def synthetic(n: int, queries: int, clusters: int, spread: float, seed: int, dim: int = 128) -> tuple[np.ndarray,
                                                                                                         np.ndarray]:
    """Gallery and queries: independent draws from one mixture of ``clusters`` Gaussians (seeded)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return clustered_vectors(n, dim, centres, spread, rng), clustered_vectors(queries, dim, centres, spread, rng)


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds of latencies in seconds."""
    ms = np.asarray(latencies) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    """Mean fraction of the true top-K found in each result's top K."""
    return float(np.mean([len(set(f[:K].tolist()) & set(t.tolist())) / K for f, t in zip(found, truth)]))


def torch_batched_exact(gallery: np.ndarray, queries: np.ndarray, batch: int) -> tuple[np.ndarray, float]:
    """Exact top-K of every query (the ground truth) and the seconds it took, ``batch`` queries at a time."""
    import torch

    g = torch.from_numpy(np.ascontiguousarray(gallery))
    ids = []
    start = time.perf_counter()
    for s in range(0, len(queries), batch):
        scores = torch.from_numpy(queries[s:s + batch]) @ g.T
        ids.append(torch.topk(scores, min(K, len(gallery)), dim=1).indices.numpy())
        del scores
    return np.concatenate(ids), time.perf_counter() - start


def row(data: str, n: int, method: str, **values: Any) -> dict[str, Any]:
    """One result row of the table."""
    return {"data": data, "n": n, "method": method, **values}


def bench_exact(data: str, index: EmbeddingIndex, queries: np.ndarray, truth: np.ndarray, n_single: int,
                batch_seconds: float, batch: int) -> list[dict[str, Any]]:
    """Exact brute force: numpy through the index, torch one query at a time, torch batched (measured before)."""
    import torch

    rows = []
    single = queries[:n_single]
    lat, found = [], []
    for q in single:  # the index's own exact path: numpy matrix-vector product over the memmap
        t = time.perf_counter()
        found.append(index.query(q, K, exact=True)[0])
        lat.append(time.perf_counter() - t)
    p50, p99 = percentiles(lat)
    rows.append(row(data, len(index), "exact numpy, 1 query", p50_ms=p50, p99_ms=p99, qps=len(lat) / sum(lat),
                    recall=recall(found, truth[:n_single])))
    g = torch.from_numpy(np.array(index.embeddings))  # in RAM: torch does not take read-only memmaps
    lat, found = [], []
    for q in single:
        t = time.perf_counter()
        found.append(torch.topk(g @ torch.from_numpy(q), min(K, len(index))).indices.numpy())
        lat.append(time.perf_counter() - t)
    p50, p99 = percentiles(lat)
    rows.append(row(data, len(index), "exact torch, 1 query", p50_ms=p50, p99_ms=p99, qps=len(lat) / sum(lat),
                    recall=recall(found, truth[:n_single])))
    rows.append(row(data, len(index), f"exact torch, batch {batch}", qps=len(queries) / batch_seconds, recall=1.0))
    return rows


def concurrent_qps(index: EmbeddingIndex, queries: np.ndarray, threads: int) -> tuple[float, list[np.ndarray]]:
    """Queries per second with ``threads`` client threads querying at once (default settings), and the ids found."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda q: index.query(q, K), queries[:50]))  # start the threads
        t = time.perf_counter()
        found = list(pool.map(lambda q: index.query(q, K)[0], queries))
        return len(queries) / (time.perf_counter() - t), found


def timed_queries(index: EmbeddingIndex, queries: np.ndarray, search_k: int | None,
                  rerank: int) -> tuple[list[float], list[np.ndarray]]:
    """Seconds and ids of each query, one at a time."""
    lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        found.append(index.query(q, K, search_k=search_k, rerank=rerank)[0])
        lat.append(time.perf_counter() - t)
    return lat, found


def bench_annoy(data: str, embeddings: np.ndarray, queries: np.ndarray, truth: np.ndarray, trees: list[int],
                shards: list[int], search_ks: list[int], runs: int, client_threads: int, workdir: Path, seed: int,
                exact: Callable[[EmbeddingIndex], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Annoy rows for every ``n_trees``, shard count and ``search_k``; the exact rows run on the first index loaded."""
    n = len(embeddings)
    paths = [f"synthetic/{i:07d}.jpg" for i in range(n)]
    labels = ["synthetic"] * n
    rows = []
    for n_trees, n_shards in [(t, s) for t in trees for s in shards if s <= n]:
        t = time.perf_counter()
        built = EmbeddingIndex.from_embeddings(embeddings, paths, labels, "photo", "bench", n_trees=n_trees, seed=seed,
                                               n_shards=n_shards)
        build_s = time.perf_counter() - t
        out = workdir / f"{data}-{n_trees}-{n_shards}"
        t = time.perf_counter()
        built.save(out)
        save_s = time.perf_counter() - t
        del built
        gc.collect()
        t = time.perf_counter()
        index = EmbeddingIndex.load(out)  # as the app does: memory-mapped, checksums verified
        load_s = time.perf_counter() - t
        ann_mb = sum(p.stat().st_size for p in out.glob("*.ann")) / 2 ** 20
        dir_mb = sum(p.stat().st_size for p in out.iterdir()) / 2 ** 20
        if not rows:
            for r in exact(index):
                rows.append(r)
                print(format_row(r), flush=True)
        settings: list[tuple[int | None, int]] = [(s, 1) for s in search_ks]
        if n_trees == DEFAULT_N_TREES:
            settings += [(None, 1), (None, 3)]
        for q in queries:  # map the pages every query touches, so that no setting pays for the first touch
            index.query(q, K, search_k=max(search_ks + [index.default_search_k]))
        for search_k, rerank in settings:
            passes = [timed_queries(index, queries, search_k, rerank) for _ in range(runs)]
            lat, found = min(passes, key=lambda p: percentiles(p[0])[0])  # as ann-benchmarks: the best run
            p50, p99 = percentiles(lat)
            label = "default" if search_k is None else search_k
            method = "annoy" + (f", {n_shards} shards" if n_shards > 1 else "") + (f" rerank {rerank}" if rerank > 1
                                                                                   else "")
            common = {"n_trees": n_trees, "shards": n_shards, "build_s": build_s, "save_s": save_s, "load_s": load_s,
                      "ann_mb": ann_mb, "dir_mb": dir_mb}
            rows.append(row(data, n, method, search_k=label, **common, p50_ms=p50, p99_ms=p99,
                            qps=len(lat) / sum(lat), recall=recall(found, truth),
                            p50_ms_runs=[percentiles(p[0])[0] for p in passes]))
            print(format_row(rows[-1]), flush=True)
            if search_k is None and rerank == 1 and client_threads > 1:
                qps, found = concurrent_qps(index, queries, client_threads)
                rows.append(row(data, n, f"{method}, {client_threads} clients", search_k=label, **common, qps=qps,
                                recall=recall(found, truth)))
                print(format_row(rows[-1]), flush=True)
        del index
        gc.collect()
        shutil.rmtree(out)
    return rows


def peak_build_memory(embeddings: np.ndarray, n_trees: int, workdir: Path, seed: int) -> dict[str, float]:
    """Peak RSS of a fresh process that loads the vectors, builds the index and saves it."""
    vectors = workdir / "peak-vectors.npy"
    np.save(vectors, embeddings)
    out = workdir / "peak-index"
    result = subprocess.run([sys.executable, __file__, "--peak-child", str(vectors), str(out), str(n_trees),
                             str(seed)], capture_output=True, text=True, check=True)
    shutil.rmtree(out, ignore_errors=True)
    vectors.unlink()
    return json.loads(result.stdout.strip().splitlines()[-1])


def peak_child(vectors: str, out: str, n_trees: int, seed: int) -> None:
    """Child process body: load the vectors, build and save, print the peak RSS as JSON."""

    def rss_mb(field: str = "VmHWM") -> float:
        # not getrusage's ru_maxrss: Linux carries it over from the forking parent across exec
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    embeddings = np.load(vectors)
    baseline = rss_mb("VmRSS")
    t = time.perf_counter()
    index = EmbeddingIndex.from_embeddings(embeddings, [f"synthetic/{i:07d}.jpg" for i in range(len(embeddings))],
                                           ["synthetic"] * len(embeddings), "photo", "bench", n_trees=n_trees,
                                           seed=seed)
    index.save(out)
    print(json.dumps({"n": len(embeddings), "n_trees": n_trees, "shards": len(index.shards),
                      "seconds": time.perf_counter() - t,
                      "vectors_mb": embeddings.nbytes / 2 ** 20, "baseline_rss_mb": baseline,
                      "peak_rss_mb": rss_mb()}))


def fmt(value: Any, spec: str) -> str:
    """A table cell: empty for a missing value."""
    return "" if value is None else format(value, spec)


HEADER = (f"{'data':<12}{'n':>9}  {'method':<30}{'trees':>6}{'search_k':>9}{'build s':>9}{'.ann MiB':>9}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'QPS':>9}{'recall@10':>10}")


def format_row(r: dict[str, Any]) -> str:
    """One line of the table."""
    return (f"{r['data']:<12}{r['n']:>9}  {r['method']:<30}{fmt(r.get('n_trees'), 'd'):>6}"
            f"{str(r.get('search_k', '')):>9}{fmt(r.get('build_s'), '.1f'):>9}{fmt(r.get('ann_mb'), '.1f'):>9}"
            f"{fmt(r.get('p50_ms'), '.3f'):>9}{fmt(r.get('p99_ms'), '.3f'):>9}{fmt(r.get('qps'), '.0f'):>9}"
            f"{fmt(r.get('recall'), '.3f'):>10}")


def run_dataset(data: str, embeddings: np.ndarray, queries: np.ndarray, args: argparse.Namespace,
                workdir: Path) -> list[dict[str, Any]]:
    """Ground truth, then the exact and Annoy rows of one data set."""
    print(f"--- {data}: {len(embeddings)} x {embeddings.shape[1]}, {len(queries)} queries", flush=True)
    truth, batch_seconds = torch_batched_exact(embeddings, queries, args.batch)
    n_single = min(len(queries), max(50, int(args.exact_queries * 100_000 / max(len(embeddings), 100_000))))

    def exact(index: EmbeddingIndex) -> list[dict[str, Any]]:
        return bench_exact(data, index, queries, truth, n_single, batch_seconds, args.batch)

    return bench_annoy(data, embeddings, queries, truth, args.trees, args.shards or [default_shards(len(embeddings))],
                       args.search_k, args.runs, args.client_threads, workdir, args.seed, exact)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000, help="queries per synthetic data set")
    parser.add_argument("--exact-queries", type=int, default=1000,
                        help="one-at-a-time exact queries at 100k items (scaled down for more items, min 50)")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.08)
    parser.add_argument("--trees", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--search-k", type=int, nargs="+", default=[1000, 2500, 5000, 10_000, 20_000])
    parser.add_argument("--shards", type=int, nargs="+", help="shard counts to build (default: the index's default "
                        "for each size)")
    parser.add_argument("--runs", type=int, default=3, help="passes over the queries per setting; the one with "
                        "the lowest p50 is reported (all p50s go to --json)")
    parser.add_argument("--client-threads", type=int, default=2,
                        help="threads querying at once for the throughput row (1: no such row)")
    parser.add_argument("--batch", type=int, default=100, help="queries per batched exact product")
    parser.add_argument("--real-gallery", help="an index directory written by `python -m crossmodal index`")
    parser.add_argument("--real-queries", help="an index whose embeddings are the queries (default: the gallery's)")
    parser.add_argument("--peak-memory", action=argparse.BooleanOptionalAction, default=True,
                        help="measure the peak RSS of building the largest synthetic index")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="where indexes are written (default: a temporary directory)")
    parser.add_argument("--json", help="write all rows to this file")
    parser.add_argument("--peak-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_child:
        vectors, out, n_trees, seed = args.peak_child
        peak_child(vectors, out, int(n_trees), int(seed))
        return 0

    import torch

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} with "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}, nice {os.nice(0)}; "
          f"defaults n_trees={DEFAULT_N_TREES}, search_k={DEFAULT_SEARCH_K_PER_SHARD} a shard")
    print(f"command: {' '.join(sys.argv)}", flush=True)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ann-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    peak = None
    try:
        if args.real_gallery:
            gallery = EmbeddingIndex.load(args.real_gallery)
            # writable copies: torch does not take read-only memmaps
            queries = np.array(EmbeddingIndex.load(args.real_queries).embeddings if args.real_queries
                               else gallery.embeddings, dtype=np.float32)
            embeddings = np.array(gallery.embeddings, dtype=np.float32)
            rows += run_dataset(f"real-{gallery.modality}", embeddings, queries, args, workdir)
        for n in sorted(args.sizes):
            embeddings, queries = synthetic(n, args.queries, args.clusters, args.spread, args.seed)
            rows += run_dataset("synthetic", embeddings, queries, args, workdir)
            if args.peak_memory and n == max(args.sizes):
                peak = peak_build_memory(embeddings, DEFAULT_N_TREES, workdir, args.seed)
            del embeddings, queries
            gc.collect()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(HEADER)
    for r in rows:
        print(format_row(r))
    if peak:
        print(f"\npeak RSS building + saving {peak['n']} x 128 with n_trees={peak['n_trees']}, {peak['shards']} "
              f"shard(s): "
              f"{peak['peak_rss_mb']:.0f} MB ({peak['baseline_rss_mb']:.0f} MB before the build, with the "
              f"{peak['vectors_mb']:.0f} MB of vectors loaded), {peak['seconds']:.0f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"command": sys.argv, "rows": rows, "peak_build_memory": peak},
                                              indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
