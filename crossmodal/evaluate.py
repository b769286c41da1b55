"""The paper's evaluation: sketch -> photo and photo -> sketch mAP, P@10 and class-wise P@50."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .config import DEFAULT_NEIGHBOURS
from .data import load_arrays, photo_split, scan_folder
from .metrics import retrieval_metrics
from .model import CrossModalModel
from .ranking import neighbour_average
from .train import relative_name


def evaluate_model(model: CrossModalModel, photos_dir: str | Path, sketches_dir: str | Path,
                   split: str = "test", progress: bool = False, photo_tta: bool = True,
                   sketch_tta: bool | None = None, neighbours: int = DEFAULT_NEIGHBOURS) -> dict[str, Any]:
    """Evaluate both directions on one gallery, never on sketches the model trained on.

    Ranked by the cosine (the paper's protocol) and, under ``ranked``, as the app ranks: cosine
    plus the model's class agreement, against a photo gallery whose photos are each searched as the
    mean of themselves and their ``neighbours`` nearest others, as the app indexes them
    (:mod:`crossmodal.ranking`; sketch galleries are searched as they are).

    Sketch -> photo: queries are the sketches of classes the model knows, minus those listed in
    its checkpoint as trained on; the gallery is the photos of ``split`` (``test`` = 80-99, or
    ``all``). Photo -> sketch: those gallery photos whose class has a query sketch, against the
    query sketches as gallery. Relevance is "same class". ``photo_tta`` / ``sketch_tta``: embed
    each photo / sketch as the mean of its 8 rotations and flips, or as one view (None: the
    checkpoint's own views, as the app embeds them).

    Raises:
        ValueError: bad split, or nothing left to evaluate.
        DatasetNotFoundError: a folder is missing or has none of the model's classes.
    """
    if split not in ("test", "all"):
        raise ValueError(f"split must be 'test' or 'all', not {split!r}")
    classes = tuple(model.class_names)
    trained_sketches = set(model.info.get("meta", {}).get("train_sketches", []))
    trained_photos = set(model.info.get("meta", {}).get("train_photos", []))

    photos = [s for s in scan_folder(photos_dir, classes) if split == "all" or photo_split(s.path) == "test"]
    sketches = [s for s in scan_folder(sketches_dir, classes) if relative_name(s) not in trained_sketches]
    if not sketches:
        raise ValueError(f"every sketch under {sketches_dir} was trained on: nothing to evaluate")
    if split == "test" and any(relative_name(s) in trained_photos for s in photos):
        raise ValueError("the checkpoint trained on test-gallery photos (80-99): its numbers would not be honest")
    size = model.config.image_size
    photo_x, photos, skipped_p = load_arrays(photos, "photo", size, progress)
    sketch_x, sketches, skipped_s = load_arrays(sketches, "sketch", size, progress, model.config.sketch_input)
    for path, reason in skipped_p + skipped_s:
        print(f"skipped unreadable file {path}: {reason}")

    import torch

    photo_emb = model.embed(torch.from_numpy(photo_x).float() / 255.0, "photo", tta=photo_tta)
    sketch_emb = model.embed(torch.from_numpy(sketch_x).float() / 255.0, "sketch", tta=sketch_tta)
    photo_labels = [s.label for s in photos]
    sketch_labels = [s.label for s in sketches]
    sketch_classes = set(sketch_labels)
    query_photos = np.array([label in sketch_classes for label in photo_labels])
    query_photo_labels = [lab for lab, q in zip(photo_labels, query_photos) if q]
    classifier = model.classifier_weights()
    searched_photos = neighbour_average(photo_emb, neighbours) if neighbours else photo_emb
    return {
        "sketch_to_photo": retrieval_metrics(sketch_emb, sketch_labels, photo_emb, photo_labels),
        "photo_to_sketch": retrieval_metrics(photo_emb[query_photos], query_photo_labels, sketch_emb, sketch_labels),
        "ranked": {  # as the app ranks: cosine plus class agreement (crossmodal.ranking)
            "sketch_to_photo": retrieval_metrics(sketch_emb, sketch_labels, searched_photos, photo_labels,
                                                 classifier=classifier),
            "photo_to_sketch": retrieval_metrics(photo_emb[query_photos], query_photo_labels, sketch_emb,
                                                 sketch_labels, classifier=classifier),
        },
        "n_queries": {"sketch_to_photo": len(sketches), "photo_to_sketch": int(query_photos.sum())},
        "n_gallery": {"sketch_to_photo": len(photos), "photo_to_sketch": len(sketches)},
        "split": split,
        "excluded_trained_sketches": len(trained_sketches),
        "checkpoint": model.info.get("path", ""),
        "views": {"photo": model.views("photo", photo_tta), "sketch": model.views("sketch", sketch_tta)},
        "neighbour_average": neighbours,
    }


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of an evaluation report."""
    lines = [f"{'direction':<16}{'ranking':<26}{'mAP':>8}{'P@10':>8}{'queries':>9}{'gallery':>9}"]
    for direction in ("sketch_to_photo", "photo_to_sketch"):
        for ranking, r in (("cosine", report[direction]),
                           ("cosine + class agreement", report.get("ranked", {}).get(direction))):
            if r is not None:
                lines.append(f"{direction:<16}{ranking:<26}{r['mAP']:>8.3f}{r['P@10']:>8.3f}"
                             f"{report['n_queries'][direction]:>9}{report['n_gallery'][direction]:>9}")
    lines.append("")
    lines.append(f"{'class':<17}{'s->p AP':>8}{'s->p P@50':>10}{'p->s AP':>8}   (cosine)")
    s2p, p2s = report["sketch_to_photo"], report["photo_to_sketch"]
    for cls in sorted(s2p["per_class_AP"]):
        lines.append(f"{cls:<17}{s2p['per_class_AP'][cls]:>8.3f}{s2p['per_class_P@50'][cls]:>10.3f}"
                     f"{p2s['per_class_AP'].get(cls, float('nan')):>8.3f}")
    averaged = report.get("neighbour_average")  # reports written before the option have none
    how = f"; ranked: each gallery photo searched as the mean of itself and its {averaged} nearest" if averaged else ""
    lines.append(f"(split {report['split']}; {report['excluded_trained_sketches']} sketches excluded as trained on"
                 f"{how})")
    return "\n".join(lines)
