"""Choose the weight of the class agreement in the ranking (``crossmodal.ranking``) on validation data only.

Neither the test photos (80-99) nor the Earth on Canvas sketches are looked at. The gallery is the
UC Merced *validation* photos (70-79 of the checkpoint's classes: never trained on, never tested),
once as a plain gallery and once laid out as a mosaic scene (as ``bench/scene.py`` builds its test
scene, 16 x 16 photos at 0.3048 m, indexed by ``python -m crossmodal index --scene`` with the app's
defaults). The queries are drawings of the style-shift generator with another seed than the
robustness suite's (``--seed 1``; the suite in docs/robustness.md uses 0), every style, a few a class.

For each weight it prints sketch -> photo mAP and P@10 over the plain gallery, and the scene share
of ``bench/scene.py`` (top-k footprints whose centre lies on a photo of the query's class), with and
without placing merged hits among their chips. Weight 0 is the cosine alone.

Usage::

    python bench/ranking_weight.py [--weights 0 0.1 0.2 0.3 0.5 0.7 1 1.5 2] [--json runs/ranking-weight.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scene as scene_bench  # noqa: E402  (bench/scene.py: the mosaic, its index and its share)

from crossmodal.data import EOC_CLASSES  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Build the validation gallery and scene, sweep the weight, print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=scene_bench.default_data() / "ucmerced")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "ucm14.pt")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ranking-weight")
    parser.add_argument("--grid", type=int, default=16, help="photos a side of the validation scene")
    parser.add_argument("--per-class", type=int, default=3, help="drawings of each class in each style")
    parser.add_argument("--seed", type=int, default=1, help="drawings' seed (the robustness suite's is 0)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2])
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    args = parser.parse_args(argv)

    from crossmodal.checkpoint import load_checkpoint
    from crossmodal.gallery import item_record, rank_matches
    from crossmodal.index import EmbeddingIndex
    from crossmodal.metrics import retrieval_metrics
    from crossmodal.robustness.sketches import sketch_suite
    from crossmodal.scenes import TRAINING_GSD

    model = load_checkpoint(args.checkpoint)
    classes = tuple(c for c in EOC_CLASSES if c in model.class_names)
    cells = scene_bench.layout(args.photos, classes, args.grid, args.seed, split="val")
    args.out.mkdir(parents=True, exist_ok=True)
    tif, index_dir = args.out / "validation-scene.tif", args.out / "index"
    scene_bench.write_scene(tif, cells, TRAINING_GSD)
    scene_bench.index_scene(args.checkpoint, tif, index_dir, 128, tta=True)
    index = EmbeddingIndex.load(index_dir)

    drawings = list(sketch_suite(args.per_class, args.seed, classes=classes))
    labels = np.array([d.label for d in drawings])
    vectors = model.embed([d.image for d in drawings], "sketch")
    gallery, gallery_labels = scene_bench.gallery_embeddings(model, cells, tta=True)
    classifier = model.classifier_weights()

    def scene_shares(weight: float) -> tuple[float, float]:
        """Share of the top-k footprints on the query's class: chips where they are, and placed among their chips."""
        where, placed = [], []
        for label, vector in zip(labels, vectors):
            matches = rank_matches(index, vector, args.k, classifier, exact=True, weight=weight)

            def on_class(record: dict) -> bool:
                return scene_bench.footprint_class(cells, record["bounds"], TRAINING_GSD) == label

            where.append(np.mean([on_class(item_record(index, m.item)) for m in matches]))
            placed.append(np.mean([on_class(item_record(index, m.item, m)) for m in matches]))
        return float(np.mean(where)), float(np.mean(placed))

    rows = []
    print(f"{len(drawings)} drawings (seed {args.seed}), {len(gallery)} validation photos, a scene of "
          f"{len(index)} chips\n{'weight':>7}{'mAP':>8}{'P@10':>8}{'share':>8}{'placed':>8}")
    for weight in args.weights:
        metrics = retrieval_metrics(vectors, labels.tolist(), gallery, gallery_labels.tolist(), k=args.k,
                                    classifier=classifier, weight=weight)
        share, placed = scene_shares(weight)
        rows.append({"weight": weight, "mAP": metrics["mAP"], "P@10": metrics[f"P@{args.k}"], "share": share,
                     "placed": placed})
        print(f"{weight:>7.2f}{rows[-1]['mAP']:>8.3f}{rows[-1]['P@10']:>8.3f}{share:>8.3f}{placed:>8.3f}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"drawings": len(drawings), "seed": args.seed, "photos": len(gallery),
                                         "chips": len(index), "k": args.k, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
