"""A query photo is seen at the ground resolution at which it looks most like the photo gallery."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import TINY_CLASSES, constant_resolution_head, tiny_model_config
from PIL import Image

from crossmodal.data import photo_array, photo_at_resolution
from crossmodal.index import EmbeddingIndex
from crossmodal.model import CrossModalModel, dihedral_views, flipped_rotations, rotations
from crossmodal.resolution import (AS_IS, CANDIDATES, CHOICE_VIEWS, candidate_views, choose_resolution,
                                   embed_at_gallery_resolution, encode_candidates, gallery_agreement, pick_resolution)
from crossmodal.retrieval import encode_query


def _model(head_log2: float | None = None) -> CrossModalModel:
    """A tiny untrained model; with ``head_log2``, a resolution head that finds every photo that far off."""
    torch.manual_seed(0)
    config = dataclasses.replace(tiny_model_config(), resolution_head=head_log2 is not None)
    model = CrossModalModel(config, TINY_CLASSES).eval()
    if head_log2 is not None:
        model.resolution_head = constant_resolution_head(head_log2)
    return model


def _photo(seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8))


def test_the_candidates_are_the_photo_as_it_is_and_at_four_other_resolutions():
    photo = _photo()
    views = candidate_views(photo, 32)
    assert CANDIDATES[AS_IS] == 1.0 and views.shape == (5, 3, 32, 32)
    as_bytes = (views * 255).round().byte().numpy()
    assert np.array_equal(as_bytes[AS_IS], photo_array(photo, 32))
    assert np.array_equal(as_bytes[0], photo_at_resolution(photo, 32, 0.5))  # the centre, enlarged
    assert np.array_equal(as_bytes[-1], photo_at_resolution(photo, 32, 2.0))  # shrunk, mirrored around


@pytest.mark.parametrize("agreement, log2_estimate, chosen", [
    ([0.50, 0.60, 0.700, 0.705, 0.69], 0.0, AS_IS),  # 0.005 better: within the margin of 0.01
    ([0.50, 0.60, 0.700, 0.720, 0.69], 0.0, 3),  # 0.02 better: x1.41
    ([0.50, 0.60, 0.700, 0.705, 0.69], 0.3, 3),  # the head finds it 0.3 off: margin 0.01 - 0.02 x 0.3 = 0.004
    ([0.71, 0.60, 0.700, 0.705, 0.69], -1.0, 0),  # the head finds it twice as coarse: no margin left
    ([0.50, 0.60, 0.700, 0.600, 0.69], -1.0, AS_IS),  # ... but nothing agrees better than the photo as it is
])
def test_a_rescaled_view_is_searched_only_when_it_agrees_with_the_gallery_by_a_margin(agreement, log2_estimate,
                                                                                         chosen):
    assert choose_resolution(np.array(agreement), log2_estimate) == chosen


def test_agreement_is_the_mean_cosine_of_the_three_nearest_gallery_items():
    gallery = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]], np.float32)
    queries = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    # query 0: cosines 1, 0.8, 0.6, 0 -> (1 + 0.8 + 0.6) / 3; without gallery row 0: (0.8 + 0.6 + 0) / 3
    assert np.allclose(gallery_agreement(queries, gallery), [0.8, 0.8])
    assert np.allclose(gallery_agreement(queries, gallery, exclude=0), [1.4 / 3, 0.8])
    index = EmbeddingIndex.from_embeddings(gallery, [f"g{i}.png" for i in range(4)], ["a"] * 4, "photo", "0" * 64)
    assert np.allclose(gallery_agreement(queries, index), [0.8, 0.8], atol=1e-5)


def test_a_photo_is_searched_at_the_resolution_of_the_gallery_and_says_so():
    # an untrained model sees every view of a photo almost alike: its head finding the photo far off
    # leaves no margin, so the view that agrees best with the gallery is searched
    model, photo = _model(head_log2=-1.0), _photo(1)
    _, candidates, estimate = encode_candidates(model, candidate_views(photo, 32))
    assert estimate == -1.0
    others = torch.nn.functional.normalize(torch.randn(4, candidates.shape[1]), dim=1)
    # a gallery that holds this scene seen at half its resolution (its centre, enlarged)
    gallery = torch.cat([candidates[:1].repeat(3, 1), others]).numpy()
    query = encode_query(model, photo, "photo", gallery=gallery)
    assert np.allclose(query.embedding, candidates[0].numpy(), atol=1e-5)
    assert "2.0x coarser than the gallery's photos" in query.note
    # the view shown is the view searched: the photo's middle half, enlarged
    assert np.allclose(model.embed([query.image], "photo")[0], query.embedding, atol=0.05)
    # a gallery that holds it as it is: searched as it is; and imagery of known resolution never rescaled
    as_is = encode_query(model, photo, "photo", gallery=torch.cat([candidates[AS_IS:AS_IS + 1].repeat(3, 1),
                                                                     others]).numpy())
    assert as_is.note == "" and np.allclose(as_is.embedding, model.embed([photo], "photo")[0], atol=1e-5)
    assert encode_query(model, photo, "photo", at_training_resolution=False, gallery=gallery).note == ""


def test_photos_are_embedded_at_the_resolution_the_gallery_agrees_with_their_own_row_left_out():
    model, photos = _model(head_log2=1.0), [_photo(2), _photo(3)]
    _, first, _ = encode_candidates(model, candidate_views(photos[0], 32))
    _, second, _ = encode_candidates(model, candidate_views(photos[1], 32))
    # rows 0-2: photo 0 at twice its resolution; rows 3-5: photo 1 as it is
    gallery = torch.cat([first[-1:].repeat(3, 1), second[AS_IS:AS_IS + 1].repeat(3, 1)]).numpy()
    seen, factors = embed_at_gallery_resolution(model, photos[:1], gallery)
    assert seen.shape == (1, first.shape[1]) and seen.dtype == np.float32
    assert factors[0] == 2.0
    # a query made from gallery photo 0 leaves it out of the choice (in the suites: its own original)
    _, factors = embed_at_gallery_resolution(model, photos[:1], gallery, exclude=[0])
    _, turns, _ = encode_candidates(model, candidate_views(photos[0], 32), CHOICE_VIEWS)
    expected = choose_resolution(gallery_agreement(turns.numpy(), gallery, exclude=0), 1.0)
    assert factors[0] == CANDIDATES[expected]


def test_the_view_chosen_on_its_rotations_is_searched_as_the_mean_of_all_its_rotations_and_flips():
    model, photo = _model(head_log2=1.0), _photo(4)
    views = candidate_views(photo, 32)
    out, embedding, pick = pick_resolution(model, photo, np.eye(2, model.config.embed_dim, dtype=np.float32))
    assert out["V"].shape[0] == CHOICE_VIEWS * len(CANDIDATES)  # 4 rotations of the 5 views, then 4 flips of one
    with torch.no_grad():
        eight = torch.nn.functional.normalize(model.encode(dihedral_views(views[pick:pick + 1]), "photo")["V"], dim=1)
    assert np.allclose(embedding.numpy(), torch.nn.functional.normalize(eight.mean(0), dim=0).numpy(), atol=1e-5)
    assert np.isclose(float(embedding.norm()), 1.0)


def test_the_eight_views_are_the_four_rotations_then_those_of_the_mirror_image():
    x = torch.arange(4.0).view(1, 1, 2, 2)  # [[0, 1], [2, 3]]
    views = dihedral_views(x)
    assert views.shape == (8, 1, 2, 2)
    assert torch.equal(views[:4], rotations(x)) and torch.equal(views[4:], flipped_rotations(x))
    assert torch.equal(views[1, 0], torch.tensor([[1.0, 3.0], [0.0, 2.0]]))  # a quarter turn
    assert torch.equal(views[4, 0], torch.tensor([[1.0, 0.0], [3.0, 2.0]]))  # the mirror image


def test_candidates_are_encoded_on_their_rotations_or_on_all_eight_views_only():
    model, views = _model(), candidate_views(_photo(), 32)
    with torch.no_grad():
        out, _, _ = encode_candidates(model, views, CHOICE_VIEWS)
    assert out["V"].shape[0] == CHOICE_VIEWS * len(views)
    with pytest.raises(ValueError, match="n_views"):
        encode_candidates(model, views, 2)
