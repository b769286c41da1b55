"""The app's example sketches (``assets/<class>.png``) through one or more checkpoints: the top-3 classes of each.

No dataset needed. Prints, per checkpoint, each example's three most likely classes and how many
of the examples are classified as the class they were drawn for.

Usage::

    python bench/app_examples.py [checkpoints/ucm14.pt runs/other.pt ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    """Classify the examples with each checkpoint; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="*", default=[str(ROOT / "checkpoints" / "ucm14.pt")])
    args = parser.parse_args(argv)

    from crossmodal.checkpoint import load_checkpoint
    from crossmodal.retrieval import encode_query, top_predictions

    for checkpoint in args.checkpoints:
        model = load_checkpoint(checkpoint)
        examples = sorted(p for p in (ROOT / "assets").glob("*.png") if p.stem in model.class_names)
        right = 0
        print(f"{checkpoint} (sketch input: {model.config.sketch_input})")
        for example in examples:
            top = top_predictions(encode_query(model, str(example), "sketch").probabilities, model.class_names)
            right += top[0][0] == example.stem
            print(f"  {example.stem:<17}" + ", ".join(f"{c} {p:.2f}" for c, p in top))
        print(f"  {right} of {len(examples)} examples classified as drawn\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
