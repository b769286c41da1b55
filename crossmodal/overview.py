"""Pictures of search results over a scene: the whole scene reduced, with the top hits' footprints drawn and numbered.

Everything is drawn with Pillow from the scene itself (a reduced windowed read, see
:meth:`~crossmodal.scenes.Scene.overview`): no map tiles, nothing fetched at run time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from .scenes import Scene

OVERVIEW_SIDE = 1024  # longest side of a scene overview, pixels
FOOTPRINT_COLOR = (255, 214, 0)  # outline of a hit's footprint: yellow reads over most imagery
BEST_COLOR = (255, 64, 64)  # outline of the best hit


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def draw_footprints(overview: Image.Image, scene_size: tuple[int, int], hits: Sequence[dict[str, Any]]
                    ) -> Image.Image:
    """A copy of ``overview`` with each hit's window outlined and labelled with its rank (the best in red).

    Args:
        overview: the scene reduced (any size; windows are scaled to it).
        scene_size: ``(width, height)`` of the scene in its own pixels.
        hits: result records with ``rank`` and ``window`` (``col_off, row_off, width, height``
            in scene pixels), best first.
    """
    image = overview.convert("RGB").copy()
    draw = ImageDraw.Draw(image)
    sx, sy = image.width / scene_size[0], image.height / scene_size[1]
    line = max(2, round(min(image.size) / 300))
    font = _font(max(12, round(min(image.size) / 40)))
    for hit in reversed(list(hits)):  # the best is drawn last, on top
        col, row, width, height = hit["window"]
        box = [col * sx, row * sy, (col + width) * sx, (row + height) * sy]
        color = BEST_COLOR if hit["rank"] == 1 else FOOTPRINT_COLOR
        draw.rectangle(box, outline=color, width=line)
        label = str(hit["rank"])
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        x, y = box[0] + line, box[1] + line
        draw.rectangle([x, y, x + right - left + 6, y + bottom - top + 6], fill=color)
        draw.text((x + 3 - left, y + 3 - top), label, fill="black", font=font)
    return image


class Overviews:
    """Reduced pictures of scenes, read once each and kept in memory (a few MB a scene)."""

    def __init__(self, side: int = OVERVIEW_SIDE):
        """Keep overviews at most ``side`` pixels a side."""
        self.side = side
        self._cache: dict[str, tuple[Image.Image, tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def get(self, path: str | Path) -> tuple[Image.Image, tuple[int, int]]:
        """The overview of a scene file and the scene's ``(width, height)``.

        Raises:
            SceneError: the scene cannot be read.
        """
        key = str(path)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        with Scene.pixels(path) as scene:
            entry = (scene.overview(self.side), (scene.width, scene.height))
        with self._lock:
            self._cache[key] = entry
        return entry

    def draw(self, path: str | Path, hits: Sequence[dict[str, Any]]) -> Image.Image:
        """The scene's overview with ``hits`` (records with ``rank`` and ``window``) outlined and numbered."""
        overview, size = self.get(path)
        return draw_footprints(overview, size, hits)
