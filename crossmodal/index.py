"""A persistent retrieval index: Annoy over the gallery's embeddings, with exact search behind the same call.

An index is a directory of these files:

- ``index.ann``: the Annoy forest (angular metric), memory-mapped on load so that several app
  workers share one copy of it in the page cache; a large gallery is split into shards instead
  (``index-0.ann``, ``index-1.ann``, ...: a forest over each contiguous range of ids), searched
  side by side on threads (Annoy releases the GIL) and merged;
- ``embeddings.npy``: the L2-normalised float32 vectors searched (n, dim), memory-mapped too, for
  exact search, exact re-ranking and verification: each item's own embedding or, in an index built
  with neighbour averaging, the mean of it and its ``k`` nearest others' (``crossmodal.ranking``);
- ``own_embeddings.npy`` (only with neighbour averaging): each item's own embedding, from which a
  later build averages again (adding an item changes its neighbours' means);
- ``index.json``: the sidecar: format, dimension, metric, ``n_trees``, seed, modality, the ``k``
  of the neighbour averaging (0: none), the id -> file and class map, the id range of each shard,
  the sha256 fingerprint of the checkpoint that made the embeddings, and the size and sha256 of
  the data files, so that a truncated or corrupt file is refused;
- ``items.npz`` (optional): numeric arrays with one row per item, such as where a chip of a large
  scene lies (``crossmodal.gallery``), checked like the other data files.

Annoy's lifecycle is add -> build(n_trees) -> save -> load (mmap) -> query(vector, k, search_k).
``n_trees`` buys recall with build time, disk and page cache (the items take 524 bytes each at
128-d, and each tree adds about 20 MB a million items); ``search_k``, the number of candidates a
query collects from the trees and scores exactly (Annoy's default: ``n_trees * k``), buys recall
with query time, almost linearly. Angular distance d between unit vectors converts to cosine as
``1 - d*d/2``.

The defaults (``DEFAULT_N_TREES``, ``DEFAULT_SEARCH_K_PER_SHARD``, ``SHARD_FROM_ITEMS``, kept in
``crossmodal.config``) come from ``bench/ann.py`` (table in docs/benchmarks.md), on a quiet 2-core CPU with a
million clustered 128-d vectors. One forest of 50 trees is at the edge of the 1 ms target: 7 500
candidates gave recall@10 0.959 at 1.04-1.07 ms a query (p50). Two shards of 500 000, each walked
by its own core, halve the work a core does: 5 000 candidates a shard gave 0.972 at 0.85-0.90 ms.
Handing a shard to a thread costs ~0.05-0.1 ms, so galleries under ``SHARD_FROM_ITEMS`` keep one
forest (at 100 000 items it gives 0.999 at 0.67 ms). More trees cost time at a fixed recall (every
tree is walked). A gallery of a few thousand items is searched exactly with these settings.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from annoy import AnnoyIndex

from .config import (DEFAULT_N_TREES, DEFAULT_SEARCH_K_PER_SHARD, EXACT_NEIGHBOURS_UP_TO, MODALITIES,
                     NEIGHBOUR_SEARCH_K, NEIGHBOUR_TREES, SHARD_FROM_ITEMS, check_modality)
from .files import file_sha256, process_alive
from .ranking import neighbour_average

FORMAT = "crossmodal-index-v3"  # v3 added neighbour averaging, v2 shards; v1 and v2 still load
FORMATS = ("crossmodal-index-v1", "crossmodal-index-v2", FORMAT)
METRIC = "angular"
INDEX_FILE = "index.ann"  # the forest of an unsharded index
SHARD_FILE = "index-{}.ann"  # the forest of shard i
EMBEDDINGS_FILE = "embeddings.npy"
OWN_EMBEDDINGS_FILE = "own_embeddings.npy"  # each item's own embedding, when the searched ones are averaged
ITEMS_FILE = "items.npz"  # optional per-item arrays (e.g. chip footprints), one row per id
SIDECAR_FILE = "index.json"


class IndexMismatchError(ValueError):
    """An index does not fit the checkpoint or its own files (or is corrupt); the message says how to rebuild."""


class IndexNotFoundError(IndexMismatchError):
    """There is no index in the directory given."""


@dataclass(frozen=True)
class SearchHit:
    """One search result."""

    rank: int  # 1 for the best match
    id: int  # row of the item in the index (and in ``embeddings``)
    path: str  # absolute path of the gallery file
    label: str  # class name of the gallery file
    score: float  # cosine similarity to the query, in [-1, 1]


def approximate_nearest_others(embeddings: np.ndarray, k: int, among: Any = None, n_trees: int = NEIGHBOUR_TREES,
                               search_k: int = NEIGHBOUR_SEARCH_K, seed: int = 0) -> np.ndarray:
    """Each row's ``k`` nearest other rows by an Annoy forest: (n, d) -> (n, k) ids, -1 where none.

    The approximate twin of :func:`crossmodal.ranking.nearest_others` for galleries too large to
    compare every pair (``EXACT_NEIGHBOURS_UP_TO``): a forest of ``n_trees`` trees over the rows in
    ``among`` (a boolean mask; None = all), each asked for its ``k + 1`` nearest among
    ``search_k`` candidates, itself left out.
    """
    rows = np.arange(len(embeddings)) if among is None else np.flatnonzero(np.asarray(among, bool))
    out = np.full((len(embeddings), k), -1, np.int64)
    if k < 1 or len(rows) <= k:
        return out
    forest = AnnoyIndex(embeddings.shape[1], METRIC)
    forest.set_seed(seed)
    for i, row in enumerate(rows):
        forest.add_item(i, embeddings[row])
    forest.build(n_trees, n_jobs=1)
    for i, row in enumerate(rows):
        found = [j for j in forest.get_nns_by_item(i, k + 1, search_k) if j != i][:k]
        out[row, :len(found)] = rows[found]
    return out


def annoy_node_bytes(dim: int) -> int:
    """Bytes of one node of an angular Annoy index: descendant count, two children, then the vector."""
    return 4 + 2 * 4 + 4 * dim


def _normalise(embeddings: Any) -> np.ndarray:
    x = np.array(embeddings, dtype=np.float32, copy=True)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"embeddings must be a non-empty (n, dim) array, not shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        first = int(np.flatnonzero(norms[:, 0] == 0)[0])
        raise ValueError(f"embedding {first} is the zero vector: it has no direction")
    return x / norms


def default_shards(n_items: int) -> int:
    """Shards a new index of ``n_items`` gets by default: two from ``SHARD_FROM_ITEMS`` items up, else one."""
    return 2 if n_items >= SHARD_FROM_ITEMS else 1


def shard_bounds(n_items: int, n_shards: int) -> list[tuple[int, int]]:
    """The ``[start, stop)`` id range of each shard: ``n_shards`` contiguous ranges of (nearly) equal size."""
    if not isinstance(n_shards, int) or not 1 <= n_shards <= n_items:
        raise ValueError(f"n_shards must be an integer from 1 to the number of items ({n_items}), not {n_shards!r}")
    edges = [n_items * i // n_shards for i in range(n_shards + 1)]
    return list(zip(edges[:-1], edges[1:]))


def forest_files(n_shards: int) -> list[str]:
    """File names of the forests of an index with ``n_shards`` shards."""
    return [INDEX_FILE] if n_shards == 1 else [SHARD_FILE.format(i) for i in range(n_shards)]


def _rebuild_hint(directory: str | Path, modality: str = "MODALITY", images: str | None = None,
                  checkpoint: str | None = None) -> str:
    return (f"rebuild it with: python -m crossmodal index --checkpoint {checkpoint or 'CHECKPOINT'} "
            f"--images {images or 'IMAGES_DIR'} --modality {modality} --out {directory}")


class EmbeddingIndex:
    """Gallery embeddings with an Annoy forest over them, a file per item, and exact search beside it.

    Build one with :meth:`from_embeddings` (or :func:`crossmodal.gallery.build_index`), write it with
    :meth:`save`, read it back with :meth:`load`, and query it with :meth:`search` (hits) or
    :meth:`query` (arrays). Searching is thread-safe; building and saving are not. A sharded index
    searches its shards side by side, the first on the calling thread and the others on a pool of
    its own.

    Attributes:
        modality: ``"photo"`` or ``"sketch"``: what the gallery holds.
        dim: embedding dimension.
        paths: gallery file of each id.
        labels: class name of each id.
        fingerprint: sha256 of the checkpoint file that made the embeddings.
        embeddings: (n, dim) float32 unit vectors searched; a read-only ``np.memmap`` after :meth:`load`.
        own_embeddings: each item's own embedding (n, dim): ``embeddings`` itself unless averaged.
        neighbours: ``k`` of the neighbour averaging (0: none; :func:`crossmodal.ranking.neighbour_average`).
        n_trees: trees of the Annoy forest (of each shard's forest).
        seed: Annoy's random seed.
        shards: the ``(start, stop)`` id range of each shard's forest.
        info: provenance kept in the sidecar (``images`` folder, ``checkpoint`` path), may be empty.
        items: per-item arrays (first axis = id), saved in ``items.npz``; may be empty.
    """

    def __init__(self, forests: Sequence[AnnoyIndex], shards: Sequence[tuple[int, int]], embeddings: np.ndarray,
                 paths: Sequence[str], labels: Sequence[str], modality: str, fingerprint: str, n_trees: int,
                 seed: int, info: dict[str, Any] | None = None, items: dict[str, np.ndarray] | None = None,
                 own_embeddings: np.ndarray | None = None, neighbours: int = 0):
        """Wrap parts that already agree with each other; use :meth:`from_embeddings` or :meth:`load`."""
        self._forests = list(forests)
        self.shards = [(int(a), int(b)) for a, b in shards]
        # idle until a sharded query submits to it; its threads start on first use
        self._pool = ThreadPoolExecutor(len(self._forests) - 1, "index-shard") if len(self._forests) > 1 else None
        self.embeddings = embeddings
        self.paths = list(paths)
        self.labels = list(labels)
        self.modality = modality
        self.fingerprint = fingerprint
        self.dim = int(embeddings.shape[1])
        self.n_trees = int(n_trees)
        self.seed = int(seed)
        self.info = dict(info or {})
        self.items = dict(items or {})
        self.own_embeddings = embeddings if own_embeddings is None else own_embeddings
        self.neighbours = int(neighbours)

    @classmethod
    def from_embeddings(cls, embeddings: Any, paths: Sequence[str | Path], labels: Sequence[str], modality: str,
                        fingerprint: str, n_trees: int = DEFAULT_N_TREES, seed: int = 0, *,
                        n_shards: int | None = None, n_jobs: int = 1, info: dict[str, Any] | None = None,
                        items: dict[str, Any] | None = None, neighbours: int = 0,
                        averaged: Any = None) -> EmbeddingIndex:
        """Build an index in memory from embeddings (re-normalised to unit length).

        Args:
            embeddings: (n, dim) array, one row per gallery item, id = row.
            paths: the file of each row (stored as given: pass absolute paths for the app).
            labels: the class name of each row.
            modality: ``"photo"`` or ``"sketch"``.
            fingerprint: sha256 of the checkpoint that made the embeddings.
            n_trees: trees of the Annoy forest: more = better recall, slower build, bigger file.
            seed: Annoy's seed: the same seed, data, ``n_shards`` and ``n_jobs`` give a
                byte-identical index.
            n_shards: forests over contiguous id ranges, searched side by side; None =
                :func:`default_shards` (two from ``SHARD_FROM_ITEMS`` items up).
            n_jobs: build threads (Annoy seeds thread t with ``seed + t``, so the forest depends on
                it; -1 = all cores).
            info: provenance to keep in the sidecar (``images``, ``checkpoint``).
            items: per-item numeric arrays (first axis = id) to keep beside the embeddings.
            neighbours: search each item as the mean of its embedding and its ``neighbours``
                nearest others' (:func:`crossmodal.ranking.neighbour_average`); 0 = as it is.
            averaged: boolean mask of the items that are averaged, among themselves (None = all);
                the others are searched as they are.

        Raises:
            ValueError: empty or non-finite embeddings, a zero vector, lengths that disagree, an
                unknown modality, ``n_trees`` < 1, ``n_shards`` not in [1, n], or ``neighbours`` < 0.
        """
        own = _normalise(embeddings)
        n, dim = own.shape
        if not isinstance(neighbours, int) or neighbours < 0:
            raise ValueError(f"neighbours must be a whole number from 0 up, not {neighbours!r}")
        if averaged is not None and np.shape(averaged) != (n,):
            raise ValueError(f"averaged must be a mask of the {n} items, not shape {np.shape(averaged)}")
        members = n if averaged is None else int(np.count_nonzero(averaged))
        nearest = approximate_nearest_others(own, neighbours, averaged, seed=seed) \
            if neighbours and members > EXACT_NEIGHBOURS_UP_TO else None
        x = neighbour_average(own, neighbours, averaged, nearest=nearest) if neighbours else own
        if len(paths) != n or len(labels) != n:
            raise ValueError(f"{n} embeddings but {len(paths)} paths and {len(labels)} labels: they must match")
        items = {name: np.asarray(values) for name, values in (items or {}).items()}
        for name, values in items.items():
            if values.ndim == 0 or len(values) != n or values.dtype.kind not in "biuf":
                raise ValueError(f"item array {name!r} must be numeric with one row per embedding ({n}), "
                                 f"not {values.dtype} {values.shape}")
        check_modality(modality)
        if not isinstance(n_trees, int) or n_trees < 1:
            raise ValueError(f"n_trees must be a positive integer, not {n_trees!r}")
        if not 0 <= seed < 2 ** 31:
            raise ValueError(f"seed must be in [0, 2**31), not {seed}")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ValueError("fingerprint must be the checkpoint's sha256 (model.info['fingerprint'])")
        shards = shard_bounds(n, default_shards(n) if n_shards is None else n_shards)
        forests = []
        for start, stop in shards:
            forest = AnnoyIndex(dim, METRIC)
            forest.set_seed(seed)
            for i in range(start, stop):
                forest.add_item(i - start, x[i])
            forest.build(n_trees, n_jobs=n_jobs)
            forests.append(forest)
        return cls(forests, shards, x, [str(p) for p in paths], [str(lab) for lab in labels], modality, fingerprint,
                   n_trees, seed, info, items, own, neighbours)

    def __len__(self) -> int:
        """Number of gallery items."""
        return len(self.paths)

    def __repr__(self) -> str:
        """Size, modality, dimension, trees and checkpoint, in one line."""
        shards = f", {len(self.shards)} shards" if len(self.shards) > 1 else ""
        shards += f", averaged with {self.neighbours} neighbours" if self.neighbours else ""
        return (f"EmbeddingIndex({len(self)} {self.modality} items, dim={self.dim}, n_trees={self.n_trees}{shards}, "
                f"checkpoint {self.fingerprint[:12]})")

    # ------------------------------------------------------------------ search

    def _query_vector(self, vector: Any) -> np.ndarray:
        q = np.asarray(vector, dtype=np.float32)
        if q.ndim == 2 and q.shape[0] == 1:
            q = q[0]
        if q.shape != (self.dim,):
            raise ValueError(f"query must be one vector of {self.dim} values, not shape {q.shape}")
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or norm == 0:
            raise ValueError("query vector is zero or not finite")
        return q / norm

    def query(self, vector: Any, k: int = 10, search_k: int | None = None, exact: bool = False,
              rerank: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine scores of the nearest gallery items, best first.

        Args:
            vector: the query embedding (dim,) or (1, dim); it is normalised here.
            k: how many results; more than the gallery returns the whole gallery.
            search_k: Annoy candidates to collect, shared equally by the shards (-1 = Annoy's own
                ``n_trees * k * rerank`` in each shard); None = :attr:`default_search_k`, or
                ``n_trees * k * rerank`` a shard if that is more. Ignored when ``exact``.
            exact: brute force over the stored embeddings (a matrix product) instead of Annoy.
            rerank: fetch ``k * rerank`` Annoy candidates (from each shard) and order them by their
                exact cosine, so that the top of the list is exact among what Annoy found. With the default
                ``search_k`` a larger ``rerank`` can also collect more candidates; with a fixed ``search_k``
                it does not change which items come back, since Annoy already sorts its candidates
                by exact distance.

        Returns:
            ``(ids, scores)``: int64 and float32 arrays of equal length, scores decreasing (ties by
            id). Annoy can return fewer than ``k`` when ``search_k`` is smaller than ``k``.

        Raises:
            ValueError: a query of the wrong shape, zero or non-finite; ``k`` or ``rerank`` < 1.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        if rerank < 1:
            raise ValueError(f"rerank must be at least 1, not {rerank}")
        q = self._query_vector(vector)
        n = len(self)
        k = min(int(k), n)
        if exact:
            scores = np.asarray(self.embeddings @ q, dtype=np.float32)
            if k < n:
                top = np.argpartition(-scores, k - 1)[:k]
                # argpartition breaks ties at the k-th score arbitrarily: take every item tied with it
                top = np.flatnonzero(scores >= scores[top].min())
            else:
                top = np.arange(n)
            order = np.lexsort((top, -scores[top]))[:k]
            ids = top[order].astype(np.int64)
            return ids, scores[ids]
        candidates = min(k * int(rerank), n)
        if search_k is None:
            search_k = max(self.default_search_k, len(self.shards) * self.n_trees * candidates)
        ids, d = self._annoy_candidates(q, candidates, search_k)
        if rerank > 1:
            scores = np.asarray(self.embeddings[ids] @ q, dtype=np.float32)
        else:  # unit vectors: angular distance d = sqrt(2 - 2 cos)
            scores = np.clip(1.0 - d * d / 2.0, -1.0, 1.0).astype(np.float32)
        order = np.lexsort((ids, -scores))[:k]
        return ids[order], scores[order]

    @property
    def default_search_k(self) -> int:
        """Annoy candidates a query collects when it names none: ``DEFAULT_SEARCH_K_PER_SHARD`` a shard."""
        return DEFAULT_SEARCH_K_PER_SHARD * len(self.shards)

    def _annoy_candidates(self, q: np.ndarray, count: int, search_k: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and angular distances of up to ``count`` Annoy neighbours from each shard (unsorted across shards)."""
        vector = q.tolist()  # Annoy converts a list faster than an array
        per_shard = search_k if search_k < 0 else -(-search_k // len(self.shards))

        def nearest(shard: int) -> tuple[np.ndarray, np.ndarray]:
            start, stop = self.shards[shard]
            found, distances = self._forests[shard].get_nns_by_vector(vector, min(count, stop - start), per_shard,
                                                                      include_distances=True)
            return np.asarray(found, dtype=np.int64) + start, np.asarray(distances, dtype=np.float32)

        if self._pool is None:
            return nearest(0)
        pending = [self._pool.submit(nearest, shard) for shard in range(1, len(self.shards))]
        parts = [nearest(0)] + [future.result() for future in pending]
        return np.concatenate([ids for ids, _ in parts]), np.concatenate([d for _, d in parts])

    def search(self, vector: Any, k: int = 10, search_k: int | None = None, exact: bool = False,
               rerank: int = 1) -> list[SearchHit]:
        """The nearest gallery items as :class:`SearchHit` s, best first; arguments as in :meth:`query`.

        Raises:
            ValueError: as :meth:`query`.
        """
        ids, scores = self.query(vector, k, search_k, exact, rerank)
        return [SearchHit(rank, int(i), self.paths[i], self.labels[i], float(s))
                for rank, (i, s) in enumerate(zip(ids, scores), start=1)]

    # ------------------------------------------------------------------ persistence

    def _sidecar(self, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {"format": FORMAT, "metric": METRIC, "dim": self.dim, "n_items": len(self), "n_trees": self.n_trees,
                "seed": self.seed, "modality": self.modality, "fingerprint": self.fingerprint, "info": self.info,
                "shards": [list(bounds) for bounds in self.shards], "neighbours": self.neighbours, "files": files,
                "paths": self.paths, "labels": self.labels}

    def save(self, directory: str | Path) -> None:
        """Write the index to a directory, atomically.

        Everything is written and synced in a temporary directory beside ``directory``, which then
        takes its place in one step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames, the
        old index set aside first). An exception, Ctrl-C or crash before that step leaves the
        previous index untouched and loadable. Workers that have the old index open keep reading it.

        Raises:
            ValueError: ``directory`` is not usable (see :func:`check_index_dir`; it is never replaced).
            OSError: the files cannot be written.
        """
        directory = check_index_dir(directory)
        tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=_temp_prefix(directory, "tmp")))
        try:
            tmp.chmod(0o755)  # mkdtemp makes it private; app workers may run as another user
            data = [tmp / name for name in forest_files(len(self._forests))] + [tmp / EMBEDDINGS_FILE]
            for forest, ann in zip(self._forests, data):
                if not forest.save(str(ann)):  # Annoy then re-maps itself from this file; rename keeps it valid
                    raise OSError(f"Annoy could not write {ann}")
            np.save(data[-1], np.ascontiguousarray(self.embeddings, dtype=np.float32))
            if self.neighbours:
                data.append(tmp / OWN_EMBEDDINGS_FILE)
                np.save(data[-1], np.ascontiguousarray(self.own_embeddings, dtype=np.float32))
            if self.items:
                np.savez(tmp / ITEMS_FILE, **{name: np.asarray(a) for name, a in self.items.items()})
                data.append(tmp / ITEMS_FILE)
            files = {p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in data}
            _write_json(tmp / SIDECAR_FILE, self._sidecar(files))
            for path in data:
                _fsync(path)
            _fsync(tmp)
            _replace_directory(tmp, directory)
            _fsync(directory.parent)
        finally:
            if tmp.exists():  # the failed build, or the old index after the swap
                shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: str | Path, fingerprint: str | None = None, *, verify: bool = True) -> EmbeddingIndex:
        """Open a saved index, memory-mapped, after checking that its parts agree.

        Args:
            directory: a folder written by :meth:`save`.
            fingerprint: sha256 of the checkpoint that will embed the queries; None skips the check.
            verify: also compare the sha256 of both data files with the sidecar (reads them once;
                about a second per GB), on top of the always-made size and consistency checks.

        Raises:
            IndexNotFoundError: no index in ``directory``.
            IndexMismatchError: another checkpoint made it, the sidecar disagrees with the files
                (dimension, item or tree count), or a file is truncated or corrupt.
        """
        directory = Path(directory)
        sidecar_path = directory / SIDECAR_FILE
        if not sidecar_path.is_file():
            raise IndexNotFoundError(f"no index at {directory} (missing {SIDECAR_FILE}): {_rebuild_hint(directory)}")
        try:
            meta = json.loads(sidecar_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise IndexMismatchError(f"{sidecar_path} is unreadable or corrupt ({err}); "
                                     f"{_rebuild_hint(directory)}") from err
        if not isinstance(meta, dict) or meta.get("format") not in FORMATS:
            raise IndexMismatchError(f"{directory} is not a {FORMAT} index; {_rebuild_hint(directory)}")
        try:
            info = dict(meta.get("info") or {})
            modality, dim, n, n_trees = meta["modality"], int(meta["dim"]), int(meta["n_items"]), int(meta["n_trees"])
            seed, stored_fp, files = int(meta["seed"]), str(meta["fingerprint"]), dict(meta["files"])
            paths, labels = [str(p) for p in meta["paths"]], [str(lab) for lab in meta["labels"]]
            shards = [(int(a), int(b)) for a, b in meta.get("shards", [(0, n)])]  # v1: one forest
            neighbours = int(meta.get("neighbours", 0))  # v1, v2: searched as they are
        except (KeyError, TypeError, ValueError) as err:
            raise IndexMismatchError(f"{sidecar_path} lacks or garbles {err}; {_rebuild_hint(directory)}") from err
        hint = _rebuild_hint(directory, modality, info.get("images"), info.get("checkpoint"))
        if fingerprint is not None and fingerprint != stored_fp:
            made_by = f" ({info['checkpoint']})" if info.get("checkpoint") else ""
            raise IndexMismatchError(
                f"index {directory} holds embeddings of checkpoint {stored_fp[:12]}{made_by}, not of the checkpoint "
                f"given ({fingerprint[:12]}): its scores would be meaningless; "
                + _rebuild_hint(directory, modality, info.get("images"), "THE_NEW_CHECKPOINT"))
        if (meta.get("metric") != METRIC or modality not in MODALITIES or dim < 1 or n < 1 or n_trees < 1
                or neighbours < 0):
            raise IndexMismatchError(f"{sidecar_path} describes an index this version cannot serve "
                                     f"(metric {meta.get('metric')!r}, modality {modality!r}, dim {dim}, "
                                     f"{n} items, {n_trees} trees, {neighbours} neighbours); {hint}")
        if len(paths) != n or len(labels) != n:
            raise IndexMismatchError(f"{sidecar_path} lists {len(paths)} paths and {len(labels)} labels for {n} "
                                     f"items; {hint}")
        if not 1 <= len(shards) <= n or shards != shard_bounds(n, len(shards)):  # as from_embeddings splits
            raise IndexMismatchError(f"{sidecar_path} has shards {shards} that do not split its {n} items into "
                                     f"equal contiguous ranges; {hint}")
        anns = [directory / name for name in forest_files(len(shards))]
        npy = directory / EMBEDDINGS_FILE
        own_npy = [directory / OWN_EMBEDDINGS_FILE] if neighbours else []
        extras = [directory / ITEMS_FILE] if ITEMS_FILE in files else []
        for path in anns + [npy] + own_npy + extras:
            record = files.get(path.name) or {}
            if not path.is_file():
                raise IndexMismatchError(f"{path} is missing; {hint}")
            size = path.stat().st_size
            if size != record.get("bytes"):
                raise IndexMismatchError(f"{path} has {size} bytes, the sidecar recorded {record.get('bytes')}: "
                                         f"truncated or replaced; {hint}")
        for ann in anns:
            if os.path.getsize(ann) % annoy_node_bytes(dim):
                raise IndexMismatchError(f"{ann} is not made of {dim}-dimensional angular nodes: the sidecar's "
                                         f"dimension {dim} does not match it; {hint}")
        if verify:
            for path in anns + [npy] + own_npy + extras:
                if file_sha256(path) != files[path.name].get("sha256"):
                    raise IndexMismatchError(f"{path} does not match the checksum in the sidecar: corrupt; {hint}")
        embeddings = _load_embeddings(npy, n, dim, hint)
        own = _load_embeddings(own_npy[0], n, dim, hint) if own_npy else None
        items = _load_items(extras[0], n, hint) if extras else {}
        forests = [_load_forest(ann, dim, start, stop, n_trees, embeddings, hint) for ann, (start, stop)
                   in zip(anns, shards)]
        return cls(forests, shards, embeddings, paths, labels, modality, stored_fp, n_trees, seed, info, items,
                   own, neighbours)


def _load_embeddings(npy: Path, n: int, dim: int, hint: str) -> np.ndarray:
    """Memory-map an (n, dim) float32 array of embeddings, refusing any other shape or type."""
    try:
        embeddings = np.load(npy, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise IndexMismatchError(f"{npy} is unreadable ({err}); {hint}") from err
    if embeddings.dtype != np.float32 or embeddings.ndim != 2:
        raise IndexMismatchError(f"{npy} holds {embeddings.dtype} {embeddings.shape}, not float32 (n, dim); {hint}")
    if embeddings.shape[1] != dim:
        raise IndexMismatchError(f"{npy} holds {embeddings.shape[1]}-dimensional embeddings: the sidecar's "
                                 f"dimension {dim} does not match it; {hint}")
    if embeddings.shape[0] != n:
        raise IndexMismatchError(f"{npy} holds {embeddings.shape[0]} embeddings, the sidecar says {n} items; "
                                 f"{hint}")
    return embeddings


def _load_items(path: Path, n: int, hint: str) -> dict[str, np.ndarray]:
    """The per-item arrays of ``items.npz``, each with one row per item (no pickles: numbers only)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            items = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as err:
        raise IndexMismatchError(f"{path} is unreadable ({err}); {hint}") from err
    for name, values in items.items():
        if values.ndim == 0 or len(values) != n:
            raise IndexMismatchError(f"{path} holds {name!r} of shape {values.shape}, not one row per item ({n}); "
                                     f"{hint}")
    return items


def _load_forest(ann: Path, dim: int, start: int, stop: int, n_trees: int, embeddings: np.ndarray,
                 hint: str) -> AnnoyIndex:
    """Memory-map one shard's forest, after checking it against the sidecar and the embeddings it covers."""
    forest = AnnoyIndex(dim, METRIC)
    try:
        forest.load(str(ann), prefault=False)
    except OSError as err:
        raise IndexMismatchError(f"Annoy cannot load {ann} ({err}); {hint}") from err
    n = stop - start
    # with n <= dim + 2 every tree is a single leaf, and Annoy's loader miscounts the roots
    if forest.get_n_items() != n or (n > dim + 2 and forest.get_n_trees() != n_trees):
        raise IndexMismatchError(f"{ann} holds {forest.get_n_items()} items in {forest.get_n_trees()} trees, the "
                                 f"sidecar says {n} items in {n_trees} trees; {hint}")
    for i in sorted({0, n // 2, n - 1}):  # the forest and the embeddings must come from the same build
        if not np.allclose(forest.get_item_vector(i), embeddings[start + i], atol=1e-6):
            raise IndexMismatchError(f"item {start + i} differs between {ann} and {EMBEDDINGS_FILE}: files of "
                                     f"different builds; {hint}")
    return forest


def check_index_dir(directory: str | Path) -> Path:
    """Make sure an index can be written at ``directory``, before any time is spent embedding for it.

    The folder may be missing (its parents are created), empty, or hold an index (which a new one
    replaces); its parent must be writable, since the index is written beside it and swapped in.

    Returns:
        ``directory`` as an absolute path.

    Raises:
        ValueError: ``directory`` or one of its parents is a file, ``directory`` holds other files
            (it is never replaced), or the parent cannot be written; the message names the folder.
    """
    directory = Path(directory).absolute()
    existing = next(p for p in (directory, *directory.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ValueError(f"cannot write the index {directory}: {existing} is a file, not a folder; "
                         f"choose another index folder")
    try:
        if existing == directory and not (directory / SIDECAR_FILE).is_file() and any(directory.iterdir()):
            raise ValueError(f"refusing to replace {directory}: it exists and is not an index directory "
                             f"(no {SIDECAR_FILE}); choose a new or empty index folder")
        directory.parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.probe-"))
    except OSError as err:
        raise ValueError(f"cannot write the index {directory}: cannot create a folder in {directory.parent} "
                         f"({err.strerror or err}); choose a writable index folder") from None
    return directory


def _temp_prefix(directory: Path, kind: str) -> str:
    """Name prefix of a temporary folder beside ``directory``; the pid says whether its writer still runs."""
    return f".{directory.name}.{kind}-{os.getpid()}-"


STALE_UNOWNED_SECONDS = 3600  # temporary folders without a pid (older versions) count as left over after this


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the temporary folders that killed or crashed writes of the index at ``directory`` left beside it.

    A folder is left over when the process that made it (named in the folder) no longer runs;
    folders of writes in progress, in this process or another, are kept.

    Returns:
        The folders removed.
    """
    directory = Path(directory).absolute()
    pattern = re.compile(rf"\.{re.escape(directory.name)}\.(?:tmp|old|probe)-(?:(\d+)-)?")
    try:
        entries = [entry for entry in directory.parent.iterdir() if pattern.match(entry.name) and entry.is_dir()]
    except OSError:  # no parent yet, or unreadable: nothing of ours is there
        return []
    removed = []
    for entry in entries:
        pid = pattern.match(entry.name).group(1)
        try:
            stale = not process_alive(int(pid)) if pid else \
                time.time() - entry.stat().st_mtime > STALE_UNOWNED_SECONDS
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w") as handle:
        json.dump(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened on some systems
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _replace_directory(new: Path, target: Path) -> None:
    """Put ``new`` at ``target``; the old ``target`` (if any) ends up at ``new``, for the caller to delete."""
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        return
    aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=_temp_prefix(target, "old")))
    os.rmdir(aside)
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    os.rename(aside, new)
