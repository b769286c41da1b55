"""Checks on the shared dataset (CROSSMODAL_DATA); skipped, saying why, without it."""

from pathlib import Path

from crossmodal.checkpoint import load_checkpoint
from crossmodal.data import EOC_CLASSES, UCM_CLASSES, photo_split, scan_folder
from crossmodal.evaluate import evaluate_model
from crossmodal.train import relative_name

CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "ucm14.pt"


def test_loaders_read_the_shared_dataset(real_data):
    photos = scan_folder(real_data / "ucmerced")
    assert len(photos) == 2100 and {s.label for s in photos} == set(UCM_CLASSES)
    assert sum(photo_split(s.path) == "test" for s in photos) == 21 * 20
    sketches = scan_folder(real_data / "eoc-sketches")
    assert len(sketches) == 63 and {s.label for s in sketches} == set(EOC_CLASSES)


def test_committed_checkpoint_never_saw_what_it_is_evaluated_on(real_data):
    model = load_checkpoint(CHECKPOINT)
    meta = model.info["meta"]
    assert not any(photo_split(Path(name)) == "test" for name in meta["train_photos"])
    assert set(meta["train_sketches"]).isdisjoint(meta["heldout_sketches"])
    report = evaluate_model(model, real_data / "ucmerced", real_data / "eoc-sketches")
    sketches = scan_folder(real_data / "eoc-sketches")
    assert report["n_queries"]["sketch_to_photo"] == len([s for s in sketches
                                                           if relative_name(s) not in meta["train_sketches"]])
    # targets on held-out real sketches; docs/results.md has the exact numbers
    assert report["sketch_to_photo"]["mAP"] >= 0.60
    assert report["sketch_to_photo"]["P@10"] >= 0.65
