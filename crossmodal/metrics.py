"""Retrieval metrics: average precision, precision at k, class-wise precision of the top results."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .ranking import CLASS_AGREEMENT_WEIGHT, ranking_scores


def average_precision(relevant: np.ndarray) -> float:
    """AP of one ranking over the whole list: mean of precision@i at each relevant rank i.

    Args:
        relevant: booleans in ranked order (True = same class as the query).

    Returns:
        0.0 when nothing is relevant.
    """
    relevant = np.asarray(relevant, dtype=bool)
    hits = np.flatnonzero(relevant)
    if hits.size == 0:
        return 0.0
    return float(np.mean(np.arange(1, hits.size + 1) / (hits + 1)))


def precision_at_k(relevant: np.ndarray, k: int) -> float:
    """Fraction of relevant items among the first k (k larger than the list counts the missing as wrong)."""
    if k <= 0:
        raise ValueError(f"k must be positive, not {k}")
    return float(np.asarray(relevant[:k], dtype=bool).sum() / k)


def exact_ranking(queries: np.ndarray, gallery: np.ndarray, classifier: np.ndarray | None = None,
                  weight: float = CLASS_AGREEMENT_WEIGHT) -> np.ndarray:
    """Gallery indices of each query, by decreasing cosine similarity (inputs L2-normalised).

    With the model's ``classifier`` the score adds the class agreement at ``weight``, as the app
    ranks (:func:`crossmodal.ranking.ranking_scores`). Ties keep gallery order (stable sort), so the
    ranking is deterministic.
    """
    scores = ranking_scores(queries, gallery, classifier, weight)
    return np.argsort(-scores, axis=1, kind="stable")


def retrieval_metrics(query_emb: np.ndarray, query_labels: Sequence[str], gallery_emb: np.ndarray,
                      gallery_labels: Sequence[str], k: int = 10, class_k: int = 50,
                      exclude: Sequence[int] | None = None, classifier: np.ndarray | None = None,
                      weight: float = CLASS_AGREEMENT_WEIGHT) -> dict:
    """The paper's evaluation of one direction, with exact search.

    Args:
        query_emb: (n, d) L2-normalised query embeddings.
        query_labels: the n query classes.
        gallery_emb: (m, d) L2-normalised gallery embeddings, or (n, m, d): a gallery for each query.
        gallery_labels: the m gallery classes.
        k: cut-off of the precision reported as ``P@k``.
        class_k: cut-off of the class-wise precision.
        exclude: per query, a gallery index left out of its ranking (-1 for none): a query that is a
            transformed copy of a gallery image must not find its own original.
        classifier: rank by cosine plus class agreement (:func:`exact_ranking`); None: the cosine,
            the paper's protocol.
        weight: the class agreement's weight next to the cosine (with ``classifier``); the default
            is the app's.

    Returns:
        ``{"mAP", "P@10", "per_class_AP", "per_class_P@50"}``: means over queries; the per-class
        entries average the queries of each class (P@50 is the class-wise precision of the top 50).
    """
    if len(query_labels) == 0 or len(gallery_labels) == 0:
        raise ValueError("retrieval needs at least one query and one gallery item")
    if exclude is not None and len(exclude) != len(query_labels):
        raise ValueError(f"exclude has {len(exclude)} entries for {len(query_labels)} queries")
    ranking = exact_ranking(query_emb, gallery_emb, classifier, weight)
    gallery_labels = np.asarray(gallery_labels)
    aps, pks, pcs = [], [], []
    for i, (row, label) in enumerate(zip(ranking, query_labels)):
        if exclude is not None and exclude[i] >= 0:
            row = row[row != exclude[i]]
        relevant = gallery_labels[row] == label
        aps.append(average_precision(relevant))
        pks.append(precision_at_k(relevant, k))
        pcs.append(precision_at_k(relevant, min(class_k, len(relevant))))
    labels = np.asarray(query_labels)
    per_class = sorted(set(labels.tolist()))
    return {
        "mAP": float(np.mean(aps)),
        f"P@{k}": float(np.mean(pks)),
        "per_class_AP": {c: float(np.mean(np.asarray(aps)[labels == c])) for c in per_class},
        f"per_class_P@{class_k}": {c: float(np.mean(np.asarray(pcs)[labels == c])) for c in per_class},
    }
