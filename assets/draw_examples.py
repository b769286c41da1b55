"""Draw the app's example sketches: simple top-down line drawings made here, not taken from any dataset.

Run ``python assets/draw_examples.py`` to rewrite the PNG files beside this script (seeded: the
same files every time). Each drawing imitates a quick pen sketch of one scene class: thin black
strokes on white, slightly wobbly, 256 x 256 pixels.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
WIDTH = 2  # stroke width in pixels, like a fine pen at this size
HERE = Path(__file__).resolve().parent


class Pen:
    """Draws wobbly polylines, as a hand would."""

    def __init__(self, seed: int):
        """Start a white page; ``seed`` fixes the wobble."""
        self.rng = random.Random(seed)
        self.image = Image.new("RGB", (SIZE, SIZE), "white")
        self.draw = ImageDraw.Draw(self.image)

    def line(self, points: list[tuple[float, float]], closed: bool = False, wobble: float = 1.2) -> None:
        """Draw a polyline through ``points`` (back to the first if ``closed``), wobbling up to ``wobble`` px."""
        if closed:
            points = points + [points[0]]
        path = []
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            steps = max(2, int(math.hypot(x1 - x0, y1 - y0) / 12))
            for i in range(steps):
                t = i / steps
                path.append((x0 + (x1 - x0) * t + self.rng.uniform(-wobble, wobble),
                             y0 + (y1 - y0) * t + self.rng.uniform(-wobble, wobble)))
        path.append(points[-1])
        self.draw.line(path, fill="black", width=WIDTH, joint="curve")

    def ellipse(self, cx: float, cy: float, rx: float, ry: float) -> None:
        """Draw an ellipse as a closed wobbly polyline."""
        n = max(16, int((rx + ry) / 2))
        self.line([(cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n))
                   for i in range(n)], closed=True, wobble=0.6)

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Draw an axis-aligned rectangle."""
        self.line([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], closed=True)


def airplane(pen: Pen) -> None:
    """Two parked aeroplanes seen from above."""
    for cx, cy, s in ((95, 110, 1.0), (175, 165, 0.8)):
        pen.line([(cx, cy - 60 * s), (cx + 7 * s, cy - 45 * s), (cx + 7 * s, cy - 12 * s), (cx + 60 * s, cy + 10 * s),
                  (cx + 60 * s, cy + 20 * s), (cx + 7 * s, cy + 10 * s), (cx + 6 * s, cy + 40 * s),
                  (cx + 22 * s, cy + 52 * s), (cx + 22 * s, cy + 58 * s), (cx, cy + 52 * s),
                  (cx - 22 * s, cy + 58 * s), (cx - 22 * s, cy + 52 * s), (cx - 6 * s, cy + 40 * s),
                  (cx - 7 * s, cy + 10 * s), (cx - 60 * s, cy + 20 * s), (cx - 60 * s, cy + 10 * s),
                  (cx - 7 * s, cy - 12 * s), (cx - 7 * s, cy - 45 * s)], closed=True)


def runway(pen: Pen) -> None:
    """A runway with centre-line dashes and threshold stripes."""
    pen.line([(88, 8), (88, 248)])
    pen.line([(168, 8), (168, 248)])
    for y in range(40, 220, 28):
        pen.line([(128, y), (128, y + 14)], wobble=0.5)
    for x in range(98, 162, 10):
        pen.line([(x, 14), (x, 34)], wobble=0.4)
        pen.line([(x, 222), (x, 242)], wobble=0.4)


def tenniscourt(pen: Pen) -> None:
    """A tennis court: outer lines, singles lines, service boxes and the net."""
    pen.rect(58, 28, 198, 228)
    pen.line([(76, 28), (76, 228)])
    pen.line([(180, 28), (180, 228)])
    pen.line([(76, 78), (180, 78)])
    pen.line([(76, 178), (180, 178)])
    pen.line([(128, 78), (128, 178)])
    pen.line([(50, 128), (206, 128)], wobble=0.5)


def storagetanks(pen: Pen) -> None:
    """Round storage tanks of different sizes with a pipe between them."""
    for cx, cy, r in ((70, 70, 42), (180, 80, 36), (90, 185, 38), (190, 190, 30)):
        pen.ellipse(cx, cy, r, r)
        pen.ellipse(cx, cy, r * 0.25, r * 0.25)
    pen.line([(112, 72), (144, 78)])
    pen.line([(120, 190), (160, 190)])


def freeway(pen: Pen) -> None:
    """A divided freeway crossing the scene diagonally with a few cars."""
    for offset in (-70, -20, 20, 70):
        pen.line([(0, 128 + offset + 40), (256, 128 + offset - 40)])
    for x in range(10, 250, 30):  # lane dashes
        y = 128 + 45 - x * 80 / 256
        pen.line([(x, y), (x + 14, y - 4.4)], wobble=0.3)
        pen.line([(x, y - 90), (x + 14, y - 94.4)], wobble=0.3)
    for x, y in ((60, 140), (150, 92), (200, 70)):
        pen.rect(x, y, x + 14, y + 8)


def baseballdiamond(pen: Pen) -> None:
    """A baseball field: the diamond, the infield arc and the outfield fence."""
    pen.line([(40, 216), (40, 60)])
    pen.line([(40, 216), (196, 216)])
    pen.line([(40, 216), (40, 150), (106, 150), (106, 216)], wobble=0.8)
    pen.line([(40, 40)] + [(40 + 176 * math.sin(a), 216 - 176 * math.cos(a))
                           for a in [i * math.pi / 2 / 12 for i in range(13)]], wobble=0.8)
    pen.ellipse(73, 183, 6, 6)


def river(pen: Pen) -> None:
    """A meandering river with both banks."""
    for shift in (0, 34):
        pts = [(60 + shift + 55 * math.sin(y / 40.0), y) for y in range(0, 257, 8)]
        pen.line(pts, wobble=0.8)


def intersection(pen: Pen) -> None:
    """A four-way road intersection with crosswalk stripes."""
    pen.line([(0, 100), (100, 100), (100, 0)])
    pen.line([(156, 0), (156, 100), (256, 100)])
    pen.line([(0, 156), (100, 156), (100, 256)])
    pen.line([(156, 256), (156, 156), (256, 156)])
    pen.line([(0, 128), (92, 128)], wobble=0.4)
    pen.line([(164, 128), (256, 128)], wobble=0.4)
    for x in range(106, 152, 9):
        pen.line([(x, 104), (x + 4, 104)], wobble=0.2)


EXAMPLES = {"airplane": airplane, "runway": runway, "tenniscourt": tenniscourt, "storagetanks": storagetanks,
            "freeway": freeway, "baseballdiamond": baseballdiamond, "river": river, "intersection": intersection}


def main() -> None:
    """Write ``<class>.png`` for each example beside this script."""
    for i, (name, draw) in enumerate(EXAMPLES.items()):
        pen = Pen(seed=i)
        draw(pen)
        pen.image.convert("L").save(HERE / f"{name}.png", optimize=True)


if __name__ == "__main__":
    main()
