"""The losses of the method, each a small module with a hand-checkable formula, and their sum."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import TrainConfig


class OrthogonalityLoss(nn.Module):
    """Soft orthogonality ||Z~^T Z~ - I||_F^2 / C of a batch of features Z (B, C).

    Z~ is Z centred over the batch with each feature column L2-normalised, so Z~^T Z~ is the
    features' correlation matrix and the loss is zero exactly when the C dimensions are
    uncorrelated (non-redundant). Without centring, post-ReLU features (all positive) would
    make every pair look redundant and the term would swamp the others. Dividing by C keeps its
    size independent of the network's width.
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        zn = F.normalize(z - z.mean(0, keepdim=True), dim=0)
        gram = zn.T @ zn
        eye = torch.eye(gram.shape[0], device=z.device, dtype=z.dtype)
        return ((gram - eye) ** 2).sum() / gram.shape[0]


class PairDifferenceLoss(nn.Module):
    """L2: mean over pairs of ||v_a - v_b||^2, on the unit sphere where retrieval compares them."""

    def forward(self, v_a: torch.Tensor, v_b: torch.Tensor) -> torch.Tensor:
        return ((F.normalize(v_a, dim=1) - F.normalize(v_b, dim=1)) ** 2).sum(1).mean()


class FeatureNormLoss(nn.Module):
    """L4: mean over pairs of ||v_a||^2 + ||v_b||^2, which keeps the raw embeddings bounded."""

    def forward(self, v_a: torch.Tensor, v_b: torch.Tensor) -> torch.Tensor:
        return (v_a.pow(2).sum(1) + v_b.pow(2).sum(1)).mean()


class CrossReconstructionLoss(nn.Module):
    """L5: mean squared error of each decoder's reconstruction of the other domain's features.

    The targets are detached: the decoders learn to reach the other branch, they do not pull it.
    """

    def forward(self, recon_sketch: torch.Tensor, z_sketch: torch.Tensor,
                recon_photo: torch.Tensor, z_photo: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(recon_sketch, z_sketch.detach()) + F.mse_loss(recon_photo, z_photo.detach())


class ViewConsistencyLoss(nn.Module):
    """Jensen-Shannon divergence between the class distributions of two views of the same images.

    JS(p, q) = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2, averaged over the batch: zero
    exactly when both views get the same beliefs, at most log 2. Both views are pulled towards
    their mixture (AugMix's consistency term, Hendrycks et al., ICLR 2020), so the model learns to
    believe the same of a photo at any ground resolution or colour, or of a drawing in any pen,
    not only to label each view.
    """

    def forward(self, logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
        p, q = F.softmax(logits_a, 1), F.softmax(logits_b, 1)
        log_m = ((p + q) / 2).clamp_min(1e-7).log()
        return (F.kl_div(log_m, p, reduction="batchmean") + F.kl_div(log_m, q, reduction="batchmean")) / 2


class ContrastiveLoss(nn.Module):
    """SimCLR's NT-Xent over 2n embeddings: rows ``k`` and ``k + n`` are two views of one image.

    Each embedding must pick its partner among the other 2n - 1 by cosine / ``temperature``
    (cross-entropy, averaged over the 2n rows): unlabelled photos teach that one scene at another
    ground resolution or in other colours is still the same scene (Chen et al., ICML 2020).
    """

    def __init__(self, temperature: float = 0.2):
        super().__init__()
        self.temperature = temperature

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        n = v.shape[0] // 2
        z = F.normalize(v.float(), dim=1)
        itself = torch.eye(2 * n, dtype=torch.bool, device=v.device)
        logits = (z @ z.T / self.temperature).masked_fill(itself, float("-inf"))
        partners = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(v.device)
        return F.cross_entropy(logits, partners)


class OutlierExposureLoss(nn.Module):
    """KL(u || p) of the uniform distribution u to the class beliefs p of scenes of no known class.

    Mean over the batch of ``-mean_k log p_k - log K``: zero exactly when every class is believed
    equally, so a photo of a beach or a forest (no class of the model's) gets no class's
    prototype and no class's agreement with a query (outlier exposure, Hendrycks et al., ICLR 2019).
    """

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits.float(), 1)
        return (-log_p.mean(1) - math.log(logits.shape[1])).mean()


class UnifiedLoss(nn.Module):
    """Weighted sum of the branch losses (L_A, L_B) and the unified objective (L2..L5).

    A weight of zero switches a term off (for ablations); the model's config switches off the
    terms whose parts it lacks (decoders, cross-attention).
    """

    def __init__(self, config: TrainConfig):
        super().__init__()
        self.config = config
        self.orthogonality = OrthogonalityLoss()
        self.pair = PairDifferenceLoss()
        self.norm = FeatureNormLoss()
        self.reconstruction = CrossReconstructionLoss()
        self.consistency = ViewConsistencyLoss()
        self.contrastive = ContrastiveLoss()
        self.outlier = OutlierExposureLoss()

    def forward(self, out: dict[str, dict[str, torch.Tensor]], labels: torch.Tensor,
                unified: bool = True, views: dict[str, dict[str, torch.Tensor]] | None = None,
                log_resolution: torch.Tensor | None = None, unlabelled: torch.Tensor | None = None,
                outliers: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the total loss and each weighted term (as floats) for logging.

        Args:
            out: the model's forward output for a batch of corresponding pairs.
            labels: the pairs' class indices.
            unified: False in the first stage of two-stage training (branch losses only).
            views: by modality, the branch's output (``model.encode``) for another augmented view of
                the same inputs; with ``w_consistency`` both views' class beliefs must agree.
            log_resolution: log2 of the ground resolution each photo was shown at; with
                ``w_resolution`` the model's resolution head regresses it (smooth L1).
            unlabelled: V or Z (2n, d) of two views of n unlabelled photos (rows k and k + n one photo's);
                with ``w_contrastive`` each view must find its partner (NT-Xent).
            outliers: prototype logits (n, K) of photos of the folder's other classes; with ``w_outlier``
                their class beliefs are pushed to uniform.
        """
        c = self.config
        a, b, joint = out["photo"], out["sketch"], out["joint"]

        def cross_entropy(logits: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(logits, labels, label_smoothing=c.label_smoothing)

        terms = {
            "branch_ce": c.w_branch_ce * (cross_entropy(a["branch_logits"]) + cross_entropy(b["branch_logits"])),
            "orthogonality": c.w_orthogonality * (self.orthogonality(a["Z"]) + self.orthogonality(b["Z"])),
        }
        if unified:
            terms["pair"] = c.w_pair * self.pair(a["V"], b["V"])
            terms["joint_ce"] = c.w_joint_ce * cross_entropy(joint["logits"])
            terms["proto_ce"] = c.w_proto_ce * (cross_entropy(a["proto_logits"]) + cross_entropy(b["proto_logits"]))
            terms["norm"] = c.w_norm * self.norm(a["V"], b["V"])
            if "photo_to_sketch" in joint:
                terms["decoder"] = c.w_decoder * self.reconstruction(
                    joint["photo_to_sketch"], b["Z"], joint["sketch_to_photo"], a["Z"])
            if "photo_cross" in joint:
                terms["cross"] = c.w_cross * (self.pair(joint["photo_cross"], b["V"])
                                              + self.pair(joint["sketch_cross"], a["V"]))
            if views and c.w_consistency:
                terms["consistency"] = c.w_consistency * sum(
                    self.consistency(out[modality]["proto_logits"], view["proto_logits"])
                    for modality, view in views.items())
            if unlabelled is not None and c.w_contrastive:
                terms["contrastive"] = c.w_contrastive * self.contrastive(unlabelled)
            if outliers is not None and c.w_outlier:
                terms["outlier"] = c.w_outlier * self.outlier(outliers)
        if log_resolution is not None and c.w_resolution:
            terms["resolution"] = c.w_resolution * F.smooth_l1_loss(a["log_resolution"], log_resolution)
        total = sum(terms.values())
        return total, {k: v.item() for k, v in terms.items()}
