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
(docs/scenes.md). Only numpy here: the vectors are already computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CLASS_AGREEMENT_WEIGHT = 0.5  # weight of the class-agreement term next to the cosine (validation, see above)


def class_probabilities(embeddings: Any, classifier: np.ndarray) -> np.ndarray:
    """Class probabilities of embeddings (n, d) -> (n, k) under the cosine classifier ``classifier`` (k, d).

    ``classifier`` is :meth:`~crossmodal.model.CrossModalModel.classifier_weights`: the normalised
    prototypes times the classifier's scale, so the logits are ``normalise(v) @ classifier.T``.
    """
    v = np.atleast_2d(np.asarray(embeddings, np.float32))
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    logits = v @ classifier.T
    logits -= logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def ranking_scores(query: Any, items: Any, classifier: np.ndarray | None,
                   weight: float = CLASS_AGREEMENT_WEIGHT) -> np.ndarray:
    """Scores of ``items`` (m, d) for one query vector (d,) or of each query (n, d): (m,) or (n, m).

    Both sides are L2-normalised embeddings. With no ``classifier`` (or weight 0) the score is
    the cosine alone.
    """
    q = np.asarray(query, np.float32)
    items = np.asarray(items, np.float32)
    scores = q @ items.T
    if classifier is None or weight == 0 or len(items) == 0:
        return scores
    agreement = class_probabilities(q, classifier) @ class_probabilities(items, classifier).T
    return scores + weight * (agreement[0] if q.ndim == 1 else agreement)


def neighbour_average(embeddings: Any, k: int, block: int = 4096) -> np.ndarray:
    """Each gallery embedding averaged with its ``k`` nearest others, L2-normalised: (n, d) -> (n, d).

    Database-side augmentation (Arandjelovic and Zisserman, CVPR 2012): an item is described by its
    neighbourhood too, so that scenes of one kind draw together and a lone look-alike of another
    kind matters less. It uses no labels. ``k`` = 0 returns the embeddings normalised. Exact
    neighbours by the cosine, ``block`` rows at a time (memory ``block`` x n); the work grows with n
    squared, so it suits galleries of up to some ten thousand items.
    """
    if k < 0:
        raise ValueError(f"k must be at least 0, not {k}")
    v = np.atleast_2d(np.asarray(embeddings, np.float32))
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    k = min(k, len(v) - 1)
    if k == 0:
        return v
    out = np.empty_like(v)
    for start in range(0, len(v), block):
        rows = np.arange(start, min(start + block, len(v)))
        similarity = v[rows] @ v.T
        similarity[np.arange(len(rows)), rows] = -np.inf  # not its own neighbour
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        out[rows] = v[rows] + v[nearest].sum(1)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
