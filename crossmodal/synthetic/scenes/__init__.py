"""The scene builders, one module per class: ``BUILDERS`` maps each class name to its builder.

A builder takes the layout's random generator and returns a :class:`~crossmodal.synthetic.scene.Scene`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..scene import Scene
from .airplane import _airplane
from .baseballdiamond import _baseballdiamond
from .buildings import _buildings
from .freeway import _freeway
from .golfcourse import _golfcourse
from .harbor import _harbor, _harbor_moorings
from .intersection import _intersection
from .mobilehomepark import _mobilehomepark
from .overpass import _overpass, _overpass_interchange
from .parkinglot import _parkinglot
from .river import _river
from .runway import _runway
from .storagetanks import _storagetanks
from .tenniscourt import _tenniscourt


BUILDERS: dict[str, Callable[[np.random.Generator], Scene]] = {
    "airplane": _airplane, "baseballdiamond": _baseballdiamond, "buildings": _buildings, "freeway": _freeway,
    "golfcourse": _golfcourse, "harbor": _harbor, "intersection": _intersection, "mobilehomepark": _mobilehomepark,
    "overpass": _overpass, "parkinglot": _parkinglot, "river": _river, "runway": _runway,
    "storagetanks": _storagetanks, "tenniscourt": _tenniscourt,
}

# Other layouts of a class, each drawn for half of its scenes when a world asks for varied layouts
# (the default worlds, the demo's included, keep the layouts above alone).
VARIANTS: dict[str, Callable[[np.random.Generator], Scene]] = {
    "harbor": _harbor_moorings, "overpass": _overpass_interchange,
}
