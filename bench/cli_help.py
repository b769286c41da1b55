"""Time ``python -m crossmodal [COMMAND] --help`` for every command, as a user runs it.

Each command runs in a fresh interpreter ``--repeat`` times; the median and the fastest wall times
are printed, beside a bare interpreter start (``python -c pass``) for scale. The target is under 1 s:
printing help imports no model code (torch, torchvision, annoy, cv2, gradio).

Usage::

    .venv/bin/python bench/cli_help.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crossmodal.cli import build_parser  # noqa: E402


def commands() -> list[str]:
    """The CLI's subcommands, read from its parser."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def wall_times(argv: list[str], repeat: int) -> list[float]:
    """Seconds from start to exit of ``argv`` in a fresh process, ``repeat`` times."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    args = parser.parse_args()
    rows = [("python -c pass", [sys.executable, "-c", "pass"])]
    rows.append(("python -m crossmodal --help", [sys.executable, "-m", "crossmodal", "--help"]))
    rows += [(f"python -m crossmodal {c} --help", [sys.executable, "-m", "crossmodal", c, "--help"])
             for c in commands()]
    print(f"{'command':<40}{'median s':>10}{'min s':>8}")
    for label, argv in rows:
        times = wall_times(argv, args.repeat)
        print(f"{label:<40}{statistics.median(times):>10.3f}{min(times):>8.3f}")


if __name__ == "__main__":
    main()
