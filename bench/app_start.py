"""Time the app's first start on a fresh machine: no dataset, nothing cached, from the command to serving.

Runs ``python app.py`` with ``HOME`` set to a new empty folder (so ``~/.cache/crossmodal`` is
empty and no downloaded dataset is found): the app generates the demo world, loads
``checkpoints/demo.pt``, builds both gallery indexes and serves. Prints the seconds until the
server answers and the phases the app reported; then, unless ``--once``, starts it again on the
same folder to time a warm start (world and indexes cached).

Usage::

    python bench/app_start.py [--per-class 60] [--once]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_latency import ROOT, free_port, stop, wait_until_serving  # noqa: E402

PHASES = {  # what app.py prints, and the name of the phase it closes
    r"demo world generated in ([\d.]+) s": "demo world generated",
    r"ready in ([\d.]+) s": "checkpoint loaded and indexes built",
}


def time_start(home: Path, per_class: int | None) -> tuple[float, str]:
    """Seconds from launching ``app.py`` to its first answer, and what it printed."""
    env = dict(os.environ, HOME=str(home), GRADIO_ANALYTICS_ENABLED="False")
    env.pop("CROSSMODAL_DATA", None)
    if per_class:
        env["CROSSMODAL_DEMO_PER_CLASS"] = str(per_class)
    port = free_port()
    log = home / f"app-{port}.log"
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/", process, log)
        return time.perf_counter() - started, log.read_text()
    finally:
        stop(process)


def report(label: str, seconds: float, printed: str) -> None:
    """Print the total and the phases found in the app's output."""
    print(f"{label}: serving after {seconds:.1f} s")
    for pattern, phase in PHASES.items():
        match = re.search(pattern, printed)
        if match:
            print(f"  {phase}: {float(match.group(1)):.1f} s")


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, help="demo-world scenes a class (default: the app's)")
    parser.add_argument("--once", action="store_true", help="only the cold start")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} before the start")
    with tempfile.TemporaryDirectory(prefix="crossmodal-fresh-home-") as home:
        seconds, printed = time_start(Path(home), args.per_class)
        report("cold start (empty cache)", seconds, printed)
        if not args.once:
            seconds, printed = time_start(Path(home), args.per_class)
            report("warm start (world and indexes cached)", seconds, printed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
