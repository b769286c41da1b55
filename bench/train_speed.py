"""How long the committed recipe's three training steps take on this machine today, in two minutes.

The training budget (docs/results.md, "Training the committed checkpoint") is a number of
minutes on a 2-core CPU, but the same kind of machine has run the same epochs at very different
speeds on different days. This bench times a few batches of each step as ``crossmodal train``
runs them (same data, options, model, loss and optimiser step, one process, no DataLoader
workers), separately for preparing the batch and for the model's step, plus one validation pass,
and projects each step's epoch and the whole recipe at the commands' epochs. Data decoding
before the first epoch is not counted, as ``meta.training_seconds`` does not count it.
``--compile`` times the model's step with its forward pass compiled by ``torch.compile``, which
training does not do: to see whether compiling would pay on this machine.

Usage::

    python bench/train_speed.py [--photos DATA/ucmerced] [--sketches DATA/eoc-sketches] \\
        [--world runs/world] [--batches 8] [--compile] [--json runs/train-speed.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scene as scene_bench  # noqa: E402  (bench/scene.py: where the shared data is)

from crossmodal.config import PRECISIONS, ModelConfig, TrainConfig  # noqa: E402
from crossmodal.data import EOC_CLASSES  # noqa: E402
from crossmodal.losses import UnifiedLoss  # noqa: E402
from crossmodal.model import CrossModalModel  # noqa: E402
from crossmodal.train import (DEFAULT_CACHE, PairDataset, prepare_data, prepare_for_precision,  # noqa: E402
                              resolve_precision, train_step, validate)


@dataclass(frozen=True)
class Step:
    """One training command of the recipe: where its pairs come from and its options."""

    name: str
    on_world: bool  # trains on the demo world's pairs (step 1) rather than UC Merced and the real sketches
    model: ModelConfig
    train: TrainConfig


def recipe_steps(classes: tuple[str, ...], synthetic: int, batch_size: int) -> list[Step]:
    """The three commands of docs/results.md's "Training the committed checkpoint", as configs."""
    common = {"classes": classes, "batch_size": batch_size, "precision": "auto"}
    return [
        Step("1 pretraining (demo world)", True, ModelConfig(), TrainConfig(real_sketch_prob=0.8, **common)),
        Step("2 fine-tuning", False, ModelConfig(), TrainConfig(synthetic_sketches=synthetic, **common)),
        Step("3 robust fine-tuning", False, ModelConfig(sketch_input="skeleton", resolution_head=True),
             TrainConfig(epochs=45, lr=1e-3, augment="sensors", restyle_prob=0.3, synthetic_sketches=synthetic,
                         w_resolution=3.0, **common)),
    ]


def endless_batches(dataset: PairDataset, batch_size: int):
    """Shuffled batches as training draws them, epoch after epoch."""
    while True:
        yield from DataLoader(dataset, batch_size, shuffle=True, drop_last=True)


def time_step(step: Step, photos: Path, sketches: Path | None, batches: int, compile_model: bool = False
              ) -> dict[str, float]:
    """Seconds a batch (preparing it, the model's step) and a validation pass, after one warm-up batch
    (with ``compile_model``, the model's forward pass compiled by ``torch.compile`` before it, and the
    seconds the warm-up took, most of them compiling, in ``warm_up_s``)."""
    torch.manual_seed(0)
    np.random.seed(0)
    classes = step.train.classes
    data = prepare_data(photos, sketches, classes, step.train, step.model.image_size, DEFAULT_CACHE, False,
                        step.model.sketch_input)
    model = CrossModalModel(step.model, classes)
    prepare_for_precision(model, "cpu", step.train.precision)
    if compile_model:
        model.forward = torch.compile(model.forward)
    loss_fn = UnifiedLoss(step.train)
    optimizer = torch.optim.AdamW(model.parameters(), lr=step.train.lr, weight_decay=step.train.weight_decay)
    loader = endless_batches(PairDataset(data, step.train, step.model.image_size), step.train.batch_size)
    model.train()
    precision = step.train.precision
    started = time.perf_counter()
    train_step(model, loss_fn, optimizer, next(loader), precision=precision)  # warm-up: first-call allocations
    warm_up = time.perf_counter() - started
    prepare, compute = [], []
    for _ in range(batches):
        started = time.perf_counter()
        batch = next(loader)
        ready = time.perf_counter()
        train_step(model, loss_fn, optimizer, batch, precision=precision)
        prepare.append(ready - started)
        compute.append(time.perf_counter() - ready)
    started = time.perf_counter()
    validate(model, data)
    steps_per_epoch = max(1, len(data.photo_labels) // step.train.batch_size)
    return {"prepare_s": float(np.median(prepare)), "compute_s": float(np.median(compute)),
            "validation_s": time.perf_counter() - started, "batches_per_epoch": steps_per_epoch, "warm_up_s": warm_up}


def main(argv: list[str] | None = None) -> int:
    """Time each step, print the table and the projected total; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=scene_bench.default_data() / "ucmerced")
    parser.add_argument("--sketches", type=Path, default=scene_bench.default_data() / "eoc-sketches")
    parser.add_argument("--world", type=Path, default=ROOT / "runs" / "world",
                        help="the demo world step 1 trains on (python -m crossmodal synth --out runs/world)")
    parser.add_argument("--batches", type=int, default=8, help="timed batches a step (their median is used)")
    parser.add_argument("--epochs", type=int, nargs=3, metavar="E",
                        help="epochs of steps 1-3 to project (default: the committed commands')")
    parser.add_argument("--precision", nargs=3, choices=PRECISIONS, metavar="P",
                        help="precision of steps 1-3 (default: the committed commands', auto; or fp32, bf16)")
    parser.add_argument("--classes", nargs="+", default=list(EOC_CLASSES))
    parser.add_argument("--synthetic-sketches", type=int, default=100, help="as the commands' --synthetic-sketches")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--compile", action="store_true",
                        help="time the model's step with its forward pass compiled by torch.compile (the "
                             "compilation itself is printed apart, not projected)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    steps = recipe_steps(tuple(args.classes), args.synthetic_sketches, args.batch_size)
    if args.precision:
        steps = [dataclasses.replace(s, train=dataclasses.replace(s.train, precision=p))
                 for s, p in zip(steps, args.precision)]
    steps = [dataclasses.replace(s, train=resolve_precision(s.train, "cpu")) for s in steps]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.batches} timed batches a step"
          + ("; the model's forward pass compiled (torch.compile)" if args.compile else ""))
    print(f"{'step':<28}{'prec.':>6}{'prepare s':>10}{'model s':>9}{'valid. s':>9}{'s/epoch':>9}{'epochs':>8}"
          f"{'min':>7}")
    rows, total = [], 0.0
    for step, epochs in zip(steps, args.epochs or [s.train.epochs for s in steps]):
        photos, sketches = ((args.world / "photos", args.world / "sketches") if step.on_world
                            else (args.photos, args.sketches))
        timing = time_step(step, photos, sketches, args.batches, args.compile)
        epoch_s = timing["batches_per_epoch"] * (timing["prepare_s"] + timing["compute_s"]) + timing["validation_s"]
        minutes = epochs * epoch_s / 60.0
        total += minutes
        rows.append({"step": step.name, "precision": step.train.precision, "epochs": epochs, "epoch_s": epoch_s,
                     "minutes": minutes, **timing})
        print(f"{step.name:<28}{step.train.precision:>6}{timing['prepare_s']:>10.2f}{timing['compute_s']:>9.2f}"
              f"{timing['validation_s']:>9.1f}{epoch_s:>9.1f}{epochs:>8}{minutes:>7.1f}"
              + (f"   (compiling and the first batch: {timing['warm_up_s']:.0f} s)" if args.compile else ""),
              flush=True)
    print(f"{'the recipe, projected':<28}{'':>51}{total:>7.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                                         "batches": args.batches, "compile": args.compile, "rows": rows,
                                         "total_minutes": total}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
