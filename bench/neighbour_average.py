"""What averaging each gallery photo with its nearest others costs an index build, and how well Annoy finds them.

For each size, on synthetic clustered 128-d unit vectors (the mixture of ``bench/ann.py``), it prints:

- the exact search of every item's 3 nearest others (``crossmodal.ranking.nearest_others``, what
  an index uses up to ``EXACT_NEIGHBOURS_UP_TO`` photos) and its time, when the size allows;
- the Annoy search of the same (``crossmodal.index.approximate_nearest_others`` with the index's
  defaults, ``NEIGHBOUR_TREES`` trees and ``NEIGHBOUR_SEARCH_K`` candidates), its time and its
  recall: the share of the exact 3 nearest it finds (over every item, or over ``--sample`` items
  whose exact neighbours are computed alone when the size is too large for all of them);
- the time ``EmbeddingIndex.from_embeddings`` takes with the photos as they are and averaged with
  their 3 nearest (the index's default ``n_trees``; the exact or Annoy search as the index chooses).

Usage::

    .venv/bin/python bench/neighbour_average.py [--sizes 20000 100000] [--sample 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ann import synthetic  # noqa: E402  (bench/ann.py: the clustered vectors)

from crossmodal.config import DEFAULT_NEIGHBOURS, EXACT_NEIGHBOURS_UP_TO  # noqa: E402
from crossmodal.index import EmbeddingIndex, approximate_nearest_others  # noqa: E402
from crossmodal.ranking import nearest_others  # noqa: E402

K = DEFAULT_NEIGHBOURS


def exact_sample(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The exact K nearest others of some rows only, (len(rows), K)."""
    similarity = x[rows] @ x.T
    similarity[np.arange(len(rows)), rows] = -np.inf
    return np.argsort(-similarity, axis=1, kind="stable")[:, :K]


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact neighbours found, whatever their order."""
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, exact)]))


def build_seconds(x: np.ndarray, neighbours: int) -> float:
    started = time.perf_counter()
    EmbeddingIndex.from_embeddings(x, [f"{i}.jpg" for i in range(len(x))], [""] * len(x), "photo", "bench",
                                   neighbours=neighbours)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Print one block a size; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--sample", type=int, default=2_000, help="items whose exact neighbours check the recall "
                        f"above {EXACT_NEIGHBOURS_UP_TO:,} items")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.08)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for n in args.sizes:
        x, _ = synthetic(n, 1, args.clusters, args.spread, args.seed)
        print(f"{n:,} items, {K} nearest others each:")
        started = time.perf_counter()
        found = approximate_nearest_others(x, K)
        annoy_s = time.perf_counter() - started
        if n <= EXACT_NEIGHBOURS_UP_TO:
            started = time.perf_counter()
            exact = nearest_others(x, K)
            print(f"  exact search       {time.perf_counter() - started:7.1f} s")
            print(f"  Annoy search       {annoy_s:7.1f} s, recall {recall(found, exact):.3f} (every item)")
        else:
            rows = np.random.default_rng(args.seed).choice(n, min(args.sample, n), replace=False)
            print(f"  Annoy search       {annoy_s:7.1f} s, recall {recall(found[rows], exact_sample(x, rows)):.3f} "
                  f"({len(rows):,} items)")
        print(f"  index build        {build_seconds(x, 0):7.1f} s as they are, {build_seconds(x, K):.1f} s averaged "
              f"({'exact' if n <= EXACT_NEIGHBOURS_UP_TO else 'Annoy'} neighbours)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
