"""Self-supervised pretraining of the photo branch: two views of every photo must find each other.

A step before the labelled training (``crossmodal pretrain``): the photo branch learns from
photos without their labels, the classes outside the model's included, that one scene seen at
another ground resolution, in other colours or turned is still the same scene (SimCLR, Chen et al.,
ICML 2020: NT-Xent over a projection of the pooled features Z, the projection thrown away after).
Only photos with training numbers (00 to ``val_from`` - 1) are read, of every class of the folder,
so no validation or test photo is ever seen. The checkpoint it writes is a whole model (the other
modules as initialised) that ``train --init`` starts from; its ``unlabelled_photos`` list what it saw.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .checkpoint import save_checkpoint
from .config import ModelConfig, TrainConfig
from .data import EOC_CLASSES, load_arrays, photo_split, scan_folder
from .losses import ContrastiveLoss
from .model import CrossModalModel
from .sketchify import photo_augmentation
from .train import model_input, precision_autocast, prepare_for_precision, relative_name, resolve_precision

NEIGHBOURS = 10  # training photos whose classes vote for a validation photo's (the progress measure)


class TwoViews(Dataset):
    """Two augmented views of each stored photo (2 x the model input), as the "sensors" augmentation draws them."""

    def __init__(self, photos: np.ndarray, image_size: int):
        self.photos = photos
        self.augment = photo_augmentation(image_size, "sensors")

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        photo = torch.from_numpy(self.photos[i])
        return self.augment(photo).float() / 255.0, self.augment(photo).float() / 255.0


def projection_head(channels: int, dim: int) -> nn.Module:
    """SimCLR's projection of the pooled features, trained here and then discarded."""
    return nn.Sequential(nn.Linear(channels, 2 * dim), nn.ReLU(inplace=True), nn.Linear(2 * dim, dim))


@torch.no_grad()
def neighbour_accuracy(model: CrossModalModel, reference: torch.Tensor, reference_labels: np.ndarray,
                       queries: torch.Tensor, query_labels: np.ndarray) -> float:
    """Share of ``queries`` whose ``NEIGHBOURS`` nearest ``reference`` photos by Z's cosine vote for their class.

    Labels are only read here, to tell how far the unlabelled learning has come.
    """
    model.eval()

    def features(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.normalize(model.pooled_features(x[i:i + 128], "photo").float(), dim=1)
                          for i in range(0, len(x), 128)])

    k = min(NEIGHBOURS, len(reference))
    nearest = (features(queries) @ features(reference).T).topk(k, dim=1).indices.numpy()
    votes = reference_labels[nearest]
    predicted = np.array([np.bincount(v, minlength=reference_labels.max() + 1).argmax() for v in votes])
    return float((predicted == query_labels).mean())


def pretrain_photo_branch(photos_dir: str | Path, out: str | Path, model_config: ModelConfig = ModelConfig(),
                          config: TrainConfig = TrainConfig(), temperature: float = 0.2, progress: bool = True,
                          threads: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Train the photo branch of a new model on two views of every training-numbered photo, and save it to ``out``.

    ``config``: ``epochs``, ``batch_size`` (photos a step, two views each), ``lr``, ``weight_decay``,
    ``seed``, ``precision``, ``val_from`` and ``classes`` (the model's, 14 by default) are used.
    Validation photos of the model's classes (``val_from``-79) measure it each epoch: the class
    vote of their nearest training photos (``NEIGHBOURS``), by the pooled features.

    Returns:
        The checkpoint's meta dict.

    Raises:
        DatasetNotFoundError: the folder is missing or has no class folder with images.
        ValueError: fewer training-numbered photos than a batch, or none of the model's classes.
    """
    if threads:
        torch.set_num_threads(threads)
    config = resolve_precision(config, device)
    classes = config.classes or EOC_CLASSES
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    samples = scan_folder(photos_dir)
    train = [s for s in samples if photo_split(s.path, config.val_from) == "train"]
    val = [s for s in samples if s.label in classes and photo_split(s.path, config.val_from) == "val"]
    size = model_config.image_size
    photos, train, skipped = load_arrays(train, "photo", 2 * size, progress)
    val_photos, val, skipped_val = load_arrays(val, "photo", size, progress)
    if len(train) < config.batch_size:
        raise ValueError(f"{photos_dir} has {len(train)} readable photos with training numbers "
                         f"(00-{config.val_from - 1:02d}), fewer than a batch of {config.batch_size}")
    for path, reason in skipped + skipped_val:
        print(f"skipped unreadable file {path}: {reason}")
    labelled = np.array([s.label in classes for s in train])
    if not labelled.any() or not val:
        raise ValueError(f"{photos_dir} has no training and validation photos of the model's classes "
                         f"({', '.join(classes)}) to measure the pretraining with")
    index = {c: i for i, c in enumerate(classes)}
    reference = F.avg_pool2d(torch.from_numpy(photos[labelled]).float() / 255.0, 2)  # at the model input
    reference_labels = np.array([index[s.label] for s, keep in zip(train, labelled) if keep])
    queries = torch.from_numpy(val_photos).float() / 255.0
    query_labels = np.array([index[s.label] for s in val])

    model = CrossModalModel(model_config, classes).to(device)
    prepare_for_precision(model, device, config.precision)
    head = projection_head(model.branch_heads["photo"].in_features, model_config.embed_dim).to(device)
    trained = list(model.backbones["photo"].parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(train) // config.batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.epochs * steps_per_epoch,
                                                    pct_start=0.15)
    loss_fn = ContrastiveLoss(temperature)
    generator = torch.Generator()
    dataset = TwoViews(photos, size)
    history, seconds = [], 0.0
    for epoch in range(config.epochs):
        started = time.time()
        torch.manual_seed(config.seed * 1000 + epoch)
        generator.manual_seed(config.seed * 1000 + epoch)
        model.train()
        total = 0.0
        loader = DataLoader(dataset, config.batch_size, shuffle=True, drop_last=True, generator=generator)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
        for first, second in bar:
            x = model_input(torch.cat([first, second]), device, config.precision)
            with precision_autocast(device, config.precision):
                loss = loss_fn(head(model.pooled_features(x, "photo")))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        accuracy = neighbour_accuracy(model, reference, reference_labels, queries, query_labels)
        seconds += time.time() - started
        history.append({"epoch": epoch + 1, "contrastive": total / steps_per_epoch, "neighbour_accuracy": accuracy})
        print(f"epoch {epoch + 1}/{config.epochs} contrastive {total / steps_per_epoch:.3f} "
              f"neighbour_accuracy {accuracy:.3f} ({time.time() - started:.0f}s)")
    meta = {
        "self_supervised": True, "train_photos": [], "train_sketches": [], "heldout_sketches": [],
        "unlabelled_photos": [relative_name(s) for s in train], "training_seconds": round(seconds, 1),
        "temperature": temperature, "device": str(device), "validation": history[-1], "history": history,
        "photos_dir": str(photos_dir), "torch": str(torch.__version__),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    save_checkpoint(out, model.cpu().to(memory_format=torch.contiguous_format), config, meta)
    return meta
