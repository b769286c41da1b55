import json

import numpy as np
import pytest
import torch

from crossmodal import train as train_module
from crossmodal.checkpoint import load_checkpoint
from crossmodal.config import TrainConfig
from crossmodal.cli import main


def _train_args(photos, sketches, out, cache, epochs=1):
    return ["train", "--photos", str(photos), "--sketches", str(sketches), "--out", str(out),
            "--epochs", str(epochs), "--batch-size", "4", "--image-size", "32", "--widths", "8", "8", "16", "16",
            "--cache-dir", str(cache)]


def test_train_then_evaluate_end_to_end(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    out = tmp_path / "ckpt" / "tiny.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache") + ["--classes", "airplane", "runway",
                                                                          "tenniscourt"]) == 0
    model = load_checkpoint(out)
    meta = model.info["meta"]
    assert model.class_names == ["airplane", "runway", "tenniscourt"]
    assert model.config.widths == (8, 8, 16, 16) and model.config.image_size == 32
    assert len(meta["train_photos"]) == 3 * 4  # numbers 00-03; 70 is validation, 80-81 test
    assert not any(name.endswith(("80.png", "81.png", "70.png")) for name in meta["train_photos"])
    assert sorted(meta["train_sketches"] + meta["heldout_sketches"]) == sorted(
        f"{c}/{n}.png" for c in ("airplane", "runway", "tenniscourt") for n in range(4))
    assert set(meta["train_sketches"]).isdisjoint(meta["heldout_sketches"])

    report_file = tmp_path / "eval.json"
    assert main(["evaluate", "--checkpoint", str(out), "--photos", str(photos), "--sketches", str(sketches),
                 "--json", str(report_file)]) == 0
    printed = capsys.readouterr().out
    assert "sketch_to_photo" in printed and "photo_to_sketch" in printed
    report = json.loads(report_file.read_text())
    for direction in ("sketch_to_photo", "photo_to_sketch"):
        assert set(report[direction]) == {"mAP", "P@10", "per_class_AP", "per_class_P@50"}
        assert 0.0 <= report[direction]["mAP"] <= 1.0
    # queries are only the held-out sketches; the gallery only the test photos (80-81)
    assert report["n_queries"]["sketch_to_photo"] == len(meta["heldout_sketches"])
    assert report["n_gallery"] == {"sketch_to_photo": 6, "photo_to_sketch": len(meta["heldout_sketches"])}


def _interrupt_then_resume(args, out, monkeypatch, epoch):
    """Train with ``args``, stopped by Ctrl-C during epoch ``epoch``'s validation, then run them again."""
    real_validate = train_module.validate
    calls = []

    def interrupt(model, data):
        calls.append(1)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return real_validate(model, data)

    monkeypatch.setattr(train_module, "validate", interrupt)
    assert main(args) == 130
    assert not out.exists() and out.with_name(out.name + ".state.pt").exists()
    monkeypatch.setattr(train_module, "validate", real_validate)
    assert main(args) == 0


def test_interrupted_training_resumes(tiny_data, tmp_path, monkeypatch, capsys):
    photos, sketches = tiny_data
    out = tmp_path / "tiny.pt"
    args = _train_args(photos, sketches, out, tmp_path / "cache", epochs=2) + ["--classes", "airplane", "runway",
                                                                               "tenniscourt"]
    _interrupt_then_resume(args, out, monkeypatch, epoch=2)
    assert "resuming from" in capsys.readouterr().out
    history = load_checkpoint(out).info["meta"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert not out.with_name("tiny.pt.state.pt").exists()


@pytest.mark.parametrize("args, message", [
    (["train", "--photos", "/nonexistent", "--out", "x.pt"], "does not exist"),
    (["evaluate", "--checkpoint", "/nonexistent.pt", "--photos", ".", "--sketches", "."], "does not exist"),
])
def test_bad_input_gives_one_clear_line(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_evaluate_refuses_another_kind_of_file(tmp_path, tiny_data, capsys):
    photos, sketches = tiny_data
    (tmp_path / "notes.pt").write_text("hello")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "notes.pt"), "--photos", str(photos),
                 "--sketches", str(sketches)]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("varied", [False, True])
def test_training_can_add_procedural_sketches(tiny_data, tmp_path, varied):
    photos, sketches = tiny_data
    out = tmp_path / "synthetic.pt"
    args = _train_args(photos, sketches, out, tmp_path / "cache") + [
        "--classes", "airplane", "runway", "tenniscourt", "--synthetic-sketches", "2", "--synthetic-prob", "0.9"]
    assert main(args + (["--varied-layouts"] if varied else [])) == 0
    config = load_checkpoint(out).info["train_config"]
    assert config.synthetic_sketches == 2 and config.varied_layouts == varied
    # a varied world is cached apart: a cached world of the default layouts is never reused for it
    world = "synthetic-2-seed0-varied-v*" if varied else "synthetic-2-seed0-v*"
    assert len(list((tmp_path / "cache").glob(f"{world}/sketches/*/*.png"))) == 3 * 2


@pytest.mark.parametrize("n_real, share", [(0, 0.0), (1, 0.125), (3, 0.375), (4, 0.5), (6, 0.5)])
def test_a_class_with_few_real_sketches_is_shown_them_less_often(n_real, share):
    assert train_module.real_sketch_share(n_real, TrainConfig(real_sketch_prob=0.5, real_sketches_full=4)) == share
    assert train_module.real_sketch_share(n_real, TrainConfig(real_sketch_prob=0.5)) == (0.5 if n_real else 0.0)


def test_training_with_view_consistency_logs_the_term(tiny_data, tmp_path):
    photos, sketches = tiny_data
    out = tmp_path / "consistent.pt"
    args = _train_args(photos, sketches, out, tmp_path / "cache") + [
        "--classes", "airplane", "runway", "tenniscourt", "--augment", "sensors",
        "--consistency", "4", "--consistency-on", "photo", "sketch"]
    assert main(args) == 0
    model = load_checkpoint(out)
    assert model.info["train_config"].w_consistency == 4.0
    assert model.info["train_config"].consistency_on == ("photo", "sketch")
    assert model.info["meta"]["history"][0]["consistency"] >= 0.0


def test_same_seed_same_model(tiny_data, tmp_path):
    photos, sketches = tiny_data
    histories = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.pt"
        assert main(_train_args(photos, sketches, out, tmp_path / "cache") + ["--classes", "airplane", "runway",
                                                                              "tenniscourt", "--seed", "3"]) == 0
        histories.append(load_checkpoint(out).info["meta"]["history"])
    assert histories[0] == histories[1]


def test_average_last_keeps_the_mean_of_the_last_epochs_weights(tiny_data, tmp_path, monkeypatch):
    photos, sketches = tiny_data
    seen = []  # the model's weights each time the average takes them in
    real_update = train_module.AveragedModel.update_parameters

    def record(self, model):
        seen.append({k: v.detach().clone().float() for k, v in model.state_dict().items()})
        real_update(self, model)

    monkeypatch.setattr(train_module.AveragedModel, "update_parameters", record)
    out = tmp_path / "averaged.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache", epochs=3)
                + ["--classes", "airplane", "runway", "tenniscourt", "--average-last", "2"]) == 0
    assert len(seen) == 2  # after epochs 2 and 3, not 1
    model = load_checkpoint(out)
    for name, value in model.state_dict().items():
        if value.is_floating_point():  # BatchNorm's batch counter is a count, not averaged
            # the checkpoint stores float16
            assert torch.allclose(value.float(), (seen[0][name] + seen[1][name]) / 2, atol=2e-3, rtol=2e-3), name
    history = model.info["meta"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, "average"]
    assert model.info["meta"]["validation"]["epoch"] == "average"


def test_a_bf16_run_writes_an_ordinary_checkpoint(tiny_data, tmp_path):
    photos, sketches = tiny_data
    out = tmp_path / "bf16.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache")
                + ["--classes", "airplane", "runway", "tenniscourt", "--precision", "bf16"]) == 0
    model = load_checkpoint(out)
    assert model.info["train_config"].precision == "bf16"
    # trained on channels-last images, stored in the usual layout and served in float32
    assert all(v.is_contiguous() for v in model.state_dict().values())
    assert model.embed(sorted(photos.glob("*/*.png"))[:2], "photo").dtype == np.float32


@pytest.mark.parametrize("native_bf16, expected", [(False, "fp32"), (True, "bf16")])
def test_the_default_precision_is_bf16_only_where_the_device_has_it_natively(tiny_data, tmp_path, monkeypatch,
                                                                           native_bf16, expected):
    photos, sketches = tiny_data
    monkeypatch.setattr(train_module, "bf16_is_fast", lambda device: native_bf16)
    out = tmp_path / "auto.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache")
                + ["--classes", "airplane", "runway", "tenniscourt"]) == 0
    # the checkpoint records what ran, not "auto"
    assert load_checkpoint(out).info["train_config"].precision == expected


def test_an_explicit_precision_is_kept_whatever_the_device(monkeypatch):
    monkeypatch.setattr(train_module, "bf16_is_fast", lambda device: False)
    for precision in ("fp32", "bf16"):
        assert train_module.resolve_precision(TrainConfig(precision=precision), "cpu").precision == precision


def test_an_interrupted_averaging_run_resumes_to_the_same_model(tiny_data, tmp_path, monkeypatch):
    photos, sketches = tiny_data
    extra = ["--classes", "airplane", "runway", "tenniscourt", "--average-last", "2"]
    unbroken = tmp_path / "unbroken.pt"
    assert main(_train_args(photos, sketches, unbroken, tmp_path / "cache", epochs=3) + extra) == 0

    resumed = tmp_path / "resumed.pt"
    args = _train_args(photos, sketches, resumed, tmp_path / "cache", epochs=3) + extra
    _interrupt_then_resume(args, resumed, monkeypatch, epoch=3)  # after the average took in epochs 2 and 3
    expected = load_checkpoint(unbroken).state_dict()
    for name, value in load_checkpoint(resumed).state_dict().items():
        assert torch.equal(value, expected[name]), name


def test_reruns_of_a_fine_tuning_with_other_seeds_average_into_one_checkpoint(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    classes = ["--classes", "airplane", "runway", "tenniscourt"]
    base = tmp_path / "base.pt"
    assert main(_train_args(photos, sketches, base, tmp_path / "cache") + classes) == 0
    runs = [tmp_path / f"seed{seed}.pt" for seed in (1, 2)]
    for seed, out in zip((1, 2), runs):
        assert main(_train_args(photos, sketches, out, tmp_path / "cache") + classes
                    + ["--init", str(base), "--seed", str(seed)]) == 0
    soup = tmp_path / "soup.pt"
    assert main(["average", *map(str, runs), "--out", str(soup)]) == 0
    assert f"wrote {soup}: the mean of 2 runs (seeds 1, 2" in capsys.readouterr().out
    assert load_checkpoint(soup).info["meta"]["train_photos"] == load_checkpoint(runs[0]).info["meta"]["train_photos"]
    # the base run is no rerun of a fine-tuning: one clear line, no file
    assert main(["average", str(base), str(runs[0]), "--out", str(tmp_path / "never.pt")]) == 2
    assert "is not a rerun of" in capsys.readouterr().err and not (tmp_path / "never.pt").exists()
    # a run written before an option existed trained with its default: still a rerun of the recipe
    older = torch.load(runs[0], weights_only=True)
    del older["train_config"]["w_contrastive"]
    torch.save(older, runs[0])
    assert main(["average", *map(str, runs), "--out", str(tmp_path / "soup-of-older.pt")]) == 0


def test_fine_tuning_starts_from_the_given_checkpoint(tiny_data, tmp_path):
    photos, sketches = tiny_data
    classes = ["--classes", "airplane", "runway", "tenniscourt"]
    first = tmp_path / "first.pt"
    assert main(_train_args(photos, sketches, first, tmp_path / "cache") + classes) == 0
    source = load_checkpoint(first)
    fresh = train_module.CrossModalModel(source.config, source.class_names)
    assert train_module.initial_weights(fresh, first) == source.info["fingerprint"]
    for name, value in fresh.state_dict().items():
        assert torch.equal(value, source.state_dict()[name]), name

    tuned = tmp_path / "tuned.pt"
    assert main(_train_args(photos, sketches, tuned, tmp_path / "cache") + classes + ["--init", str(first)]) == 0
    model = load_checkpoint(tuned)
    assert model.info["meta"]["init_checkpoint_sha256"] == source.info["fingerprint"]
    assert model.info["train_config"].init_checkpoint == str(first)


def test_fine_tuning_may_change_the_input_size(tiny_data, tmp_path):
    # no weight depends on the size of the feature grid, so a run at another --image-size starts
    # from the checkpoint's weights and keeps its own size
    photos, sketches = tiny_data
    classes = ["--classes", "airplane", "runway", "tenniscourt"]
    first = tmp_path / "first.pt"
    assert main(_train_args(photos, sketches, first, tmp_path / "cache") + classes) == 0
    larger = tmp_path / "larger.pt"
    assert main(_train_args(photos, sketches, larger, tmp_path / "cache") + classes
                + ["--init", str(first), "--image-size", "40"]) == 0
    model = load_checkpoint(larger)
    assert model.config.image_size == 40
    assert model.info["meta"]["init_checkpoint_sha256"] == load_checkpoint(first).info["fingerprint"]


@pytest.mark.parametrize("space", ["V", "Z"])
def test_contrastive_training_learns_from_the_other_classes_photos_unlabelled(tiny_data, tmp_path, capsys, space):
    photos, sketches = tiny_data
    out = tmp_path / "contrastive.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache") + [
        "--classes", "airplane", "runway", "--contrastive", "0.5", "--unlabelled-batch", "2",
        "--contrastive-on", space]) == 0
    info = load_checkpoint(out).info
    assert info["train_config"].contrastive_on == space
    meta = info["meta"]
    # the third class's training numbers only: never its validation (70) or test (80, 81) photos
    assert meta["unlabelled_photos"] == [f"tenniscourt/tenniscourt{n:02d}.png" for n in range(4)]
    assert meta["history"][-1]["contrastive"] > 0
    # a folder with no other class has nothing to offer: one clear line, no file
    assert main(_train_args(photos, sketches, tmp_path / "never.pt", tmp_path / "cache")
                + ["--classes", "airplane", "runway", "tenniscourt", "--contrastive", "0.5"]) == 2
    assert "classes other than the model's" in capsys.readouterr().err and not (tmp_path / "never.pt").exists()


def test_outlier_exposure_trains_on_the_named_other_classes_photos_only(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    out = tmp_path / "outliers.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache") + [
        "--classes", "airplane", "runway", "--outlier-exposure", "0.5", "--outlier-classes", "tenniscourt",
        "--unlabelled-batch", "2"]) == 0
    info = load_checkpoint(out).info
    assert info["train_config"].w_outlier == 0.5 and info["train_config"].outlier_classes == ("tenniscourt",)
    meta = info["meta"]
    assert meta["unlabelled_photos"] == [f"tenniscourt/tenniscourt{n:02d}.png" for n in range(4)]
    assert meta["history"][-1]["outlier"] > 0  # the term ran: beliefs of a young model are not yet uniform
    # a class of the model's own is no outlier: one clear line, no file
    assert main(_train_args(photos, sketches, tmp_path / "never.pt", tmp_path / "cache") + [
        "--classes", "airplane", "runway", "--outlier-exposure", "0.5", "--outlier-classes", "runway"]) == 2
    assert "runway is not a class under" in capsys.readouterr().err and not (tmp_path / "never.pt").exists()


@pytest.mark.parametrize("change, message", [
    (["--widths", "8", "8", "16", "32"], "another architecture"),
    (["--classes", "airplane", "runway"], "trained on classes"),
])
def test_fine_tuning_from_an_incompatible_checkpoint_is_refused(tiny_data, tmp_path, capsys, change, message):
    photos, sketches = tiny_data
    first = tmp_path / "first.pt"
    assert main(_train_args(photos, sketches, first, tmp_path / "cache")
                + ["--classes", "airplane", "runway", "tenniscourt"]) == 0
    args = _train_args(photos, sketches, tmp_path / "tuned.pt", tmp_path / "cache") + ["--init", str(first)]
    if "--classes" not in change:
        args += ["--classes", "airplane", "runway", "tenniscourt"]
    assert main(args + change) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "tuned.pt").exists()


def test_evaluate_can_switch_test_time_augmentation(tiny_checkpoint, tiny_data, tmp_path):
    photos, sketches = tiny_data
    reports = {}
    for name, flags in {"default": [], "switched": ["--no-photo-tta", "--sketch-tta"]}.items():
        out = tmp_path / f"{name}.json"
        assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--photos", str(photos),
                     "--sketches", str(sketches), "--json", str(out)] + flags) == 0
        reports[name] = json.loads(out.read_text())
    assert reports["default"]["views"] == {"photo": 8, "sketch": 1}  # the tiny checkpoint's sketch_views
    assert reports["switched"]["views"] == {"photo": 1, "sketch": 8}


@pytest.mark.parametrize("change, message", [
    (["--batch-size", "13"], "only 12 training photos for a batch of 13"),  # 3 classes x numbers 00-03
    (["--batch-size", "0"], "--batch-size must be at least 1, not 0"),
    (["--epochs", "0"], "--epochs must be at least 1, not 0"),
    (["--classes", "airplane"], "at least two classes"),
    (["--average-last", "2"], "--average-last must be between 0 and --epochs (1), not 2"),
    (["--real-sketches-full", "0"], "--real-sketches-full must be at least 1, not 0"),
    (["--simplify", "1.5"], "--simplify is a probability, between 0 and 1, not 1.5"),
    (["--simplify", "0.3"], "--simplify changes the drawings of --augment robust or sensors"),
])
def test_train_refuses_set_ups_that_cannot_learn(tiny_data, tmp_path, capsys, change, message):
    photos, sketches = tiny_data
    out = tmp_path / "never.pt"
    args = _train_args(photos, sketches, out, tmp_path / "cache") + ["--classes", "airplane", "runway", "tenniscourt"]
    assert main(args + change) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_damaged_resume_state_names_the_file_to_delete(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    out = tmp_path / "tiny.pt"
    state = out.with_name("tiny.pt.state.pt")
    state.write_bytes(b"PK\x03\x04 half a zip file")
    args = _train_args(photos, sketches, out, tmp_path / "cache") + ["--classes", "airplane", "runway", "tenniscourt"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{state} is damaged" in err and "delete it to start over" in err
    assert not out.exists()


def test_photos_can_be_augmented_for_other_sensors_while_sketches_stay_plain(tiny_data, tmp_path):
    photos, sketches = tiny_data
    classes = ("airplane", "runway", "tenniscourt")
    config = TrainConfig(classes=classes, augment="v1", photo_augment="sensors")
    data = train_module.prepare_data(photos, sketches, classes, config, 32, tmp_path / "cache", progress=False)
    assert data.photos.shape[-1] == 64  # kept at twice the input: zooming in shows real pixels
    pairs = train_module.PairDataset(data, config, 32)
    assert pairs.restyle.p == 0.0  # the sketches' augmentation is still v1's: never restyled
    assert pairs[0]["photo"].shape == (3, 32, 32)

    out = tmp_path / "photo-sensors.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache") + [
        "--classes", *classes, "--photo-augment", "sensors"]) == 0
    recorded = load_checkpoint(out).info["train_config"]
    assert (recorded.augment, recorded.photo_augment) == ("v1", "sensors")


def test_a_resolution_head_learns_from_the_zooms_it_is_shown(tiny_data, tmp_path, monkeypatch):
    photos, sketches = tiny_data
    classes = ["airplane", "runway", "tenniscourt"]
    init = tmp_path / "init.pt"
    assert main(_train_args(photos, sketches, init, tmp_path / "cache") + ["--classes", *classes]) == 0
    shown = []
    original = train_module.UnifiedLoss.forward

    def recording(self, out, labels, unified=True, views=None, log_resolution=None, *more):
        shown.append(log_resolution)
        return original(self, out, labels, unified, views, log_resolution, *more)

    monkeypatch.setattr(train_module.UnifiedLoss, "forward", recording)
    out = tmp_path / "resolution.pt"
    assert main(_train_args(photos, sketches, out, tmp_path / "cache") + [
        "--classes", *classes, "--augment", "sensors", "--resolution-head", "2", "--init", str(init)]) == 0
    # the targets are log2 of GroundResolution's factors, from half to twice the photo's resolution
    assert all(t is not None and t.abs().max() <= 1.0 for t in shown)
    model = load_checkpoint(out)
    assert model.config.resolution_head and model.info["train_config"].w_resolution == 2.0
    assert "resolution" in model.info["meta"]["history"][0]
    factors = model.estimate_resolution(torch.rand(2, 3, 32, 32))
    assert factors.shape == (2,) and (factors > 0).all()


def test_a_resolution_head_needs_the_sensors_zooms(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    args = _train_args(photos, sketches, tmp_path / "x.pt", tmp_path / "cache") + ["--resolution-head", "1"]
    assert main(args) == 2
    assert "--augment sensors" in capsys.readouterr().err


def test_chips_need_the_sensors_zooms(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    args = _train_args(photos, sketches, tmp_path / "x.pt", tmp_path / "cache") + ["--chips", "0.5"]
    assert main(args) == 2
    assert "--augment sensors" in capsys.readouterr().err


def test_a_finer_range_of_resolutions_needs_the_sensors_zooms_and_stays_within_four_times(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    args = _train_args(photos, sketches, tmp_path / "x.pt", tmp_path / "cache")
    assert main(args + ["--finest", "3"]) == 2
    assert "--augment sensors" in capsys.readouterr().err
    assert main(args + ["--augment", "sensors", "--finest", "5"]) == 2
    assert "between 1" in capsys.readouterr().err


@pytest.mark.parametrize("chips, finest", [(0.0, 2.0), (1.0, 2.0), (0.0, 3.0)])
def test_the_resolution_head_sees_the_views_the_augmentation_would_show_without_it(tiny_data, tmp_path, chips,
                                                                                   finest):
    photos, sketches = tiny_data
    classes = ("airplane", "runway", "tenniscourt")
    plain = TrainConfig(classes=classes, augment="sensors", chip_prob=chips, finest=finest)
    data = train_module.prepare_data(photos, sketches, classes, plain, 32, tmp_path / "cache", progress=False)
    views = []
    for config in (plain, TrainConfig(classes=classes, augment="sensors", chip_prob=chips, finest=finest,
                                      w_resolution=1.0)):
        torch.manual_seed(5)
        np.random.seed(5)
        views.append([train_module.PairDataset(data, config, 32)[i] for i in range(8)])
    for without, with_head in zip(*views):
        assert torch.equal(without["photo"], with_head["photo"]) and torch.equal(without["sketch"], with_head["sketch"])
        # every finer view a chip: nothing finer than the photo's own resolution to learn
        finest_seen = 0.0 if chips else np.log2(finest)
        assert "log_resolution" not in without and -1.0 <= float(with_head["log_resolution"]) <= finest_seen


def test_pretraining_reads_every_class_without_labels_and_training_starts_from_it(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    out = tmp_path / "pretrained.pt"
    assert main(["pretrain", "--photos", str(photos), "--out", str(out), "--classes", "airplane", "runway",
                 "--epochs", "2", "--batch-size", "4", "--image-size", "32", "--widths", "8", "8", "16", "16",
                 "--photo-widths", "8", "16", "16", "24"]) == 0
    assert "photos without labels" in capsys.readouterr().out
    pretrained = load_checkpoint(out)
    meta = pretrained.info["meta"]
    # training numbers of every class, the one outside the model's included; no validation or test photo
    assert meta["unlabelled_photos"] == [f"{c}/{c}{n:02d}.png" for c in ("airplane", "runway", "tenniscourt")
                                         for n in range(4)]
    assert meta["train_photos"] == [] and meta["self_supervised"]
    assert [h["epoch"] for h in meta["history"]] == [1, 2] and 0 <= meta["validation"]["neighbour_accuracy"] <= 1
    assert pretrained.config.photo_widths == (8, 16, 16, 24)
    # only the photo branch learnt: the sketch branch is as a fresh model of the same seed draws it
    torch.manual_seed(0)
    fresh = type(pretrained)(pretrained.config, pretrained.class_names)
    assert torch.allclose(fresh.backbones["sketch"][0].weight, pretrained.backbones["sketch"][0].weight, atol=1e-3)
    assert not torch.allclose(fresh.backbones["photo"][0].weight, pretrained.backbones["photo"][0].weight, atol=1e-3)

    trained = tmp_path / "trained.pt"
    assert main(_train_args(photos, sketches, trained, tmp_path / "cache") + [
        "--classes", "airplane", "runway", "--photo-widths", "8", "16", "16", "24", "--init", str(out)]) == 0
    assert load_checkpoint(trained).info["meta"]["init_checkpoint_sha256"] == pretrained.info["fingerprint"]
    # a folder with fewer training photos than a batch: one clear line, no file
    assert main(["pretrain", "--photos", str(photos), "--out", str(tmp_path / "never.pt"), "--batch-size", "64",
                 "--image-size", "32", "--widths", "8", "8", "16", "16"]) == 2
    assert "fewer than a batch" in capsys.readouterr().err and not (tmp_path / "never.pt").exists()


def test_label_smoothing_outside_0_to_1_is_refused_before_anything_is_loaded(tiny_data, tmp_path, capsys):
    photos, sketches = tiny_data
    out = tmp_path / "never.pt"
    for value in ("1", "-0.1"):
        assert main(_train_args(photos, sketches, out, tmp_path / "cache") + ["--label-smoothing", value]) == 2
        assert "label_smoothing is the share of a target" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "cache").exists()
