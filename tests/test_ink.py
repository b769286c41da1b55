import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy.ndimage import distance_transform_edt

from crossmodal.data import is_blank_sketch, sketch_array
from crossmodal.ink import normalize_sketch

# A tennis court with a diagonal path and a round tank beside it, in the unit square.
COURT = [[(0.30, 0.20), (0.70, 0.20), (0.70, 0.80), (0.30, 0.80), (0.30, 0.20)],
         [(0.36, 0.20), (0.36, 0.80)], [(0.64, 0.20), (0.64, 0.80)], [(0.30, 0.50), (0.70, 0.50)],
         [(0.36, 0.35), (0.64, 0.35)], [(0.36, 0.65), (0.64, 0.65)], [(0.10, 0.90), (0.25, 0.60)]]
TANK = (0.80, 0.10, 0.92, 0.22)


def drawing(canvas: int, pen: float, grey: int = 0) -> Image.Image:
    image = Image.new("RGB", (canvas, canvas), "white")
    draw = ImageDraw.Draw(image)
    width = max(1, round(pen))
    for line in COURT:
        draw.line([(x * canvas, y * canvas) for x, y in line], fill=(grey,) * 3, width=width, joint="curve")
    draw.ellipse([v * canvas for v in TANK], outline=(grey,) * 3, width=width)
    return image


def agreement(a: np.ndarray, b: np.ndarray, tolerance: float = 2.0) -> float:
    """The smaller of: share of a's ink within ``tolerance`` px of b's ink, and the other way round."""
    ink_a, ink_b = a > 127, b > 127
    near_b = distance_transform_edt(~ink_b) <= tolerance
    near_a = distance_transform_edt(~ink_a) <= tolerance
    return min(near_b[ink_a].mean(), near_a[ink_b].mean())


@pytest.mark.parametrize("pen", [6, 12])
def test_pen_width_does_not_change_the_normalised_sketch(pen):
    reference = normalize_sketch(drawing(256, 2), 128)
    assert agreement(normalize_sketch(drawing(256, pen), 128), reference) >= 0.9


@pytest.mark.parametrize("canvas", [64, 1024])
def test_canvas_size_does_not_change_the_normalised_sketch(canvas):
    reference = normalize_sketch(drawing(256, 2), 128)
    # the same drawing with the same pen relative to the canvas (1024 px: an 8 px pen)
    assert agreement(normalize_sketch(drawing(canvas, 2 * canvas / 256), 128), reference) >= 0.9


def test_framing_and_pencil_do_not_change_the_normalised_sketch():
    reference = normalize_sketch(drawing(256, 2), 128)
    small = Image.new("RGB", (1024, 1024), "white")
    small.paste(drawing(256, 2), (600, 100))  # the same drawing in a corner of a larger page
    assert agreement(normalize_sketch(small, 128), reference) >= 0.9
    pencil = drawing(256, 1, grey=170)  # a faint grey line
    assert agreement(normalize_sketch(pencil, 128), reference) >= 0.85


def test_normalised_strokes_have_one_width():
    thin, thick = normalize_sketch(drawing(256, 2), 128), normalize_sketch(drawing(256, 12), 128)
    assert abs(int((thin > 127).sum()) - int((thick > 127).sum())) < 0.15 * (thin > 127).sum()


def test_blank_and_single_dot_are_blank():
    assert is_blank_sketch(sketch_array(Image.new("RGB", (512, 512), "white"), 128))
    for pen, canvas in ((2, 512), (12, 512), (12, 64)):
        page = Image.new("RGB", (canvas, canvas), "white")
        ImageDraw.Draw(page).ellipse((canvas / 2 - pen / 2, canvas / 2 - pen / 2, canvas / 2 + pen / 2,
                                      canvas / 2 + pen / 2), fill="black")
        assert is_blank_sketch(sketch_array(page, 128)), (pen, canvas)
    assert not is_blank_sketch(sketch_array(drawing(512, 2), 128))
