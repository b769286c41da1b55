"""Training: corresponding photo/sketch pairs, the unified loss, per-epoch validation, resumable state."""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .checkpoint import atomic_save, save_checkpoint
from .config import CONTRASTIVE_SPACES, MODALITIES, PRECISIONS, ModelConfig, TrainConfig, config_to_dict
from .data import EOC_CLASSES, Sample, load_arrays, other_class_photos, photo_split, scan_folder, sketch_fold
from .losses import UnifiedLoss
from .metrics import retrieval_metrics
from .model import CrossModalModel
from .ranking import class_probabilities
from .ink import VERSION as INK_VERSION
from .ink import WORK_SIDE
from .sketchify import (DrawingStyle, GroundResolution, is_robust, photo_augmentation, pseudo_sketch_arrays,
                        sketch_augmentation)

DEFAULT_CACHE = Path.home() / ".cache" / "crossmodal" / "pseudo-sketches"


def relative_name(sample: Sample) -> str:
    """How checkpoints name a data file: ``<canonical class>/<file name>``, independent of the folder."""
    return f"{sample.label}/{sample.path.name}"


@dataclass
class TrainingData:
    """Everything one run trains and validates on, decoded into memory."""

    photos: np.ndarray  # (n, 3, P, P) uint8 training photos: P = S, the model input, or 2S (robust augment)
    photo_labels: np.ndarray  # (n,) class indices
    pseudo: np.ndarray  # (n, 1, W, W) uint8 pseudo-sketch ink of each training photo, W: the sketch side
    real: np.ndarray  # (m, 1, W, W) uint8 ink of the real sketches of the training folds
    real_labels: np.ndarray  # (m,)
    synthetic: np.ndarray  # (s, 1, W, W) uint8 ink of procedural sketches in the real ones' style
    synthetic_labels: np.ndarray  # (s,)
    val_photos: np.ndarray
    val_labels: np.ndarray
    val_pseudo: np.ndarray
    train_photo_names: list[str]
    train_sketch_names: list[str]
    heldout_sketch_names: list[str]
    skipped: list[tuple[Path, str]]
    unlabelled: np.ndarray  # (u, 3, P, P) uint8 photos of the folder's other classes (training numbers), no labels
    unlabelled_names: list[str]


def prepare_data(photos_dir: str | Path, sketches_dir: str | Path | None, classes: tuple[str, ...],
                 config: TrainConfig, image_size: int, cache_dir: str | Path | None = DEFAULT_CACHE,
                 progress: bool = True, sketch_input: str = "legacy") -> TrainingData:
    """Scan, split and decode the training data. Test photos (80-99) are never loaded here.

    With a ``robust`` or ``sensors`` photo augmentation, training photos are kept at twice the model input (crops
    then zoom in on real pixels); normalised training sketches are kept at the normalisation's
    working side (restyling redraws them there); validation data is at the model input.

    Raises:
        DatasetNotFoundError: a folder is missing or has none of the classes.
        ValueError: a class has no training photo.
    """
    index = {c: i for i, c in enumerate(classes)}
    samples = scan_folder(photos_dir, classes)
    train = [s for s in samples if photo_split(s.path, config.val_from) == "train"]
    val = [s for s in samples if photo_split(s.path, config.val_from) == "val"]
    sketch_side = WORK_SIDE if sketch_input == "skeleton" else image_size
    photo_side = 2 * image_size if is_robust(photo_augment_kind(config)) else image_size
    photos, train, skipped = load_arrays(train, "photo", photo_side, progress)
    val_photos, val, skipped_val = load_arrays(val, "photo", image_size, progress)
    missing = sorted(set(classes) - {s.label for s in train})
    if missing:
        raise ValueError(f"no readable training photos (numbers 00-{config.val_from - 1:02d}) for classes {missing} "
                         f"under {photos_dir}")
    pseudo = pseudo_sketch_arrays(train, sketch_side, config.pseudo_style, cache_dir, sketch_input=sketch_input)
    val_pseudo = pseudo_sketch_arrays(val, image_size, config.pseudo_style, cache_dir, sketch_input=sketch_input)

    real_train: list[Sample] = []
    heldout: list[Sample] = []
    if sketches_dir is not None and config.real_sketches:
        sketches = scan_folder(sketches_dir, classes)
        folds = sketch_fold(sketches, config.sketch_folds)
        real_train = [s for s in sketches if folds[s.path] != config.holdout_fold]
        heldout = [s for s in sketches if folds[s.path] == config.holdout_fold]
    real, real_train, skipped_real = load_arrays(real_train, "sketch", sketch_side, progress, sketch_input)
    unlabelled, unlabelled_samples, skipped_unlabelled = np.zeros((0, 3, photo_side, photo_side), np.uint8), [], []
    if config.w_contrastive or config.w_outlier:
        unlabelled, unlabelled_samples, skipped_unlabelled = load_arrays(
            unlabelled_photos(photos_dir, classes, config.val_from, config.outlier_classes), "photo", photo_side,
            progress)
    synthetic, synthetic_samples = np.zeros((0, 1, image_size, image_size), np.uint8), []
    if config.synthetic_sketches:
        world = synthetic_world(config.synthetic_sketches, config.seed, classes, cache_dir, progress,
                                config.varied_layouts)
        synthetic, synthetic_samples, _ = load_arrays(scan_folder(world / "sketches", classes), "sketch",
                                                      sketch_side, progress, sketch_input)
    return TrainingData(
        photos=photos, photo_labels=np.array([index[s.label] for s in train]), pseudo=pseudo,
        real=real, real_labels=np.array([index[s.label] for s in real_train], dtype=np.int64),
        synthetic=synthetic, synthetic_labels=np.array([index[s.label] for s in synthetic_samples], dtype=np.int64),
        val_photos=val_photos, val_labels=np.array([index[s.label] for s in val], dtype=np.int64),
        val_pseudo=val_pseudo, train_photo_names=[relative_name(s) for s in train],
        train_sketch_names=[relative_name(s) for s in real_train],
        heldout_sketch_names=[relative_name(s) for s in heldout],
        skipped=skipped + skipped_val + skipped_real + skipped_unlabelled,
        unlabelled=unlabelled, unlabelled_names=[relative_name(s) for s in unlabelled_samples])


def unlabelled_photos(photos_dir: str | Path, classes: tuple[str, ...], val_from: int,
                      only: tuple[str, ...] = ()) -> list[Sample]:
    """The photos of ``photos_dir``'s classes outside ``classes`` (of ``only`` of them, when given), training
    numbers only (never validation or test).

    Raises:
        ValueError: the folder has no such photo (the contrastive or outlier term would have nothing to learn
            from), or ``only`` names a class that is the model's own or not in the folder.
    """
    others = other_class_photos(photos_dir, classes, "train", only, val_from)
    if not others:
        raise ValueError(f"--contrastive and --outlier-exposure learn from the photos of classes other than the "
                         f"model's, and {photos_dir} has none with training numbers (00-{val_from - 1:02d})")
    return others


def synthetic_world(per_class: int, seed: int, classes: tuple[str, ...], cache_dir: str | Path | None,
                    progress: bool, varied: bool = False) -> Path:
    """The demo world's procedural scenes, generated once into the cache (atomically) and reused.

    The folder is named for everything that decides its images, the renderer's ``VERSION`` included,
    so a world made by an older renderer is never trained on by mistake.
    """
    import shutil
    import tempfile

    from .synthetic import VERSION, generate_world

    root = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "crossmodal"
    layouts = "-varied" if varied else ""
    world = root / f"synthetic-{per_class}-seed{seed}{layouts}-v{VERSION}-{'-'.join(classes)}"
    if not world.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=root, prefix=".synthetic-"))
        try:
            generate_world(partial, per_class, seed, classes, progress, varied=varied)
            partial.rename(world)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return world


def photo_augment_kind(config: TrainConfig) -> str:
    """The augmentation kind of the training photos: ``photo_augment`` when set, else ``augment``."""
    return config.photo_augment or config.augment


def real_sketch_share(n_real: int, config: TrainConfig) -> float:
    """The chance that a pair of a class with ``n_real`` real training sketches shows one of them.

    One drawing shown in half of its class's pairs is memorised rather than learnt from, so with
    ``real_sketches_full`` N a class with n < N real sketches shows them n/N as often.
    """
    return config.real_sketch_prob * min(1.0, n_real / config.real_sketches_full)


class PairDataset(Dataset):
    """Corresponding pairs: each training photo with a sketch of its class, both augmented.

    The sketch is a real training sketch of the class with probability ``real_sketch_prob`` (when
    the class has one; n/N of it when the class has n < N = ``real_sketches_full``), a procedural
    sketch of the class with probability ``synthetic_prob`` (when there are any), else the photo's
    own pseudo-sketch or, half of the time, the pseudo-sketch of another photo of the class (a
    person draws the class, not this exact tile). With a view consistency weight, an item also holds
    ``photo_view`` and/or ``sketch_view``: the same photo, or the same drawing, augmented (and
    restyled) again.
    """

    def __init__(self, data: TrainingData, config: TrainConfig, image_size: int):
        self.data, self.config = data, config
        # with the resolution head, the ground resolution is drawn here: it is what the head learns
        self.resolution = (GroundResolution(image_size, finest=config.finest, chip_prob=config.chip_prob)
                           if config.w_resolution else None)
        self.photo_aug = photo_augmentation(image_size, photo_augment_kind(config), resolution=self.resolution is None,
                                            chip_prob=config.chip_prob, finest=config.finest)
        self.sketch_aug = sketch_augmentation(image_size, config.augment)
        robust = is_robust(config.augment)
        self.restyle = DrawingStyle(image_size, config.restyle_prob if robust else 0.0,
                                    simplify=config.simplify_prob if robust else 0.0)
        self.by_class = {c: np.flatnonzero(data.photo_labels == c) for c in np.unique(data.photo_labels)}
        self.real_by_class = {c: np.flatnonzero(data.real_labels == c) for c in np.unique(data.real_labels)}
        self.synthetic_by_class = {c: np.flatnonzero(data.synthetic_labels == c)
                                   for c in np.unique(data.synthetic_labels)}

    def __len__(self) -> int:
        return len(self.data.photo_labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        label = int(self.data.photo_labels[i])
        real, synthetic = self.real_by_class.get(label), self.synthetic_by_class.get(label)
        draw = np.random.rand()
        p_real = real_sketch_share(0 if real is None else len(real), self.config)
        if draw < p_real:
            ink = self.data.real[np.random.choice(real)]
        elif synthetic is not None and draw < p_real + self.config.synthetic_prob:
            ink = self.data.synthetic[np.random.choice(synthetic)]
        else:
            j = i if np.random.rand() < 0.5 else np.random.choice(self.by_class[label])
            ink = self.data.pseudo[j]
        factor, chip = self._draw_resolution()
        item = {"photo": self._photo_view(i, factor, chip), "sketch": self._sketch_view(ink), "label": label}
        if factor is not None:
            # a smaller chip keeps the photo's own ground resolution
            item["log_resolution"] = torch.tensor(0.0 if chip else np.log2(factor), dtype=torch.float32)
        if self.config.w_consistency and "photo" in self.config.consistency_on:
            item["photo_view"] = self._photo_view(i)
        if self.config.w_consistency and "sketch" in self.config.consistency_on:
            item["sketch_view"] = self._sketch_view(ink)
        return item

    def unlabelled_views(self, n: int, views_each: int = 2) -> torch.Tensor:
        """``views_each`` augmented views of each of ``n`` random unlabelled photos: (views_each * n, 3, S, S),
        rows k, k + n, ... one photo's.

        Each view has its own ground resolution and colours, as a training photo's view has.
        """
        chosen = np.random.choice(len(self.data.unlabelled), n, replace=len(self.data.unlabelled) < n)
        views = []
        for _ in range(views_each):
            for i in chosen:
                views.append(self._view(self.data.unlabelled[i], *self._draw_resolution()))
        return torch.stack(views)

    def _draw_resolution(self) -> tuple[float | None, bool]:
        """A view's ground resolution and whether it is a smaller chip, when drawn here for the resolution head;
        (None, False) when the photo augmentation draws it itself."""
        return self.resolution.draw_view() if self.resolution is not None else (None, False)

    def _photo_view(self, i: int, factor: float | None = None, chip: bool = False) -> torch.Tensor:
        """Training photo ``i`` as one augmented view, floats in [0, 1]: at ground resolution ``factor`` if
        given, or with ``chip`` a smaller chip of 1/``factor`` of the side at its own resolution."""
        return self._view(self.data.photos[i], factor, chip)

    def _view(self, stored: np.ndarray, factor: float | None = None, chip: bool = False) -> torch.Tensor:
        photo = torch.from_numpy(stored)
        if factor is not None:
            photo = self.resolution.show(photo, factor, chip)
        return self.photo_aug(photo).float() / 255.0

    def _sketch_view(self, ink: np.ndarray) -> torch.Tensor:
        """A stored ink map (1, S, S) as one training view: restyled when it can be, then augmented."""
        if ink.shape[-1] != self.restyle.size:
            ink = self.restyle(ink[0])[None]
        return self.sketch_aug(torch.from_numpy(ink).float() / 255.0)


@torch.no_grad()
def validate(model: CrossModalModel, data: TrainingData) -> dict[str, float]:
    """Validation photos (numbers val_from-79): photo accuracy and pseudo-sketch -> photo retrieval.

    Real sketches are deliberately absent: the held-out ones are for reporting, not for choosing.
    """
    if len(data.val_labels) == 0:
        return {}
    photos = torch.from_numpy(data.val_photos).float() / 255.0
    sketches = torch.from_numpy(data.val_pseudo).float() / 255.0
    # without test-time augmentation: an eighth of the cost, every epoch
    emb_p, emb_s = model.embed(photos, "photo", tta=False), model.embed(sketches, "sketch")
    probs = class_probabilities(emb_p, model.classifier_weights())  # = model.class_probabilities, one pass less
    labels = data.val_labels.tolist()
    metrics = retrieval_metrics(emb_s, labels, emb_p, labels)
    return {"photo_accuracy": float((probs.argmax(1) == data.val_labels).mean()),
            "pseudo_sketch_to_photo_mAP": metrics["mAP"]}


def bf16_is_fast(device: str) -> bool:
    """Whether ``device`` computes in bfloat16 natively (on a CPU: AVX-512 BF16 or AMX), not by emulation."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:  # torch has no public query of oneDNN's bfloat16 support
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(config: TrainConfig, device: str) -> TrainConfig:
    """``config`` with ``precision="auto"`` made concrete: ``"bf16"`` where ``device`` computes bfloat16
    natively, else ``"fp32"``. Emulated bfloat16 is no option: on a CPU without it (AVX2 only) a
    training step takes about 12 times as long as in float32."""
    if config.precision != "auto":
        return config
    precision = "bf16" if bf16_is_fast(device) else "fp32"
    print(f"precision auto: {precision} ({device} {'has' if precision == 'bf16' else 'has no'} native bfloat16)")
    return dataclasses.replace(config, precision=precision)


def prepare_for_precision(model: CrossModalModel, device: str, precision: str) -> None:
    """Lay out ``model``'s weights for ``precision`` (channels-last for bf16), warning where bf16 would be slow."""
    if precision == "bf16":
        if not bf16_is_fast(device):
            print(f"warning: {device} has no native bfloat16 arithmetic: --precision bf16 is emulated here, many "
                  f"times slower than float32 (--precision auto or fp32 trains in float32)")
        model.to(memory_format=torch.channels_last)


def precision_autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's precision: bfloat16 for convolutions and matmuls (autocast keeps losses in float32)."""
    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def model_input(tensor: torch.Tensor, device: str, precision: str) -> torch.Tensor:
    """A batch of images moved to ``device``, laid out for ``precision``."""
    tensor = tensor.to(device, non_blocking=True)
    # oneDNN's bfloat16 convolutions are fastest on channels-last images (2x with autocast on a 2-core CPU)
    return tensor.contiguous(memory_format=torch.channels_last) if precision == "bf16" and tensor.dim() == 4 else tensor


def train_step(model: CrossModalModel, loss_fn: UnifiedLoss, optimizer: torch.optim.Optimizer,
               batch: dict[str, torch.Tensor], device: str = "cpu", unified: bool = True, precision: str = "fp32"
               ) -> tuple[torch.Tensor, dict[str, float]]:
    """One optimisation step on a batch of :class:`PairDataset` items; returns the loss and its terms.

    ``unified``: the whole objective; False is the branch-only first stage of ``branch_epochs``.
    ``batch["unlabelled"]``, when present: :meth:`PairDataset.unlabelled_views` for the contrastive term;
    ``batch["outliers"]``: one view each of unlabelled photos for the outlier-exposure term.
    ``precision``: ``TrainConfig.precision`` (the weights and the optimiser stay float32 either way).
    """
    photos, sketches = (model_input(batch[k], device, precision) for k in ("photo", "sketch"))
    labels = batch["label"].to(device, non_blocking=True)
    log_resolution = batch["log_resolution"].to(device) if "log_resolution" in batch else None
    with precision_autocast(device, precision):
        # the branch-only stage has no consistency or contrastive term: its extra views are not encoded
        views = {m: model.encode(model_input(batch[f"{m}_view"], device, precision), m)
                 for m in MODALITIES if unified and f"{m}_view" in batch}
        unlabelled = (model.encode(model_input(batch["unlabelled"], device, precision), "photo")[
            loss_fn.config.contrastive_on] if unified and "unlabelled" in batch else None)
        outliers = (model.encode(model_input(batch["outliers"], device, precision), "photo")["proto_logits"]
                    if unified and "outliers" in batch else None)
        total, terms = loss_fn(model(photos, sketches), labels, unified, views, log_resolution, unlabelled, outliers)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return total, terms


def _state_path(out: Path) -> Path:
    return out.with_name(out.name + ".state.pt")


def initial_weights(model: CrossModalModel, path: str | Path) -> str:
    """Copy a checkpoint's weights into ``model`` (fine-tuning) and return the checkpoint's sha256.

    Raises:
        ValueError: the checkpoint has another architecture or other classes.
    """
    from .checkpoint import load_checkpoint

    source = load_checkpoint(path)
    # the sketch normalisation, the input size and a drawing's views are input processing, not
    # architecture (no weight depends on the size of the feature grid): weights carry over between
    # them; a resolution head can be added to a checkpoint without one (it starts untrained)
    adding_head = model.config.resolution_head and not source.config.resolution_head
    if dataclasses.replace(source.config, sketch_input=model.config.sketch_input, image_size=model.config.image_size,
                           sketch_views=model.config.sketch_views,
                           resolution_head=source.config.resolution_head or adding_head) != model.config:
        raise ValueError(f"{path} has another architecture ({source.config}) than this run ({model.config}): "
                         f"pass the same model options it was trained with")
    if list(source.class_names) != list(model.class_names):
        raise ValueError(f"{path} was trained on classes {list(source.class_names)}, this run has "
                         f"{list(model.class_names)}: pass the same --classes")
    model.load_state_dict(source.state_dict(), strict=not adding_head)
    return source.info["fingerprint"]


def check_setup(config: TrainConfig, classes: tuple[str, ...], n_pairs: int | None = None) -> None:
    """Refuse a run that could only write an untrained or meaningless checkpoint.

    Called with the options before any data is read, and again with ``n_pairs`` once it is.

    Args:
        config: the run's options.
        classes: the classes the model will learn.
        n_pairs: training photos (one pair each per epoch), or None before the data is read.

    Raises:
        ValueError: non-positive epochs or batch size, fewer than two classes, or fewer training
            pairs than one batch (every batch would be dropped and nothing learned).
    """
    if config.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, not {config.epochs}")
    if config.real_sketches_full < 1:
        raise ValueError(f"--real-sketches-full must be at least 1, not {config.real_sketches_full}")
    if not 0 <= config.average_last <= config.epochs:
        raise ValueError(f"--average-last must be between 0 and --epochs ({config.epochs}), not {config.average_last}")
    if not 0.0 <= config.simplify_prob <= 1.0:
        raise ValueError(f"--simplify is a probability, between 0 and 1, not {config.simplify_prob}")
    if config.simplify_prob and not is_robust(config.augment):
        raise ValueError("--simplify changes the drawings of --augment robust or sensors")
    if not 0.0 <= config.chip_prob <= 1.0:
        raise ValueError(f"--chips is a probability, between 0 and 1, not {config.chip_prob}")
    if config.chip_prob and photo_augment_kind(config) != "sensors":
        raise ValueError("--chips changes the ground resolutions of --augment sensors (or --photo-augment sensors)")
    if config.finest != TrainConfig.finest and photo_augment_kind(config) != "sensors":
        raise ValueError("--finest changes the ground resolutions of --augment sensors (or --photo-augment sensors)")
    if not 1.0 <= config.finest <= 4.0:
        raise ValueError(f"--finest is a factor between 1 (the photo's own resolution) and 4, not {config.finest}")
    if config.w_resolution and photo_augment_kind(config) != "sensors":
        raise ValueError("--resolution-head learns from the ground resolutions of --augment sensors (or "
                         "--photo-augment sensors): pass one of them")
    if config.contrastive_on not in CONTRASTIVE_SPACES:
        raise ValueError(f"--contrastive-on is V (the shared space) or Z (the photo branch), "
                         f"not {config.contrastive_on!r}")
    if config.w_contrastive < 0 or config.w_outlier < 0 or config.unlabelled_batch < 2:
        raise ValueError(f"--contrastive and --outlier-exposure need a weight of at least 0 and --unlabelled-batch "
                         f"at least 2 photos, not {config.w_contrastive}, {config.w_outlier} and "
                         f"{config.unlabelled_batch}")
    if config.outlier_classes and not (config.w_outlier or config.w_contrastive):
        raise ValueError("--outlier-classes chooses the photos of --outlier-exposure or --contrastive: pass one")
    if config.precision not in PRECISIONS:
        raise ValueError(f"--precision is one of {', '.join(PRECISIONS)}, not {config.precision!r}")
    if config.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, not {config.batch_size}")
    if len(set(classes)) < 2:
        raise ValueError(f"a model needs at least two classes to learn to tell apart, not {list(classes)}: "
                         f"pass two or more to --classes")
    if n_pairs is not None and n_pairs < config.batch_size:
        raise ValueError(f"only {n_pairs} training photos for a batch of {config.batch_size}: nothing would be "
                         f"learned; pass --batch-size {max(1, n_pairs)} or less, or add training photos")


def _load_state(state_path: Path) -> dict[str, Any]:
    """A saved training state, or a clear error naming the file when it is damaged."""
    try:
        saved = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated or foreign files
        raise ValueError(f"the saved training state {state_path} is damaged ({type(err).__name__}); delete it "
                         f"to start over, or pass --no-resume") from err
    keys = ("model_config", "train_config", "model", "optimizer", "scheduler", "progress")
    if not isinstance(saved, dict) or any(key not in saved for key in keys):
        raise ValueError(f"{state_path} is not a training state of this version; delete it to start over, "
                         f"or pass --no-resume")
    return saved


def train(photos_dir: str | Path, sketches_dir: str | Path | None, out: str | Path,
          model_config: ModelConfig = ModelConfig(), config: TrainConfig = TrainConfig(),
          resume: bool = True, cache_dir: str | Path | None = DEFAULT_CACHE, progress: bool = True,
          threads: int | None = None, device: str = "cpu", workers: int = 0) -> dict[str, Any]:
    """Train a model and write its checkpoint to ``out``.

    Progress state is saved after every epoch to ``<out>.state.pt``; running the same command
    again resumes from it (Ctrl-C loses at most the current epoch).

    Args:
        device: where the model trains (``"cpu"``, ``"cuda"``); the checkpoint is always CPU-loadable.
        workers: DataLoader processes preparing augmented pairs (0: the training process itself).

    Returns:
        The checkpoint's meta dict (file lists, training time, validation history).

    Raises:
        ValueError: bad options (see :func:`check_setup`), or a saved state that is damaged or from
            different options.
    """
    out = Path(out)
    if threads:
        torch.set_num_threads(threads)
    classes = config.classes or EOC_CLASSES
    check_setup(config, classes)
    config = resolve_precision(config, device)
    if config.w_resolution and not model_config.resolution_head:
        raise ValueError("a resolution loss weight needs a model with a resolution head")
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    data = prepare_data(photos_dir, sketches_dir, classes, config, model_config.image_size, cache_dir, progress,
                        model_config.sketch_input)
    check_setup(config, classes, len(data.photo_labels))
    for path, reason in data.skipped:
        print(f"skipped unreadable file {path}: {reason}")
    model = CrossModalModel(model_config, classes)
    init_sha256 = initial_weights(model, config.init_checkpoint) if config.init_checkpoint else ""
    model.to(device)
    prepare_for_precision(model, device, config.precision)
    loss_fn = UnifiedLoss(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loader_generator = torch.Generator()
    steps_per_epoch = max(1, len(data.photo_labels) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.epochs * steps_per_epoch,
                                                    pct_start=0.15)
    state = {"epoch": 0, "history": [], "seconds": 0.0}
    # the running mean of the last epochs' weights, BatchNorm statistics included
    average = AveragedModel(model, use_buffers=True) if config.average_last else None
    state_path = _state_path(out)
    if resume and state_path.exists():
        saved = _load_state(state_path)
        if saved["model_config"] != config_to_dict(model_config) or saved["train_config"] != config_to_dict(config):
            raise ValueError(f"{state_path} was saved by a run with other options: rerun with the same options "
                             f"to resume, or delete it to start over")
        model.load_state_dict(saved["model"])  # moves nothing: copies into the tensors on `device`
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        if average is not None and "average" in saved:
            average.load_state_dict(saved["average"])
        state = saved["progress"]
        print(f"resuming from {state_path} after epoch {state['epoch']}")

    dataset = PairDataset(data, config, model_config.image_size)
    try:
        for epoch in range(state["epoch"], config.epochs):
            started = time.time()
            # every epoch reseeds from (seed, epoch), so a resumed run draws what an unbroken one would
            torch.manual_seed(config.seed * 1000 + epoch)
            np.random.seed(config.seed * 1000 + epoch)
            loader_generator.manual_seed(config.seed * 1000 + epoch)
            loader = DataLoader(dataset, config.batch_size, shuffle=True, drop_last=True, generator=loader_generator,
                                num_workers=workers, pin_memory=device != "cpu")
            model.train()
            unified = epoch >= config.branch_epochs
            sums: dict[str, float] = {}
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
            for batch in bar:
                if config.w_contrastive and unified:
                    batch["unlabelled"] = dataset.unlabelled_views(config.unlabelled_batch)
                if config.w_outlier and unified:
                    batch["outliers"] = dataset.unlabelled_views(config.unlabelled_batch, views_each=1)
                total, terms = train_step(model, loss_fn, optimizer, batch, device, unified, config.precision)
                scheduler.step()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.set_postfix(loss=f"{total.item():.3f}")
            if average is not None and epoch >= config.epochs - config.average_last:
                average.update_parameters(model)
            val = validate(model, data)
            state["seconds"] += time.time() - started
            state["epoch"] = epoch + 1
            record = {"epoch": epoch + 1, **{k: v / max(1, len(loader)) for k, v in sums.items()}, **val}
            state["history"].append(record)
            print(f"epoch {epoch + 1}/{config.epochs} loss {sum(record.get(k, 0) for k in sums):.3f} "
                  + " ".join(f"{k} {v:.3f}" for k, v in val.items()) + f" ({time.time() - started:.0f}s)")
            atomic_save({"model_config": config_to_dict(model_config), "train_config": config_to_dict(config),
                         "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "progress": state,
                         **({"average": average.state_dict()} if average is not None else {})}, state_path)
    except KeyboardInterrupt:
        print(f"\ninterrupted: state of epoch {state['epoch']} is in {state_path}; run the same command to resume")
        raise
    if average is not None:
        model.load_state_dict(average.module.state_dict())
        state["history"].append({"epoch": "average", **validate(model, data)})
        print(f"mean of the last {config.average_last} epochs' weights: "
              + " ".join(f"{k} {v:.3f}" for k, v in state["history"][-1].items() if k != "epoch"))
    meta = {
        "train_photos": data.train_photo_names, "train_sketches": data.train_sketch_names,
        "heldout_sketches": data.heldout_sketch_names, "unlabelled_photos": data.unlabelled_names,
        "training_seconds": round(state["seconds"], 1),
        "init_checkpoint_sha256": init_sha256, "device": str(device),
        "sketch_normalisation": INK_VERSION if model_config.sketch_input == "skeleton" else "legacy",
        "validation": state["history"][-1] if state["history"] else {}, "history": state["history"],
        "photos_dir": str(photos_dir), "sketches_dir": str(sketches_dir) if sketches_dir else "",
        "torch": str(torch.__version__), "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    save_checkpoint(out, model.cpu().to(memory_format=torch.contiguous_format), config, meta)
    state_path.unlink(missing_ok=True)
    return meta
