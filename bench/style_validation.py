"""Sketch -> photo retrieval of drawings in other styles, on validation data only: for choosing a recipe.

The gallery is the UC Merced *validation* photos (70-79 of the checkpoint's classes: never trained
on, never tested), embedded as the app's index is (8 views). The queries are drawings of the
style-shift generator with another seed than the robustness suite's (``--seed 1``; the suite in
docs/robustness.md uses 0 and the test photos 80-99). It prints mAP and P@10 by the cosine and as
the app ranks (``crossmodal.ranking``), overall, per style and for the weakest classes. Neither the
test photos nor the Earth on Canvas sketches are looked at.

Usage::

    python bench/style_validation.py --checkpoint checkpoints/ucm14.pt [--per-class 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scene as scene_bench  # noqa: E402  (bench/scene.py: where the shared data is)

from crossmodal import load_checkpoint  # noqa: E402
from crossmodal.data import load_image, photo_split, scan_folder  # noqa: E402
from crossmodal.metrics import average_precision  # noqa: E402
from crossmodal.ranking import CLASS_AGREEMENT_WEIGHT, ranking_scores  # noqa: E402
from crossmodal.robustness import STYLES  # noqa: E402
from crossmodal.robustness.sketches import sketch_suite  # noqa: E402


def scores(relevant: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(mAP, P@k) of ranked relevance rows (n_queries, n_gallery)."""
    return float(np.mean([average_precision(r) for r in relevant])), float(relevant[:, :k].mean())


def main(argv: list[str] | None = None) -> int:
    """Embed the validation photos and the drawings, print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "ucm14.pt")
    parser.add_argument("--photos", type=Path, default=scene_bench.default_data() / "ucmerced")
    parser.add_argument("--per-class", type=int, default=3, help="drawings of each class in each style")
    parser.add_argument("--seed", type=int, default=1, help="drawings' seed (the robustness suite's is 0)")
    args = parser.parse_args(argv)

    model = load_checkpoint(args.checkpoint)
    classes = tuple(model.class_names)
    samples = [s for s in scan_folder(args.photos, classes) if photo_split(s.path) == "val"]
    gallery = model.embed([load_image(s.path) for s in samples], "photo")
    gallery_labels = np.array([s.label for s in samples])
    drawings = list(sketch_suite(args.per_class, args.seed, classes=classes))
    labels = np.array([d.label for d in drawings])
    styles = np.array([d.style for d in drawings])
    queries = model.embed([d.image for d in drawings], "sketch")
    classifier = model.classifier_weights()

    print(f"{args.checkpoint.name}: {len(drawings)} drawings (seed {args.seed}), {len(samples)} validation photos")
    print(f"{'':<12}{'cosine mAP / P@10':>20}{'as ranked':>20}")
    rows = {}
    for weight in (0.0, CLASS_AGREEMENT_WEIGHT):
        ranked = np.argsort(-ranking_scores(queries, gallery, classifier, weight), axis=1, kind="stable")
        relevant = gallery_labels[ranked] == labels[:, None]
        rows.setdefault("all", []).append(scores(relevant))
        for style in STYLES:
            rows.setdefault(style, []).append(scores(relevant[styles == style]))
        for label in classes:
            rows.setdefault(label, []).append(scores(relevant[labels == label]))
    weakest = sorted(classes, key=lambda c: rows[c][1][0])[:4]
    for name in ("all", *STYLES, *weakest):
        print(f"{name:<12}" + "".join(f"{'%.3f / %.3f' % cell:>20}" for cell in rows[name]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
