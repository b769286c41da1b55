"""Frozen configuration dataclasses, saved inside every checkpoint; and the index defaults.

Nothing here imports numpy or torch, so the command line shows these defaults in its help at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Index defaults, chosen with bench/ann.py (crossmodal.index explains them; docs/benchmarks.md has the table)
DEFAULT_N_TREES = 50  # Annoy trees in each forest
DEFAULT_SEARCH_K_PER_SHARD = 5_000  # Annoy candidates a shard collects when a search gives none
SHARD_FROM_ITEMS = 500_000  # galleries this large get two shards by default
# Photos of a gallery are searched as the mean of themselves and their nearest others (crossmodal.ranking):
# 3 passed a rule written before the runs on validation galleries of 140 to 210 photos (docs/robustness.md).
# By default a gallery is averaged from MIN_AVERAGED_ITEMS photos (in a smaller one a photo's nearest are
# often other kinds of scene, and in one of k + 1 every photo becomes the same mean). The nearest are found
# exactly up to EXACT_NEIGHBOURS_UP_TO photos (the work grows with the square of the gallery: 8 s for 20,000 on
# a 2-core CPU), above that with an Annoy forest of NEIGHBOUR_TREES trees, NEIGHBOUR_SEARCH_K candidates a photo
# (bench/neighbour_average.py: 100,000 of bench/ann.py's clustered vectors in 40 s, 0.81 of the exact 3 found)
DEFAULT_NEIGHBOURS = 3
MIN_AVERAGED_ITEMS = 100
EXACT_NEIGHBOURS_UP_TO = 20_000
NEIGHBOUR_TREES = 10
NEIGHBOUR_SEARCH_K = 1_000

AUGMENTS = ("v1", "robust", "sensors")  # training augmentation kinds (crossmodal.sketchify builds them)
# TrainConfig.precision: "auto" (bf16 where the device has it natively, else fp32), float32 throughout, or the
# forward pass in bfloat16
PRECISIONS = ("auto", "fp32", "bf16")
MODALITIES = ("photo", "sketch")  # the two kinds of input, each with its branch (crossmodal.model)
VIEW_COUNTS = (1, 2, 8)  # an image embedded as it is, with its mirror image, or as its 8 rotations and flips
CONTRASTIVE_SPACES = ("V", "Z")  # TrainConfig.contrastive_on: the shared space, or the photo branch's pooled features


def check_modality(modality: str) -> None:
    """Refuse anything but ``"photo"`` or ``"sketch"`` with the one message every entry point gives.

    Raises:
        ValueError: an unknown modality.
    """
    if modality not in MODALITIES:
        raise ValueError(f"modality must be 'photo' or 'sketch', not {modality!r}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the two-branch cross-modal model."""

    backbone: str = "narrow-resnet"  # "narrow-resnet" (from scratch, small) or a torchvision ResNet name
    widths: tuple[int, ...] = (32, 64, 128, 256)  # stage widths of the narrow ResNet
    photo_widths: tuple[int, ...] = ()  # the photo branch's own stage widths; empty = ``widths`` (both branches)
    image_size: int = 128  # side of the square network input, both modalities
    embed_dim: int = 128  # d_v, the shared latent space
    attention: bool = True  # attention pooling into V; False = global average pooling + linear
    num_queries: int = 4  # learned attention queries, shared by both modalities
    num_heads: int = 4  # heads of the attention projection
    share_backbone: bool = False  # one backbone for both modalities (ablation)
    decoders: bool = True  # cross-domain decoders V_a -> Z_b and V_b -> Z_a (L5)
    cross_attention: bool = True  # training-time cross-attention between paired photo and sketch
    sketch_input: str = "legacy"  # sketch normalisation (data.sketch_array): "legacy" (resize) or "skeleton"
    resolution_head: bool = False  # a head on the photo branch that estimates the photo's ground resolution
    pretrained: bool = False  # torchvision ImageNet weights for the photo branch (needs them on disk)
    sketch_views: int = 1  # views a sketch is embedded as (VIEW_COUNTS): 1 as drawn, 2 with its mirror image, 8

    def __post_init__(self) -> None:
        if self.sketch_views not in VIEW_COUNTS:
            raise ValueError(f"sketch_views must be one of {VIEW_COUNTS}, not {self.sketch_views}")

    def branch_widths(self, modality: str) -> tuple[int, ...]:
        """Stage widths of one branch's narrow ResNet: ``photo_widths`` for photos when set, else ``widths``."""
        return tuple(self.photo_widths) if modality == "photo" and self.photo_widths else tuple(self.widths)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, loss weights and data choices of one training run."""

    epochs: int = 40
    batch_size: int = 48
    lr: float = 2e-3
    weight_decay: float = 5e-4
    seed: int = 0
    branch_epochs: int = 0  # first stage: branch losses only (paper's two-stage schedule); 0 = joint
    w_branch_ce: float = 1.0  # L_A, L_B: cross-entropy on each branch's features Z
    w_orthogonality: float = 0.05  # soft orthogonality ||Z~^T Z~ - I||_F^2
    w_pair: float = 1.0  # L2: ||V_a - V_b||^2 on corresponding pairs
    w_joint_ce: float = 1.0  # L3: cross-entropy on the joint features [V_a, V_b]
    w_proto_ce: float = 1.0  # cross-entropy of each V alone against shared class prototypes
    label_smoothing: float = 0.0  # those cross-entropies' targets: 1 - s on the class, s spread over all classes
    w_norm: float = 1e-3  # L4: ||V_a||^2 + ||V_b||^2
    w_decoder: float = 0.5  # L5: cross-domain reconstruction
    w_cross: float = 0.5  # cross-attended embedding must match the partner's
    pseudo_style: str = "contours"  # pseudo-sketches of the photos: "contours" (simplified) or "canny" (raw edges)
    real_sketches: bool = True  # real sketches of the training folds (never the held-out fold)
    real_sketch_prob: float = 0.5  # chance that a pair's sketch is a real one, when its class has any
    real_sketches_full: int = 1  # a class with fewer real sketches than this draws them proportionally less often
    synthetic_sketches: int = 0  # procedural sketches per class from the demo world's renderer
    synthetic_prob: float = 0.3  # chance that a pair's sketch is a synthetic one (when not a real one)
    varied_layouts: bool = False  # the procedural sketches also draw each class's other layouts (synthetic VARIANTS)
    sketch_folds: int = 2  # real sketches are split into this many folds by file name
    holdout_fold: int = 0  # the fold never trained on; evaluation uses it
    val_from: int = 70  # training photos numbered val_from..79 are validation, not trained on
    classes: tuple[str, ...] = ()  # empty = the 14 Earth on Canvas classes
    augment: str = "v1"  # "v1"; "robust": other hands and sensors; "sensors": robust, photos x0.5-x2 (sketchify)
    photo_augment: str = ""  # photos' augmentation when it differs from ``augment`` (e.g. "sensors"); "" = augment
    restyle_prob: float = 0.5  # with "robust" / "sensors": chance that a sketch is redrawn in another style
    simplify_prob: float = 0.0  # with "robust" / "sensors": chance that a sketch first loses some of its details
    chip_prob: float = 0.0  # with "sensors": chance that a finer photo view is a smaller chip at its own resolution
    finest: float = 2.0  # with "sensors": photos are seen from half to this many times their ground resolution
    w_resolution: float = 0.0  # the resolution head's regression of log2 of the augmentation's resolution factor
    w_consistency: float = 0.0  # Jensen-Shannon agreement of the class beliefs on two augmented views of an input
    consistency_on: tuple[str, ...] = ("photo",)  # the modalities whose inputs get a second view for it
    w_contrastive: float = 0.0  # NT-Xent of two views of each unlabelled photo (the photo folder's other classes)
    unlabelled_batch: int = 16  # unlabelled photos a step with w_contrastive (two views each) or w_outlier (one)
    w_outlier: float = 0.0  # outlier exposure: class beliefs on the folder's other classes' photos pushed to uniform
    outlier_classes: tuple[str, ...] = ()  # the other classes whose photos are unlabelled training data; empty = all
    contrastive_on: str = "V"  # where the views must find each other: "V" (the shared space) or "Z" (the photo branch)
    average_last: int = 0  # keep the mean of the weights after each of the last N epochs (SWA); 0 = the last epoch's
    precision: str = "fp32"  # "bf16": the forward pass in bfloat16 where autocast allows, channels-last images;
    # "auto": bf16 where the device computes it natively, else fp32 (a trained checkpoint records which)
    init_checkpoint: str = ""  # checkpoint whose weights start the run (fine-tuning); empty = from scratch

    def __post_init__(self) -> None:
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing is the share of a target spread over all classes, from 0 up to "
                             f"(not including) 1, not {self.label_smoothing}")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Return a dataclass as a dict of plain values (tuples as lists) for ``torch.save``."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a config dataclass, rejecting unknown fields with a clear message.

    Raises:
        ValueError: ``values`` has fields that ``cls`` does not know.
    """
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {unknown}: the checkpoint was written by another version")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**kwargs)
