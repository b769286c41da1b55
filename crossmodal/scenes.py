"""Large images as galleries of chips: windowed reads at the model's ground resolution, and where each chip lies.

An orthophoto or satellite scene is far larger than the scenes the model was trained on (UC Merced
photos: 256 x 256 pixels of 1 foot, about 78 m a side). A :class:`Scene` cuts it into overlapping
square chips that cover the same ground as a training photo, whatever the scene's own resolution,
the way torchgeo's ``GridGeoSampler`` walks a ``RasterDataset``:

- the chip grid is laid out in pixels of the *model's* resolution (``TRAINING_GSD``): ``chip``
  pixels a side, ``stride`` pixels apart, plus a last row and column flush with the scene's edge;
- each chip is a ``rasterio.windows.Window`` of the scene (fractional where the resolutions differ),
  read with ``out_shape`` so that GDAL resamples it to the model's resolution; chips are read a
  strip of the grid at a time, so memory depends on the scene's width, never on its size;
- a chip's footprint comes from ``rasterio.windows.transform``: its polygon and bounds in the
  scene's CRS, and in longitude/latitude (EPSG:4326) through ``rasterio.warp``;
- chips that are mostly nodata (the dataset's mask) or of one flat colour are skipped and counted.

Plain PNG/JPEG images work the same way with pixel coordinates only; their ground resolution has
to be given (``gsd``), as nothing in the file says it.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

TRAINING_GSD = 0.3048  # metres a pixel of the training photos (UC Merced: 1 foot)
DEFAULT_CHIP = 256  # chip side in pixels at TRAINING_GSD: 78 m, the ground a UC Merced photo covers
DEFAULT_STRIDE = 128  # chip spacing in pixels at TRAINING_GSD: neighbours overlap by half
MIN_VALID_FRACTION = 0.5  # chips with less valid (not nodata) area than this are skipped
MIN_CHIP_STD = 2.0  # chips whose pixel values vary less than this (0-255 scale) are blank: skipped
READ_BLOCK_PIXELS = 1 << 22  # pixels of one windowed read (at the model's resolution): bounds memory
GDAL_CACHE_MB = 256  # GDAL's block cache while a scene is read (its default is 5 % of the RAM)
SCENE_EXTENSIONS = frozenset({".tif", ".tiff", ".vrt", ".jp2", ".img", ".png", ".jpg", ".jpeg"})
SKIP_NODATA = "mostly nodata"
SKIP_BLANK = "blank (one flat colour)"


class SceneError(ValueError):
    """A scene cannot be read or cut into chips; the message says why and what to pass instead."""


@dataclass(frozen=True)
class Footprints:
    """Where chips lie: one row per chip, in the scene's pixels, its CRS and longitude/latitude.

    Attributes:
        windows: (n, 4) ``col_off, row_off, width, height`` in scene pixels (may be fractional).
        corners: (n, 4, 2) the chip's corners (upper-left, lower-left, lower-right, upper-right)
            as ``x, y`` in the scene's CRS; pixel ``col, row`` for a scene without one.
        bounds: (n, 4) ``left, bottom, right, top`` of the corners, in the same units.
        lonlat: (n, 4, 2) the corners in longitude, latitude (WGS 84); NaN without a CRS.
        centre: (n, 2) longitude, latitude of the chip's centre; NaN without a CRS.
    """

    windows: np.ndarray
    corners: np.ndarray
    bounds: np.ndarray
    lonlat: np.ndarray
    centre: np.ndarray

    def __len__(self) -> int:
        """Number of chips."""
        return len(self.windows)


def grid_offsets(extent: int, chip: int, stride: int) -> list[int]:
    """Offsets of chips of side ``chip`` every ``stride`` pixels along ``extent``; the last is flush with the end.

    Raises:
        ValueError: non-positive sizes, or ``extent`` smaller than one chip.
    """
    if chip < 1 or stride < 1:
        raise ValueError(f"chip and stride must be positive, not {chip} and {stride}")
    if extent < chip:
        raise ValueError(f"{extent} pixels hold no chip of {chip}")
    offsets = list(range(0, extent - chip + 1, stride))
    if offsets[-1] != extent - chip:  # cover the far edge too, as torchgeo's GridGeoSampler does
        offsets.append(extent - chip)
    return offsets


def _pixel_metres(src: Any) -> tuple[float, float]:
    """Ground size of one pixel (x, y) in metres, from the transform and the CRS's units."""
    t = src.transform
    size_x, size_y = math.hypot(t.a, t.d), math.hypot(t.b, t.e)  # rotation-safe
    if src.crs.is_geographic:  # degrees: metres at the scene's centre latitude (spherical Earth, < 1 % off)
        lat = math.radians((src.bounds.top + src.bounds.bottom) / 2)
        return size_x * 111_320.0 * math.cos(lat), size_y * 110_574.0
    _, factor = src.crs.linear_units_factor
    return size_x * factor, size_y * factor


class Scene:
    """A large raster opened for chipping: its grid, footprints, overview and chips, read window by window.

    Args:
        path: a GeoTIFF (or any raster GDAL reads) or a plain PNG/JPEG.
        gsd: the scene's ground resolution in metres a pixel; overrides the transform. Needed for
            images without georeferencing, unless ``fallback_gsd`` is given.
        chip: chip side in pixels at ``target_gsd``.
        stride: chip spacing in pixels at ``target_gsd``.
        target_gsd: the resolution chips are resampled to (the model's training resolution).
        fallback_gsd: the resolution assumed for an image without georeferencing when ``gsd`` is None.

    Raises:
        SceneError: the file cannot be opened, has no known resolution, or is smaller than a chip.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path, gsd: float | None = None, chip: int = DEFAULT_CHIP,
                 stride: int = DEFAULT_STRIDE, target_gsd: float = TRAINING_GSD, fallback_gsd: float | None = None):
        """Open the scene and lay out its chip grid; see the class docstring for the arguments."""
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

        self.path = Path(path)
        if gsd is not None and not gsd > 0:
            raise SceneError(f"--gsd must be a positive number of metres a pixel, not {gsd}")
        if not (isinstance(chip, int) and isinstance(stride, int) and chip >= 16 and stride >= 1):
            raise SceneError(f"chip must be an integer of at least 16 pixels and stride at least 1, "
                             f"not {chip} and {stride}")
        if not target_gsd > 0:
            raise SceneError(f"target_gsd must be positive, not {target_gsd}")
        self.chip, self.stride, self.target_gsd = chip, stride, float(target_gsd)
        self._env = rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2 ** 20)
        self._env.__enter__()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._src = rasterio.open(self.path)
        except (RasterioIOError, OSError) as err:
            self._env.__exit__(None, None, None)
            raise SceneError(f"cannot read scene {self.path}: {err}") from err
        try:
            self._setup(gsd if gsd is not None or self._src.crs is not None else fallback_gsd)
        except BaseException:
            self.close()
            raise

    def _setup(self, gsd: float | None) -> None:
        from rasterio.enums import ColorInterp

        src = self._src
        self.width, self.height = src.width, src.height
        self.crs = src.crs
        self.transform = src.transform
        self.georeferenced = src.crs is not None
        if gsd is not None:
            self.gsd = (float(gsd), float(gsd))
        elif self.georeferenced:
            self.gsd = _pixel_metres(src)
        else:
            raise SceneError(f"{self.path} has no georeferencing, so its ground resolution is unknown: pass --gsd "
                             f"METRES (metres a pixel; the model was trained at {TRAINING_GSD} m)")
        # model pixels per scene pixel, along x and y
        self.scale = (self.gsd[0] / self.target_gsd, self.gsd[1] / self.target_gsd)
        self.grid_width = int(self.width * self.scale[0])
        self.grid_height = int(self.height * self.scale[1])
        if min(self.grid_width, self.grid_height) < self.chip:
            metres = self.chip * self.target_gsd
            raise SceneError(f"{self.path} covers {self.width * self.gsd[0]:.0f} x {self.height * self.gsd[1]:.0f} m, "
                             f"less than one chip ({metres:.0f} m a side): index it as an image instead, or give a "
                             f"smaller --chip")
        self.set_stride(self.stride)
        interp = src.colorinterp
        self._lut = None
        if interp and interp[0] == ColorInterp.palette:
            colormap = src.colormap(1)
            self._lut = np.array([colormap.get(i, (0, 0, 0, 255))[:3] for i in range(256)], np.uint8)
            self.bands = (1,)
        elif src.count >= 3:
            rgb = [interp.index(c) + 1 if c in interp else None
                   for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)]
            self.bands = tuple(rgb) if None not in rgb else (1, 2, 3)
        else:
            self.bands = (1,)
        self.dtype = np.dtype(src.dtypes[self.bands[0] - 1])
        self.value_range = self._value_range()
        self.skipped: Counter[str] = Counter()

    @classmethod
    def pixels(cls, path: str | Path) -> Scene:
        """A scene opened only to read pixels (windows, overview), whatever its resolution or georeferencing."""
        return cls(path, gsd=1.0, chip=16, stride=16, target_gsd=1.0)

    def set_stride(self, stride: int) -> None:
        """Lay the chip grid out again with another spacing (pixels at the model's resolution)."""
        if not (isinstance(stride, int) and stride >= 1):
            raise SceneError(f"stride must be a positive integer, not {stride}")
        self.stride = stride
        self.cols = grid_offsets(self.grid_width, self.chip, stride)
        self.rows = grid_offsets(self.grid_height, self.chip, stride)

    def close(self) -> None:
        """Close the file and GDAL's environment."""
        if getattr(self, "_src", None) is not None:
            self._src.close()
            self._src = None
            self._env.__exit__(None, None, None)

    def __enter__(self) -> Scene:
        """The scene itself."""
        return self

    def __exit__(self, *exc: Any) -> None:
        """Close the scene."""
        self.close()

    def __len__(self) -> int:
        """Number of chips in the grid (before blank and nodata chips are skipped)."""
        return len(self.rows) * len(self.cols)

    def __repr__(self) -> str:
        """Size, resolution, CRS and grid, in one line."""
        crs = self.crs.to_string() if self.georeferenced else "no CRS"
        return (f"Scene({self.path.name}: {self.width} x {self.height} px at {self.gsd[0]:.3g} m, {crs}; "
                f"{len(self.rows)} x {len(self.cols)} chips of {self.chip} px at {self.target_gsd:.4g} m)")

    # ------------------------------------------------------------------ geometry

    @property
    def resampling(self) -> Any:
        """GDAL resampling for chips: area averaging when shrinking (no aliasing), bilinear when enlarging."""
        from rasterio.enums import Resampling

        return Resampling.average if min(self.scale) < 1 else Resampling.bilinear

    def window(self, col: float, row: float, width: float, height: float) -> Any:
        """The scene window under a rectangle of model-resolution grid pixels."""
        from rasterio.windows import Window

        sx, sy = self.scale
        return Window(col / sx, row / sy, width / sx, height / sy)

    def grid_windows(self) -> np.ndarray:
        """(n, 4) ``col_off, row_off, width, height`` of every chip in scene pixels, row by row."""
        sx, sy = self.scale
        cols, rows = np.meshgrid(np.asarray(self.cols, np.float64), np.asarray(self.rows, np.float64))
        n = cols.size
        return np.stack([cols.ravel() / sx, rows.ravel() / sy, np.full(n, self.chip / sx),
                         np.full(n, self.chip / sy)], 1)

    def footprints(self, windows: np.ndarray) -> Footprints:
        """Footprints of windows (n, 4 scene pixels) in the scene's CRS and in longitude/latitude."""
        from rasterio.transform import xy
        from rasterio.warp import transform as warp

        windows = np.asarray(windows, np.float64).reshape(-1, 4)
        n = len(windows)
        c0, r0, w, h = windows.T
        # corners counter-clockwise in a north-up map: upper-left, lower-left, lower-right, upper-right
        cols = np.stack([c0, c0, c0 + w, c0 + w], 1).ravel()
        rows = np.stack([r0, r0 + h, r0 + h, r0], 1).ravel()
        if self.georeferenced:
            xs, ys = xy(self.transform, rows, cols, offset="ul")
            corners = np.stack([np.asarray(xs, np.float64), np.asarray(ys, np.float64)], 1).reshape(n, 4, 2)
            cx, cy = xy(self.transform, r0 + h / 2, c0 + w / 2, offset="ul")
            flat = corners.reshape(-1, 2)
            lon, lat = warp(self.crs, "EPSG:4326", list(flat[:, 0]) + list(np.atleast_1d(cx)),
                            list(flat[:, 1]) + list(np.atleast_1d(cy)))
            lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
            lonlat = np.stack([lon[:4 * n], lat[:4 * n]], 1).reshape(n, 4, 2)
            centre = np.stack([lon[4 * n:], lat[4 * n:]], 1)
        else:
            corners = np.stack([cols, rows], 1).reshape(n, 4, 2)
            lonlat = np.full((n, 4, 2), np.nan)
            centre = np.full((n, 2), np.nan)
        bounds = np.concatenate([corners.min(1), corners.max(1)], 1)  # left, bottom, right, top
        if not self.georeferenced:  # pixel rows grow downwards: "bottom" is the larger row
            bounds = np.stack([bounds[:, 0], bounds[:, 3], bounds[:, 2], bounds[:, 1]], 1)
        return Footprints(windows, corners, bounds, lonlat, centre)

    def lonlat_bounds(self) -> tuple[float, float, float, float] | None:
        """West, south, east, north of the whole scene in WGS 84 (``transform_bounds``), or None without a CRS."""
        from rasterio.warp import transform_bounds

        if not self.georeferenced:
            return None
        return tuple(transform_bounds(self.crs, "EPSG:4326", *self._src.bounds, densify_pts=21))

    def describe(self) -> dict[str, Any]:
        """Plain values that identify how the scene was chipped (stored in an index's sidecar)."""
        return {"width": self.width, "height": self.height, "crs": self.crs.to_wkt() if self.georeferenced else None,
                "transform": list(self.transform)[:6], "gsd": list(self.gsd), "chip": self.chip,
                "stride": self.stride, "target_gsd": self.target_gsd, "bands": list(self.bands),
                "value_range": [list(r) for r in self.value_range] if self.value_range else None}

    # ------------------------------------------------------------------ pixels

    def _value_range(self) -> list[tuple[float, float]] | None:
        """Per-band 2nd and 98th percentiles of valid pixels (from a reduced read) for non-8-bit scenes."""
        if self.dtype == np.uint8:
            return None
        from rasterio.enums import Resampling

        factor = max(1.0, max(self.width, self.height) / 1024)
        shape = (len(self.bands), max(1, int(self.height / factor)), max(1, int(self.width / factor)))
        data = self._src.read(self.bands, out_shape=shape, masked=True, resampling=Resampling.nearest)
        ranges = []
        for band in data:
            values = band.compressed().astype(np.float64)
            values = values[np.isfinite(values)]
            low, high = np.percentile(values, (2, 98)) if values.size else (0.0, 1.0)
            ranges.append((float(low), float(high) if high > low else float(low) + 1.0))
        return ranges

    def _to_rgb8(self, data: np.ndarray) -> np.ndarray:
        """(bands, h, w) raw values -> (3, h, w) uint8 RGB."""
        if self._lut is not None:
            return self._lut[data[0]].transpose(2, 0, 1)
        if self.value_range is not None:
            out = np.empty(data.shape, np.uint8)
            for i, (low, high) in enumerate(self.value_range):
                band = np.nan_to_num(data[i].astype(np.float32), nan=low)
                out[i] = np.clip((band - low) * (255.0 / (high - low)), 0, 255)
            data = out
        return data if len(data) == 3 else np.repeat(data[:1], 3, 0)

    def read(self, window: Any, out_shape: tuple[int, int], resampling: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """RGB uint8 pixels (3, h, w) and the valid mask (h, w, bool) of a window, resampled to ``out_shape``.

        ``resampling`` defaults to :attr:`resampling` (nearest for paletted scenes).
        """
        from rasterio.enums import Resampling
        from rasterio.errors import RasterioError

        if self._lut is not None:
            resampling = Resampling.nearest
        try:
            data = self._src.read(self.bands, window=window, out_shape=(len(self.bands), *out_shape),
                                  resampling=resampling if resampling is not None else self.resampling)
            mask = self._src.dataset_mask(window=window, out_shape=out_shape, resampling=Resampling.nearest) > 0
        except (RasterioError, OSError) as err:
            raise SceneError(f"cannot read {self.path.name} (truncated or damaged?): {err}") from err
        return self._to_rgb8(data), mask

    def chips(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Chips of the grid, a read block at a time: ``(pixels (n, 3, chip, chip) uint8, windows (n, 4))``.

        Chips that are mostly nodata or blank are left out and counted in :attr:`skipped`. Each
        block is one windowed read of a strip of the grid (a whole row of chips, or part of one for
        a very wide scene), so memory stays at a few strips whatever the scene's size.
        """
        self.skipped = Counter()
        chip = self.chip
        per_block = max(1, (READ_BLOCK_PIXELS // chip - chip) // self.stride + 1)
        for row in self.rows:
            for first in range(0, len(self.cols), per_block):
                cols = self.cols[first:first + per_block]
                left, width = cols[0], cols[-1] + chip - cols[0]
                pixels, mask = self.read(self.window(left, row, width, chip), (chip, width))
                kept, windows = [], []
                for col in cols:
                    x = col - left
                    valid = mask[:, x:x + chip]
                    if valid.mean() < MIN_VALID_FRACTION:
                        self.skipped[SKIP_NODATA] += 1
                        continue
                    tile = pixels[:, :, x:x + chip]
                    if float(tile[:, valid].std()) < MIN_CHIP_STD:
                        self.skipped[SKIP_BLANK] += 1
                        continue
                    kept.append(tile)
                    w = self.window(col, row, chip, chip)
                    windows.append((w.col_off, w.row_off, w.width, w.height))
                if kept:
                    yield np.stack(kept), np.asarray(windows, np.float64)

    def overview(self, max_side: int = 1024) -> Image.Image:
        """The whole scene reduced to at most ``max_side`` pixels a side (nodata drawn black), as RGB."""
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        factor = max(1.0, max(self.width, self.height) / max_side)
        shape = (max(1, round(self.height / factor)), max(1, round(self.width / factor)))
        pixels, mask = self.read(Window(0, 0, self.width, self.height), shape, Resampling.average)
        return Image.fromarray((pixels * mask[None]).transpose(1, 2, 0))

    def window_image(self, window: Any, side: int) -> Image.Image:
        """A window as an RGB image ``side`` pixels wide (the height follows the window's shape).

        ``window`` is a ``Window`` or ``col_off, row_off, width, height`` in scene pixels.
        """
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        w = window if isinstance(window, Window) else Window(*window)
        shape = (max(1, round(side * w.height / w.width)), side)
        pixels, _ = self.read(w, shape, Resampling.average if w.width > side else Resampling.bilinear)
        return Image.fromarray(pixels.transpose(1, 2, 0))


def is_scene_file(path: str | Path, min_side: int = 2 * DEFAULT_CHIP) -> bool:
    """True for a georeferenced raster (GeoTIFF, ...) at least ``min_side`` pixels a side: a scene, not a photo."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if Path(path).suffix.lower() not in {".tif", ".tiff", ".vrt", ".jp2", ".img"}:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                return src.crs is not None and min(src.width, src.height) >= min_side
    except (RasterioIOError, OSError):
        return False
