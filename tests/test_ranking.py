"""The ranking: cosine plus the chance that query and item share a class; and where a merged hit is placed."""

import math

import numpy as np
import pytest

from crossmodal.footprints import merged_chips
from crossmodal.ranking import (
    class_probabilities,
    nearest_others,
    neighbour_average,
    neighbour_average_without,
    neighbour_averages_without,
    ranking_scores,
)

# two classes along the axes of a 2-d space, logits scaled by ln 9: a vector on an axis is 9:1 for its class
CLASSIFIER = math.log(9.0) * np.eye(2, dtype=np.float32)


def test_class_probabilities_are_the_softmax_of_the_scaled_cosines():
    p = class_probabilities([[2.0, 0.0], [0.0, 0.5], [1.0, 1.0]], CLASSIFIER)
    assert p == pytest.approx(np.array([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]]), abs=1e-6)  # lengths do not count


def test_the_class_agreement_lifts_an_item_sure_of_the_query_class_over_an_ambiguous_one():
    query = np.array([1.0, 0.0], np.float32)  # class 0, 9:1
    diagonal = np.array([math.sqrt(0.5), math.sqrt(0.5)], np.float32)  # cosine 0.707, but either class (1:1)
    tilted = np.array([0.6, -0.8], np.float32)  # cosine 0.6, class 0 at 9^0.6 : 9^-0.8
    items = np.stack([diagonal, tilted])
    cosine = ranking_scores(query, items, None)
    assert cosine == pytest.approx([math.sqrt(0.5), 0.6], abs=1e-6)
    a, b = 9 ** 0.6, 9 ** -0.8
    tilted_agreement = 0.9 * a / (a + b) + 0.1 * b / (a + b)  # 0.865
    scores = ranking_scores(query, items, CLASSIFIER, weight=0.5)
    assert scores == pytest.approx([math.sqrt(0.5) + 0.5 * 0.5, 0.6 + 0.5 * tilted_agreement], abs=1e-6)
    assert scores[1] > scores[0]  # 1.033 over 0.957: the sure item now ranks first
    assert ranking_scores(query, items, CLASSIFIER, weight=0.0) == pytest.approx(cosine)
    both = ranking_scores(np.stack([query, query]), items, CLASSIFIER, weight=0.5)
    assert both.shape == (2, 2) and both[1] == pytest.approx(scores)


def test_neighbour_average_adds_each_items_nearest_others_by_hand():
    # a at 0 degrees, b at 30, c at 90, d at 180: a's nearest other is b, b's is a, c's is b, d's is c
    angles = np.radians([0.0, 30.0, 90.0, 180.0])
    items = np.stack([np.cos(angles), np.sin(angles)], 1) * [[1.0], [2.0], [1.0], [3.0]]  # lengths do not count
    one = neighbour_average(items, k=1, block=3)  # a block boundary inside the gallery changes nothing
    mean = lambda x, y: np.radians((x + y) / 2)  # noqa: E731  (two unit vectors sum along their bisector)
    expected = [[np.cos(mean(0, 30)), np.sin(mean(0, 30))], [np.cos(mean(0, 30)), np.sin(mean(0, 30))],
                [np.cos(mean(30, 90)), np.sin(mean(30, 90))], [np.cos(mean(90, 180)), np.sin(mean(90, 180))]]
    assert one == pytest.approx(np.array(expected), abs=1e-6)
    # k = 2: a with b and c (cosines 0.87, 0.0 over d's -1); k larger than the gallery stops at n - 1
    two = neighbour_average(items, k=2)
    a = np.array([1.0, 0.0]) + [np.cos(angles[1]), np.sin(angles[1])] + [0.0, 1.0]
    assert two[0] == pytest.approx(a / np.linalg.norm(a), abs=1e-6)
    everything = neighbour_average(items, k=10)
    units = items / np.linalg.norm(items, axis=1, keepdims=True)
    assert everything[0] == pytest.approx(units.sum(0) / np.linalg.norm(units.sum(0)), abs=1e-6)
    assert neighbour_average(items, k=0) == pytest.approx(units)
    with pytest.raises(ValueError, match="at least 0"):
        neighbour_average(items, k=-1)


def test_nearest_others_are_ordered_and_can_be_limited_to_some_rows():
    angles = np.radians([0.0, 30.0, 90.0, 180.0])  # as above
    items = np.stack([np.cos(angles), np.sin(angles)], 1)
    assert nearest_others(items, 2, block=3).tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    # among a, c and d only (b is a scene chip, say): a's nearest is c, and b gets no neighbours
    among = np.array([True, False, True, True])
    assert nearest_others(items, 1, among).tolist() == [[2], [-1], [0], [2]]
    averaged = neighbour_average(items, 1, among)
    assert averaged[1] == pytest.approx(items[1])  # left as it is
    assert averaged[0] == pytest.approx([np.cos(np.radians(45)), np.sin(np.radians(45))], abs=1e-6)


def test_averaging_without_a_row_is_averaging_the_gallery_that_lacks_it():
    items = np.random.default_rng(0).standard_normal((30, 8)).astype(np.float32)
    for left_out in (0, 7, 29):
        without = neighbour_average_without(items, 3, left_out)
        rest = np.delete(np.arange(30), left_out)
        assert without[rest] == pytest.approx(neighbour_average(items[rest], 3), abs=1e-6)
        assert without[left_out] == pytest.approx(neighbour_average(items, 3)[left_out], abs=1e-6)
    nearest = nearest_others(items, 4)  # found once, for any row left out
    assert neighbour_average_without(items, 3, 7, nearest) == pytest.approx(neighbour_average_without(items, 3, 7))
    galleries = neighbour_averages_without(items, 3, [7, 0])  # one gallery a query
    assert galleries.shape == (2, 30, 8)
    assert galleries[0] == pytest.approx(neighbour_average_without(items, 3, 7), abs=1e-6)
    assert galleries[1] == pytest.approx(neighbour_average_without(items, 3, 0), abs=1e-6)
    # some rows did count row 7 among their 3 nearest: their means changed
    assert not np.allclose(neighbour_average_without(items, 3, 7), neighbour_average(items, 3))


def test_a_gallery_for_each_query_scores_as_each_query_against_its_own():
    rng = np.random.default_rng(1)
    queries = rng.standard_normal((3, 2)).astype(np.float32)
    galleries = rng.standard_normal((3, 5, 2)).astype(np.float32)
    galleries /= np.linalg.norm(galleries, axis=2, keepdims=True)
    together = ranking_scores(queries, galleries, CLASSIFIER)
    assert together.shape == (3, 5)
    for q, g, row in zip(queries, galleries, together):
        assert row == pytest.approx(ranking_scores(q, g, CLASSIFIER), abs=1e-6)


def test_a_merged_hit_is_weighted_by_its_chips_scores():
    # four chips of 10 px in one row every 5 px, and one of another scene on top of the first
    windows = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [10, 0, 10, 10], [15, 0, 10, 10], [0, 0, 10, 10]], float)
    sources = np.array([0, 0, 0, 0, 1])
    members, weights = merged_chips(1, [1, 0, 2, 3, 4], [0.9, 0.85, 0.8, 0.95, 0.99], sources, windows,
                                    iou=0.1, temperature=0.05)
    # chip 1 overlaps 0 and 2 by 1/3; chip 3 scores above it (another result's), chip 4 is another scene
    assert members == [1, 0, 2]
    e1, e2 = math.exp(-1.0), math.exp(-2.0)
    assert weights == pytest.approx(np.array([1.0, e1, e2]) / (1.0 + e1 + e2))
    members, weights = merged_chips(0, [0], [0.5], sources, np.array([[np.nan] * 4] * 5))
    assert members == [0] and weights == pytest.approx([1.0])  # a whole image is placed where it is
