"""Search results on the map: overlapping chips merged (non-maximum suppression) and GeoJSON footprints.

GeoJSON follows RFC 7946: WGS 84 longitude/latitude coordinates, polygons as closed rings with the
exterior counter-clockwise, a ``FeatureCollection`` whose features carry ``rank`` and ``score``
properties. QGIS, geojson.io and GDAL open it as it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_NMS_IOU = 0.1  # chips overlapping a better hit by more than this (intersection over union) are merged
LOCATION_TEMPERATURE = 0.05  # score scale of the weights that place a hit among the chips merged into it


def window_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``col_off, row_off, width, height`` windows."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def non_max_suppression(order: Iterable[int], sources: np.ndarray, windows: np.ndarray, iou: float = DEFAULT_NMS_IOU,
                        limit: int | None = None) -> list[int]:
    """Keep hits, best first, that do not overlap an already kept hit of the same scene by more than ``iou``.

    Args:
        order: item ids, best first (read only as far as needed).
        sources: the scene (source) number of every item, indexed by id.
        windows: (n, 4) window of every item in its scene's pixels; NaN rows (whole images) never overlap.
        iou: the largest intersection over union two kept hits may share; 1 keeps everything.
        limit: stop after this many kept hits.

    Returns:
        The kept ids, in their original order.
    """
    kept: list[int] = []
    by_source: dict[int, list[int]] = {}
    for i in order:
        i = int(i)
        window = windows[i]
        if not np.isnan(window).any():
            source = int(sources[i])
            if any(window_iou(window, windows[j]) > iou for j in by_source.get(source, ())):
                continue
            by_source.setdefault(source, []).append(i)
        kept.append(i)
        if limit is not None and len(kept) >= limit:
            break
    return kept


def merged_chips(hit: int, candidates: Sequence[int], scores: Sequence[float], sources: np.ndarray,
                 windows: np.ndarray, iou: float = DEFAULT_NMS_IOU,
                 temperature: float = LOCATION_TEMPERATURE) -> tuple[list[int], np.ndarray]:
    """The candidates merged into a kept hit, and their weights for placing it (summing to one).

    Chips overlap by half, so an object is seen by several of them; the best may straddle it and
    its neighbour (half a court, half a roof). The hit is placed at the mean position of itself
    and every candidate overlapping it by more than ``iou``, each weighted by
    ``exp((score - hit score) / temperature)``; candidates scoring above the hit belong to a better
    result and are left out. A strongly matching neighbour pulls the place
    toward the object, a weak one barely counts (weighted box fusion, as detectors merge boxes).

    Args:
        hit: the kept item.
        candidates: the item ids the search scored, with ``scores`` (same order, any order).
        sources, windows: as in :func:`non_max_suppression`.

    Returns:
        The merged ids (``hit`` first) and their weights; ``[hit], [1.0]`` for a whole image.
    """
    window = windows[hit]
    if np.isnan(window).any():
        return [hit], np.ones(1)
    candidates = np.asarray(candidates, np.int64)
    scores = np.asarray(scores, np.float64)
    best = float(scores[candidates == hit][0])
    others = windows[candidates]
    width = np.minimum(window[0] + window[2], others[:, 0] + others[:, 2]) - np.maximum(window[0], others[:, 0])
    height = np.minimum(window[1] + window[3], others[:, 1] + others[:, 3]) - np.maximum(window[1], others[:, 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    overlap = inter / (window[2] * window[3] + others[:, 2] * others[:, 3] - inter)
    merged = (candidates != hit) & (scores <= best) & (sources[candidates] == sources[hit]) & (overlap > iou)
    members = [int(hit)] + candidates[merged].tolist()
    weights = np.exp(np.concatenate([[0.0], scores[merged] - best]) / temperature)
    return members, weights / weights.sum()


def ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Signed area of a closed or open ring (shoelace formula): positive when counter-clockwise."""
    points = list(ring)
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]))


def polygon(corners: Sequence[Sequence[float]]) -> dict[str, Any]:
    """A GeoJSON Polygon from corner longitude/latitude pairs: closed, exterior ring counter-clockwise."""
    ring = [[float(x), float(y)] for x, y in corners]
    if ring[0] == ring[-1]:
        ring = ring[:-1]
    if ring_area(ring) < 0:
        ring.reverse()
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def feature_collection(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of search results that have a ``footprint`` (lon/lat corners).

    Every record's other plain fields (``rank``, ``score``, ``id``, ``class`` ...) become the
    feature's properties; records without a geographic footprint (plain images, scenes without a
    CRS) are left out.
    """
    features = []
    for record in records:
        corners = record.get("footprint")
        if not corners or any(not math.isfinite(v) for corner in corners for v in corner):
            continue
        properties = {key: value for key, value in record.items() if key not in ("footprint", "centre", "bounds")}
        lons, lats = [c[0] for c in corners], [c[1] for c in corners]
        features.append({"type": "Feature", "bbox": [min(lons), min(lats), max(lons), max(lats)],
                         "geometry": polygon(corners), "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def write_geojson(records: Sequence[dict[str, Any]], path: str | Path) -> int:
    """Write the results' footprints as a GeoJSON FeatureCollection; returns the number of features."""
    collection = feature_collection(records)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(collection, indent=1))
    tmp.replace(path)
    return len(collection["features"])
