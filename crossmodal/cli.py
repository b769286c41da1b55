"""Command line: ``python -m crossmodal {pretrain,train,average,evaluate,robustness,index,search,synth,download}``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import (AUGMENTS, CONTRASTIVE_SPACES, DEFAULT_N_TREES, DEFAULT_NEIGHBOURS, MIN_AVERAGED_ITEMS,
                     MODALITIES, PRECISIONS, SHARD_FROM_ITEMS, VIEW_COUNTS, ModelConfig, TrainConfig)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """The options that shape the model a command trains: classes, input size, widths, how it takes a drawing."""
    p.add_argument("--classes", nargs="+", help="the model's classes (default: the 14 Earth on Canvas classes)")
    p.add_argument("--image-size", type=int, default=ModelConfig.image_size,
                   help="side of the square network input (default %(default)s); train --init may start from a "
                        "checkpoint of another size")
    p.add_argument("--widths", type=int, nargs=4, default=ModelConfig.widths, metavar="W",
                   help="stage widths of the narrow ResNet (default %(default)s; halving them quarters the size)")
    p.add_argument("--photo-widths", type=int, nargs=4, metavar="W",
                   help="the photo branch's own stage widths (default: --widths for both branches)")
    p.add_argument("--sketch-input", default=ModelConfig.sketch_input, choices=("skeleton", "legacy"),
                   help="sketch normalisation: legacy (resize) or skeleton (crop to the drawing, one pen width)")
    p.add_argument("--sketch-views", type=int, default=ModelConfig.sketch_views, choices=VIEW_COUNTS,
                   help="views a drawing is embedded as once trained, by the app, search and the benches: 1 as "
                        "drawn, 2 with its mirror image, 8 its rotations and flips (default %(default)s)")


def _add_compute_options(p: argparse.ArgumentParser) -> None:
    """Where and how a training command computes: precision, CPU threads, device."""
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="bf16: the forward pass in bfloat16 (autocast) on channels-last images, the weights float32: "
                        "an epoch about a third shorter on CPUs with AVX-512 BF16 or AMX, many times longer on "
                        "others; auto (default): bf16 where the device has it natively, else fp32")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--device", default="cpu", help="where to train: cpu (default) or cuda")


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on photos and sketches and write a checkpoint")
    p.add_argument("--photos", required=True, help="folder of <class>/<photo> (UC Merced layout)")
    p.add_argument("--sketches", help="folder of <class>/<sketch>; held-out folds are never trained on")
    p.add_argument("--out", required=True, help="checkpoint file to write (NAME.pt)")
    _add_model_options(p)
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--backbone", default=ModelConfig.backbone)
    p.add_argument("--pretrained", action="store_true", help="ImageNet weights for the photo branch (torchvision)")
    p.add_argument("--branch-epochs", type=int, default=0, help="first stage with branch losses only (two-stage)")
    p.add_argument("--holdout-fold", type=int, default=TrainConfig.holdout_fold,
                   help="fold of real sketches never trained on (evaluation uses it)")
    p.add_argument("--pseudo-style", default=TrainConfig.pseudo_style, choices=("contours", "canny"))
    p.add_argument("--real-sketch-prob", type=float, default=TrainConfig.real_sketch_prob)
    p.add_argument("--real-sketches-full", type=int, default=TrainConfig.real_sketches_full, metavar="N",
                   help="a class with n < N real training sketches draws them n/N as often (default %(default)s)")
    p.add_argument("--no-real-sketches", action="store_true", help="train on pseudo-sketches alone")
    p.add_argument("--synthetic-sketches", type=int, default=0, metavar="N",
                   help="add N procedural sketches per class (the demo world's renderer)")
    p.add_argument("--synthetic-prob", type=float, default=TrainConfig.synthetic_prob)
    p.add_argument("--varied-layouts", action="store_true",
                   help="the procedural sketches also draw each class's other layouts (harbors of boats moored "
                        "along piers as well as in finger slips, overpasses of curved ramps)")
    p.add_argument("--augment", default=TrainConfig.augment, choices=AUGMENTS,
                   help="v1: plain augmentation; robust: sketches restyled (close-up, pen, scan, pencil), photos "
                        "at other resolutions, colours, haze, blur, JPEG; sensors: robust, with photos at any "
                        "ground resolution from x0.5 to x2 and another white balance")
    p.add_argument("--photo-augment", default=TrainConfig.photo_augment, choices=AUGMENTS,
                   help="the photos' augmentation, when it differs from --augment's (e.g. --augment v1 "
                        "--photo-augment sensors: plain sketches, photos at any ground resolution)")
    p.add_argument("--restyle-prob", type=float, default=TrainConfig.restyle_prob,
                   help="with --augment robust or sensors: chance that a training sketch is redrawn in another style")
    p.add_argument("--simplify", type=float, default=TrainConfig.simplify_prob, metavar="P",
                   help="with --augment robust or sensors: chance that a training sketch first loses 30-80 %% of its "
                        "details (small separate parts: cars, boats, trees, homes), as a hastier hand draws")
    p.add_argument("--chips", type=float, default=TrainConfig.chip_prob, metavar="P",
                   help="with --augment sensors: chance that a photo view finer than the photo is instead a smaller "
                        "chip at the photo's own resolution, its frame completed by mirroring (how the app shows "
                        "a finer query photo)")
    p.add_argument("--finest", type=float, default=TrainConfig.finest, metavar="FACTOR",
                   help="with --augment sensors: the finest ground resolution photos are seen at, as a factor of "
                        "their own (log-uniform from x0.5 to this; above 2 the app's x2 queries are no longer "
                        "the edge of what training shows)")
    p.add_argument("--consistency", type=float, default=TrainConfig.w_consistency, metavar="WEIGHT",
                   help="weight of the agreement of the class beliefs on two augmented views of each training "
                        "input (Jensen-Shannon; 0 = off; each step then runs those branches twice)")
    p.add_argument("--consistency-on", nargs="+", choices=MODALITIES,
                   default=list(TrainConfig.consistency_on), help="which inputs get the second view")
    p.add_argument("--contrastive", type=float, default=TrainConfig.w_contrastive, metavar="WEIGHT",
                   help="weight of a self-supervised term on the photos of the folder's other classes, unlabelled: "
                        "two augmented views of each must find each other among the step's views (NT-Xent; 0 = off)")
    p.add_argument("--contrastive-on", default=TrainConfig.contrastive_on, choices=CONTRASTIVE_SPACES,
                   help="where --contrastive's views must find each other: V, the shared space, or Z, the photo "
                        "branch's pooled features")
    p.add_argument("--outlier-exposure", type=float, default=TrainConfig.w_outlier, metavar="WEIGHT",
                   help="weight of a term that pushes the class beliefs on photos of the folder's other classes "
                        "(scenes of no class of the model's) towards uniform, so that no drawing finds them "
                        "(0 = off)")
    p.add_argument("--outlier-classes", nargs="+", default=list(TrainConfig.outlier_classes), metavar="CLASS",
                   help="only these of the folder's other classes are --outlier-exposure's (or --contrastive's) "
                        "photos (default: all), so that the rest can measure scenes never seen")
    p.add_argument("--label-smoothing", type=float, default=TrainConfig.label_smoothing, metavar="S",
                   help="the class terms' targets give the class 1 - S and spread S over all classes, so that "
                        "the model is less sure of what it has seen (0 = off)")
    p.add_argument("--unlabelled-batch", type=int, default=TrainConfig.unlabelled_batch, metavar="N",
                   help="unlabelled photos a step with --contrastive (two views each) or --outlier-exposure (one)")
    p.add_argument("--resolution-head", type=float, default=TrainConfig.w_resolution, metavar="WEIGHT",
                   help="add a head that estimates a photo's ground resolution, learnt from --augment sensors' "
                        "zooms with this loss weight; queries are then seen at the training photos' resolution "
                        "(0 = no head)")
    p.add_argument("--average-last", type=int, default=TrainConfig.average_last, metavar="N",
                   help="keep the mean of the weights after each of the last N epochs instead of the last "
                        "epoch's (SWA; 0 = off)")
    p.add_argument("--no-attention", action="store_true", help="average pooling instead of attention (ablation)")
    p.add_argument("--no-orthogonality", action="store_true", help="drop the soft orthogonality term (ablation)")
    p.add_argument("--no-decoders", action="store_true", help="drop the cross-domain decoders L5 (ablation)")
    p.add_argument("--no-cross-attention", action="store_true", help="drop training cross-attention (ablation)")
    p.add_argument("--share-backbone", action="store_true", help="one backbone for both modalities")
    p.add_argument("--no-resume", action="store_true", help="start over even if a saved state exists")
    p.add_argument("--init", metavar="CHECKPOINT", default="",
                   help="start from this checkpoint's weights (fine-tuning; same architecture and classes)")
    _add_compute_options(p)
    p.add_argument("--workers", type=int, default=0, help="DataLoader processes that prepare augmented pairs")
    p.add_argument("--cache-dir", help="where pseudo-sketches are cached (default ~/.cache/crossmodal)")


def _run_train(args: argparse.Namespace) -> int:
    from .train import DEFAULT_CACHE, train

    model_config = ModelConfig(image_size=args.image_size, backbone=args.backbone, pretrained=args.pretrained,
                               widths=tuple(args.widths), photo_widths=tuple(args.photo_widths or ()),
                               sketch_input=args.sketch_input, sketch_views=args.sketch_views,
                               attention=not args.no_attention, decoders=not args.no_decoders,
                               cross_attention=not args.no_cross_attention, share_backbone=args.share_backbone,
                               resolution_head=args.resolution_head > 0)
    train_config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        branch_epochs=args.branch_epochs, holdout_fold=args.holdout_fold, pseudo_style=args.pseudo_style,
        real_sketches=not args.no_real_sketches, real_sketch_prob=args.real_sketch_prob,
        real_sketches_full=args.real_sketches_full,
        synthetic_sketches=args.synthetic_sketches, synthetic_prob=args.synthetic_prob,
        varied_layouts=args.varied_layouts,
        restyle_prob=args.restyle_prob, simplify_prob=args.simplify,
        augment=args.augment, photo_augment=args.photo_augment,
        chip_prob=args.chips, finest=args.finest, w_consistency=args.consistency,
        consistency_on=tuple(args.consistency_on), w_contrastive=args.contrastive,
        unlabelled_batch=args.unlabelled_batch, contrastive_on=args.contrastive_on, average_last=args.average_last,
        w_outlier=args.outlier_exposure, outlier_classes=tuple(args.outlier_classes),
        label_smoothing=args.label_smoothing,
        w_resolution=args.resolution_head,
        precision=args.precision,
        w_orthogonality=0.0 if args.no_orthogonality else TrainConfig.w_orthogonality,
        w_decoder=0.0 if args.no_decoders else TrainConfig.w_decoder,
        classes=tuple(args.classes) if args.classes else (), init_checkpoint=args.init)
    meta = train(args.photos, args.sketches, args.out, model_config, train_config, resume=not args.no_resume,
                 cache_dir=args.cache_dir or DEFAULT_CACHE, threads=args.threads, device=args.device,
                 workers=args.workers)
    print(f"wrote {args.out} ({meta['training_seconds'] / 60:.1f} min of training; "
          f"{len(meta['train_sketches'])} real sketches trained on, {len(meta['heldout_sketches'])} held out)")
    return 0


def _add_pretrain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="pretrain the photo branch without labels (two views of each photo must "
                                        "find each other) into a checkpoint that train --init starts from")
    p.add_argument("--photos", required=True, help="folder of <class>/<photo>: every class's photos with training "
                                                   "numbers are read, labels never")
    p.add_argument("--out", required=True, help="checkpoint file to write (NAME.pt)")
    _add_model_options(p)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64, help="photos a step, two views each (default %(default)s)")
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--temperature", type=float, default=0.2, help="NT-Xent temperature (default %(default)s)")
    _add_compute_options(p)


def _run_pretrain(args: argparse.Namespace) -> int:
    from .selfsupervised import pretrain_photo_branch

    model_config = ModelConfig(image_size=args.image_size, widths=tuple(args.widths),
                               photo_widths=tuple(args.photo_widths or ()), sketch_input=args.sketch_input,
                               sketch_views=args.sketch_views)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         precision=args.precision, classes=tuple(args.classes) if args.classes else ())
    meta = pretrain_photo_branch(args.photos, args.out, model_config, config, args.temperature,
                                 threads=args.threads, device=args.device)
    print(f"wrote {args.out} ({meta['training_seconds'] / 60:.1f} min; {len(meta['unlabelled_photos'])} photos "
          f"without labels; validation photos' neighbour accuracy {meta['validation']['neighbour_accuracy']:.3f})")
    return 0


def _add_average(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("average", help="average the weights of reruns of one fine-tuning (other seeds) into one "
                                       "checkpoint")
    p.add_argument("checkpoints", nargs="+", help="two or more checkpoints: one train command with --init, "
                                                  "run with different --seed")
    p.add_argument("--out", required=True, help="checkpoint to write")


def _run_average(args: argparse.Namespace) -> int:
    from .checkpoint import average_checkpoints

    meta = average_checkpoints(args.checkpoints, args.out)
    print(f"wrote {args.out}: the mean of {len(meta['averaged'])} runs (seeds "
          f"{', '.join(str(run['seed']) for run in meta['averaged'])}; {meta['training_seconds'] / 60:.1f} min of "
          f"training in all)")
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="mAP / P@10 / class-wise P@50 in both directions")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--photos", required=True)
    p.add_argument("--sketches", required=True)
    p.add_argument("--split", default="test", choices=("test", "all"), help="gallery photos: test = numbers 80-99")
    p.add_argument("--json", help="write the report as JSON to this file")
    p.add_argument("--no-photo-tta", action="store_true", help="embed photos once, not as the mean of 8 views")
    p.add_argument("--sketch-tta", action="store_true", help="embed sketches as the mean of 8 views too (default: "
                                                             "the checkpoint's own, as the app embeds a drawing)")
    p.add_argument("--neighbour-average", type=int, default=DEFAULT_NEIGHBOURS, metavar="K",
                   help="ranked as the app ranks: each gallery photo searched as the mean of itself and its K "
                   "nearest others, as the app's index does (default %(default)s; 0: as it is)")


def _run_evaluate(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .evaluate import evaluate_model, format_report

    report = evaluate_model(load_checkpoint(args.checkpoint), args.photos, args.sketches, args.split,
                            photo_tta=not args.no_photo_tta, sketch_tta=True if args.sketch_tta else None,
                            neighbours=args.neighbour_average)
    print(format_report(report))
    _write_json(args.json, report)
    return 0


def _write_json(path: str | None, report: dict) -> None:
    """Write a report as JSON when a path was given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(report, indent=2))


def _add_robustness(sub: argparse._SubParsersAction) -> None:
    from .robustness import FIRST_HAND, HANDS, REFERENCE_SHIFT, REFERENCE_STYLE, SHIFTS, STYLES

    p = sub.add_parser("robustness", help="score a checkpoint on sketches in other drawing styles and on shifted "
                       "photos (suites never trained on)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--photos", required=True, help="UC Merced folder: its test photos (80-99) are the gallery and "
                   "the imagery suite's sources")
    p.add_argument("--json", help="write the report as JSON to this file")
    p.add_argument("--per-class", type=int, default=10, help="generated sketches of each class in each style")
    p.add_argument("--seed", type=int, default=0, help="the same seed draws the same sketches and photo shifts")
    p.add_argument("--styles", nargs="*", default=[*STYLES, REFERENCE_STYLE], choices=[*STYLES, REFERENCE_STYLE],
                   metavar="STYLE", help="sketch styles; none when given no name (default: all: %(default)s)")
    p.add_argument("--hand", choices=HANDS, default=FIRST_HAND,
                   help="whose drawings of the classes the styles draw: the first hand's, which chose the recipes, "
                   "or the second's, written apart from it and from the training renderers (default: %(default)s)")
    p.add_argument("--shifts", nargs="*", default=[REFERENCE_SHIFT, *SHIFTS], choices=[REFERENCE_SHIFT, *SHIFTS],
                   metavar="SHIFT", help="imagery shifts; none when given no name (default: all: %(default)s)")
    p.add_argument("--sketches", action="append", default=[], metavar="NAME=DIR",
                   help="also score a folder of <class>/<sketch> files as suite NAME, e.g. eoc=DIR or canvas=DIR "
                   "(files the checkpoint trained on are left out); repeatable")
    p.add_argument("--save-images", metavar="DIR", help="also write every image scored, as PNG, under DIR")
    p.add_argument("--photo-queries", choices=("gallery", "head"), default="gallery",
                   help="query photos seen at the resolution at which they look most like the gallery, as the app "
                   "sees them (default), or at the training resolution when the resolution head finds them off")
    p.add_argument("--other-classes", nargs="*", metavar="CLASS",
                   help="also put the test photos of the folder's other classes in the gallery (UC Merced: the 7 "
                   "classes outside the model's 14), never a right answer: a gallery like a user's own imagery; "
                   "with names, those classes' only (e.g. the ones a model's --outlier-classes left out)")
    p.add_argument("--neighbour-average", type=int, default=DEFAULT_NEIGHBOURS, metavar="K",
                   help="search each gallery photo as the mean of its embedding and its K nearest other gallery "
                   "photos', as the app's index does (default %(default)s; 0: as it is)")
    p.add_argument("--threads", type=int, help="torch CPU threads")


def _other_classes(names: list[str] | None) -> bool | tuple[str, ...]:
    """``--other-classes``: absent (False), given alone (True: all of them), or with the classes' names."""
    return False if names is None else tuple(names) or True


def _run_robustness(args: argparse.Namespace) -> int:
    folders = {}
    for item in args.sketches:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise ValueError(f"--sketches takes NAME=DIR, not {item!r}")
        folders[name] = folder
    if args.per_class < 1:
        raise ValueError(f"--per-class must be at least 1, not {args.per_class}")
    import torch

    from .checkpoint import load_checkpoint
    from .robustness.evaluation import evaluate_robustness, format_robustness

    if args.threads:
        torch.set_num_threads(args.threads)
    report = evaluate_robustness(load_checkpoint(args.checkpoint), args.photos, args.per_class, args.seed,
                                 args.styles, args.shifts, folders, args.save_images, progress=sys.stderr.isatty(),
                                 photo_queries=args.photo_queries, hand=args.hand,
                                 other_classes=_other_classes(args.other_classes), neighbours=args.neighbour_average)
    print(format_robustness(report))
    _write_json(args.json, report)
    return 0


def _add_index(sub: argparse._SubParsersAction) -> None:
    from .scenes import DEFAULT_CHIP, DEFAULT_STRIDE, TRAINING_GSD

    p = sub.add_parser("index", help="embed a folder of images and/or large scenes into an Annoy index (atomically); "
                       "run again, it embeds only new or changed files")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--images", help="folder of images at any depth; folders named after the checkpoint's classes "
                   "label what is under them, everything else is indexed unlabelled")
    p.add_argument("--scene", nargs="+", action="extend", default=[], metavar="FILE",
                   help="large GeoTIFF (or PNG/JPEG with --gsd) cut into chips at the model's resolution; repeatable")
    p.add_argument("--gsd", type=float, metavar="METRES",
                   help="ground resolution of the scenes in metres a pixel (overrides their georeferencing; "
                   "needed for plain PNG/JPEG)")
    p.add_argument("--chip", type=int, default=DEFAULT_CHIP, metavar="PX",
                   help=f"chip side in pixels at the model's {TRAINING_GSD} m a pixel (default %(default)s = "
                   f"{DEFAULT_CHIP * TRAINING_GSD:.0f} m)")
    p.add_argument("--stride", type=int, default=DEFAULT_STRIDE, metavar="PX",
                   help="chip spacing in pixels at the model's resolution (default %(default)s)")
    p.add_argument("--modality", default="photo", choices=MODALITIES, help="what the images are")
    p.add_argument("--out", required=True, help="index directory to write; an index there is updated")
    p.add_argument("--rebuild", action="store_true", help="embed everything again instead of updating")
    p.add_argument("--no-tta", action="store_true",
                   help="embed each photo once, not as the mean of its 8 rotations and flips (8x faster)")
    p.add_argument("--n-trees", type=int, default=DEFAULT_N_TREES, help="Annoy trees: recall vs build time and size")
    p.add_argument("--shards", type=int, help="forests over equal id ranges, searched side by side on threads "
                   f"(default: 2 from {SHARD_FROM_ITEMS:,} items up, else 1)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--neighbour-average", type=int, metavar="K",
                   help=f"search each whole image as the mean of its embedding and its K nearest other images' "
                   f"(0: as it is; default {DEFAULT_NEIGHBOURS} for a photo gallery of {MIN_AVERAGED_ITEMS} photos "
                   f"or more, else 0; scene chips never)")


def _run_index(args: argparse.Namespace) -> int:
    import time

    from .checkpoint import load_checkpoint
    from .gallery import build_index

    if args.images is None and not args.scene:
        raise ValueError("give --images DIR, --scene FILE, or both")
    start = time.perf_counter()
    model = load_checkpoint(args.checkpoint)
    index, report = build_index(model, args.out, images=args.images, scenes=args.scene, modality=args.modality,
                                gsd=args.gsd, chip=args.chip, stride=args.stride, n_trees=args.n_trees,
                                n_shards=args.shards, batch_size=args.batch_size,
                                tta=False if args.no_tta else None, rebuild=args.rebuild,
                                progress=True, neighbours=args.neighbour_average)
    if report.rebuilt_because:
        print(f"embedded everything again: the index in {args.out} could not be reused ({report.rebuilt_because})")
    for line in report.skipped.lines():
        print(f"skipped {line}")
    for line in report.chips_skipped.lines():
        print(f"skipped chips: {line}")
    size = sum(f.stat().st_size for f in Path(args.out).iterdir())
    print(f"wrote {args.out}: {len(index)} {args.modality} items from {report.sources} files "
          f"({report.embedded} embedded, {report.reused} reused, {report.removed} removed files dropped; "
          f"{report.labelled} labelled by class folders, {len(index) - report.labelled} unlabelled), "
          f"{index.n_trees} trees" + (f" in each of {len(index.shards)} shards" if len(index.shards) > 1 else "")
          + f", {size / 2 ** 20:.1f} MiB, {time.perf_counter() - start:.1f} s")
    if index.neighbours:
        print(f"{report.averaged} images are searched as the mean of themselves and their {index.neighbours} "
              f"nearest others")
    elif report.not_averaged_because:
        print(f"images are searched as they are: {report.not_averaged_because}")
    return 0


def _add_search(sub: argparse._SubParsersAction) -> None:
    from .footprints import DEFAULT_NMS_IOU

    p = sub.add_parser("search", help="the gallery items of an index nearest to one query image")
    p.add_argument("--index", required=True, help="index directory written by `index`")
    p.add_argument("--checkpoint", required=True, help="the checkpoint the index was built with")
    p.add_argument("--query", required=True, help="query image file")
    p.add_argument("--modality", required=True, choices=("sketch", "photo"), help="what the query is")
    p.add_argument("-k", type=int, default=10, help="number of results")
    p.add_argument("--exact", action="store_true", help="brute force over the stored embeddings instead of Annoy")
    p.add_argument("--search-k", type=int, help="Annoy candidates per query, over all shards (default: 5,000 a shard)")
    p.add_argument("--rerank", type=int, default=1, help="re-rank k * RERANK Annoy candidates exactly")
    p.add_argument("--cosine", action="store_true",
                   help="rank by the cosine of the embeddings alone (default: plus the model's class agreement)")
    p.add_argument("--nms-iou", type=float, default=DEFAULT_NMS_IOU,
                   help="scene chips overlapping a better hit by more than this IoU are merged into it "
                   "(default %(default)s; 1 keeps every chip)")
    p.add_argument("--json", action="store_true",
                   help="print {results: [{rank, id, class, score, similarity, url, ...}], latency_ms} as JSON, "
                        "as the app's API answers (id: the file inside the indexed folder, or scene.tif:col,row for a "
                        "chip; url: "
                        "a file:// URL; scene chips add footprint and centre in lon/lat; latency of the index "
                        "lookup, not the embedding)")
    p.add_argument("--geojson", metavar="OUT", help="write the results' footprints as a GeoJSON FeatureCollection")


def _run_search(args: argparse.Namespace) -> int:
    import time

    from .checkpoint import load_checkpoint
    from .footprints import write_geojson
    from .gallery import search_gallery
    from .index import EmbeddingIndex, IndexMismatchError
    from .retrieval import encode_query

    model = load_checkpoint(args.checkpoint)
    index = EmbeddingIndex.load(args.index, fingerprint=model.info["fingerprint"])
    if index.dim != model.config.embed_dim:
        raise IndexMismatchError(f"index {args.index} has {index.dim}-d embeddings, the checkpoint makes "
                                 f"{model.config.embed_dim}-d ones: rebuild it with `python -m crossmodal index`")
    if args.k < 1:
        raise ValueError(f"-k must be at least 1, not {args.k}")
    start = time.perf_counter()
    if args.modality == "photo" and index.modality == "photo":  # seen at the gallery's resolution, as the app does
        vector = encode_query(model, args.query, "photo", gallery=index).embedding
    else:
        vector = model.embed([args.query], args.modality, at_training_resolution=True)[0]
    embedded = time.perf_counter()
    results = search_gallery(index, vector, k=args.k, nms_iou=None if args.nms_iou >= 1 else args.nms_iou,
                             exact=args.exact, search_k=args.search_k, rerank=args.rerank,
                             classifier=None if args.cosine else model.classifier_weights())
    latency_ms = (time.perf_counter() - embedded) * 1000.0
    if args.geojson:
        written = write_geojson(results, args.geojson)
        print(f"wrote {written} footprints to {args.geojson}" if written else
              f"wrote an empty FeatureCollection to {args.geojson}: no result has a geographic footprint",
              file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps({"results": results, "latency_ms": latency_ms}))
        return 0
    print(f"{'rank':>4}  {'class':<28}{'score':>7}  {'lon, lat':<24}  item")
    for r in results:
        name = r["class"] or (f"{r['predicted_class']} (predicted)" if r.get("predicted_class") else "-")
        where = f"{r['centre'][0]:.6f}, {r['centre'][1]:.6f}" if "centre" in r else ""
        print(f"{r['rank']:>4}  {name:<28}{r['score']:>7.3f}  {where:<24}  {r['id']}")
    print(f"({'exact' if args.exact else 'annoy'} search of {len(index)} {index.modality} items: "
          f"{latency_ms:.2f} ms; embedding the query: {(embedded - start) * 1000:.0f} ms)")
    return 0


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="write the built-in demo world: synthetic aerial photos and their sketches")
    p.add_argument("--out", required=True, help="folder to write: OUT/photos/<class>/ and OUT/sketches/<class>/")
    p.add_argument("--per-class", type=int, default=60, help="scenes per class (100 gives the standard split)")
    p.add_argument("--seed", type=int, default=0, help="the same seed writes the same images")
    p.add_argument("--classes", nargs="+", help="class names (default: the 14 Earth on Canvas classes)")
    p.add_argument("--workers", type=int, help="processes to render with (default: one per CPU core)")
    p.add_argument("--varied-layouts", action="store_true",
                   help="draw each class's other layouts too (harbors of boats moored along piers, "
                        "overpasses of curved ramps)")


def _run_synth(args: argparse.Namespace) -> int:
    import time

    from .data import EOC_CLASSES
    from .synthetic import generate_world

    start = time.perf_counter()
    classes = tuple(args.classes) if args.classes else EOC_CLASSES
    photos, sketches = generate_world(args.out, args.per_class, args.seed, classes, progress=True,
                                      workers=args.workers, varied=args.varied_layouts)
    print(f"wrote {args.per_class * len(classes)} photo/sketch pairs of {len(classes)} classes to {photos} and "
          f"{sketches} in {time.perf_counter() - start:.0f} s")
    return 0


def _add_download(sub: argparse._SubParsersAction) -> None:
    from .download import DATASETS, DEFAULT_ROOT

    p = sub.add_parser("download", help="download a public dataset (ucmerced) into the layout the loaders read")
    p.add_argument("dataset", choices=sorted(DATASETS) + ["eoc"],
                   help="ucmerced: UC Merced Land Use photos; eoc: explains where the Earth on Canvas sketches are")
    p.add_argument("--to", default=str(DEFAULT_ROOT), help="data folder; the dataset goes to TO/<dataset>/<class>/")
    p.add_argument("--keep-archive", action="store_true", help="keep the zip after extracting it")
    p.add_argument("--force", action="store_true", help="download and extract again even if the folder exists")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server")


def _run_download(args: argparse.Namespace) -> int:
    from .download import EOC_INSTRUCTIONS, DownloadError, download

    if args.dataset == "eoc":
        print(EOC_INSTRUCTIONS.format(root=args.to))
        return 1
    try:
        folder = download(args.dataset, args.to, keep_archive=args.keep_archive, force=args.force,
                          timeout=args.timeout)
    except DownloadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.dataset} is in {folder}")
    return 0


# Errors that mean bad input rather than a bug: (module, class name). They are looked up only in modules
# the command has imported (one never imported cannot have raised), so the CLI itself imports no torch.
USER_ERRORS = (("checkpoint", "CheckpointError"), ("data", "DatasetNotFoundError"), ("data", "ImageLoadError"),
               ("model", "PretrainedWeightsUnavailable"))


def _user_errors() -> tuple[type[Exception], ...]:
    loaded = [getattr(sys.modules[f"{__package__}.{module}"], name) for module, name in USER_ERRORS
              if f"{__package__}.{module}" in sys.modules]
    return (ValueError, *loaded)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; building it imports no model code (``--help`` stays fast)."""
    parser = argparse.ArgumentParser(prog="python -m crossmodal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_pretrain(sub)
    _add_train(sub)
    _add_average(sub)
    _add_evaluate(sub)
    _add_robustness(sub)
    _add_index(sub)
    _add_search(sub)
    _add_synth(sub)
    _add_download(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run one command; errors print one line and return 2."""
    args = build_parser().parse_args(argv)
    runners = {"pretrain": _run_pretrain, "train": _run_train, "average": _run_average, "evaluate": _run_evaluate,
               "robustness": _run_robustness, "index": _run_index, "search": _run_search, "synth": _run_synth,
               "download": _run_download}
    try:
        return runners[args.command](args)
    except _user_errors() as err:  # evaluated only when an error arrives, after the command's imports
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
