"""Score a model on the robustness suites through its public API, as the app would query it.

Gallery: the clean UC Merced test photos (80-99) of the model's classes, embedded with the
model's default photo view averaging and each searched as the mean of itself and its nearest
others (as the app's index is); with ``other_classes``, also those of
the folder's other classes (scenes the model has no class for, as a user's gallery holds them,
never a right answer). Queries are embedded the way the
app embeds a query (a photo as the mean of its 8 rotations and flips, as the gallery, at the
ground resolution at which it looks most like the gallery: ``crossmodal.resolution``; a sketch as
its checkpoint says, ``ModelConfig.sketch_views``), and their class is the top class of that embedding under
the model's cosine classifier (``model.class_probabilities``), as the app shows it.

- Sketch suites (generated styles, and any folder of sketches): sketch -> photo mAP, P@10 and
  per-class AP against the gallery (``crossmodal.metrics.retrieval_metrics``), top-1 accuracy.
- Photo suites (the imagery shifts of the test photos): class accuracy, photo -> photo P@10 and
  mAP against the clean gallery with the query's own clean original left out of its ranking
  (it would otherwise be found first and inflate P@10).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..config import DEFAULT_NEIGHBOURS
from ..data import ImageLoadError, load_image, other_class_photos, scan_folder
from ..metrics import exact_ranking, retrieval_metrics
from ..ranking import class_probabilities, neighbour_average, neighbour_averages_without
from ..resolution import embed_at_gallery_resolution
from . import FIRST_HAND, REFERENCE_SHIFT, REFERENCE_STYLE, SHIFTS, STYLES, SUITE_VERSION
from .imagery import imagery_suite, suite_photos
from .shapes import CLASSES
from .sketches import sketch_suite

BATCH = 64  # images a forward pass
PHOTO_QUERIES = ("gallery", "head")  # how query photos may be seen: see evaluate_robustness


def score_queries(embeddings: np.ndarray, probabilities: np.ndarray, labels: Sequence[str], class_names: Sequence[str],
                  gallery: np.ndarray, gallery_labels: Sequence[str], exclude: Sequence[int] | None = None,
                  classifier: np.ndarray | None = None) -> dict[str, Any]:
    """Retrieval and classification numbers of one query set, overall and per class.

    Args:
        embeddings: (n, d) L2-normalised query embeddings.
        probabilities: (n, k) class probabilities of the queries, columns in ``class_names`` order.
        labels: the n true classes.
        class_names: the model's classes.
        gallery: (m, d) L2-normalised gallery embeddings, or (n, m, d): a gallery for each query.
        gallery_labels: the m gallery classes.
        exclude: per query, a gallery index to leave out of its ranking (-1 for none).
        classifier: the model's classifier weights: adds ``ranked`` (``mAP``, ``P@10`` as the app
            ranks, cosine plus class agreement); the other numbers rank by the cosine.

    Returns:
        ``{"n", "mAP", "P@10", "accuracy", "per_class": {class: {"n", "AP", "P@10", "accuracy"}},
        "confusion": {class: {predicted class: count}}}``, and ``ranked`` with a classifier.
    """
    labels = np.asarray(labels)
    predicted = np.asarray(class_names)[probabilities.argmax(1)]
    overall = retrieval_metrics(embeddings, labels.tolist(), gallery, gallery_labels, exclude=exclude)
    per_class, confusion = {}, {}
    for label in sorted(set(labels.tolist())):
        mask = labels == label
        subset = retrieval_metrics(embeddings[mask], labels[mask].tolist(),
                                   gallery[mask] if gallery.ndim == 3 else gallery, gallery_labels,
                                   exclude=None if exclude is None else np.asarray(exclude)[mask])
        per_class[label] = {"n": int(mask.sum()), "AP": subset["mAP"], "P@10": subset["P@10"],
                            "accuracy": float((predicted[mask] == label).mean())}
        names, counts = np.unique(predicted[mask], return_counts=True)
        confusion[label] = {str(c): int(k) for c, k in sorted(zip(names, counts), key=lambda t: -t[1])}
    out = {"n": len(labels), "mAP": overall["mAP"], "P@10": overall["P@10"],
           "accuracy": float((predicted == labels).mean()), "per_class": per_class, "confusion": confusion}
    if classifier is not None:
        ranked = retrieval_metrics(embeddings, labels.tolist(), gallery, gallery_labels, exclude=exclude,
                                   classifier=classifier)
        out["ranked"] = {"mAP": ranked["mAP"], "P@10": ranked["P@10"]}
    return out


def other_classes_found(embeddings: np.ndarray, labels: Sequence[str], gallery: np.ndarray,
                        gallery_labels: Sequence[str], other_classes: set[str], classifier: np.ndarray | None,
                        k: int = 10) -> dict[str, dict[str, Any]]:
    """Per query class, the share of the top ``k`` (as the app ranks) that are scenes of ``other_classes``.

    Returns:
        ``{class: {"share": float, "by_class": {other class: share}}}``, shares of all the class's
        queries' top ``k`` together; ``by_class`` lists the other classes found, most found first.
    """
    top = exact_ranking(embeddings, gallery, classifier)[:, :k]
    found = np.asarray(gallery_labels)[top]
    labels = np.asarray(labels)
    out = {}
    for label in sorted(set(labels.tolist())):
        rows = found[labels == label].ravel()
        names, counts = np.unique(rows[np.isin(rows, list(other_classes))], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        out[label] = {"share": float(counts.sum() / rows.size),
                      "by_class": {str(names[i]): float(counts[i] / rows.size) for i in order}}
    return out


def _save(images: Sequence[Image.Image], names: Sequence[str], folder: Path) -> None:
    for image, name in zip(images, names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path.with_suffix(".png"))


def _folder_sketches(folder: str | Path, classes: tuple[str, ...], trained: set[str]
                     ) -> tuple[list[Image.Image], list[str], list[str]]:
    """The readable sketches of a ``<class>/<image>`` folder that the model did not train on."""
    images, labels, skipped = [], [], []
    for sample in scan_folder(folder, classes):
        if f"{sample.label}/{sample.path.name}" in trained:
            continue
        try:
            images.append(load_image(sample.path))
            labels.append(sample.label)
        except ImageLoadError as err:
            skipped.append(f"{sample.path}: {err}")
    return images, labels, skipped


def evaluate_robustness(model: Any, photos_dir: str | Path, per_class: int = 10, seed: int = 0,
                        styles: Sequence[str] = STYLES + (REFERENCE_STYLE,),
                        shifts: Sequence[str] = (REFERENCE_SHIFT,) + SHIFTS,
                        sketch_folders: Mapping[str, str | Path] | None = None, image_dir: str | Path | None = None,
                        progress: bool = False, photo_queries: str = "gallery", hand: str = FIRST_HAND,
                        other_classes: bool | Sequence[str] = False, neighbours: int = DEFAULT_NEIGHBOURS
                        ) -> dict[str, Any]:
    """Score a model on the style-shift sketch suite and the imagery-shift photo suite.

    Args:
        model: a loaded checkpoint (``crossmodal.load_checkpoint``): ``embed``, ``classifier_weights``,
            ``class_names`` and ``info`` are used.
        photos_dir: UC Merced folder (``<class>/<class>NN.jpg``); only its test photos (80-99) are read.
        per_class: generated sketches of each class in each style.
        seed: the suites' seed; the same seed draws the same sketches and the same photo shifts.
        styles: sketch styles to score (``STYLES`` and the reference ``plain``).
        shifts: imagery shifts to score (``SHIFTS`` and the reference ``clean``).
        sketch_folders: more sketch suites, name -> ``<class>/<image>`` folder (app canvas drawings,
            Earth on Canvas); files the checkpoint lists as trained on are left out.
        image_dir: also write every image scored here as PNG (``sketches/<style>/...``,
            ``photos/<shift>/...``), to look at.
        progress: show progress bars.
        hand: whose descriptions of the classes the style-shift suite draws (``HANDS``).
        other_classes: also put the test photos of ``photos_dir``'s other classes in the gallery
            (:func:`~crossmodal.data.other_class_photos`): scenes the model has no
            class for, never a right answer, as in a gallery of a user's own imagery; the names of
            some of those classes: theirs only (those a model never saw, when it learnt from the
            others' training photos, ``train --outlier-classes``).
        neighbours: search each gallery photo as the mean of its embedding and its ``neighbours``
            nearest other gallery photos', as the app's index does
            (:func:`~crossmodal.ranking.neighbour_average`); 0: as it is. A shifted photo is scored
            against the gallery averaged without its own original
            (:func:`~crossmodal.ranking.neighbour_average_without`), which must not reach its
            ranking through its neighbours' means either.
        photo_queries: how a query photo is seen: ``"gallery"``, as the app sees it, at the ground
            resolution at which it looks most like the gallery (its own original left out of that
            choice); ``"head"``, at the training resolution when the checkpoint's resolution head
            finds it off (``model.embed(..., at_training_resolution=True)``; as it is without a head).

    Returns:
        A JSON-ready report: ``sketch_styles`` and ``photo_shifts`` map each suite to
        :func:`score_queries` numbers; ``sketch_overall`` pools the generated ``STYLES`` scored.

    Raises:
        ValueError: the model trained on a test photo, no class of the model has a drawing
            description, an unknown style, shift or hand, an unknown ``photo_queries``, or
            ``other_classes`` with no other class under ``photos_dir``.
        DatasetNotFoundError: a folder is missing or has none of the model's classes.
    """
    if photo_queries not in PHOTO_QUERIES:
        raise ValueError(f"photo_queries must be one of {PHOTO_QUERIES}, not {photo_queries!r}")
    classes = tuple(model.class_names)
    drawable = tuple(c for c in classes if c in CLASSES)
    if not drawable:
        raise ValueError(f"the model's classes {list(classes)} have no drawing description; "
                         f"the suite draws {', '.join(CLASSES)}")
    meta = model.info.get("meta", {})
    trained_photos, trained_sketches = set(meta.get("train_photos", [])), set(meta.get("train_sketches", []))
    gallery_samples = suite_photos(photos_dir, classes)
    named = () if isinstance(other_classes, bool) else tuple(other_classes)
    others = other_class_photos(photos_dir, classes, "test", named) if other_classes else []
    if other_classes and not others:
        raise ValueError(f"{photos_dir} holds no test photos (80-99) of a class the model does not know: "
                         f"the gallery would be the same without other classes")
    gallery_samples += others  # after the suite's photos: a query's own original keeps its position
    leaked = [f"{s.label}/{s.path.name}" for s in gallery_samples if f"{s.label}/{s.path.name}" in trained_photos]
    if leaked:
        raise ValueError(f"the checkpoint trained on test photos ({', '.join(leaked[:3])}...): "
                         "its robustness numbers would not be honest")
    image_dir = Path(image_dir) if image_dir is not None else None
    gallery_images = [load_image(s.path) for s in gallery_samples]
    gallery_labels = [s.label for s in gallery_samples]
    own_gallery = model.embed(gallery_images, "photo")
    gallery = neighbour_average(own_gallery, neighbours) if neighbours else own_gallery
    classifier = model.classifier_weights()
    position = {f"{s.label}/{s.path.name}": i for i, s in enumerate(gallery_samples)}

    def score(images, labels, modality, exclude=None):
        # queries are embedded as the app embeds them (a photo at the resolution at which it looks
        # most like the gallery, its own original left out of that choice); the gallery as the app indexes it
        searched = gallery
        if exclude is not None and neighbours:
            searched = neighbour_averages_without(own_gallery, neighbours, exclude)
        if modality == "photo" and photo_queries == "gallery":
            embeddings, _ = embed_at_gallery_resolution(model, images, searched, exclude)
        else:
            embeddings = np.concatenate([model.embed(list(images[i:i + BATCH]), modality,
                                                     at_training_resolution=True)
                                         for i in range(0, len(images), BATCH)])
        probabilities = class_probabilities(embeddings, classifier)  # = model.class_probabilities(images)
        return embeddings, probabilities, score_queries(embeddings, probabilities, labels, classes, searched,
                                                        gallery_labels, exclude, classifier)

    report: dict[str, Any] = {
        "suite_version": SUITE_VERSION, "checkpoint": model.info.get("path", ""),
        "fingerprint": model.info.get("fingerprint", ""), "seed": seed, "per_class": per_class, "hand": hand,
        "photo_queries": photo_queries, "neighbour_average": neighbours,
        "classes": list(drawable), "gallery": {"photos": len(gallery_samples), "split": "test (80-99)",
                                               "other_classes": dict(Counter(s.label for s in others))},
        "sketch_styles": {}, "photo_shifts": {}, "skipped": [],
    }
    pooled: list[tuple[np.ndarray, np.ndarray, list[str]]] = []
    for style in tqdm(styles, desc="sketch styles", disable=not progress):
        sketches = list(sketch_suite(per_class, seed, [style], drawable, hand))
        images, labels = [s.image for s in sketches], [s.label for s in sketches]
        if image_dir is not None:
            _save(images, [s.name for s in sketches], image_dir / "sketches")
        embeddings, probabilities, report["sketch_styles"][style] = score(images, labels, "sketch")
        if style in STYLES:
            pooled.append((embeddings, probabilities, labels))
    if pooled:
        report["sketch_overall"] = score_queries(np.concatenate([p[0] for p in pooled]),
                                                 np.concatenate([p[1] for p in pooled]),
                                                 [label for p in pooled for label in p[2]], classes, gallery,
                                                 gallery_labels, classifier=classifier)
        report["sketch_overall"]["styles"] = [s for s in styles if s in STYLES]
        if others:
            report["sketch_overall"]["other_classes_found"] = other_classes_found(
                np.concatenate([p[0] for p in pooled]), [label for p in pooled for label in p[2]], gallery,
                gallery_labels, set(report["gallery"]["other_classes"]), classifier)
    for name, folder in (sketch_folders or {}).items():
        images, labels, skipped = _folder_sketches(folder, classes, trained_sketches)
        report["skipped"] += skipped
        if not images:
            raise ValueError(f"no readable sketch under {folder} that the checkpoint did not train on")
        _, _, report["sketch_styles"][name] = score(images, labels, "sketch")
        report["sketch_styles"][name]["folder"] = str(folder)
    for shift in tqdm(shifts, desc="imagery shifts", disable=not progress):
        shifted = list(imagery_suite(photos_dir, classes, seed, [shift]))
        images, labels = [p.image for p in shifted], [p.source.label for p in shifted]
        if image_dir is not None:
            _save(images, [f"{shift}/{p.name}" for p in shifted], image_dir / "photos")
        _, _, report["photo_shifts"][shift] = score(images, labels, "photo", [position[p.name] for p in shifted])
    return report


def _ranked(scores: dict[str, Any]) -> str:
    """The mAP* and P@10* columns (reports written before the ranked numbers existed have none)."""
    ranked = scores.get("ranked")
    return f"{ranked['mAP']:>8.3f}{ranked['P@10']:>8.3f}" if ranked else f"{'-':>8}{'-':>8}"


def format_robustness(report: dict[str, Any]) -> str:
    """Plain-text tables of a robustness report: the suites, then class by class."""
    hand = report.get("hand", FIRST_HAND)  # reports written before the second hand have none
    gallery = f"gallery: {report['gallery']['photos']} test photos"
    others = report["gallery"].get("other_classes")  # reports written before the option have none
    if others:
        gallery += (f", {sum(others.values())} of them of {len(others)} class{'es' if len(others) > 1 else ''} "
                    f"the model does not know ({', '.join(sorted(others))})")
    if report.get("neighbour_average"):
        gallery += f"; each searched as the mean of itself and its {report['neighbour_average']} nearest others"
    lines = [f"(styles drawn by the {hand} hand; mAP*, P@10*: ranked as the app ranks, cosine plus class "
             "agreement; the rest by the cosine)", gallery,
             f"{'sketch suite':<22}{'queries':>8}{'mAP':>8}{'P@10':>8}{'top-1':>8}{'mAP*':>8}{'P@10*':>8}"]
    suites = report["sketch_styles"]
    rows = [(name, suites[name]) for name in suites if name in STYLES]
    if "sketch_overall" in report:
        rows.append((f"overall ({len(report['sketch_overall']['styles'])} styles)", report["sketch_overall"]))
    rows += [(name, suites[name]) for name in suites if name not in STYLES]
    for name, r in rows:
        label = f"{name} (reference)" if name == REFERENCE_STYLE else name
        lines.append(f"{label:<22}{r['n']:>8}{r['mAP']:>8.3f}{r['P@10']:>8.3f}{r['accuracy']:>8.3f}{_ranked(r)}")
    lines += ["", f"{'photo suite':<22}{'queries':>8}{'top-1':>8}{'P@10':>8}{'mAP':>8}{'mAP*':>8}{'P@10*':>8}"
              "   (photo -> clean photos, own original left out)"]
    for name, r in report["photo_shifts"].items():
        label = f"{name} (reference)" if name == REFERENCE_SHIFT else name
        lines.append(f"{label:<22}{r['n']:>8}{r['accuracy']:>8.3f}{r['P@10']:>8.3f}{r['mAP']:>8.3f}{_ranked(r)}")
    styles = list(report["sketch_styles"])
    if styles:
        lines += ["", "sketch -> photo AP by class (top-1 accuracy of the pooled styles in the last column)",
                  f"{'class':<17}" + "".join(f"{s[:8]:>9}" for s in styles)
                  + (f"{'overall':>9}{'top-1':>7}" if "sketch_overall" in report else "")]
        for label in report["classes"]:
            cells = [report["sketch_styles"][s]["per_class"].get(label, {}).get("AP") for s in styles]
            line = f"{label:<17}" + "".join(f"{c:>9.3f}" if c is not None else f"{'-':>9}" for c in cells)
            if "sketch_overall" in report:
                o = report["sketch_overall"]["per_class"][label]
                line += f"{o['AP']:>9.3f}{o['accuracy']:>7.2f}"
            lines.append(line)
    found = report.get("sketch_overall", {}).get("other_classes_found")
    if found:
        lines += ["", "top 10 of the pooled styles as the app ranks: share of other classes' scenes, the most found",
                  f"{'class':<17}{'share':>7}   most found"]
        for label, f in found.items():
            shown = [(name, share) for name, share in f["by_class"].items() if share >= 0.005][:3]  # 0.00 is noise
            most = ", ".join(f"{name} {share:.2f}" for name, share in shown)
            lines.append(f"{label:<17}{f['share']:>7.2f}   {most}")
    shifts = list(report["photo_shifts"])
    if shifts:
        lines += ["", "photo class accuracy by class",
                  f"{'class':<17}" + "".join(f"{s[:9]:>10}" for s in shifts)]
        for label in report["classes"]:
            cells = [report["photo_shifts"][s]["per_class"].get(label, {}).get("accuracy") for s in shifts]
            lines.append(f"{label:<17}" + "".join(f"{c:>10.2f}" if c is not None else f"{'-':>10}" for c in cells))
    for item in report.get("skipped", []):
        lines.append(f"skipped unreadable file {item}")
    return "\n".join(lines)
