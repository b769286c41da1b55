"""A light drawing canvas for the app: the browser draws, and sends one small PNG when the pen is lifted.

``gr.Sketchpad`` uploads its background, layers and composite as separate files after every
stroke and only then fires ``change``; on a 2-core server that took most of a second before a
search could start, and its tool bar forgets the brush after Clear. :func:`sketch_canvas` is a
``gr.HTML`` component with a plain ``<canvas>``: the pen is always in hand (Eraser, Undo and Clear
beside it), and on pointer-up the drawing is sent as a ``data:image/png`` URL (a few kB of
line art) as the component's new value, which fires ``change``: one request a stroke, no uploads.

Its value is that URL ('' for an empty canvas). A handler that outputs a URL or data URL to the
component draws that image on the canvas (an example to keep drawing on) and searches it.
"""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path

import gradio as gr
from PIL import Image

from .data import ImageLoadError, load_image

CANVAS_SIDE = 512  # drawing resolution of the canvas, pixels; the PNG sent has this side (the models read 96-128)
PEN_WIDTH = 4  # pixels at CANVAS_SIDE: the example sketches' 2 px at their 256
ERASER_WIDTH = 28
MAX_DATA_URL = 256 * 1024  # characters: a 512 px line drawing is a few kB as PNG; far larger is not from the canvas
PNG_PREFIX = "data:image/png;base64,"

HTML = f"""
<div class="sketch-canvas-tools" role="toolbar" aria-label="Drawing tools">
  <button type="button" data-tool="pen" class="active" aria-pressed="true" title="Pen">Pen</button>
  <button type="button" data-tool="eraser" aria-pressed="false" title="Eraser">Eraser</button>
  <button type="button" data-action="undo" title="Undo the last stroke (Ctrl+Z)">Undo</button>
  <button type="button" data-action="clear" title="Clear the canvas">Clear</button>
</div>
<canvas width="{CANVAS_SIDE}" height="{CANVAS_SIDE}" aria-label="Drawing canvas: draw a scene as seen from above"
  tabindex="0"></canvas>
"""

CSS = """
.sketch-canvas-tools {display: flex; gap: 6px; flex-wrap: wrap; margin: 26px 0 6px}
.sketch-canvas-tools button {padding: 4px 10px; border-radius: 6px; border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); color: var(--body-text-color); font-size: 0.95em; cursor: pointer}
.sketch-canvas-tools button.active {background: var(--color-accent); color: white; border-color: var(--color-accent)}
canvas {display: block; width: 100%; max-width: 512px; aspect-ratio: 1 / 1; touch-action: none; cursor: crosshair;
  border: 1px solid var(--border-color-primary); border-radius: 6px; background: white}
"""

JS = f"""
const canvas = element.querySelector('canvas');
const ctx = canvas.getContext('2d', {{willReadFrequently: true}});
const side = {CANVAS_SIDE};
const history = [];
let tool = 'pen', last = null, blank = true;

const fillWhite = () => {{ ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, side, side); }};
const remember = () => {{
  history.push([ctx.getImageData(0, 0, side, side), blank]);
  if (history.length > 40) history.shift();
}};
const selectTool = (name) => {{
  tool = name;
  element.querySelectorAll('[data-tool]').forEach((b) => {{
    b.classList.toggle('active', b.dataset.tool === name);
    b.setAttribute('aria-pressed', String(b.dataset.tool === name));
  }});
}};
const send = () => {{
  props.value = blank ? '' : canvas.toDataURL('image/png');  // a new value fires the component's change event
}};
const point = (e) => {{
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * side / r.width, (e.clientY - r.top) * side / r.height];
}};
const segment = (a, b) => {{
  ctx.strokeStyle = tool === 'pen' ? '#000' : '#fff';
  ctx.lineWidth = tool === 'pen' ? {PEN_WIDTH} : {ERASER_WIDTH};
  ctx.lineCap = ctx.lineJoin = 'round';
  ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
}};

fillWhite();
canvas.addEventListener('pointerdown', (e) => {{
  if (e.button !== 0) return;
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  remember();
  last = point(e);
  segment(last, [last[0] + 0.01, last[1]]);  // a tap leaves a dot
  if (tool === 'pen') blank = false;
}});
canvas.addEventListener('pointermove', (e) => {{
  if (!last) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (events.length ? events : [e])) {{ const p = point(ev); segment(last, p); last = p; }}
}});
const finish = () => {{ if (last) {{ last = null; send(); }} }};
canvas.addEventListener('pointerup', finish);
canvas.addEventListener('pointercancel', finish);

element.querySelectorAll('[data-tool]').forEach((b) => b.addEventListener('click', () => selectTool(b.dataset.tool)));
const undo = () => {{
  const previous = history.pop();
  if (!previous) return;
  ctx.putImageData(previous[0], 0, 0);
  blank = previous[1];
  send();
}};
element.querySelector('[data-action="undo"]').addEventListener('click', undo);
element.querySelector('[data-action="clear"]').addEventListener('click', () => {{
  remember(); fillWhite(); blank = true; selectTool('pen'); send();
}});
canvas.addEventListener('keydown', (e) => {{
  if ((e.ctrlKey || e.metaKey) && e.key === 'z') {{ e.preventDefault(); undo(); }}
}});

// an image sent by the server (an example): draw it and keep the pen in hand; the new value itself is searched
watch('value', () => {{
  const src = props.value;
  if (!src || !/^(data:image\\/|https?:|\\/)/.test(src)) return;
  const image = new Image();
  image.onload = () => {{
    remember(); fillWhite();
    ctx.drawImage(image, 0, 0, side, side);
    blank = false; selectTool('pen');
  }};
  image.src = src;
}});
"""


def sketch_canvas(label: str = "Draw a scene from above", elem_id: str | None = None, **kwargs) -> gr.HTML:
    """A square drawing canvas whose value is the drawing as a PNG data URL ('' when empty).

    It fires ``change`` once a stroke, on pointer-up, and after Undo, Clear and an image set by a
    handler. (A function, not a ``gr.HTML`` subclass: Gradio writes a ``.pyi`` stub beside the
    module of every component class it sees defined.)

    Args:
        label: shown above the canvas.
        elem_id: the HTML id of the component.
        **kwargs: passed to ``gr.HTML``.
    """
    return gr.HTML(value="", label=label, show_label=True, html_template=HTML, css_template=CSS, js_on_load=JS,
                   apply_default_css=False, container=True, elem_id=elem_id, **kwargs)


def canvas_image(value: str | None) -> Image.Image | None:
    """Decode the canvas value into an RGB image; None for an empty canvas.

    Raises:
        ImageLoadError: the value is not a PNG data URL of a readable image, or is far too large.
    """
    if not value:
        return None
    if len(value) > MAX_DATA_URL or not value.startswith(PNG_PREFIX):
        raise ImageLoadError(f"the drawing must be a PNG data URL of at most {MAX_DATA_URL // 1024} kB")
    try:
        data = base64.b64decode(value[len(PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as err:
        raise ImageLoadError(f"the drawing is not valid base64: {err}") from err
    return load_image(io.BytesIO(data))


def image_data_url(path: str | Path, side: int = CANVAS_SIDE) -> str:
    """An image file as a PNG data URL at most ``side`` pixels a side (to put an example on the canvas).

    Raises:
        ImageLoadError: the file cannot be read.
    """
    image = load_image(str(path), max_side=side)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return PNG_PREFIX + base64.b64encode(buffer.getvalue()).decode()
