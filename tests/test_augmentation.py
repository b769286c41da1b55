"""Photo augmentations that imitate other sensors: ground resolution and white balance."""

import pytest
import torch
from torchvision.transforms import v2

from crossmodal.sketchify import AUGMENTS, GroundResolution, WhiteBalance, is_robust, photo_augmentation


def coded_photo(side: int = 256) -> torch.Tensor:
    """A (3, side, side) uint8 photo whose red and green channels spell each pixel's row and column."""
    rows = torch.arange(side).view(-1, 1).expand(side, side)
    cols = torch.arange(side).view(1, -1).expand(side, side)
    return torch.stack([rows, cols, (rows + cols) % 256]).to(torch.uint8)


def test_native_resolution_is_the_whole_photo_resized():
    photo = coded_photo()
    out = GroundResolution(128, finest=1.0, coarsest=1.0)(photo)
    assert torch.equal(out, v2.functional.resize(photo, [128, 128], antialias=True))


def test_twice_the_resolution_is_a_crop_of_half_the_side_at_the_photos_own_pixels():
    torch.manual_seed(0)
    photo = coded_photo()
    for _ in range(5):
        out = GroundResolution(128, finest=2.0, coarsest=2.0)(photo)
        top, left = int(out[0, 0, 0]), int(out[1, 0, 0])
        assert out.shape == (3, 128, 128)
        assert torch.equal(out, photo[:, top:top + 128, left:left + 128])


@pytest.mark.parametrize("factor", [2.0, 3.0, 4.0])
def test_a_finer_view_spans_one_factorth_of_the_photos_side(factor):
    torch.manual_seed(3)
    out = GroundResolution(128, finest=factor, coarsest=factor)(coded_photo())
    # the red and green channels spell the source row and column: the view's first and last ones
    # are 256 / factor - 1 source pixels apart
    rows, cols = int(out[0, -1, 0]) - int(out[0, 0, 0]), int(out[1, 0, -1]) - int(out[1, 0, 0])
    assert abs(rows - (256 / factor - 1)) <= 1.5 and abs(cols - (256 / factor - 1)) <= 1.5


def test_half_the_resolution_shows_the_whole_photo_at_a_quarter_of_the_area_with_mirrored_surroundings():
    torch.manual_seed(1)
    photo = coded_photo()
    small = v2.functional.resize(photo, [64, 64], antialias=True)
    for _ in range(5):
        out = GroundResolution(128, finest=0.5, coarsest=0.5)(photo)
        assert out.shape == (3, 128, 128)
        found = [(t, x) for t in range(65) for x in range(65) if torch.equal(out[:, t:t + 64, x:x + 64], small)]
        assert found, "the shrunk photo is not in the frame"
        top, left = found[0]
        if top > 0:  # the row above the photo mirrors the row below its first one
            assert torch.equal(out[:, top - 1, left:left + 64], out[:, top + 1, left:left + 64])
        if left + 64 < 128:
            assert torch.equal(out[:, top:top + 64, left + 64], out[:, top:top + 64, left + 62])


def test_a_factor_drawn_apart_shows_what_the_augmentation_shows():
    photo, zoom = coded_photo(), GroundResolution(128)
    torch.manual_seed(4)
    whole = zoom(photo)
    torch.manual_seed(4)
    assert torch.equal(zoom.show(photo, zoom.draw()), whole)


def test_white_balance_moves_red_and_blue_apart_and_leaves_green_almost_alone():
    torch.manual_seed(2)
    grey = torch.full((3, 8, 8), 100, dtype=torch.uint8)
    for _ in range(20):
        red, green, blue = (int(c) for c in WhiteBalance(0.15)(grey)[:, 0, 0])
        assert 85 <= red <= 115 and 85 <= blue <= 115
        assert abs(red + blue - 200) <= 1  # one gain up by what the other goes down
        assert 97 <= green <= 103


@pytest.mark.parametrize("kind", AUGMENTS)
def test_every_photo_augmentation_gives_the_model_input(kind):
    torch.manual_seed(3)
    side = 256 if is_robust(kind) else 128
    out = photo_augmentation(128, kind)(coded_photo(side))
    assert out.shape == (3, 128, 128) and out.dtype == torch.uint8


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="augmentation must be one of"):
        photo_augmentation(128, "strong")


def ascending_window(out: torch.Tensor, side: int) -> tuple[int, int]:
    """Where in ``out`` a coded photo's rows and columns run forwards for ``side`` pixels (no mirror inside)."""
    rows, cols = out[0].int(), out[1].int()
    for top in range(out.shape[1] - side + 1):
        for left in range(out.shape[2] - side + 1):
            if bool((rows[top + 1:top + side, left] > rows[top:top + side - 1, left]).all()) and \
                    bool((cols[top, left + 1:left + side] > cols[top, left:left + side - 1]).all()):
                return top, left
    raise AssertionError("no unmirrored window of the photo in the frame")


def test_a_smaller_chip_is_a_crop_at_the_photos_own_resolution_in_a_mirrored_frame():
    torch.manual_seed(2)
    photo = coded_photo()
    for _ in range(5):
        out = GroundResolution(128).show(photo, 2.0, chip=True)
        assert out.shape == (3, 128, 128)
        top, left = ascending_window(out, 64)
        # 64 model pixels span 128 photo rows and columns: two photo pixels a model pixel, as unzoomed
        assert 124 <= int(out[0, top + 63, left]) - int(out[0, top, left]) <= 128
        assert 124 <= int(out[1, top, left + 63]) - int(out[1, top, left]) <= 128
        if top > 0:
            assert torch.equal(out[:, top - 1, left:left + 64], out[:, top + 1, left:left + 64])


def test_chips_replace_some_finer_views_only_when_asked_for():
    plain, chips = GroundResolution(128), GroundResolution(128, chip_prob=0.5)
    torch.manual_seed(3)
    assert not any(plain.draw_view()[1] for _ in range(200))
    views = [chips.draw_view() for _ in range(400)]
    assert all(factor > 1 for factor, chip in views if chip)
    assert 0.15 < sum(chip for _, chip in views) / len(views) < 0.35  # half of the finer half


def test_a_hastier_hand_leaves_out_some_details_and_keeps_the_structure():
    import cv2
    import numpy as np

    from crossmodal.sketchify import leave_out_details

    ink = np.zeros((256, 256), np.uint8)
    cv2.line(ink, (10, 128), (245, 128), 255, 3)  # a road: structure
    cars = [(20 + 22 * i, 100) for i in range(10)]
    for x, y in cars:  # ten cars beside it: details
        cv2.rectangle(ink, (x, y), (x + 10, y + 6), 255, 2)
    np.random.seed(0)
    out = leave_out_details(ink)
    assert (out[126:131] == ink[126:131]).all()  # the road is whole
    kept = sum(bool(out[y:y + 7, x:x + 11].any()) for x, y in cars)
    assert 10 - 8 <= kept <= 10 - 3  # 30-80 % of the details left out
    assert ((out == 0) | (out == ink)).all()  # nothing drawn, only erased

    tanks = np.zeros((256, 256), np.uint8)
    cv2.circle(tanks, (128, 128), 12, 255, 2)  # a drawing of one detail alone keeps it
    assert (leave_out_details(tanks) == tanks).all()
