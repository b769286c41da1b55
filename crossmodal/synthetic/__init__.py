"""A built-in demo world: procedural aerial scenes of the 14 Earth on Canvas classes and their sketches.

Each scene is first a geometric description (a :class:`Scene`: a ground material and an ordered
list of :class:`Part` polygons and polylines, plus trees) with a random layout, orientation and
scale. It is then rendered twice from the same geometry:

- as a **photo**: fractal-noise textures for the ground and the paved or watery areas, flat
  colours for roofs, cars and paint, shadows cast away from one sun, trees, then a colour cast,
  blur and sensor noise;
- as a **sketch**: thin dark pen strokes on white paper, the way the Earth on Canvas drawings
  look: the sketcher's copy of the layout is slightly off (a small rotation, scale and shift),
  every stroke wobbles smoothly, boxes are often drawn side by side with overshooting corners, the
  pen width varies, small details are drawn only some of the time, hidden lines are left out and
  the ground texture, shadows and (except on golf courses) trees are not drawn at all.

Everything is deterministic for a seed. ``generate_world`` writes the layout the loaders read:
``photos/<class>/<class>NN.png`` and ``sketches/<class>/NN.png``, the same NN being the same
scene, so that the fixed photo split (80-99 test, 70-79 validation) applies when
``per_class=100``.

Where things are:

- ``scene.py``: :class:`Scene`, :class:`Part`, the ground ``MATERIALS`` and the image ``SIZE``;
- ``scenes/<class>.py``: the layout of one class (``scenes/runway.py`` lays out a runway), and
  ``scenes.BUILDERS``, which maps each class name to its builder; ``scenes.VARIANTS`` holds the
  other layouts a world with ``varied=True`` also draws (harbors of boats moored along piers,
  overpasses of curved ramps);
- ``geometry.py``: shapes, curves and outlines the builders draw with; ``props.py``: trees, cars
  and free ground shared by several classes;
- ``photo.py``: :func:`render_photo`; ``sketch.py``: :func:`render_sketch`;
- ``world.py``: :func:`make_scene`, :func:`render_scene`, :func:`scene_seed` and
  :func:`generate_world`.
"""

from .photo import render_photo
from .scene import MATERIALS, SIZE, Color, Part, Scene
from .props import CAR_COLORS
from .scenes import BUILDERS
from .scenes.buildings import ROOF_COLORS
from .sketch import render_sketch
from .world import generate_world, make_scene, render_scene, scene_seed

VERSION = "1"  # changes whenever the images made for a given seed change (varied or not): cache worlds under it

__all__ = ["BUILDERS", "CAR_COLORS", "MATERIALS", "ROOF_COLORS", "SIZE", "VERSION", "Color", "Part", "Scene",
           "generate_world", "make_scene", "render_photo", "render_scene", "render_sketch", "scene_seed"]
