"""The robustness suites for several checkpoints side by side, as Markdown tables.

Usage::

    python bench/robustness.py --checkpoints runs/ucm14-old.pt checkpoints/ucm14.pt \\
        --photos ../shared/data/ucmerced --sketches eoc=../shared/data/eoc-sketches [--per-class 10] [--seed 0] \
        [--hand second]

Each checkpoint's report is written next to it (``NAME.robustness.json``; the second hand's
drawings: ``NAME.second-hand.robustness.json``) and reused while the checkpoint file, the suite
version, the seed, the per-class count, the hand, the gallery's neighbour averaging and the suites are the same
(``--force`` scores again). Prints three tables: every suite (sketch -> photo mAP / P@10 / top-1
class accuracy for sketches; top-1 accuracy / photo -> photo P@10 for photos), then sketch -> photo
AP by class and style, then photo accuracy by class and shift, one value per checkpoint in each
cell, in the order of ``--checkpoints``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, not an installed package
from crossmodal.config import DEFAULT_NEIGHBOURS  # noqa: E402
from crossmodal.files import file_sha256  # noqa: E402
from crossmodal.robustness import (FIRST_HAND, HANDS, REFERENCE_SHIFT, REFERENCE_STYLE, SHIFTS, STYLES,  # noqa: E402
                                   SUITE_VERSION)


def report_path(checkpoint: Path, hand: str = FIRST_HAND) -> Path:
    """Where a checkpoint's report goes: ``checkpoints/ucm14.pt`` -> ``checkpoints/ucm14.robustness.json``
    (``ucm14.second-hand.robustness.json`` for the second hand's drawings)."""
    return checkpoint.with_suffix(".robustness.json" if hand == FIRST_HAND else f".{hand}-hand.robustness.json")


def _reusable(report: dict[str, Any], fingerprint: str, args: argparse.Namespace, folders: dict[str, str]) -> bool:
    suites = set(report.get("sketch_styles", {})) | set(report.get("photo_shifts", {}))
    return (report.get("suite_version") == SUITE_VERSION and report.get("fingerprint") == fingerprint
            and report.get("photo_queries") == "gallery"  # query photos as the app sees them
            and report.get("seed") == args.seed and report.get("per_class") == args.per_class
            and report.get("hand", FIRST_HAND) == args.hand
            and report.get("neighbour_average", 0) == args.neighbour_average  # reports before it: 0
            and suites == set(STYLES) | {REFERENCE_STYLE, REFERENCE_SHIFT} | set(SHIFTS) | set(folders))


def score_checkpoint(checkpoint: Path, args: argparse.Namespace, folders: dict[str, str]) -> dict[str, Any]:
    """The checkpoint's robustness report: read from beside it when still valid, else computed and written."""
    path = report_path(checkpoint, args.hand)
    if path.is_file() and not args.force:
        report = json.loads(path.read_text())
        if _reusable(report, file_sha256(checkpoint), args, folders):
            print(f"{checkpoint}: reusing {path}", file=sys.stderr)
            return report
    from crossmodal.checkpoint import load_checkpoint
    from crossmodal.robustness.evaluation import evaluate_robustness

    print(f"{checkpoint}: scoring the suites ...", file=sys.stderr)
    report = evaluate_robustness(load_checkpoint(checkpoint), args.photos, args.per_class, args.seed,
                                 sketch_folders=folders, progress=sys.stderr.isatty(), hand=args.hand,
                                 neighbours=args.neighbour_average)
    path.write_text(json.dumps(report, indent=2))
    print(f"{checkpoint}: wrote {path}", file=sys.stderr)
    return report


def _cell(values: Sequence[float | None], digits: int = 3) -> str:
    return " / ".join("-" if v is None else f"{v:.{digits}f}" for v in values)


def summary_table(names: Sequence[str], reports: Sequence[dict[str, Any]]) -> list[str]:
    """One row per suite, one column per checkpoint."""
    lines = ["| suite | queries | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    first = reports[0]
    sketch_rows = [s for s in first["sketch_styles"] if s in STYLES] + ["overall"]
    sketch_rows += [s for s in first["sketch_styles"] if s not in STYLES]
    for suite in sketch_rows:
        entries = [r["sketch_overall"] if suite == "overall" else r["sketch_styles"].get(suite) for r in reports]
        label = {"overall": f"**sketches, overall ({len(STYLES)} styles)**",
                 REFERENCE_STYLE: f"sketches: {suite} (reference, not a shift)"}.get(suite, f"sketches: {suite}")
        lines.append(f"| {label} | {entries[0]['n']} | "
                     + " | ".join(_cell([e["mAP"], e["P@10"], e["accuracy"]]) if e else "-" for e in entries) + " |")
    for shift in first["photo_shifts"]:
        entries = [r["photo_shifts"].get(shift) for r in reports]
        label = f"photos: {shift}" + (" (reference, not a shift)" if shift == REFERENCE_SHIFT else "")
        lines.append(f"| {label} | {entries[0]['n']} | "
                     + " | ".join(_cell([e["accuracy"], e["P@10"]]) if e else "-" for e in entries) + " |")
    return lines


def class_table(reports: Sequence[dict[str, Any]], group: str, suites: Sequence[str], key: str,
                digits: int) -> list[str]:
    """Class by suite: ``key`` of each class in each suite, the checkpoints' values side by side."""
    lines = ["| class | " + " | ".join(suites) + " |", "|---|" + "---|" * len(suites)]
    for label in reports[0]["classes"]:
        cells = []
        for suite in suites:
            values = []
            for r in reports:
                entry = r["sketch_overall"] if suite == "overall" else r[group].get(suite)
                values.append(entry["per_class"].get(label, {}).get(key) if entry else None)
            cells.append(_cell(values, digits))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def markdown(names: Sequence[str], reports: Sequence[dict[str, Any]]) -> str:
    """The three tables of the benchmark."""
    order = " / ".join(names)
    sketch_suites = [s for s in reports[0]["sketch_styles"] if s in STYLES] + ["overall"]
    sketch_suites += [s for s in reports[0]["sketch_styles"] if s not in STYLES]
    lines = [f"Sketch rows: sketch -> photo mAP / P@10 / top-1 class accuracy. Photo rows: top-1 class accuracy / "
             f"photo -> photo P@10 (the query's own original left out). Gallery: the {reports[0]['gallery']['photos']} "
             f"clean test photos. Suite version {reports[0]['suite_version']}, seed {reports[0]['seed']}, "
             f"{reports[0]['per_class']} generated sketches a class and style, drawn by the "
             f"{reports[0].get('hand', FIRST_HAND)} hand.", ""]
    lines += summary_table(names, reports)
    lines += ["", f"Sketch -> photo AP by class ({order}):", ""]
    lines += class_table(reports, "sketch_styles", sketch_suites, "AP", 2)
    lines += ["", f"Sketch top-1 class accuracy by class ({order}):", ""]
    lines += class_table(reports, "sketch_styles", sketch_suites, "accuracy", 2)
    lines += ["", f"Photo top-1 class accuracy by class ({order}):", ""]
    lines += class_table(reports, "photo_shifts", list(reports[0]["photo_shifts"]), "accuracy", 2)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", type=Path, required=True)
    parser.add_argument("--photos", required=True, help="UC Merced folder (its test photos 80-99 are used)")
    parser.add_argument("--sketches", action="append", default=[], metavar="NAME=DIR",
                        help="a folder of <class>/<sketch> files scored as suite NAME (repeatable)")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hand", choices=HANDS, default=FIRST_HAND, help="whose drawings the styles draw")
    parser.add_argument("--neighbour-average", type=int, default=DEFAULT_NEIGHBOURS, metavar="K",
                        help="gallery photos searched as the mean of themselves and their K nearest others, as the "
                        "app's index does (default %(default)s; 0: as they are)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--force", action="store_true", help="score again even where a valid report exists")
    args = parser.parse_args(argv)
    folders = dict(item.split("=", 1) for item in args.sketches if "=" in item)
    if len(folders) != len(args.sketches):
        parser.error("--sketches takes NAME=DIR")
    missing = [str(c) for c in args.checkpoints if not c.is_file()]
    if missing:
        parser.error(f"no checkpoint file {', '.join(missing)}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    reports = [score_checkpoint(c, args, folders) for c in args.checkpoints]
    print(markdown([c.stem for c in args.checkpoints], reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
