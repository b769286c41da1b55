"""Seeing a query photo at the ground resolution of the photo gallery it is searched against.

A photo from another sensor covers more or less ground a pixel than the gallery's photos, and the
model, trained at one resolution, then sees other objects than it learnt. A query photo is
therefore embedded as it is and as it would look at the gallery's resolution were its own x0.5,
x0.71, x1.41 or x2 the gallery's (``data.photo_at_resolution``: a coarser photo's centre
enlarged, a finer photo shrunk into a mirrored frame), each view as the mean of its 4 rotations;
the view whose 3 nearest gallery photos are the most alike (mean cosine) is searched, if it beats
the photo as it is by a margin, as the mean of its 8 rotations and flips (as the gallery's photos
are embedded). Choosing on 4 rotations rather than 8 views chose as well on the validation photos
and makes a photo query 24 forward passes instead of 40. The gallery tells the scale without
labels: at the right resolution a scene looks like the gallery's scenes. With a resolution head
(``--resolution-head``) the margin shrinks as the head finds the photo farther from the training
resolution. Chosen on validation photos (``bench/photo_views.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .data import photo_array, photo_at_resolution
from .index import EmbeddingIndex
from .model import CrossModalModel, dihedral_views, flipped_rotations, rotations

# what a query photo's ground resolution may be, relative to the gallery's (0.5: half as fine, so its
# centre is enlarged to be seen at the gallery's; 2: twice as fine, so it is shrunk); the head's range
CANDIDATES = (0.5, 2 ** -0.5, 1.0, 2 ** 0.5, 2.0)
AS_IS = CANDIDATES.index(1.0)
CHOICE_VIEWS = 4  # the candidates are compared over their 4 rotations (the first 4 of the 8 dihedral views)
NEIGHBOURS = 3  # gallery photos whose mean cosine says how alike a view is to the gallery
MARGIN = 0.01  # mean cosine a rescaled view must gain over the photo as it is ...
HEAD_SLOPE = 0.02  # ... less this much a unit of the head's estimate (|log2|), down to no margin


def candidate_views(image: Image.Image, size: int, factors: Sequence[float] = CANDIDATES) -> torch.Tensor:
    """The photo at each of ``factors``' resolutions as a model input batch (C, 3, size, size) in [0, 1]."""
    arrays = [photo_array(image, size) if factor == 1.0 else photo_at_resolution(image, size, factor)
              for factor in factors]
    return torch.from_numpy(np.stack(arrays)).float() / 255.0


@torch.no_grad()
def encode_candidates(model: CrossModalModel, views: torch.Tensor, n_views: int = 8
                      ) -> tuple[dict[str, torch.Tensor], torch.Tensor, float]:
    """Encode one photo's candidate views, each as the mean of its first ``n_views`` rotations and flips.

    ``n_views``: 8, all of them, or ``CHOICE_VIEWS``, the 4 rotations.

    Returns:
        the model's outputs over the n_views x C views (view-major: the first C are the views
        themselves), the C mean embeddings (L2-normalised), and the resolution head's estimate for
        the photo as it is (candidate ``AS_IS``) in log2 (0.0 without a head).

    Raises:
        ValueError: another ``n_views``.
    """
    if n_views not in (CHOICE_VIEWS, 8):
        raise ValueError(f"n_views must be {CHOICE_VIEWS} (the rotations) or 8 (all views), not {n_views}")
    views = views.to(model.device)
    out = model.encode(rotations(views) if n_views == CHOICE_VIEWS else dihedral_views(views), "photo")
    v = F.normalize(out["V"], dim=1).view(n_views, len(views), -1).mean(0)
    estimate = (float(out["log_resolution"].view(n_views, len(views))[:, AS_IS].mean())
                if "log_resolution" in out else 0.0)
    return out, F.normalize(v, dim=1), estimate


def gallery_agreement(embeddings: np.ndarray, gallery: np.ndarray | EmbeddingIndex, exclude: int = -1) -> np.ndarray:
    """For each embedding, the mean cosine of its ``NEIGHBOURS`` nearest gallery items.

    ``gallery``: L2-normalised embeddings (m, d), searched exactly, or an index (searched as it
    searches); ``exclude``: a row of the array left out (a query made from a gallery photo).
    """
    if isinstance(gallery, EmbeddingIndex):
        k = min(NEIGHBOURS, len(gallery))
        return np.array([float(np.mean(gallery.query(v, k=k)[1])) for v in embeddings])
    cosines = np.asarray(embeddings) @ np.asarray(gallery).T
    if exclude >= 0:
        cosines[:, exclude] = -np.inf
    k = min(NEIGHBOURS, cosines.shape[1] - (exclude >= 0))
    return np.sort(cosines, 1)[:, -k:].mean(1)


def choose_resolution(agreement: np.ndarray, log2_estimate: float = 0.0) -> int:
    """Which candidate view to search: the photo as it is unless another agrees with the gallery by a margin."""
    gains = np.asarray(agreement, dtype=np.float64) - agreement[AS_IS]
    gains[AS_IS] = max(0.0, MARGIN - HEAD_SLOPE * abs(log2_estimate))
    return int(np.argmax(gains))


@torch.no_grad()
def pick_resolution(model: CrossModalModel, image: Image.Image, gallery: np.ndarray | EmbeddingIndex,
                    exclude: int = -1) -> tuple[dict[str, torch.Tensor], torch.Tensor, int]:
    """Encode a photo's candidate views, choose the one to search and embed it as the gallery's photos are.

    Returns:
        the model's outputs over the candidates' rotations (view-major: the first C are the
        candidate views themselves), the chosen view's embedding (d,), the mean of its 8 rotations
        and flips (L2-normalised), and the index of the chosen candidate in ``CANDIDATES``.
    """
    views = candidate_views(image, model.config.image_size)
    out, candidates, estimate = encode_candidates(model, views, CHOICE_VIEWS)
    pick = choose_resolution(gallery_agreement(candidates.cpu().numpy(), gallery, exclude), estimate)
    # the chosen view's flipped rotations complete its 8 views
    flips = model.encode(flipped_rotations(views[pick:pick + 1].to(model.device)), "photo")["V"]
    turns = out["V"].view(CHOICE_VIEWS, len(views), -1)[:, pick]
    embedding = F.normalize(torch.cat([F.normalize(turns, dim=1), F.normalize(flips, dim=1)]).mean(0), dim=0)
    return out, embedding, pick


def embed_at_gallery_resolution(model: CrossModalModel, images: Sequence[Any], gallery: np.ndarray,
                                exclude: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Query photos embedded at the resolution at which each looks most like ``gallery``.

    Args:
        images: decoded photos (PIL images).
        gallery: L2-normalised gallery embeddings (m, d), or (n, m, d): a gallery for each photo.
        exclude: per photo, a gallery row to leave out of its choice (its own original), or -1.

    Returns:
        The embeddings (n, d), float32, and the factor each photo was seen at (1.0: as it is).
    """
    model.eval()
    embeddings, factors = [], []
    for i, image in enumerate(images):
        own_gallery = gallery[i] if np.ndim(gallery) == 3 else gallery
        _, embedding, pick = pick_resolution(model, image, own_gallery, -1 if exclude is None else exclude[i])
        embeddings.append(embedding.cpu().numpy())
        factors.append(CANDIDATES[pick])
    return np.stack(embeddings).astype(np.float32), np.array(factors, dtype=np.float32)
