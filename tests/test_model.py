import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image, ImageDraw
from conftest import TINY_CLASSES, constant_resolution_head, tiny_model_config

from crossmodal.checkpoint import CheckpointError, average_checkpoints, load_checkpoint, save_checkpoint
from crossmodal.config import ModelConfig, TrainConfig
from crossmodal.data import ImageLoadError
from crossmodal.losses import UnifiedLoss
from crossmodal.model import CrossModalModel, PretrainedWeightsUnavailable


def _model(**overrides):
    torch.manual_seed(0)
    config = tiny_model_config()
    return CrossModalModel(ModelConfig(**{**config.__dict__, **overrides}), TINY_CLASSES)


def test_embed_returns_unit_vectors_of_the_latent_size(tiny_data):
    photos, sketches = tiny_data
    model = _model()
    files = sorted(photos.glob("*/*.png"))[:5]
    emb = model.embed(files, "photo")
    assert emb.shape == (5, 128) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert model.embed(sorted(sketches.glob("*/*.png"))[:2], "sketch").shape == (2, 128)


def test_a_single_image_embeds_the_same_alone_or_in_a_batch(tiny_data):
    photos, _ = tiny_data
    model = _model()
    files = sorted(photos.glob("*/*.png"))[:4]
    assert np.allclose(model.embed(files[:1], "photo"), model.embed(files, "photo")[:1], atol=1e-5)


def test_attention_map_is_a_normalised_heat_map(tiny_data):
    photos, _ = tiny_data
    model = _model()
    heat = model.attention_map(sorted(photos.glob("*/*.png"))[0], "photo")
    assert heat.shape == (32, 32)
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    weights = model.encode(torch.rand(2, 1, 32, 32), "sketch")["weights"]
    assert torch.allclose(weights.sum((1, 2)), torch.ones(2), atol=1e-5)


def test_unknown_modality_is_refused():
    with pytest.raises(ValueError, match="modality"):
        _model().encode(torch.rand(1, 3, 32, 32), "radar")
    with pytest.raises(ValueError, match="modality"):
        _model().pooled_features(torch.rand(1, 3, 32, 32), "radar")


@pytest.mark.parametrize("overrides", [{}, {"resolution_head": True}, {"share_backbone": True}])
def test_a_branch_alone_gives_the_pooled_features_that_encode_gives(overrides):
    torch.manual_seed(0)
    model = _model(**overrides).eval()
    with torch.no_grad():
        for modality, x in (("photo", torch.rand(2, 3, 32, 32)), ("sketch", torch.rand(2, 1, 32, 32))):
            assert torch.allclose(model.pooled_features(x, modality), model.encode(x, modality)["Z"], atol=1e-6)


@pytest.mark.parametrize("overrides", [{}, {"attention": False}, {"decoders": False, "cross_attention": False},
                                       {"share_backbone": True}])
def test_a_few_training_steps_lower_the_loss(overrides):
    model = _model(**overrides)
    loss_fn = UnifiedLoss(TrainConfig())
    photos, sketches = torch.rand(6, 3, 32, 32), torch.rand(6, 1, 32, 32)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    losses = []
    for _ in range(8):
        total, _ = loss_fn(model(photos, sketches), labels)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(total.item())
    assert losses[-1] < losses[0]


def test_bf16_training_steps_lower_the_loss_near_the_float32_loss_and_keep_float32_weights():
    from crossmodal.train import prepare_for_precision, train_step

    batch = {"photo": torch.rand(6, 3, 32, 32), "sketch": torch.rand(6, 1, 32, 32),
             "label": torch.tensor([0, 1, 2, 0, 1, 2])}
    first = {}
    for precision in ("fp32", "bf16"):
        model = _model()
        prepare_for_precision(model, "cpu", precision)
        optimizer = torch.optim.Adam(model.parameters(), 3e-3)
        losses = [train_step(model, UnifiedLoss(TrainConfig()), optimizer, batch, precision=precision)[0].item()
                  for _ in range(8)]
        assert losses[-1] < losses[0]
        assert all(p.dtype == torch.float32 for p in model.parameters())
        first[precision] = losses[0]
    # the same model and batch: bfloat16 (8 bits of mantissa) moves the loss by a little, not by nothing
    assert first["bf16"] != first["fp32"]
    assert first["bf16"] == pytest.approx(first["fp32"], rel=0.02)


def _fine_tuning(path, seed, init="abc", **options):
    """A tiny checkpoint as `train --init` with ``seed`` writes it: weights of that seed, the shared init's hash."""
    torch.manual_seed(seed)
    model = CrossModalModel(tiny_model_config(), TINY_CLASSES)
    save_checkpoint(path, model, TrainConfig(classes=TINY_CLASSES, seed=seed, **options),
                    {"train_photos": ["airplane/a.png"], "train_sketches": [f"world-{seed}/airplane/s.png"],
                     "heldout_sketches": ["airplane/0.png"], "init_checkpoint_sha256": init,
                     "training_seconds": 60.0})
    return path


def test_reruns_of_a_fine_tuning_average_into_one_checkpoint(tmp_path):
    a, b = _fine_tuning(tmp_path / "a.pt", 0), _fine_tuning(tmp_path / "b.pt", 1)
    meta = average_checkpoints([a, b], tmp_path / "soup.pt")
    soup = load_checkpoint(tmp_path / "soup.pt")
    first, second = load_checkpoint(a).state_dict(), load_checkpoint(b).state_dict()
    for name, value in soup.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (first[name] + second[name]) / 2, atol=1e-3), name
    # every file either run trained on counts as trained on
    assert soup.info["meta"]["train_sketches"] == ["world-0/airplane/s.png", "world-1/airplane/s.png"]
    assert meta["training_seconds"] == 120.0
    assert [(run["file"], run["seed"]) for run in meta["averaged"]] == [(str(a), 0), (str(b), 1)]


@pytest.mark.parametrize("first, second, message", [
    ({}, {"lr": 1e-4}, "training options other than the seed differ"),
    ({}, {"init": "def"}, "initial weights differ"),
    ({"init": ""}, {"init": ""}, "only fine-tunings of one checkpoint"),
])
def test_only_reruns_of_one_fine_tuning_are_averaged(tmp_path, first, second, message):
    a, b = _fine_tuning(tmp_path / "a.pt", 0, **first), _fine_tuning(tmp_path / "b.pt", 1, **second)
    with pytest.raises(CheckpointError, match=message):
        average_checkpoints([a, b], tmp_path / "soup.pt")
    assert not (tmp_path / "soup.pt").exists()
    with pytest.raises(CheckpointError, match="two or more"):
        average_checkpoints([a], tmp_path / "soup.pt")


def test_checkpoint_round_trip(tmp_path, tiny_data):
    photos, _ = tiny_data
    model = _model()
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, TrainConfig(classes=TINY_CLASSES), {"train_photos": ["airplane/a.png"]})
    loaded = load_checkpoint(path)
    assert loaded.class_names == list(TINY_CLASSES) and loaded.config == model.config
    assert loaded.info["meta"]["train_photos"] == ["airplane/a.png"]
    assert len(loaded.info["fingerprint"]) == 64
    files = sorted(photos.glob("*/*.png"))[:3]
    # weights are stored as float16: embeddings agree to that precision
    assert np.allclose(loaded.embed(files, "photo"), model.embed(files, "photo"), atol=2e-2)


def test_the_photo_branch_can_be_wider_than_the_sketch_branch(tmp_path, tiny_data):
    _, sketches = tiny_data
    model = _model(photo_widths=(8, 16, 16, 24), resolution_head=True)
    assert model.encode(torch.rand(2, 3, 32, 32), "photo")["Z"].shape == (2, 24)
    assert model.encode(torch.rand(2, 1, 32, 32), "sketch")["Z"].shape == (2, 16)
    assert model.config.branch_widths("sketch") == model.config.widths == (8, 8, 16, 16)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, TrainConfig(classes=TINY_CLASSES), {})
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    files = sorted(sketches.glob("*/*.png"))[:2]
    assert np.allclose(loaded.embed(files, "sketch"), model.embed(files, "sketch"), atol=2e-2)
    with pytest.raises(ValueError, match="one set of widths"):
        _model(photo_widths=(8, 16, 16, 24), share_backbone=True)


def test_wrong_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a crossmodal checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    # a checkpoint whose weights do not fit its own config (another version of the model)
    model = _model()
    save_checkpoint(tmp_path / "edited.pt", model, TrainConfig(), {})
    data = torch.load(tmp_path / "edited.pt", weights_only=True)
    data["model_config"]["widths"] = [8, 8, 8, 8]
    torch.save(data, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(tmp_path / "edited.pt")


def test_unreadable_query_image_raises_image_load_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ImageLoadError):
        _model().embed([tmp_path / "bad.png"], "sketch")


def test_pretrained_weights_that_cannot_be_had_give_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    with pytest.raises(PretrainedWeightsUnavailable, match="without --pretrained"):
        CrossModalModel(ModelConfig(backbone="resnet18", pretrained=True), TINY_CLASSES)
    with pytest.raises(ValueError, match="torchvision backbone"):
        CrossModalModel(ModelConfig(pretrained=True), TINY_CLASSES)


def test_photo_embeddings_are_invariant_to_rotation_with_tta():
    model = _model()
    photo = torch.rand(1, 3, 32, 32)
    turned = torch.rot90(photo, 1, (2, 3))
    assert np.allclose(model.embed(photo, "photo"), model.embed(turned, "photo"), atol=1e-5)
    assert not np.allclose(model.embed(photo, "photo", tta=False), model.embed(turned, "photo", tta=False), atol=1e-3)


def test_checkpoints_from_before_sketch_normalisation_keep_their_input(tmp_path):
    from crossmodal.checkpoint import read_checkpoint

    root = Path(__file__).resolve().parents[1]
    data = read_checkpoint(root / "checkpoints" / "demo.pt")
    stored = data["model_config"].get("sketch_input")
    assert load_checkpoint(root / "checkpoints" / "demo.pt").config.sketch_input == (stored or "legacy")


def test_a_photo_query_is_embedded_and_classified_as_the_gallery_embeds_it():
    from crossmodal.retrieval import encode_query

    model = _model()
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    query = encode_query(model, photo, "photo")
    stored = model.embed([photo], "photo")[0]  # how the photo gallery's index holds it
    assert np.allclose(query.embedding, stored, atol=1e-5)
    assert np.allclose(query.probabilities, model.class_probabilities([photo], "photo")[0], atol=1e-5)
    turned = encode_query(model, photo.transpose(Image.Transpose.ROTATE_90), "photo")
    assert np.allclose(turned.embedding, query.embedding, atol=1e-5)  # an aerial photo has no "up"
    assert np.allclose(turned.probabilities, query.probabilities, atol=1e-5)
    assert query.attention.shape == (32, 32)  # the photo's own view's map, not 8 of them


def test_a_sketch_query_is_embedded_in_the_views_its_checkpoint_names():
    from crossmodal.retrieval import encode_query

    sketch = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(sketch).line([(8, 8), (56, 20), (30, 56)], fill=0, width=2)
    mirrored = sketch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    model = _model()  # checkpoints from before sketch_views: one view, as drawn
    query = encode_query(model, sketch, "sketch")
    assert np.allclose(query.embedding, model.embed([sketch], "sketch")[0], atol=1e-5)
    assert not np.allclose(query.embedding, model.embed([sketch], "sketch", tta=True)[0], atol=1e-3)
    assert np.allclose(query.probabilities, model.class_probabilities([sketch], "sketch")[0], atol=1e-5)
    torch.manual_seed(0)
    two = _model(sketch_views=2)  # the drawing and its mirror image
    query = encode_query(two, sketch, "sketch")
    alone = two.embed([sketch, mirrored], "sketch", tta=False)
    mean = alone.mean(0) / np.linalg.norm(alone.mean(0))
    assert np.allclose(query.embedding, mean, atol=1e-5)
    assert np.allclose(two.embed([sketch], "sketch")[0], mean, atol=1e-5)
    assert np.allclose(two.embed([mirrored], "sketch")[0], mean, atol=1e-5)  # a mirrored drawing: the same query
    assert np.allclose(query.probabilities, two.class_probabilities([sketch], "sketch")[0], atol=1e-5)
    assert two.views("photo") == 8 and two.views("sketch") == 2


def test_only_known_view_counts_are_accepted():
    with pytest.raises(ValueError, match="sketch_views must be one of"):
        ModelConfig(sketch_views=3)


def test_fine_tuning_may_change_how_many_views_a_drawing_is_embedded_as(tiny_checkpoint):
    from crossmodal.train import initial_weights

    source = load_checkpoint(tiny_checkpoint)
    model = _model(sketch_views=2)
    assert initial_weights(model, tiny_checkpoint) == source.info["fingerprint"]
    assert model.config.sketch_views == 2 and model.views("sketch") == 2 and model.views("sketch", tta=False) == 1


@pytest.mark.parametrize("estimate, seen_at", [(0.5, 0.5), (1.1, None), (3.0, 2.0)])
def test_a_query_photo_is_seen_at_the_training_resolution_the_head_estimates(monkeypatch, estimate, seen_at):
    from crossmodal.data import photo_array, photo_at_resolution

    model = _model(resolution_head=True)
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    monkeypatch.setattr(model, "estimate_resolution", lambda x: np.full(len(x), estimate, np.float32))
    seen = (model.preprocess([photo], "photo", at_training_resolution=True)[0] * 255).round().byte().numpy()
    # within the tolerance the photo is left as it is; estimates beyond the head's range are clipped to it
    expected = photo_array(photo, 32) if seen_at is None else photo_at_resolution(photo, 32, seen_at)
    assert np.array_equal(seen, expected)
    assert np.array_equal((model.preprocess([photo], "photo")[0] * 255).round().byte().numpy(), photo_array(photo, 32))


def test_the_resolution_head_estimates_one_factor_a_photo_whatever_its_orientation():
    model = _model(resolution_head=True)
    x = torch.rand(3, 3, 32, 32)
    factors = model.estimate_resolution(x)
    assert factors.shape == (3,) and ((factors > 0) & np.isfinite(factors)).all()
    assert np.allclose(model.estimate_resolution(torch.rot90(x, 1, (2, 3))), factors, atol=1e-5)
    with pytest.raises(ValueError, match="no resolution head"):
        _model().estimate_resolution(x)


def test_a_query_photo_seen_at_another_resolution_shows_and_says_what_was_searched():
    from crossmodal.retrieval import encode_query

    model = _model(resolution_head=True)
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    model.resolution_head = constant_resolution_head(-1.0)  # log2: half the training resolution
    query = encode_query(model, photo, "photo")
    assert "2.0x coarser" in query.note and "centre" in query.note
    assert encode_query(model, photo, "photo", at_training_resolution=False).note == ""  # known resolution
    # the view shown is the view searched: the photo's middle half, enlarged
    model.resolution_head = constant_resolution_head(0.0)
    assert np.allclose(query.embedding, model.embed([query.image], "photo")[0], atol=1e-5)
    assert np.allclose(query.embedding, model.embed([photo.crop((16, 16, 48, 48))], "photo")[0], atol=0.05)
