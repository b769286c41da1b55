"""How results are ordered: the embeddings' cosine plus the model's belief that query and item share a class.

The score of gallery item ``i`` for query ``q`` is::

    cos(q, i) + CLASS_AGREEMENT_WEIGHT * sum_c p(c | q) p(c | i)

where ``p(. | x)`` is the model's cosine classifier on the shared space (the class prototypes it
trained with) applied to ``x``'s embedding. The second term is the chance that the two class
beliefs, drawn independently, name the same class. It lifts items the model is sure are of the
query's class over items that merely look alike and are ambiguous — a scene chip straddling a
tennis court and a roof most of all — while the cosine still orders items within a class.

The weight was chosen on validation data only (the UC Merced photos 70-79, never trained on nor
tested, as a gallery and as a mosaic scene, searched with style-suite drawings of another seed than
the robustness suite's): mAP, P@10 and scene share rose up to 0.5 and changed by at most 0.013 beyond
(docs/scenes.md).

The items' side is what the index searches: in a photo gallery each photo is the mean of its own
embedding and its 3 nearest other photos' (:func:`neighbour_average`, database-side augmentation;
``crossmodal.config.DEFAULT_NEIGHBOURS``), so that a lone look-alike from another kind of scene
counts less, which matters most when the gallery also holds scenes of classes the model does not
know (docs/robustness.md). Only numpy here: the vectors are already computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CLASS_AGREEMENT_WEIGHT = 0.5  # weight of the class-agreement term next to the cosine (validation, see above)


def _unit_rows(embeddings: Any) -> np.ndarray:
    v = np.atleast_2d(np.asarray(embeddings, np.float32))
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def class_probabilities(embeddings: Any, classifier: np.ndarray) -> np.ndarray:
    """Class probabilities of embeddings (n, d) -> (n, k) under the cosine classifier ``classifier`` (k, d).

    ``classifier`` is :meth:`~crossmodal.model.CrossModalModel.classifier_weights`: the normalised
    prototypes times the classifier's scale, so the logits are ``normalise(v) @ classifier.T``.
    """
    logits = _unit_rows(embeddings) @ classifier.T
    logits -= logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def ranking_scores(query: Any, items: Any, classifier: np.ndarray | None,
                   weight: float = CLASS_AGREEMENT_WEIGHT) -> np.ndarray:
    """Scores of ``items`` (m, d) for one query vector (d,) or of each query (n, d): (m,) or (n, m).

    Both sides are L2-normalised embeddings. ``items`` may also be (n, m, d): a gallery for each
    query (as a gallery averaged without the query's own original). With no ``classifier`` (or
    weight 0) the score is the cosine alone.
    """
    q = np.asarray(query, np.float32)
    items = np.asarray(items, np.float32)
    if items.ndim == 3:
        scores = np.einsum("nd,nmd->nm", q, items)
    else:
        scores = q @ items.T
    if classifier is None or weight == 0 or items.shape[-2] == 0:
        return scores
    query_beliefs = class_probabilities(q, classifier)
    if items.ndim == 3:
        item_beliefs = class_probabilities(items.reshape(-1, items.shape[-1]), classifier)
        agreement = np.einsum("nk,nmk->nm", query_beliefs, item_beliefs.reshape(*items.shape[:2], -1))
    else:
        agreement = query_beliefs @ class_probabilities(items, classifier).T
    return scores + weight * (agreement[0] if q.ndim == 1 else agreement)


def nearest_others(embeddings: Any, k: int, among: Any = None, block: int = 4096) -> np.ndarray:
    """Each row's ``k`` nearest other rows by the cosine, nearest first: (n, d) -> (n, k) ids.

    ``among`` (a boolean mask of the n rows) restricts both sides: only those rows get
    neighbours, and only among themselves; the other rows' lists are -1. Exact, ``block`` rows at a
    time (memory ``block`` x n); the work grows with n squared.
    """
    v = _unit_rows(embeddings)
    members = np.arange(len(v)) if among is None else np.flatnonzero(np.asarray(among, bool))
    out = np.full((len(v), k), -1, np.int64)
    if k < 1 or len(members) < 2:
        return out
    if k >= len(members):
        raise ValueError(f"k = {k} nearest others need at least {k + 1} rows, not {len(members)}")
    w = v[members]
    for start in range(0, len(w), block):
        rows = np.arange(start, min(start + block, len(w)))
        similarity = w[rows] @ w.T
        similarity[np.arange(len(rows)), rows] = -np.inf  # not its own neighbour
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(similarity, nearest, 1), axis=1, kind="stable")
        out[members[rows]] = members[np.take_along_axis(nearest, order, 1)]
    return out


def neighbour_average(embeddings: Any, k: int, among: Any = None, block: int = 4096,
                      nearest: np.ndarray | None = None) -> np.ndarray:
    """Each embedding averaged with its ``k`` nearest others, L2-normalised: (n, d) -> (n, d).

    Database-side augmentation (Arandjelovic and Zisserman, CVPR 2012): an item is described by its
    neighbourhood too, so that scenes of one kind draw together and a lone look-alike of another
    kind matters less. It uses no labels. ``k`` = 0 returns the embeddings normalised; a gallery of
    k items or fewer averages over all the others. ``among`` (a boolean mask) averages those rows
    among themselves and leaves the others as they are (see :func:`nearest_others`, exact: it suits
    galleries of up to some ten thousand items). ``nearest``: each row's nearest others found
    elsewhere, (n, >= k) ids, -1 for rows left as they are (an approximate search of a larger
    gallery: :func:`crossmodal.index.approximate_nearest_others`).
    """
    if k < 0:
        raise ValueError(f"k must be at least 0, not {k}")
    v = _unit_rows(embeddings)
    members = len(v) if among is None else int(np.count_nonzero(among))
    k = min(k, members - 1)
    if k <= 0:
        return v
    neighbours = nearest_others(v, k, among, block) if nearest is None else np.asarray(nearest)[:, :k]
    found = neighbours >= 0  # an approximate search may find fewer than k
    out = v + (v[np.where(found, neighbours, 0)] * found[..., None]).sum(1)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def neighbour_average_without(embeddings: Any, k: int, left_out: int, nearest: np.ndarray | None = None
                              ) -> np.ndarray:
    """:func:`neighbour_average` of a gallery as if row ``left_out`` were not in it: (n, d) -> (n, d).

    The rows that counted ``left_out`` among their ``k`` nearest take their next nearest instead;
    row ``left_out`` itself is returned averaged as before (leave it out of the ranking too). Used to
    score a shifted copy of a gallery photo against the gallery with its original left out, where
    the original must not reach the ranking through its neighbours' averages either. ``nearest``:
    :func:`nearest_others` of the gallery with ``k + 1`` (found here when not given), to reuse over
    many left-out rows.
    """
    v = _unit_rows(embeddings)
    k = min(k, len(v) - 2)
    if k <= 0:
        return v
    neighbours = nearest_others(v, k + 1) if nearest is None else np.asarray(nearest)[:, :k + 1]
    out = v + v[neighbours[:, :k]].sum(1)
    for row in np.flatnonzero((neighbours[:, :k] == left_out).any(1)):
        if row != left_out:
            others = [n for n in neighbours[row] if n != left_out][:k]
            out[row] = v[row] + v[others].sum(0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def neighbour_averages_without(embeddings: Any, k: int, left_out: Sequence[int]) -> np.ndarray:
    """One gallery a query: :func:`neighbour_average_without` for each row of ``left_out`` -> (len(left_out), n, d).

    For shifted copies of gallery photos (query i a copy of row ``left_out[i]``); the gallery's
    nearest others are found once for all of them.
    """
    v = _unit_rows(embeddings)
    nearest = nearest_others(v, max(min(k, len(v) - 2), 0) + 1)
    return np.stack([neighbour_average_without(v, k, row, nearest) for row in left_out])
