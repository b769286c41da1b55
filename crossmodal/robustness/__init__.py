"""Robustness suites that no model trains on: sketches in other drawing styles, photos from other imagery.

- :mod:`.shapes`: a small top-down line-drawing description of each of the 14 Earth on Canvas
  classes (strokes in the unit square), random per seed; a scene or one object filling the frame.
- :mod:`.second_hand`: the same for a second, independent hand: written apart from
  :mod:`.shapes` and from every training renderer, after the first hand's drawings had been used
  to choose recipes, so that it stays a blind test of them.
- :mod:`.sketches`: either hand's strokes drawn in the suite's styles (``STYLES``), deterministic
  by seed.
- :mod:`.imagery`: the UC Merced test photos (80-99) under the suite's imagery shifts (``SHIFTS``).
- :mod:`.evaluation`: ``evaluate_robustness(model, photos_dir, ...)`` scores a checkpoint on both.

The sketch generator shares no code with the training renderers (``crossmodal.synthetic``,
``crossmodal.sketchify``) and none of them imports it; only numpy and Pillow draw here. The
constants below are importable without torch (the command line lists them in its help).
"""

SUITE_VERSION = "1"
"""Changes whenever the suites' images for a given seed change: reports of other versions are not comparable."""

STYLES: tuple[str, ...] = ("iconic", "mouse", "pencil", "wobbly", "partial", "lowres")
"""Drawing styles of the style-shift suite; its overall numbers pool these."""

REFERENCE_STYLE = "plain"
"""The suite's scenes with a thin, steady pen: separates what the drawing style costs from what the
suite's geometry costs. Reported on its own row, never pooled into the overall numbers."""

FIRST_HAND = "first"
"""The hand whose drawings every report before the second hand's existed is about."""

HANDS: tuple[str, ...] = (FIRST_HAND, "second")
"""Whose descriptions of the classes the style-shift suite draws (:mod:`.shapes`, :mod:`.second_hand`)."""

SHIFTS: tuple[str, ...] = ("zoom_out_x0.5", "zoom_in_x2", "colour", "contrast_haze", "blur", "jpeg")
"""Imagery shifts of the photo suite."""

REFERENCE_SHIFT = "clean"
"""The test photos unchanged: the photo suite's baseline row."""
