"""``python -m crossmodal ... --help`` imports no model code: torch and friends load only where a command runs.

Each check runs in a fresh interpreter, since the test process itself has torch loaded. Speed itself
is measured by bench/cli_help.py, not asserted here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from crossmodal.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "annoy", "cv2", "gradio")
# prints the help of argv, then the heavy modules it imported on the last line
PROBE = f"""
import sys
from crossmodal.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("imported:", [m for m in {HEAVY!r} if m in sys.modules])
"""


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_every_command_is_probed():
    # the help checks below are parametrized from the parser itself, so a new command is checked too
    assert {"train", "evaluate", "index", "search", "synth", "download"} <= set(_commands())


@pytest.mark.parametrize("argv", [["--help"]] + [[c, "--help"] for c in _commands()],
                         ids=lambda argv: " ".join(argv))
def test_help_imports_no_model_code(argv):
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    *help_lines, last = done.stdout.strip().splitlines()
    assert "usage: python -m crossmodal" in help_lines[0]
    assert last == "imported: []"


def test_a_user_error_still_gives_one_line_without_a_traceback(tmp_path):
    # the error classes are looked up among the modules the command loaded; DatasetNotFoundError is no ValueError
    done = subprocess.run([sys.executable, "-m", "crossmodal", "train", "--photos", str(tmp_path / "missing"),
                           "--out", str(tmp_path / "x.pt")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert "missing" in done.stderr and "does not exist" in done.stderr
