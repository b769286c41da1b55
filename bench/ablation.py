"""Ablation study: train each variant with the same budget, evaluate on held-out real sketches.

Usage:
    python bench/ablation.py --data ../shared/data --epochs 15 [--variants full no-attention ...]

Prints a Markdown table (sketch -> photo and photo -> sketch mAP / P@10 on the test gallery) and
writes each run's checkpoint and evaluation JSON under ``--out`` (default ``runs/ablation``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from crossmodal.cli import main as crossmodal

VARIANTS = {
    "full": [],
    "no-attention": ["--no-attention"],
    "no-orthogonality": ["--no-orthogonality"],
    "no-decoders": ["--no-decoders"],
    "no-cross-attention": ["--no-cross-attention"],
    "two-stage": ["--branch-epochs", "5"],
    "pseudo-only (no real sketches)": ["--no-real-sketches"],
    "canny pseudo-sketches": ["--pseudo-style", "canny"],
    "canny pseudo-sketches only": ["--pseudo-style", "canny", "--no-real-sketches"],
}


def run_variant(name: str, extra: list[str], data: Path, out: Path, epochs: int, fold: int) -> dict:
    """Train and evaluate one variant; returns its evaluation report plus training minutes."""
    slug = name.split(" ")[0] + ("-canny" if "canny" in name else "") + f"-fold{fold}"
    checkpoint, report_file = out / f"{slug}.pt", out / f"{slug}.json"
    if not report_file.exists():
        started = time.time()
        args = ["train", "--photos", str(data / "ucmerced"), "--sketches", str(data / "eoc-sketches"),
                "--out", str(checkpoint), "--epochs", str(epochs), "--holdout-fold", str(fold), *extra]
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
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    rows = []
    for name in args.variants:
        r = run_variant(name, VARIANTS[name], args.data, args.out, args.epochs, args.fold)
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
