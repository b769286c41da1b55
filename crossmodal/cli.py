"""Command line: ``python -m crossmodal {train,evaluate,index,search} ...``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import ModelConfig, TrainConfig


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on photos and sketches and write a checkpoint")
    p.add_argument("--photos", required=True, help="folder of <class>/<photo> (UC Merced layout)")
    p.add_argument("--sketches", help="folder of <class>/<sketch>; held-out folds are never trained on")
    p.add_argument("--out", required=True, help="checkpoint file to write (NAME.pt)")
    p.add_argument("--classes", nargs="+", help="class names (default: the 14 Earth on Canvas classes)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--image-size", type=int, default=ModelConfig.image_size)
    p.add_argument("--backbone", default=ModelConfig.backbone)
    p.add_argument("--pretrained", action="store_true", help="ImageNet weights for the photo branch (torchvision)")
    p.add_argument("--branch-epochs", type=int, default=0, help="first stage with branch losses only (two-stage)")
    p.add_argument("--holdout-fold", type=int, default=TrainConfig.holdout_fold,
                   help="fold of real sketches never trained on (evaluation uses it)")
    p.add_argument("--pseudo-style", default=TrainConfig.pseudo_style, choices=("contours", "canny"))
    p.add_argument("--real-sketch-prob", type=float, default=TrainConfig.real_sketch_prob)
    p.add_argument("--no-real-sketches", action="store_true", help="train on pseudo-sketches alone")
    p.add_argument("--no-attention", action="store_true", help="average pooling instead of attention (ablation)")
    p.add_argument("--no-orthogonality", action="store_true", help="drop the soft orthogonality term (ablation)")
    p.add_argument("--no-decoders", action="store_true", help="drop the cross-domain decoders L5 (ablation)")
    p.add_argument("--no-cross-attention", action="store_true", help="drop training cross-attention (ablation)")
    p.add_argument("--share-backbone", action="store_true", help="one backbone for both modalities")
    p.add_argument("--no-resume", action="store_true", help="start over even if a saved state exists")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--cache-dir", help="where pseudo-sketches are cached (default ~/.cache/crossmodal)")


def _run_train(args: argparse.Namespace) -> int:
    from .train import DEFAULT_CACHE, train

    model_config = ModelConfig(image_size=args.image_size, backbone=args.backbone, pretrained=args.pretrained,
                               attention=not args.no_attention, decoders=not args.no_decoders,
                               cross_attention=not args.no_cross_attention, share_backbone=args.share_backbone)
    train_config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        branch_epochs=args.branch_epochs, holdout_fold=args.holdout_fold, pseudo_style=args.pseudo_style,
        real_sketches=not args.no_real_sketches, real_sketch_prob=args.real_sketch_prob,
        w_orthogonality=0.0 if args.no_orthogonality else TrainConfig.w_orthogonality,
        w_decoder=0.0 if args.no_decoders else TrainConfig.w_decoder,
        classes=tuple(args.classes) if args.classes else ())
    meta = train(args.photos, args.sketches, args.out, model_config, train_config, resume=not args.no_resume,
                 cache_dir=args.cache_dir or DEFAULT_CACHE, threads=args.threads)
    print(f"wrote {args.out} ({meta['training_seconds'] / 60:.1f} min of training; "
          f"{len(meta['train_sketches'])} real sketches trained on, {len(meta['heldout_sketches'])} held out)")
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="mAP / P@10 / class-wise P@50 in both directions")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--photos", required=True)
    p.add_argument("--sketches", required=True)
    p.add_argument("--split", default="test", choices=("test", "all"), help="gallery photos: test = numbers 80-99")
    p.add_argument("--json", help="write the report as JSON to this file")


def _run_evaluate(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .evaluate import evaluate_model, format_report

    report = evaluate_model(load_checkpoint(args.checkpoint), args.photos, args.sketches, args.split)
    print(format_report(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run one command; errors print one line and return 2."""
    from .checkpoint import CheckpointError
    from .data import DatasetNotFoundError, ImageLoadError
    from .model import PretrainedWeightsUnavailable

    parser = argparse.ArgumentParser(prog="python -m crossmodal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_evaluate(sub)
    args = parser.parse_args(argv)
    runners = {"train": _run_train, "evaluate": _run_evaluate}
    try:
        return runners[args.command](args)
    except (CheckpointError, DatasetNotFoundError, ImageLoadError, PretrainedWeightsUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
