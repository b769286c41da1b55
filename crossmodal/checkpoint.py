"""Self-describing checkpoints: weights, configs, class names, training files and metrics in one file."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .config import ModelConfig, TrainConfig, config_from_dict, config_to_dict
from .files import file_sha256
from .model import CrossModalModel

FORMAT = "crossmodal-checkpoint-v1"


class CheckpointError(ValueError):
    """A file is not a crossmodal checkpoint, or does not fit this version of the model."""


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_checkpoint(path: str | Path, model: CrossModalModel, train_config: TrainConfig, meta: dict[str, Any]) -> None:
    """Write the model for inference: float weights stored as float16 to keep the file small.

    Args:
        meta: plain values: ``train_photos`` and ``train_sketches`` (file lists), ``training_seconds``,
            ``validation`` metrics and anything else worth keeping with the weights.
    """
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    atomic_save({"format": FORMAT, "model_config": config_to_dict(model.config),
                 "train_config": config_to_dict(train_config), "class_names": list(model.class_names),
                 "state_dict": state, "meta": meta}, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict, loaded safely (``weights_only=True``: no code runs).

    Raises:
        CheckpointError: missing file, not a torch file, or not a crossmodal checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist: train one with `python -m crossmodal train`")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for foreign or damaged files
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a crossmodal checkpoint (expected format {FORMAT})")
    return data


def load_checkpoint(path: str | Path) -> CrossModalModel:
    """Rebuild the model a checkpoint describes, in eval mode, with ``model.info`` set.

    ``model.info`` holds the train config, the meta dict and ``fingerprint`` (sha256 of the file).

    Raises:
        CheckpointError: the file is not a checkpoint or its weights do not fit its config.
    """
    data = read_checkpoint(path)
    try:
        # checkpoints from before sketch normalisation saw plain resized sketches: keep feeding them those
        model_config = config_from_dict(ModelConfig, {"sketch_input": "legacy", **data["model_config"]})
        train_config = config_from_dict(TrainConfig, data["train_config"])
        model = CrossModalModel(model_config, data["class_names"])
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in data["state_dict"].items()}, strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} does not match this version of the model: {err}") from err
    model.info = {"train_config": train_config, "meta": data.get("meta", {}), "fingerprint": file_sha256(path),
                  "path": str(path)}
    return model.eval()


def _configs(run: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    """A raw checkpoint's model config and its training options but the seed, as this version reads them:
    a file written before an option existed has that option's default (what it trained with)."""
    train_config = config_from_dict(TrainConfig, run["train_config"])
    return config_from_dict(ModelConfig, run["model_config"]), dataclasses.replace(train_config, seed=0)


def average_checkpoints(paths: list[str | Path], out: str | Path) -> dict[str, Any]:
    """Write the mean of several fine-tunings' weights as one checkpoint (a "model soup").

    Runs of one recipe that differ only in their seed, each fine-tuned from the same checkpoint,
    end in one basin of the loss, so their mean is a model of its own, often better than each
    ("model soups", Wortsman et al. 2022) and served at the cost of one. BatchNorm statistics are
    averaged too.

    Returns:
        The new checkpoint's meta: the union of the runs' training files, their summed training
        time, and ``averaged`` (each run's path, sha256 and seed).

    Raises:
        CheckpointError: fewer than two files, unreadable files, or runs that are not reruns of
            one fine-tuning (another model, classes, held-out sketches, initial weights or options
            than the seed).
    """
    if len(paths) < 2:
        raise CheckpointError("averaging needs two or more checkpoints")
    runs = [read_checkpoint(path) for path in paths]
    first = runs[0]
    model_config, options = _configs(first)
    for path, run in zip(paths[1:], runs[1:]):
        run_model_config, run_options = _configs(run)
        differs = [what for what, a, b in (
            ("model", run_model_config, model_config),
            ("classes", run["class_names"], first["class_names"]),
            ("training options other than the seed", run_options, options),
            ("held-out sketches", run["meta"].get("heldout_sketches"), first["meta"].get("heldout_sketches")),
            ("initial weights", run["meta"].get("init_checkpoint_sha256"), first["meta"].get("init_checkpoint_sha256")),
        ) if a != b]
        if differs:
            raise CheckpointError(f"{path} is not a rerun of {paths[0]} with another seed: its {', '.join(differs)} "
                                  f"differ; only fine-tunings of one checkpoint by one recipe can be averaged")
    if not first["meta"].get("init_checkpoint_sha256"):
        raise CheckpointError("only fine-tunings of one checkpoint (train --init) can be averaged: runs trained from "
                              "scratch end in unrelated minima, whose mean is no model")
    state = {}
    for name, value in first["state_dict"].items():
        if value.is_floating_point():
            state[name] = (sum(run["state_dict"][name].float() for run in runs) / len(runs)).half()
        else:  # BatchNorm's batch counters: a count, not a weight
            state[name] = value
    meta = {**first["meta"],
            "train_photos": sorted({f for run in runs for f in run["meta"].get("train_photos", [])}),
            "train_sketches": sorted({f for run in runs for f in run["meta"].get("train_sketches", [])}),
            "training_seconds": round(sum(run["meta"].get("training_seconds", 0.0) for run in runs), 1),
            "validation": {}, "history": [],
            "averaged": [{"file": str(path), "sha256": file_sha256(path), "seed": run["train_config"]["seed"]}
                         for path, run in zip(paths, runs)]}
    atomic_save({**first, "state_dict": state, "meta": meta}, out)
    return meta
