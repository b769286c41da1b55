"""Sketch -> photo retrieval of drawings in other styles, on validation data only: for choosing a recipe.

The gallery is the UC Merced *validation* photos (70-79 of the checkpoint's classes: never trained
on, never tested), embedded as the app's index is (8 views). The queries are drawings of the
style-shift generator with another seed than the robustness suite's (``--seed 1``; the suite in
docs/robustness.md uses 0 and the test photos 80-99). It prints mAP and P@10 by the cosine and as
the app ranks (``crossmodal.ranking``), overall, per style and for the weakest classes (or every
class). Neither the test photos nor the Earth on Canvas sketches are looked at. With
``--confusions`` it also says, for each class shown, what the app would predict for its drawings
(the classes by count): where a weak class's drawings go.

With ``--other-classes`` the validation photos of the photo folder's other classes (UC Merced:
the 7 outside the model's 14) join the gallery, never a right answer, as in a user's own imagery.
``--neighbour-average K`` searches each gallery photo as the mean of its embedding and its K nearest
other photos' (``crossmodal.ranking.neighbour_average``; no labels used).

Usage::

    python bench/style_validation.py --checkpoint checkpoints/ucm14.pt [--per-class 3] [--seed 1] [--every-class] \
        [--confusions] [--other-classes] [--neighbour-average K]
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
from crossmodal.data import load_image, other_class_photos, photo_split, scan_folder  # noqa: E402
from crossmodal.metrics import retrieval_metrics  # noqa: E402
from crossmodal.ranking import class_probabilities, neighbour_average  # noqa: E402
from crossmodal.robustness import STYLES  # noqa: E402
from crossmodal.robustness.sketches import sketch_suite  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Embed the validation photos and the drawings, print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "ucm14.pt")
    parser.add_argument("--photos", type=Path, default=scene_bench.default_data() / "ucmerced")
    parser.add_argument("--per-class", type=int, default=3, help="drawings of each class in each style")
    parser.add_argument("--seed", type=int, default=1, help="drawings' seed (the robustness suite's is 0)")
    parser.add_argument("--every-class", action="store_true", help="a row for every class, not the 4 weakest")
    parser.add_argument("--confusions", action="store_true",
                        help="also the classes predicted for each shown class's drawings, by count")
    scene_bench.add_gallery_options(parser)
    args = parser.parse_args(argv)

    model = load_checkpoint(args.checkpoint)
    classes = tuple(model.class_names)
    samples = [s for s in scan_folder(args.photos, classes) if photo_split(s.path) == "val"]
    others = (other_class_photos(args.photos, classes, "val", args.other_classes)
              if args.other_classes is not None else [])
    samples += others
    gallery = model.embed([load_image(s.path) for s in samples], "photo")
    if args.neighbour_average:
        gallery = neighbour_average(gallery, args.neighbour_average)
    gallery_labels = np.array([s.label for s in samples])
    drawings = list(sketch_suite(args.per_class, args.seed, classes=classes))
    labels = np.array([d.label for d in drawings])
    styles = np.array([d.style for d in drawings])
    queries = model.embed([d.image for d in drawings], "sketch")
    classifier = model.classifier_weights()

    print(f"{args.checkpoint.name}: {len(drawings)} drawings (seed {args.seed}), {len(samples)} validation photos"
          + (f" ({len(others)} of classes the model does not know)" if others else ""))
    groups = {"all": np.ones(len(drawings), bool), **{style: styles == style for style in STYLES},
              **{label: labels == label for label in classes}}
    width = max(12, max(map(len, groups)) + 1)
    print(f"{'':<{width}}{'cosine mAP / P@10':>20}{'as ranked':>20}")
    rows = {}
    for ranker in (None, classifier):  # the cosine, then as the app ranks
        for name, chosen in groups.items():
            metrics = retrieval_metrics(queries[chosen], labels[chosen].tolist(), gallery, gallery_labels.tolist(),
                                        classifier=ranker)
            rows.setdefault(name, []).append((metrics["mAP"], metrics["P@10"]))
    shown = classes if args.every_class else sorted(classes, key=lambda c: rows[c][1][0])[:4]
    for name in ("all", *STYLES, *shown):
        print(f"{name:<{width}}" + "".join(f"{'%.3f / %.3f' % cell:>20}" for cell in rows[name]))
    if args.confusions:
        predicted = np.array(classes)[class_probabilities(queries, classifier).argmax(1)]
        print("predicted for the drawings of each class (as the app shows it):")
        for label in shown:
            names, counts = np.unique(predicted[labels == label], return_counts=True)
            order = np.argsort(-counts, kind="stable")
            print(f"{label:<{width}}" + ", ".join(f"{names[i]} {counts[i]}" for i in order))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
