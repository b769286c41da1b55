"""The retrieval index: exact order, Annoy against exact search, persistence, refusal of bad files, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossmodal import index as index_module
from crossmodal.cli import main
from crossmodal.gallery import build_index
from crossmodal.ranking import nearest_others, neighbour_average
from crossmodal.index import (
    EMBEDDINGS_FILE,
    INDEX_FILE,
    OWN_EMBEDDINGS_FILE,
    SIDECAR_FILE,
    SHARD_FILE,
    EmbeddingIndex,
    IndexMismatchError,
    IndexNotFoundError,
    SearchHit,
    approximate_nearest_others,
    shard_bounds,
)

FP = "a" * 64


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_index(x: np.ndarray, n_trees: int = 10, seed: int = 0, modality: str = "photo",
               n_shards: int | None = None) -> EmbeddingIndex:
    n = len(x)
    return EmbeddingIndex.from_embeddings(x, [f"/gallery/{i}.jpg" for i in range(n)],
                                          [f"c{i % 3}" for i in range(n)], modality, FP, n_trees=n_trees, seed=seed,
                                          n_shards=n_shards)


def fan(degrees: list[float]) -> np.ndarray:
    """2-d unit vectors at the given angles from the x axis."""
    r = np.radians(degrees)
    return np.stack([np.cos(r), np.sin(r)], 1).astype(np.float32)


ANGLES = [90.0, 10.0, 180.0, 0.0, 60.0, 30.0]  # exact order from the x axis: 3, 1, 5, 4, 0, 2


@pytest.mark.parametrize("exact", [True, False])
def test_exact_neighbour_order_on_hand_made_vectors(exact):
    idx = make_index(fan(ANGLES), n_trees=20)
    hits = idx.search([1.0, 0.0], k=6, exact=exact, search_k=-1)
    assert [h.id for h in hits] == [3, 1, 5, 4, 0, 2]
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5, 6]
    expected = np.cos(np.radians([0, 10, 30, 60, 90, 180]))
    assert [h.score for h in hits] == pytest.approx(expected, abs=1e-5)
    assert all(isinstance(h, SearchHit) for h in hits)
    assert hits[0].path == "/gallery/3.jpg" and hits[0].label == "c0"


def test_query_is_normalised_and_scores_are_cosines():
    idx = make_index(fan(ANGLES) * 7.0)  # stored vectors are normalised too
    ids, scores = idx.query([5.0, 0.0], k=2, exact=True)
    assert ids.tolist() == [3, 1]
    assert scores.dtype == np.float32
    assert scores.tolist() == pytest.approx([1.0, np.cos(np.radians(10))], abs=1e-6)


def test_exact_ties_break_by_id():
    x = np.array([[0, 1], [1, 0], [1, 0], [1, 0], [-1, 0]], np.float32)
    idx = make_index(x)
    assert idx.query([1, 0], k=2, exact=True)[0].tolist() == [1, 2]
    assert idx.query([1, 0], k=4, exact=True)[0].tolist() == [1, 2, 3, 0]


def test_annoy_with_enough_trees_matches_exact_search():
    x = unit_rows(300, 8)
    idx = make_index(x, n_trees=100)
    queries = unit_rows(20, 8, seed=1)
    for q in queries:
        approx, approx_scores = idx.query(q, k=10, search_k=-1)
        exact, exact_scores = idx.query(q, k=10, exact=True)
        assert approx.tolist() == exact.tolist()
        assert approx_scores == pytest.approx(exact_scores, abs=1e-5)
        # the exact result is the naive loop's
        naive = sorted(range(len(x)), key=lambda i: (-float(x[i] @ (q / np.linalg.norm(q))), i))[:10]
        assert exact.tolist() == naive


def test_shards_split_ids_into_equal_contiguous_ranges():
    assert shard_bounds(10, 1) == [(0, 10)]
    assert shard_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert shard_bounds(2, 2) == [(0, 1), (1, 2)]
    for bad in (0, 11):
        with pytest.raises(ValueError, match="n_shards"):
            shard_bounds(10, bad)


def test_large_galleries_are_sharded_by_default(monkeypatch):
    monkeypatch.setattr(index_module, "SHARD_FROM_ITEMS", 40)
    assert make_index(unit_rows(39, 8)).shards == [(0, 39)]
    assert make_index(unit_rows(40, 8)).shards == [(0, 20), (20, 40)]
    assert make_index(unit_rows(40, 8), n_shards=1).shards == [(0, 40)]


@pytest.mark.parametrize("n_shards", [2, 3])
def test_sharded_annoy_matches_exact_search_with_global_ids(n_shards):
    x = unit_rows(300, 8)
    idx = make_index(x, n_trees=100, n_shards=n_shards)
    assert len(idx.shards) == n_shards
    for q in unit_rows(20, 8, seed=1):
        approx, approx_scores = idx.query(q, k=10, search_k=-1)
        exact, exact_scores = idx.query(q, k=10, exact=True)
        assert approx.tolist() == exact.tolist()  # ids of the whole gallery, not of a shard
        assert approx_scores == pytest.approx(exact_scores, abs=1e-5)
        reranked, _ = idx.query(q, k=10, search_k=-1, rerank=3)
        assert reranked.tolist() == exact.tolist()
    # the item nearest to itself is found in whichever shard holds it
    assert [idx.search(x[i], k=1)[0].id for i in (0, 149, 150, 299)] == [0, 149, 150, 299]


def test_rerank_scores_are_exact_and_sorted():
    x = unit_rows(200, 16)
    idx = make_index(x, n_trees=5)
    q = unit_rows(1, 16, seed=2)[0]
    ids, scores = idx.query(q, k=10, search_k=50, rerank=3)
    assert scores.tolist() == pytest.approx((x[ids] @ q).tolist(), abs=1e-6)
    assert list(scores) == sorted(scores, reverse=True)


def test_k_larger_than_gallery_clamps_and_bad_arguments_raise():
    idx = make_index(unit_rows(5, 4))
    assert len(idx.search(unit_rows(1, 4)[0], k=50)) == 5
    assert len(idx.search(unit_rows(1, 4)[0], k=50, exact=True)) == 5
    assert len(idx) == 5
    with pytest.raises(ValueError, match="k must be"):
        idx.search(unit_rows(1, 4)[0], k=0)
    with pytest.raises(ValueError, match="4 values"):
        idx.search(np.ones(5), k=1)
    with pytest.raises(ValueError, match="zero"):
        idx.search(np.zeros(4), k=1)
    with pytest.raises(ValueError, match="rerank"):
        idx.search(np.ones(4), rerank=0)


def test_from_embeddings_validates():
    x = unit_rows(4, 3)
    with pytest.raises(ValueError, match="must match"):
        EmbeddingIndex.from_embeddings(x, ["a"], ["b"] * 4, "photo", FP)
    with pytest.raises(ValueError, match="modality"):
        EmbeddingIndex.from_embeddings(x, ["a"] * 4, ["b"] * 4, "video", FP)
    with pytest.raises(ValueError, match="zero vector"):
        EmbeddingIndex.from_embeddings(np.zeros((2, 3)), ["a"] * 2, ["b"] * 2, "photo", FP)
    with pytest.raises(ValueError, match="non-empty"):
        EmbeddingIndex.from_embeddings(np.zeros((0, 3)), [], [], "photo", FP)
    with pytest.raises(ValueError, match="n_trees"):
        EmbeddingIndex.from_embeddings(x, ["a"] * 4, ["b"] * 4, "photo", FP, n_trees=0)


def test_same_seed_same_index(tmp_path):
    x = unit_rows(400, 16)
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        make_index(x, n_trees=8, seed=seed).save(tmp_path / name)
    a, b, c = ((tmp_path / name / INDEX_FILE).read_bytes() for name in "abc")
    assert a == b
    assert a != c
    assert (tmp_path / "a" / SIDECAR_FILE).read_bytes() == (tmp_path / "b" / SIDECAR_FILE).read_bytes()


def test_save_load_round_trip(tmp_path):
    x = unit_rows(120, 16)
    built = make_index(x, n_trees=12, seed=3, modality="sketch")
    built.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == sorted([INDEX_FILE, EMBEDDINGS_FILE, SIDECAR_FILE])
    loaded = EmbeddingIndex.load(tmp_path / "idx", fingerprint=FP)
    assert isinstance(loaded.embeddings, np.memmap)
    assert loaded.embeddings.dtype == np.float32 and loaded.embeddings.shape == (120, 16)
    np.testing.assert_array_equal(loaded.embeddings, built.embeddings)
    assert (loaded.paths, loaded.labels, loaded.modality, loaded.fingerprint) == \
        (built.paths, built.labels, "sketch", FP)
    assert (loaded.dim, loaded.n_trees, loaded.seed, len(loaded)) == (16, 12, 3, 120)
    for q in unit_rows(5, 16, seed=4):
        assert loaded.search(q, k=7) == built.search(q, k=7)
        assert loaded.search(q, k=7, exact=True) == built.search(q, k=7, exact=True)
    sidecar = json.loads((tmp_path / "idx" / SIDECAR_FILE).read_text())
    assert {"dim": 16, "metric": "angular", "n_trees": 12, "seed": 3, "modality": "sketch", "fingerprint": FP}.items() \
        <= sidecar.items()
    # a loaded index can be saved again, over itself, and still serves
    loaded.save(tmp_path / "idx")
    assert EmbeddingIndex.load(tmp_path / "idx").search(x[0], k=1)[0].id == 0
    assert loaded.search(x[0], k=1)[0].id == 0


def test_sharded_save_load_round_trip(tmp_path):
    x = unit_rows(90, 8)
    built = make_index(x, n_trees=6, n_shards=3)
    built.save(tmp_path / "idx")
    forests = [SHARD_FILE.format(i) for i in range(3)]
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == sorted(forests + [EMBEDDINGS_FILE, SIDECAR_FILE])
    sidecar = json.loads((tmp_path / "idx" / SIDECAR_FILE).read_text())
    assert sidecar["shards"] == [[0, 30], [30, 60], [60, 90]]
    loaded = EmbeddingIndex.load(tmp_path / "idx", fingerprint=FP)
    assert loaded.shards == built.shards
    for q in unit_rows(5, 8, seed=4):
        assert loaded.search(q, k=7) == built.search(q, k=7)


def test_an_averaged_index_searches_the_means_and_keeps_each_items_own_embedding(tmp_path):
    x = unit_rows(40, 8)
    averaged = np.arange(40) < 30  # the last 10 stand for scene chips: searched as they are
    built = EmbeddingIndex.from_embeddings(x, [f"/g/{i}.jpg" for i in range(40)], ["c"] * 40, "photo", FP, n_trees=4,
                                           neighbours=2, averaged=averaged)
    assert built.neighbours == 2 and built.own_embeddings == pytest.approx(x)
    assert built.embeddings == pytest.approx(neighbour_average(x, 2, averaged))
    assert built.embeddings[30:] == pytest.approx(x[30:]) and not np.allclose(built.embeddings[:30], x[:30])
    assert "averaged with 2 neighbours" in repr(built)
    built.save(tmp_path / "idx")
    assert (tmp_path / "idx" / OWN_EMBEDDINGS_FILE).is_file()
    loaded = EmbeddingIndex.load(tmp_path / "idx", fingerprint=FP)
    assert loaded.neighbours == 2
    np.testing.assert_array_equal(loaded.own_embeddings, built.own_embeddings)
    np.testing.assert_array_equal(loaded.embeddings, built.embeddings)
    assert loaded.search(x[3], k=5, exact=True) == built.search(x[3], k=5, exact=True)
    (tmp_path / "idx" / OWN_EMBEDDINGS_FILE).unlink()
    with pytest.raises(IndexMismatchError, match=r"own_embeddings\.npy is missing.*rebuild"):
        EmbeddingIndex.load(tmp_path / "idx")
    with pytest.raises(ValueError, match="neighbours must be"):
        EmbeddingIndex.from_embeddings(x, ["a"] * 40, ["c"] * 40, "photo", FP, neighbours=-1)


def test_a_gallery_too_large_to_compare_every_pair_finds_its_neighbours_with_annoy(monkeypatch):
    x = unit_rows(60, 8, seed=3)
    among = np.arange(60) % 6 != 0  # every sixth item stands for a scene chip
    found = approximate_nearest_others(x, 3, among, search_k=1000)  # as many candidates as items: exact
    assert (found[~among] == -1).all() and (found[among] == nearest_others(x, 3, among)[among]).all()
    few = approximate_nearest_others(x, 3, among, n_trees=2, search_k=8)  # few candidates: never itself
    assert (few[among] != np.flatnonzero(among)[:, None]).all()
    partial = found.copy()
    partial[1, 1:] = -1  # a row with one neighbour found is averaged with that one alone
    assert neighbour_average(x, 3, among, nearest=partial)[1] == pytest.approx(
        (x[1] + x[found[1, 0]]) / np.linalg.norm(x[1] + x[found[1, 0]]), abs=1e-6)
    monkeypatch.setattr(index_module, "EXACT_NEIGHBOURS_UP_TO", 20)  # 50 items to average: above it
    calls = []
    monkeypatch.setattr(index_module, "approximate_nearest_others",
                        lambda *a, **kw: calls.append(a) or approximate_nearest_others(*a, **kw))
    built = EmbeddingIndex.from_embeddings(x, [f"/g/{i}.jpg" for i in range(60)], ["c"] * 60, "photo", FP,
                                           n_trees=4, neighbours=3, averaged=among)
    assert len(calls) == 1 and built.embeddings == pytest.approx(neighbour_average(x, 3, among), abs=1e-6)


def test_an_index_searched_as_it_is_has_no_own_embeddings_file(saved):
    assert not (saved / OWN_EMBEDDINGS_FILE).exists()
    loaded = EmbeddingIndex.load(saved)
    assert loaded.neighbours == 0 and loaded.own_embeddings is loaded.embeddings


def test_a_bad_shard_is_refused(tmp_path):
    make_index(unit_rows(90, 8), n_trees=6, n_shards=3).save(tmp_path / "idx")
    middle = tmp_path / "idx" / SHARD_FILE.format(1)
    data = bytearray(middle.read_bytes())
    data[200] ^= 0xFF
    middle.write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError, match=r"index-1\.ann does not match the checksum.*rebuild"):
        EmbeddingIndex.load(tmp_path / "idx")
    middle.unlink()
    with pytest.raises(IndexMismatchError, match=r"index-1\.ann is missing"):
        EmbeddingIndex.load(tmp_path / "idx")


def test_shards_that_do_not_split_the_items_are_refused(tmp_path):
    make_index(unit_rows(90, 8), n_trees=6, n_shards=3).save(tmp_path / "idx")
    edit_sidecar(tmp_path / "idx", shards=[[0, 30], [40, 60], [60, 90]])
    with pytest.raises(IndexMismatchError, match="contiguous"):
        EmbeddingIndex.load(tmp_path / "idx")


def test_an_index_of_the_second_format_still_loads(saved):
    meta = json.loads((saved / SIDECAR_FILE).read_text())
    del meta["neighbours"]
    meta["format"] = "crossmodal-index-v2"  # as written before neighbour averaging: searched as they are
    (saved / SIDECAR_FILE).write_text(json.dumps(meta))
    loaded = EmbeddingIndex.load(saved)
    assert loaded.neighbours == 0 and loaded.search(loaded.embeddings[7], k=1)[0].id == 7


def test_an_index_of_the_first_format_still_loads(saved):
    meta = json.loads((saved / SIDECAR_FILE).read_text())
    del meta["shards"]
    meta["format"] = "crossmodal-index-v1"  # as written before shards existed: one forest in index.ann
    (saved / SIDECAR_FILE).write_text(json.dumps(meta))
    loaded = EmbeddingIndex.load(saved)
    assert loaded.shards == [(0, 50)]
    assert loaded.search(loaded.embeddings[7], k=1)[0].id == 7


@pytest.fixture
def saved(tmp_path) -> Path:
    make_index(unit_rows(50, 8), n_trees=4).save(tmp_path / "idx")
    return tmp_path / "idx"


def edit_sidecar(directory: Path, **changes) -> None:
    path = directory / SIDECAR_FILE
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_fingerprint_mismatch_says_how_to_rebuild(saved):
    with pytest.raises(IndexMismatchError, match=r"checkpoint aaaaaaaaaaaa.*python -m crossmodal index"):
        EmbeddingIndex.load(saved, fingerprint="b" * 64)


def test_dimension_mismatch_raises(saved):
    edit_sidecar(saved, dim=9)
    with pytest.raises(IndexMismatchError, match=r"dimension 9.*rebuild"):
        EmbeddingIndex.load(saved)


def test_item_count_mismatch_raises(saved):
    meta = json.loads((saved / SIDECAR_FILE).read_text())
    edit_sidecar(saved, n_items=49, paths=meta["paths"][:49], labels=meta["labels"][:49])
    with pytest.raises(IndexMismatchError, match="rebuild"):
        EmbeddingIndex.load(saved)
    edit_sidecar(saved, n_items=50, paths=meta["paths"][:49])
    with pytest.raises(IndexMismatchError, match="49 paths"):
        EmbeddingIndex.load(saved)


def test_truncated_index_file_is_refused(saved):
    ann = saved / INDEX_FILE
    data = ann.read_bytes()
    ann.write_bytes(data[:len(data) // 2])
    with pytest.raises(IndexMismatchError, match="truncated"):
        EmbeddingIndex.load(saved)


def test_corrupt_files_are_refused(saved):
    ann = saved / INDEX_FILE
    data = bytearray(ann.read_bytes())
    data[100] ^= 0xFF
    ann.write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError, match="checksum"):
        EmbeddingIndex.load(saved)


def test_corrupt_embeddings_are_caught_without_checksums(saved):
    npy = saved / EMBEDDINGS_FILE
    emb = np.load(npy)
    emb[0] = -emb[0]
    np.save(npy, emb)  # same size, different content: caught by the item check even unverified
    with pytest.raises(IndexMismatchError, match="different builds"):
        EmbeddingIndex.load(saved, verify=False)


def test_missing_or_garbled_index_is_refused(tmp_path, saved):
    with pytest.raises(IndexNotFoundError, match="python -m crossmodal index"):
        EmbeddingIndex.load(tmp_path / "nowhere")
    (saved / SIDECAR_FILE).write_text("{not json")
    with pytest.raises(IndexMismatchError, match="corrupt"):
        EmbeddingIndex.load(saved)


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_save_leaves_the_old_index(tmp_path, monkeypatch, error):
    old = make_index(unit_rows(30, 8, seed=0), n_trees=3)
    old.save(tmp_path / "idx")
    new = make_index(unit_rows(40, 8, seed=1), n_trees=3)

    def crash(*args, **kwargs):
        raise error("interrupted mid-build")

    monkeypatch.setattr(index_module, "_write_json", crash)  # after index.ann and embeddings.npy are written
    with pytest.raises(error):
        new.save(tmp_path / "idx")
    monkeypatch.undo()
    reloaded = EmbeddingIndex.load(tmp_path / "idx")
    assert len(reloaded) == 30
    np.testing.assert_array_equal(reloaded.embeddings, old.embeddings)
    assert leftovers(tmp_path) == []  # the temporary directory is gone


def test_save_replaces_an_index_but_never_another_folder(tmp_path):
    make_index(unit_rows(30, 8)).save(tmp_path / "idx")
    make_index(unit_rows(40, 8)).save(tmp_path / "idx")
    assert len(EmbeddingIndex.load(tmp_path / "idx")) == 40
    assert leftovers(tmp_path) == []
    precious = tmp_path / "photos"
    precious.mkdir()
    (precious / "keep.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="not an index directory"):
        make_index(unit_rows(3, 8)).save(precious)
    assert (precious / "keep.jpg").read_bytes() == b"x"
    make_index(unit_rows(3, 8)).save(tmp_path / "empty")  # a new folder is fine


def test_swap_without_renameat2_also_replaces(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "_exchange", lambda a, b: False)
    make_index(unit_rows(30, 8)).save(tmp_path / "idx")
    make_index(unit_rows(40, 8)).save(tmp_path / "idx")
    assert len(EmbeddingIndex.load(tmp_path / "idx")) == 40
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------- folder and CLI


def test_build_index_interrupted_mid_embedding_keeps_old_index(tiny_data, tiny_checkpoint, tmp_path, monkeypatch):
    from crossmodal.checkpoint import load_checkpoint

    photos, _ = tiny_data
    model = load_checkpoint(tiny_checkpoint)
    index, report = build_index(model, tmp_path / "idx", images=photos, n_trees=5, batch_size=4, progress=False)
    assert len(report.skipped) == 0 and len(index) == 21
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in index.paths)
    assert index.fingerprint == model.info["fingerprint"]
    calls = []

    def failing_embed(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_embed(*args, **kwargs)

    real_embed = model.embed
    monkeypatch.setattr(model, "embed", failing_embed)
    for n in range(12):  # three batches of new photos: the third is interrupted
        (photos / "runway" / f"new{n}.png").write_bytes((photos / "runway" / "runway00.png").read_bytes())
    with pytest.raises(KeyboardInterrupt):
        build_index(model, tmp_path / "idx", images=photos, n_trees=5, batch_size=4, progress=False)
    assert len(EmbeddingIndex.load(tmp_path / "idx", fingerprint=model.info["fingerprint"])) == 21


@pytest.mark.parametrize("place", ["a regular file", "inside a regular file", "unwritable"])
def test_unusable_index_folder_is_refused_before_any_embedding(tiny_data, tiny_checkpoint, tmp_path, capsys, place):
    from crossmodal.checkpoint import load_checkpoint

    model = load_checkpoint(tiny_checkpoint)
    model.embed = lambda *args, **kwargs: pytest.fail("embedded images for an index that cannot be written")
    (tmp_path / "file").write_text("x")
    out = {"a regular file": tmp_path / "file", "inside a regular file": tmp_path / "file" / "idx",
           "unwritable": Path("/proc/crossmodal-index")}[place]  # /proc refuses new folders, even to root
    with pytest.raises(ValueError, match=f"cannot write the index {out}"):
        build_index(model, out, images=tiny_data[0], progress=False)
    code = main(["index", "--checkpoint", str(tiny_checkpoint), "--images", str(tiny_data[0]),
                 "--modality", "photo", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot write the index") and err.count("\n") == 1


def test_next_build_removes_the_temporary_folder_of_a_killed_one(tiny_data, tiny_checkpoint, tmp_path, capsys):
    import os
    import subprocess
    import sys

    from crossmodal.checkpoint import load_checkpoint

    out = tmp_path / "idx"
    killed_mid_save = (  # the forest and embeddings are written, then the process dies before the swap
        "import os, signal, numpy as np; from crossmodal import index as m;"
        "m._write_json = lambda *a: os.kill(os.getpid(), signal.SIGKILL);"
        "x = np.eye(4, dtype=np.float32);"
        f"m.EmbeddingIndex.from_embeddings(x, list('abcd'), list('abab'), 'photo', 'f' * 64, 2).save({str(out)!r})")
    process = subprocess.run([sys.executable, "-c", killed_mid_save], cwd=Path(__file__).resolve().parents[1])
    assert process.returncode == -9
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".idx.tmp-")]
    assert len(left) == 1 and (left[0] / EMBEDDINGS_FILE).is_file()
    in_progress = tmp_path / f".idx.tmp-{os.getpid()}-writing"  # a write of a process that still runs
    in_progress.mkdir()

    build_index(load_checkpoint(tiny_checkpoint), out, images=tiny_data[0], n_trees=2, progress=False)
    assert not left[0].exists() and in_progress.is_dir()
    assert f"removed {left[0]}, left over by an interrupted index build" in capsys.readouterr().err
    assert len(EmbeddingIndex.load(out)) == 21


def test_build_progress_is_plain_lines_when_stderr_is_not_a_terminal(tiny_data, tiny_checkpoint, tmp_path, capsys):
    from crossmodal.checkpoint import load_checkpoint

    build_index(load_checkpoint(tiny_checkpoint), tmp_path / "idx", images=tiny_data[0], n_trees=2)
    err = capsys.readouterr().err
    assert "\r" not in err and "embedding photos: 21/21 (100%)" in err.splitlines()[-1]


def test_index_and_search_cli_end_to_end(tiny_data, tiny_checkpoint, tmp_path, capsys):
    photos, sketches = tiny_data
    (photos / "airplane" / "airplane99.png").write_bytes(b"not an image")
    out = tmp_path / "photo-index"
    assert main(["index", "--checkpoint", str(tiny_checkpoint), "--images", str(photos), "--modality", "photo",
                 "--out", str(out), "--n-trees", "8", "--batch-size", "5"]) == 0
    printed = capsys.readouterr().out
    assert "skipped 1 unreadable image (airplane/airplane99.png)" in printed
    assert "21 photo items from 21 files (21 embedded" in printed and "21 labelled by class folders" in printed
    assert "images are searched as they are: 21 photos: fewer than the 100" in printed

    query = sketches / "runway" / "0.png"
    base = ["search", "--index", str(out), "--checkpoint", str(tiny_checkpoint), "--query", str(query),
            "--modality", "sketch", "-k", "5"]
    assert main(base + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"results", "latency_ms"} and report["latency_ms"] >= 0
    results = report["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert all(set(r) == {"rank", "id", "class", "predicted_class", "predicted_probability", "score", "similarity",
                          "url"} for r in results)
    assert all(r["id"] == f"{r['class']}/{Path(r['url']).name}" for r in results)  # e.g. runway/runway03.png
    assert all(r["url"] == (photos / r["id"]).resolve().as_uri() for r in results)
    assert all(r["class"] in ("airplane", "runway", "tenniscourt") for r in results)
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= r["similarity"] <= 1.0 for r in results)
    # the score adds half the chance that query and item are of one class to the cosine
    assert all(r["similarity"] <= r["score"] <= r["similarity"] + 0.5 + 1e-4 for r in results)

    assert main(base + ["--json", "--cosine"]) == 0
    cosine = json.loads(capsys.readouterr().out)["results"]
    assert all(r["score"] == r["similarity"] for r in cosine)
    assert [r["similarity"] for r in cosine] == sorted((r["similarity"] for r in cosine), reverse=True)

    assert main(base + ["--json", "--exact"]) == 0
    exact = json.loads(capsys.readouterr().out)["results"]
    assert [r["id"] for r in exact] == [r["id"] for r in results]  # 21 items, 8 trees: Annoy is exact here

    # the same files averaged with their 2 nearest, then as they are again: nothing is embedded
    # again, the forest is rebuilt from each photo's own embedding
    index_cmd = ["index", "--checkpoint", str(tiny_checkpoint), "--images", str(photos), "--modality", "photo",
                 "--out", str(out), "--n-trees", "8"]
    assert main(index_cmd + ["--neighbour-average", "2"]) == 0
    printed = capsys.readouterr().out
    assert "(0 embedded, 21 reused" in printed
    assert "21 images are searched as the mean of themselves and their 2 nearest others" in printed
    assert EmbeddingIndex.load(out).neighbours == 2
    assert main(index_cmd) == 0
    assert "(0 embedded, 21 reused" in capsys.readouterr().out and EmbeddingIndex.load(out).neighbours == 0
    # a photo query is seen at the resolution at which it agrees best with the photo gallery: a
    # gallery photo agrees best as it is, and finds itself first (by the cosine: the untrained
    # model's cosines are all within 0.001, which the class agreement would outweigh)
    assert main(["search", "--index", str(out), "--checkpoint", str(tiny_checkpoint), "--query",
                 str(photos / "runway" / "runway01.png"), "--modality", "photo", "-k", "3", "--json", "--cosine",
                 "--exact"]) == 0
    found = json.loads(capsys.readouterr().out)["results"]
    assert found[0]["id"] == "runway/runway01.png" and found[0]["similarity"] == pytest.approx(1.0, abs=1e-3)

    assert main(base) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["rank", "class", "score", "lon,", "lat", "item"]
    assert table[1].split()[0] == "1" and table[1].split()[3] == results[0]["id"]


def test_search_cli_refuses_an_index_of_another_checkpoint(tiny_data, tiny_checkpoint, tmp_path, capsys):
    import torch

    from crossmodal.checkpoint import load_checkpoint, save_checkpoint
    from crossmodal.config import TrainConfig

    photos, sketches = tiny_data
    out = tmp_path / "idx"
    assert main(["index", "--checkpoint", str(tiny_checkpoint), "--images", str(photos), "--modality", "photo",
                 "--out", str(out), "--n-trees", "2"]) == 0
    model = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        model.prototypes.add_(1.0)
    other = tmp_path / "other.pt"
    save_checkpoint(other, model, TrainConfig(), {"train_photos": [], "train_sketches": []})
    capsys.readouterr()
    code = main(["search", "--index", str(out), "--checkpoint", str(other), "--query",
                 str(sketches / "airplane" / "0.png"), "--modality", "sketch"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "python -m crossmodal index" in err and str(out) in err


def test_index_cli_writes_shards_that_search_like_exact(tiny_data, tiny_checkpoint, tmp_path, capsys):
    photos, sketches = tiny_data
    out = tmp_path / "sharded"
    assert main(["index", "--checkpoint", str(tiny_checkpoint), "--images", str(photos), "--modality", "photo",
                 "--out", str(out), "--n-trees", "8", "--shards", "2"]) == 0
    assert "8 trees in each of 2 shards" in capsys.readouterr().out
    assert (out / SHARD_FILE.format(1)).is_file()
    base = ["search", "--index", str(out), "--checkpoint", str(tiny_checkpoint), "--query",
            str(sketches / "runway" / "0.png"), "--modality", "sketch", "-k", "21", "--json"]
    found = []
    for extra in ([], ["--exact"]):
        assert main(base + extra) == 0
        found.append([r["id"] for r in json.loads(capsys.readouterr().out)["results"]])
    assert found[0] == found[1] and len(found[0]) == 21  # the whole gallery, from both shards, in exact order
    assert main(["index", "--checkpoint", str(tiny_checkpoint), "--images", str(photos), "--modality", "photo",
                 "--out", str(out), "--shards", "0"]) == 2
    assert "n_shards must be at least 1" in capsys.readouterr().err
    assert len(EmbeddingIndex.load(out)) == 21  # the refused build left the index as it was
