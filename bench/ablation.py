"""Ablation study: train each variant with the same budget, evaluate on held-out real sketches.

Usage:
    python bench/ablation.py --data ../shared/data --epochs 8 [--variants full "no orthogonality" ...]
        [--init runs/pretrain-world.pt]

Prints a Markdown table (sketch -> photo and photo -> sketch mAP / P@10 on the test gallery) and
writes each run's checkpoint and evaluation JSON under ``--out`` (default ``runs/ablation``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, not an installed package
from crossmodal.cli import main as crossmodal  # noqa: E402

BASE = ["--synthetic-sketches", "100"]  # the committed model's recipe
VARIANTS = {  # name -> (replace the base recipe?, extra flags)
    "full": (False, []),
    "no attention (average pooling)": (False, ["--no-attention"]),
    "no orthogonality": (False, ["--no-orthogonality"]),
    "no decoders (L5)": (False, ["--no-decoders"]),
    "no cross-attention": (False, ["--no-cross-attention"]),
    "no procedural sketches": (True, []),
    "contour pseudo-sketches only": (True, ["--no-real-sketches"]),
    "canny pseudo-sketches only": (True, ["--no-real-sketches", "--pseudo-style", "canny"]),
    # the means of robustness to other drawings and imagery, one at a time
    "robust (skeleton input, robust augmentation)": (False, ["--sketch-input", "skeleton", "--augment", "robust"]),
    "robust without restyling": (False, ["--sketch-input", "skeleton", "--augment", "robust", "--restyle-prob", "0"]),
    "skeleton input alone": (False, ["--sketch-input", "skeleton"]),
    "robust augmentation alone": (False, ["--augment", "robust"]),
}


def run_variant(name: str, extra: list[str], data: Path, out: Path, epochs: int, fold: int, threads: int,
                init: str = "") -> dict:
    """Train and evaluate one variant; returns its evaluation report plus training minutes."""
    slug = "".join(c if c.isalnum() else "-" for c in name.split(" (")[0]) + f"-e{epochs}-fold{fold}"
    if init:
        slug += "-init"
        extra = [*extra, "--init", init]
    checkpoint, report_file = out / f"{slug}.pt", out / f"{slug}.json"
    if not report_file.exists():
        started = time.time()
        args = ["train", "--photos", str(data / "ucmerced"), "--sketches", str(data / "eoc-sketches"),
                "--out", str(checkpoint), "--epochs", str(epochs), "--holdout-fold", str(fold),
                "--threads", str(threads), *extra]
        if crossmodal(args) != 0:
            raise SystemExit(f"training {name} failed")
        minutes = (time.time() - started) / 60
        crossmodal(["evaluate", "--checkpoint", str(checkpoint), "--photos", str(data / "ucmerced"),
                    "--sketches", str(data / "eoc-sketches"), "--json", str(report_file)])
        report = json.loads(report_file.read_text())
        report["train_minutes"] = round(minutes, 1)
        report_file.write_text(json.dumps(report, indent=2))
    return json.loads(report_file.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder with ucmerced/ and eoc-sketches/")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--fold", type=int, default=0, help="held-out fold of real sketches")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--init", default="", help="fine-tune every variant from this checkpoint (the pretraining)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    rows = []
    for name in args.variants:
        replace, extra = VARIANTS[name]
        r = run_variant(name, extra if replace else BASE + extra, args.data, args.out, args.epochs, args.fold,
                        args.threads, args.init)
        rows.append(f"| {name} | {r['sketch_to_photo']['mAP']:.3f} | {r['sketch_to_photo']['P@10']:.3f} | "
                    f"{r['photo_to_sketch']['mAP']:.3f} | {r['photo_to_sketch']['P@10']:.3f} | "
                    f"{r.get('train_minutes', float('nan')):.1f} |")
        print(rows[-1], flush=True)
    print(f"\n{args.epochs} epochs, held-out fold {args.fold}, test gallery (photos 80-99)\n")
    print("| variant | s->p mAP | s->p P@10 | p->s mAP | p->s P@10 | train min |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
