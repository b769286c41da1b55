"""The two-branch cross-modal model: photo and sketch CNNs, attention projection into V (d_v = 128)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn
from torchvision.models.resnet import BasicBlock

from .config import VIEW_COUNTS, ModelConfig, check_modality
from .data import load_image, photo_array, photo_at_resolution, sketch_array

PHOTO_MEAN = (0.40, 0.41, 0.37)  # UC Merced training photos
PHOTO_STD = (0.20, 0.19, 0.19)
PROTOTYPE_SCALE = 16.0  # temperature of the cosine classifier on V
RESOLUTION_RANGE = (0.5, 2.0)  # the ground resolutions the resolution head learns (sketchify.GroundResolution)
RESOLUTION_TOLERANCE = 0.2  # log2: a query photo estimated within x0.87-x1.15 of the training photos' is left as is


def rotations(x: torch.Tensor) -> torch.Tensor:
    """The 4 rotations by multiples of 90 degrees of a batch (B, C, H, W), stacked view-major into (4B, C, H, W)."""
    return torch.cat([torch.rot90(x, k, (2, 3)) for k in range(4)])


def flipped_rotations(x: torch.Tensor) -> torch.Tensor:
    """The 4 rotations of a batch's mirror image: the other half of its dihedral views."""
    return rotations(x.flip(3))


def dihedral_views(x: torch.Tensor) -> torch.Tensor:
    """The 8 rotations and flips of a batch (B, C, H, W), stacked view-major into (8B, C, H, W), rotations first."""
    return torch.cat([rotations(x), flipped_rotations(x)])


def views_of(x: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` views of a batch (B, C, H, W), stacked view-major into (nB, C, H, W).

    1: the batch itself; 2: and its mirror images; 8: its rotations and flips (``VIEW_COUNTS``).
    """
    if n == 1:
        return x
    if n == 2:
        return torch.cat([x, x.flip(3)])
    if n == 8:
        return dihedral_views(x)
    raise ValueError(f"views must be one of {VIEW_COUNTS}, not {n}")


def factor_to_undo(estimate: float) -> float:
    """The factor to see a photo at the training resolution, from the head's estimate: 1.0 within the tolerance."""
    factor = float(np.clip(estimate, *RESOLUTION_RANGE))
    return factor if abs(np.log2(factor)) > RESOLUTION_TOLERANCE else 1.0


class PretrainedWeightsUnavailable(RuntimeError):
    """torchvision's ImageNet weights are neither cached nor downloadable here."""


def _narrow_resnet(in_channels: int, widths: Sequence[int]) -> tuple[nn.Module, int]:
    """A ResNet-18 layout (two BasicBlocks a stage) at reduced widths, for training from scratch.

    The last stage keeps stride 1, so a 128 px input still gives an 8x8 grid for the attention
    map; measured on this 2-core CPU it trains 3x faster than a max-pool-free stem at the same grid.
    """
    layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, 2, 1, bias=False),
                               nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    previous = widths[0]
    for stage, width in enumerate(widths):
        stride = 1 if stage in (0, len(widths) - 1) else 2
        downsample = None
        if stride != 1 or previous != width:
            downsample = nn.Sequential(nn.Conv2d(previous, width, 1, stride, bias=False), nn.BatchNorm2d(width))
        layers += [BasicBlock(previous, width, stride, downsample), BasicBlock(width, width)]
        previous = width
    return nn.Sequential(*layers), previous


def _torchvision_resnet(name: str, in_channels: int, pretrained: bool) -> tuple[nn.Module, int]:
    weights = None
    if pretrained:
        weights = torchvision.models.get_model_weights(name).DEFAULT
    try:
        net = torchvision.models.get_model(name, weights=weights)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        raise PretrainedWeightsUnavailable(
            f"ImageNet weights for {name} are not in torch's cache ({torch.hub.get_dir()}/checkpoints) "
            f"and could not be downloaded ({err}); put the file there or train without --pretrained") from err
    if in_channels != 3:
        conv = net.conv1
        net.conv1 = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
        if pretrained:  # a grey sketch sees the sum of the colour filters
            net.conv1.weight.data = conv.weight.data.sum(1, keepdim=True)
    return nn.Sequential(*list(net.children())[:-2]), net.fc.in_features


def build_backbone(config: ModelConfig, in_channels: int, pretrained: bool = False,
                   modality: str = "photo") -> tuple[nn.Module, int]:
    """A CNN that maps one modality's images to a spatial feature map, and its channel count.

    Raises:
        ValueError: unknown backbone name.
        PretrainedWeightsUnavailable: ``pretrained`` and the weights cannot be had.
    """
    if config.backbone == "narrow-resnet":
        if pretrained:
            raise ValueError("--pretrained needs a torchvision backbone such as resnet18, not narrow-resnet")
        return _narrow_resnet(in_channels, config.branch_widths(modality))
    if config.backbone in ("resnet18", "resnet34", "resnet50"):
        return _torchvision_resnet(config.backbone, in_channels, pretrained)
    raise ValueError(f"unknown backbone {config.backbone!r}: use narrow-resnet, resnet18, resnet34 or resnet50")


class AttentionProjection(nn.Module):
    """Project a branch's spatial features into V by attention pooling with shared queries.

    Each modality has its own token projection, but the learned queries, the attention and the
    output head are shared, so both modalities are read out the same way and a single image can
    be projected on its own. During training the partner's pooled outputs can also serve as
    queries (cross-attention between the modalities).
    """

    def __init__(self, channels: dict[str, int], config: ModelConfig):
        super().__init__()
        dim = config.embed_dim
        self.tokens = nn.ModuleDict({m: nn.Sequential(nn.Linear(c, dim), nn.LayerNorm(dim))
                                     for m, c in channels.items()})
        self.use_attention = config.attention
        if self.use_attention:
            self.queries = nn.Parameter(torch.randn(config.num_queries, dim) * dim ** -0.5)
            self.attention = nn.MultiheadAttention(dim, config.num_heads, batch_first=True)
            self.head = nn.Linear(config.num_queries * dim, dim)
        else:
            self.head = nn.Linear(dim, dim)

    def pool(self, tokens: torch.Tensor, queries: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool projected tokens (B, N, d): returns per-query outputs (B, q, d) and weights (B, N)."""
        if not self.use_attention:
            n = tokens.shape[1]
            return tokens.mean(1, keepdim=True), tokens.new_full(tokens.shape[:2], 1.0 / n)
        if queries is None:
            queries = self.queries.expand(tokens.shape[0], -1, -1)
        pooled, weights = self.attention(queries, tokens, tokens, need_weights=True)
        return pooled, weights.mean(1)

    def forward(self, features: torch.Tensor, modality: str) -> dict[str, torch.Tensor]:
        """Features (B, C, h, w) -> V (B, d), the tokens, per-query outputs and weights (B, h, w)."""
        b, _, h, w = features.shape
        tokens = self.tokens[modality](features.flatten(2).transpose(1, 2))
        pooled, weights = self.pool(tokens)
        return {"V": self.head(pooled.flatten(1)), "tokens": tokens, "pooled": pooled,
                "weights": weights.reshape(b, h, w)}

    def cross(self, tokens: torch.Tensor, partner_pooled: torch.Tensor) -> torch.Tensor:
        """V of one modality's tokens read with the partner's pooled outputs as queries."""
        pooled, _ = self.pool(tokens, partner_pooled)
        return self.head(pooled.flatten(1))


class CrossModalModel(nn.Module):
    """Photo branch (A), sketch branch (B), attention projection into V and the training heads.

    Inputs are float tensors in [0, 1]: photos (B, 3, S, S) RGB, sketches (B, 1, S, S) ink maps
    (1 = stroke). ``embed`` and ``attention_map`` take images or files and do all preprocessing.
    """

    def __init__(self, config: ModelConfig, class_names: Sequence[str]):
        super().__init__()
        self.config = config
        self.class_names = list(class_names)
        self.info: dict[str, Any] = {}
        k = len(self.class_names)
        photo, c_photo = build_backbone(config, 3, config.pretrained, "photo")
        if config.share_backbone and config.photo_widths:
            raise ValueError("a shared backbone has one set of widths: drop photo_widths or share_backbone")
        if config.share_backbone:
            sketch, c_sketch = photo, c_photo
        else:
            sketch, c_sketch = build_backbone(config, 1, modality="sketch")
        self.backbones = nn.ModuleDict({"photo": photo, "sketch": sketch})
        self.branch_heads = nn.ModuleDict({"photo": nn.Linear(c_photo, k), "sketch": nn.Linear(c_sketch, k)})
        self.projection = AttentionProjection({"photo": c_photo, "sketch": c_sketch}, config)
        dim = config.embed_dim
        self.prototypes = nn.Parameter(torch.randn(k, dim) * dim ** -0.5)
        self.joint_head = nn.Linear(2 * dim, k)
        if config.decoders:
            self.decoders = nn.ModuleDict({  # from one modality's V to the other modality's features
                "photo": nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, c_sketch)),
                "sketch": nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, c_photo)),
            })
        if config.resolution_head:  # made last, so that the other modules draw the same initial weights
            if config.backbone != "narrow-resnet":
                raise ValueError("a resolution head needs the narrow-resnet backbone")
            # it reads how strong each stage's features are and how they vary over the scene: the
            # texture statistics of several scales tell how many metres a pixel covers
            stats = 2 * sum(config.branch_widths("photo"))
            self.resolution_head = nn.Sequential(nn.LayerNorm(stats), nn.Linear(stats, 2 * dim), nn.ReLU(),
                                                 nn.Linear(2 * dim, 1))
        self.register_buffer("photo_mean", torch.tensor(PHOTO_MEAN).view(1, 3, 1, 1))
        self.register_buffer("photo_std", torch.tensor(PHOTO_STD).view(1, 3, 1, 1))

    def encode(self, x: torch.Tensor, modality: str) -> dict[str, torch.Tensor]:
        """Run one branch and the projection: Z, branch logits, V, prototype logits, attention weights."""
        x = self._branch_input(x, modality)
        if modality == "photo" and self.config.resolution_head:
            features, stats = self._photo_features_and_statistics(x)
        else:
            features = self.backbones[modality](x)
        out = self.projection(features, modality)
        out["Z"] = features.mean((2, 3))
        out["branch_logits"] = self.branch_heads[modality](out["Z"])
        out["proto_logits"] = self.prototype_logits(out["V"])
        if modality == "photo" and self.config.resolution_head:
            out["log_resolution"] = self.resolution_head(stats).squeeze(1)
        return out

    def pooled_features(self, x: torch.Tensor, modality: str) -> torch.Tensor:
        """One branch alone, its output averaged over space: ``encode``'s Z without the projection and heads."""
        x = self._branch_input(x, modality)  # refuses an unknown modality before the backbones are looked up
        return self.backbones[modality](x).mean((2, 3))

    def _branch_input(self, x: torch.Tensor, modality: str) -> torch.Tensor:
        """A batch as its branch takes it: photos standardised, sketches widened to 3 channels for a shared backbone."""
        check_modality(modality)
        if modality == "photo":
            return (x - self.photo_mean) / self.photo_std
        return x.expand(-1, 3, -1, -1) if self.config.share_backbone else x

    def _photo_features_and_statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The photo backbone's output, and the spatial mean and standard deviation of each stage's output."""
        layers = list(self.backbones["photo"])
        # _narrow_resnet: a 4-layer stem, then two blocks a stage
        stage_ends = {4 + 2 * k + 1 for k in range(len(self.config.branch_widths("photo")))}
        stats = []
        for i, layer in enumerate(layers):
            x = layer(x)
            if i in stage_ends:
                stats += [x.mean((2, 3)), x.std((2, 3))]
        return x, torch.cat(stats, 1)

    def prototype_logits(self, v: torch.Tensor) -> torch.Tensor:
        """Scaled cosine similarity of embeddings to the shared class prototypes."""
        return PROTOTYPE_SCALE * F.normalize(v, dim=1) @ F.normalize(self.prototypes, dim=1).T

    @torch.no_grad()
    def classifier_weights(self) -> np.ndarray:
        """The cosine classifier on V as a (k, d) array: class logits are ``normalise(v) @ weights.T``.

        What :mod:`crossmodal.ranking` needs to tell class probabilities from stored embeddings.
        """
        return (PROTOTYPE_SCALE * F.normalize(self.prototypes, dim=1)).cpu().numpy().astype(np.float32)

    def forward(self, photos: torch.Tensor, sketches: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
        """Encode corresponding photo/sketch pairs and compute everything the unified loss needs."""
        a, b = self.encode(photos, "photo"), self.encode(sketches, "sketch")
        joint = {"logits": self.joint_head(torch.cat([a["V"], b["V"]], 1))}
        if self.config.decoders:
            joint["photo_to_sketch"] = self.decoders["photo"](a["V"])
            joint["sketch_to_photo"] = self.decoders["sketch"](b["V"])
        if self.config.cross_attention and self.config.attention:
            joint["photo_cross"] = self.projection.cross(a["tokens"], b["pooled"])
            joint["sketch_cross"] = self.projection.cross(b["tokens"], a["pooled"])
        return {"photo": a, "sketch": b, "joint": joint}

    @property
    def device(self) -> torch.device:
        """Where the model's tensors are: inference moves its inputs there and returns CPU arrays."""
        return self.photo_mean.device

    def preprocess(self, images: Sequence[str | Path | Image.Image | np.ndarray], modality: str,
                   at_training_resolution: bool = False) -> torch.Tensor:
        """Load and resize images (files, PIL images or RGB arrays) into a model input batch.

        ``at_training_resolution``: with a resolution head, a photo it finds coarser or finer than
        the training photos by more than ``RESOLUTION_TOLERANCE`` (in log2) is seen at their
        resolution instead (``data.photo_at_resolution``); for query photos, not for the gallery,
        whose resolution is known.

        Raises:
            ImageLoadError: a file cannot be decoded.
        """
        size = self.config.image_size
        decoded = [load_image(Image.fromarray(image) if isinstance(image, np.ndarray) else image) for image in images]
        arrays = [photo_array(image, size) if modality == "photo"
                  else sketch_array(image, size, self.config.sketch_input) for image in decoded]
        x = torch.from_numpy(np.stack(arrays)).float() / 255.0
        if modality == "photo" and at_training_resolution and self.config.resolution_head:
            for i, factor in enumerate(self.resolution_to_undo(x)):
                if factor != 1.0:
                    x[i] = torch.from_numpy(photo_at_resolution(decoded[i], size, factor)).float() / 255.0
        return x

    def views(self, modality: str, tta: bool | None = None) -> int:
        """How many views :meth:`embed` averages for an image of ``modality`` with this ``tta``.

        True: 8, False: 1; None, the default: 8 for a photo, the checkpoint's ``sketch_views`` for a drawing.
        """
        check_modality(modality)
        if tta is not None:
            return 8 if tta else 1
        return 8 if modality == "photo" else self.config.sketch_views

    @torch.no_grad()
    def embed(self, images: Sequence[Any] | torch.Tensor, modality: str, batch_size: int = 64,
              tta: bool | None = None, at_training_resolution: bool = False) -> np.ndarray:
        """L2-normalised embeddings in V, a float32 array (n, embed_dim).

        Args:
            images: files, PIL images, RGB arrays, or an already preprocessed float tensor batch.
            modality: ``"photo"`` or ``"sketch"``.
            batch_size: images per forward pass, views included (with n views, a pass embeds
                ``batch_size // n`` images: memory stays that of ``batch_size`` images).
            tta: True: average the embeddings of the 8 rotations/flips of each image (an aerial scene
                has no "up"); False: one view. Default (None): :meth:`views` of the modality, 8 for
                photos, gallery and queries alike (it adds 0.04 mAP on the test gallery, and
                classifies shifted photos better); for sketches what the checkpoint's
                ``ModelConfig.sketch_views`` says.
            at_training_resolution: see query photos (files or images) at the training photos' ground
                resolution, as :meth:`preprocess` does.
        """
        self.eval()
        n = self.views(modality, tta)
        step = max(1, batch_size // n)
        batch = images if isinstance(images, torch.Tensor) else None
        chunks = []
        for start in range(0, len(images), step):
            x = batch[start:start + step] if batch is not None else \
                self.preprocess(images[start:start + step], modality, at_training_resolution)
            x = x.to(self.device)
            v = F.normalize(self.encode(views_of(x, n), modality)["V"], dim=1)
            if n > 1:
                v = F.normalize(v.view(n, len(x), -1).mean(0), dim=1)
            chunks.append(v.cpu())
        out = torch.cat(chunks) if chunks else torch.zeros(0, self.config.embed_dim)
        return out.numpy().astype(np.float32)

    @torch.no_grad()
    def estimate_resolution(self, photos: torch.Tensor) -> np.ndarray:
        """The ground resolution of preprocessed photos (B, 3, S, S) relative to the training photos'.

        A factor per photo (2: twice as fine, 0.5: half), the resolution head's estimate averaged
        over the 8 rotations and flips in log2.

        Raises:
            ValueError: the checkpoint has no resolution head.
        """
        if not self.config.resolution_head:
            raise ValueError("this checkpoint has no resolution head (train with --resolution-head)")
        if self.training:
            self.eval()
        x = photos.to(self.device)
        log2 = self.encode(dihedral_views(x), "photo")["log_resolution"].view(8, len(x)).mean(0)
        return np.exp2(log2.cpu().numpy()).astype(np.float32)

    def resolution_to_undo(self, photos: torch.Tensor) -> list[float]:
        """For each preprocessed photo, the ground resolution factor to see it at the training photos' resolution.

        1.0 where the head estimates it within ``RESOLUTION_TOLERANCE`` of theirs (or there is no
        head); otherwise the estimate, within the range the head learnt (``RESOLUTION_RANGE``).
        """
        if not self.config.resolution_head:
            return [1.0] * len(photos)
        return [factor_to_undo(f) for f in self.estimate_resolution(photos)]

    @torch.no_grad()
    def class_probabilities(self, images: Sequence[Any] | torch.Tensor, modality: str,
                            tta: bool | None = None) -> np.ndarray:
        """Class probabilities (n, k) from the cosine prototypes, in ``class_names`` order.

        They are those of what :meth:`embed` returns (with ``tta`` as there: by default a photo's
        class is that of the mean of its 8 rotations and flips, a sketch's that of its checkpoint's views).
        """
        v = torch.from_numpy(self.embed(images, modality, tta=tta)).to(self.device)
        return torch.softmax(self.prototype_logits(v), 1).cpu().numpy()

    @torch.no_grad()
    def attention_map(self, image: Any, modality: str) -> np.ndarray:
        """Where the projection looked: an (S, S) float32 map in [0, 1] (max 1) over the model input.

        The grid-level weights sum to one; they are upsampled bilinearly to the input size.
        """
        self.eval()
        x = self.preprocess([image], modality).to(self.device)
        weights = self.encode(x, modality)["weights"][None].cpu()
        size = self.config.image_size
        heat = F.interpolate(weights, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
        return (heat / heat.max().clamp_min(1e-12)).numpy().astype(np.float32)
