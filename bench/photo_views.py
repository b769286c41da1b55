"""How to look at a query photo: one view, its 8 rotations and flips, or several ground resolutions.

Validation data only: the UC Merced validation photos (70-79 of the checkpoint's classes, never
trained on, never tested) are the clean gallery (embedded as the app's index is) and, under the
imagery shifts of the robustness suite (``crossmodal.robustness.imagery``, another seed), the
queries. For each way of embedding a query it prints top-1 class accuracy (the cosine classifier
on the query's embedding, as the app shows it) and photo -> photo P@10 with the query's own
original left out, per shift, and for ``mosaic_x0.5``, half the resolution without the mirrored
borders of the suite's zoom-out (four validation photos of the class, each at half size).
``--split test`` runs the same on the test photos (80-99), only to diagnose a checkpoint already
chosen (as the robustness suite measures it), never to choose one:

- ``one view``: the photo resized whole (the app's photo queries before they were embedded as the gallery);
- ``8 views``: the mean of its 8 rotations and flips (as the gallery, and now the app's queries);
- ``3 scales, mean``: the mean of the 8-view embeddings of the photo, the photo zoomed in x2 and
  zoomed out x0.5 (the suite's own zoom operations), for imagery of unknown resolution;
- ``3 scales, surest``: of those three, the one the classifier is surest of;
- ``surest if p < g``: the photo as it is (8 views) unless the classifier's top class has a
  probability under ``g``, then the surest of the three;
- ``at est. res., t`` (checkpoints with a resolution head): 8 views of the photo seen at the
  training photos' ground resolution when the head estimates it off by more than ``t`` in log2
  (``--tolerances``; ``crossmodal.model.RESOLUTION_TOLERANCE`` is what the app uses without a gallery);
- ``at gallery res.``: as the app sees a query photo, at the ground resolution at which it looks
  most like the gallery (``crossmodal.resolution``; the query's own original left out of that choice);
- ``at known res.``: the photo seen at the ground resolution the shift gave it (1 clean and in
  other colours, 0.5 zoomed out and in the mosaic, 2 zoomed in): what a perfect estimate of each
  query's resolution would give this model, the bound of the app's choice;

and the model time of one query photo, one view against 8. With ``--other-classes`` the photos of
the folder's other classes in the same split (UC Merced: the 7 outside the model's 14) join the
gallery, never a right answer, as in a user's own imagery. ``--neighbour-average K`` searches each
gallery photo as the mean of its embedding and its K nearest other photos'
(``crossmodal.ranking.neighbour_average``; no labels used), each query against the gallery averaged
without its own original (``neighbour_averages_without``), which must not reach its ranking through
its neighbours' means either.

Usage::

    python bench/photo_views.py --checkpoint checkpoints/ucm14.pt [--photos DATA/ucmerced] [--seed 1] \
        [--tolerances 0.2 0.3] [--split test] [--other-classes] [--neighbour-average K]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scene as scene_bench  # noqa: E402  (bench/scene.py: where the shared data is)

from crossmodal import load_checkpoint  # noqa: E402
from crossmodal.data import load_image, other_class_photos, photo_split, scan_folder  # noqa: E402
from crossmodal.metrics import retrieval_metrics  # noqa: E402
import crossmodal.model  # noqa: E402
from crossmodal.model import RESOLUTION_TOLERANCE, dihedral_views  # noqa: E402
from crossmodal.ranking import class_probabilities, neighbour_averages_without  # noqa: E402
from crossmodal.resolution import candidate_views, embed_at_gallery_resolution, encode_candidates  # noqa: E402
from crossmodal.robustness.imagery import shift_photo  # noqa: E402

SHIFTS = ("clean", "zoom_out_x0.5", "zoom_in_x2", "colour", "mosaic_x0.5")
MOSAIC = "mosaic_x0.5"  # half the resolution without mirrored borders: four photos of the class, each at half size
SPLITS = {"val": "validation photos (70-79)", "test": "test photos (80-99)"}
KNOWN_RESOLUTION = {"clean": 1.0, "zoom_out_x0.5": 0.5, "zoom_in_x2": 2.0, "colour": 1.0, MOSAIC: 0.5}
SCALES = ("clean", "zoom_in_x2", "zoom_out_x0.5")  # the photo as it is, zoomed in, zoomed out
GATES = (0.5, 0.7, 0.9)  # class probabilities under which the other resolutions are looked at


def class_mosaic(photos: list, labels: np.ndarray, i: int):
    """Photo ``i`` and the next three of its class (in order, round), each at half size, in a 2 x 2 mosaic.

    A view at half the ground resolution with no mirror images in it: the mirrored borders of
    ``zoom_out_x0.5`` (and of the training augmentation) are a cue that real coarser imagery lacks.
    """
    same = np.flatnonzero(labels == labels[i])
    start = int(np.flatnonzero(same == i)[0])
    tiles = [photos[same[(start + k) % len(same)]] for k in range(4)]
    w, h = tiles[0].size
    mosaic = Image.new("RGB", (w, h))
    for k, tile in enumerate(tiles):
        mosaic.paste(tile.resize((w // 2, h // 2), Image.Resampling.BOX), ((k % 2) * (w // 2), (k // 2) * (h // 2)))
    return mosaic


@contextlib.contextmanager
def resolution_tolerance(log2: float):
    """The app's tolerance for a query photo's estimated resolution, set to ``log2`` for a while."""
    saved = crossmodal.model.RESOLUTION_TOLERANCE
    crossmodal.model.RESOLUTION_TOLERANCE = log2
    try:
        yield
    finally:
        crossmodal.model.RESOLUTION_TOLERANCE = saved


def score(embeddings: np.ndarray, labels: np.ndarray, gallery: np.ndarray, gallery_labels: np.ndarray,
          classifier: np.ndarray) -> tuple[float, float]:
    """(top-1 accuracy, P@10 against the gallery with each query's own original left out).

    ``gallery``: (m, d), or (n, m, d) a gallery for each query.
    """
    embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    accuracy = float((class_probabilities(embeddings, classifier).argmax(1) == labels).mean())
    # query i is a shifted copy of gallery photo i
    metrics = retrieval_metrics(embeddings, labels.tolist(), gallery, gallery_labels.tolist(),
                                exclude=list(range(len(labels))))
    return accuracy, metrics["P@10"]


@torch.no_grad()
def model_ms(model, x: torch.Tensor, repeats: int = 40) -> float:
    """Median milliseconds of one forward pass of the photo branch over ``x``, on one torch thread as the app."""
    torch.set_num_threads(1)
    times = []
    for _ in range(repeats + 3):
        started = time.perf_counter()
        model.encode(x, "photo")
        times.append((time.perf_counter() - started) * 1000.0)
    return float(np.median(times[3:]))


def main(argv: list[str] | None = None) -> int:
    """Embed the validation (or test) photos every way, print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "ucm14.pt")
    parser.add_argument("--photos", type=Path, default=scene_bench.default_data() / "ucmerced")
    parser.add_argument("--seed", type=int, default=1, help="seed of the shifts (the robustness suite uses 0)")
    parser.add_argument("--tolerances", type=float, nargs="+", default=[RESOLUTION_TOLERANCE], metavar="LOG2",
                        help="with a resolution head: the tolerances to try (default: the app's, %(default)s)")
    parser.add_argument("--split", choices=tuple(SPLITS), default="val",
                        help="val: photos 70-79 (to choose); test: photos 80-99 (to diagnose a chosen checkpoint)")
    scene_bench.add_gallery_options(parser)
    args = parser.parse_args(argv)

    model = load_checkpoint(args.checkpoint)
    classes = list(model.class_names)
    samples = [s for s in scan_folder(args.photos, tuple(classes)) if photo_split(s.path) == args.split]
    photos = [load_image(s.path) for s in samples]
    labels = np.array([classes.index(s.label) for s in samples])
    # the other classes' photos come after the queries' originals: query i's own original stays photo i
    others = (other_class_photos(args.photos, classes, args.split, args.other_classes)
              if args.other_classes is not None else [])
    gallery = model.embed(photos + [load_image(s.path) for s in others], "photo")
    if args.neighbour_average:  # a gallery for each query: query i is a shifted copy of photo i
        gallery = neighbour_averages_without(gallery, args.neighbour_average, range(len(photos)))
    gallery_labels = np.concatenate([labels, np.full(len(others), -1)])  # -1: no class of the model's
    classifier = model.classifier_weights()
    rng = np.random.default_rng(args.seed)
    print(f"{args.checkpoint.name}: {len(samples)} {SPLITS[args.split]}, shifts of seed {args.seed}"
          + (f"; {len(others)} more in the gallery, of other classes" if others else ""))
    print("top-1 accuracy / P@10".ljust(20) + "".join(s.rjust(16) for s in SHIFTS))
    rows: dict[str, list[str]] = {}
    for shift in SHIFTS:
        queries = ([class_mosaic(photos, labels, i) for i in range(len(photos))] if shift == MOSAIC
                   else [shift_photo(p, shift, rng) for p in photos])
        one = model.embed(queries, "photo", tta=False)
        scales = np.stack([model.embed([shift_photo(q, s, rng) for q in queries], "photo") for s in SCALES])
        sureness = class_probabilities(scales.reshape(-1, scales.shape[-1]), classifier).max(1).reshape(len(SCALES), -1)
        pick = sureness.argmax(0)
        ways = {"one view": one, "8 views": scales[0], "3 scales, mean": scales.mean(0),
                "3 scales, surest": scales[pick, np.arange(len(queries))]}
        for gate in GATES:  # the photo as it is, unless the classifier is unsure of it
            chosen = np.where(sureness[0] >= gate, 0, pick)
            ways[f"surest if p < {gate}"] = scales[chosen, np.arange(len(queries))]
        for tolerance in args.tolerances if model.config.resolution_head else ():  # as the app sees a query photo
            with resolution_tolerance(tolerance):
                ways[f"at est. res., {tolerance}"] = model.embed(queries, "photo", at_training_resolution=True)
        # as the app sees a query photo: at the resolution at which it looks most like the gallery
        ways["at gallery res."], _ = embed_at_gallery_resolution(model, queries, gallery, range(len(queries)))
        views = torch.cat([candidate_views(q, model.config.image_size, (KNOWN_RESOLUTION[shift],)) for q in queries])
        ways["at known res."] = encode_candidates(model, views)[1].cpu().numpy()
        for name, embeddings in ways.items():
            rows.setdefault(name, []).append("%.3f / %.3f" % score(embeddings, labels, gallery, gallery_labels,
                                                                   classifier))
    for name, cells in rows.items():
        print(name.ljust(20) + "".join(c.rjust(16) for c in cells))
    x = model.preprocess(photos[:1], "photo")
    print(f"model time a query (one torch thread): one view {model_ms(model, x):.1f} ms, "
          f"8 views {model_ms(model, dihedral_views(x)):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
