import numpy as np
import pytest

from crossmodal.metrics import average_precision, exact_ranking, precision_at_k, retrieval_metrics


def test_average_precision_by_hand():
    assert average_precision(np.array([1, 0, 1, 0])) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert average_precision(np.array([0, 1])) == pytest.approx(0.5)
    assert average_precision(np.array([0, 0, 0])) == 0.0


def test_precision_at_k_by_hand():
    assert precision_at_k(np.array([1, 0, 1]), 2) == 0.5
    assert precision_at_k(np.array([1]), 2) == 0.5  # a short list counts the missing ranks as wrong
    with pytest.raises(ValueError, match="positive"):
        precision_at_k(np.array([1]), 0)


def test_exact_ranking_orders_by_cosine_and_keeps_ties_stable():
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    ranking = exact_ranking(np.array([[1.0, 0.0]]), gallery)
    assert ranking[0].tolist() == [0, 2, 3, 1]


def _naive(queries, q_labels, gallery, g_labels, k):
    aps, pks = [], []
    for q, label in zip(queries, q_labels):
        order = sorted(range(len(gallery)), key=lambda i: -float(q @ gallery[i]))
        hits, precisions = 0, []
        for rank, i in enumerate(order, 1):
            if g_labels[i] == label:
                hits += 1
                precisions.append(hits / rank)
        aps.append(sum(precisions) / max(1, len(precisions)))
        pks.append(sum(g_labels[i] == label for i in order[:k]) / k)
    return np.mean(aps), np.mean(pks)


def test_retrieval_metrics_match_a_plain_loop():
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(12, 8)), rng.normal(size=(40, 8))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    q_labels = [f"c{i % 3}" for i in range(12)]
    g_labels = [f"c{i % 4}" for i in range(40)]
    result = retrieval_metrics(q, q_labels, g, g_labels, k=10)
    m_ap, p10 = _naive(q, q_labels, g, g_labels, 10)
    assert result["mAP"] == pytest.approx(m_ap)
    assert result["P@10"] == pytest.approx(p10)
    assert set(result["per_class_AP"]) == {"c0", "c1", "c2"}
    assert result["mAP"] == pytest.approx(np.mean([result["per_class_AP"][c] for c in ("c0", "c1", "c2")]))


def test_perfect_retrieval_scores_one():
    emb = np.eye(3)
    result = retrieval_metrics(emb, ["a", "b", "c"], emb, ["a", "b", "c"], k=1, class_k=1)
    assert result["mAP"] == 1.0 and result["P@1"] == 1.0 and result["per_class_P@1"] == {"a": 1.0, "b": 1.0, "c": 1.0}


def test_ranking_with_the_class_agreement_lifts_the_item_the_classifier_is_sure_of():
    import math

    classifier = math.log(9.0) * np.eye(2, dtype=np.float32)  # class "a" along x, "b" along y
    query = np.array([[1.0, 0.0]], np.float32)
    gallery = np.array([[math.sqrt(0.5), math.sqrt(0.5)], [0.6, -0.8]], np.float32)  # a "b" closer than an "a"
    cosine = retrieval_metrics(query, ["a"], gallery, ["b", "a"], k=1)
    ranked = retrieval_metrics(query, ["a"], gallery, ["b", "a"], k=1, classifier=classifier)
    assert (cosine["mAP"], cosine["P@1"]) == (0.5, 0.0)  # the "a" second: AP = 1/2
    assert (ranked["mAP"], ranked["P@1"]) == (1.0, 1.0)  # 0.6 + 0.43 over 0.71 + 0.25 (tests/test_ranking.py)
    # agreements 0.865 and 0.5: the "a" overtakes the closer "b" only above weight 0.107 / 0.365 = 0.29
    light = retrieval_metrics(query, ["a"], gallery, ["b", "a"], k=1, classifier=classifier, weight=0.2)
    assert (light["mAP"], light["P@1"]) == (0.5, 0.0)
