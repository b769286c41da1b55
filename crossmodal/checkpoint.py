"""Self-describing checkpoints: weights, configs, class names, training files and metrics in one file."""

from __future__ import annotations

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
