"""What keeps the web app healthy as a public service, apart from its layout.

- :func:`gallery_route`: the one place gallery images are served from, by their public id
  (``/gallery/photo/runway/runway49.jpg``), and only for items of a loaded index;
- :class:`RequestGuard`: request bodies bounded (uploads have their own limit, Gradio's
  ``max_file_size``), and the file route never used as a proxy for outside URLs;
- :class:`CacheSweeper`: Gradio deletes old cached files (``delete_cache``) but leaves their
  folders, one or two a query; the sweeper removes those once empty;
- :class:`RetrieverSwap`: the retriever the handlers use, replaced in one step when a rebuilt
  one is ready, so the old index is served while a new one is built;
- :func:`private_temp_folder`: a folder for the server's temporary files, removed on any exit,
  SIGTERM included;
- ``check_*``: argument checks whose messages never echo a huge value back.
"""

from __future__ import annotations

import atexit
import logging
import math
import mimetypes
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .retrieval import MAX_K

log = logging.getLogger(__name__)

MAX_UPLOAD_MB = 10.0  # default upload limit, MB
MAX_BODY_BYTES = 256 * 1024  # any other request body (JSON of API calls): file references and a few options
CACHE_AGE_SECONDS = 180  # cached uploads and results older than this are deleted ...
CACHE_SWEEP_SECONDS = 30  # ... by a sweep this often
GALLERY_PREFIX = "/gallery"  # gallery images are served under <root>/gallery/<photo|sketch>/<id>
IMAGE_TYPES = ("image/jpeg", "image/png", "image/tiff", "image/webp", "image/bmp", "image/gif")


# ---------------------------------------------------------------------------- input checks


def shorten(value: Any, limit: int = 40) -> str:
    """``repr`` of a value cut to ``limit`` characters: safe to put in a message or a log line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def check_k(value: Any) -> int:
    """The number of results asked for, as an int from 1 to ``MAX_K``.

    Raises:
        ValueError: not a whole number in that range.
    """
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= MAX_K:
        raise ValueError(f"k must be a whole number from 1 to {MAX_K}, not {shorten(value)}")
    return int(number)


def check_target(value: Any, classes: Sequence[str], auto: str) -> str | None:
    """The class results are judged against: one of ``classes``, or None for ``auto`` / empty (predicted class).

    Raises:
        ValueError: any other value (the message names a few classes, not the whole value).
    """
    if value in (None, "", auto):
        return None
    if isinstance(value, str) and value in classes:
        return value
    raise ValueError(f"unknown target class {shorten(value)}: use {auto!r} or one of {len(classes)} classes "
                     f"such as {', '.join(classes[:3])}")


def check_flag(value: Any, name: str) -> bool:
    """A checkbox value as a bool.

    Raises:
        ValueError: anything but a bool (or None, meaning False).
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    raise ValueError(f"{name} must be true or false, not {shorten(value)}")


# ---------------------------------------------------------------------------- serving gallery files


def gallery_url(root: str, gallery: str, item_id: str) -> str:
    """Where a client fetches a gallery item: ``<root>/gallery/<gallery>/<id>``, the id URL-quoted."""
    return f"{root.rstrip('/')}{GALLERY_PREFIX}/{gallery}/{quote(item_id)}"


def request_root(request: Any) -> str:
    """The public root URL of the app a request came to, honouring a proxy's X-Forwarded headers."""
    headers = request.headers
    host = headers.get("x-forwarded-host", "").split(",")[0].strip() or headers.get("host") or request.url.netloc
    scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip() or request.url.scheme
    return f"{scheme}://{host}{request.scope.get('root_path', '')}"


def gallery_route(current: Callable[[], Any]):
    """A FastAPI route serving ``/gallery/<photo|sketch>/<id>`` from the index of ``current()``'s retriever.

    Anything that is not the id of an item of a loaded index is a 404: other files of the
    gallery folder, other classes, ``..``, absolute paths, gallery files deleted since.
    """
    from fastapi.responses import FileResponse, PlainTextResponse
    from fastapi.routing import APIRoute

    def gallery_file(gallery: str, item_id: str):
        path = current().gallery_file(gallery, item_id)
        media_type = mimetypes.guess_type(path.name)[0] if path is not None else None
        if path is None or media_type not in IMAGE_TYPES or not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(path, media_type=media_type, content_disposition_type="inline",
                            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})

    return APIRoute(f"{GALLERY_PREFIX}/{{gallery}}/{{item_id:path}}", gallery_file, methods=["GET", "HEAD"],
                    include_in_schema=False)


class RequestGuard:
    """ASGI middleware: bounded request bodies, and no fetching of outside URLs through the file route.

    Args:
        app: the wrapped ASGI app.
        max_body: largest body of a request that is not an upload, bytes.
        upload_paths: path suffixes of the upload routes (Gradio bounds those with ``max_file_size``).
    """

    def __init__(self, app: Any, max_body: int = MAX_BODY_BYTES, upload_paths: Sequence[str] = ("/upload",)):
        """Wrap ``app``; see the class docstring."""
        self.app = app
        self.max_body = max_body
        self.upload_paths = tuple(upload_paths)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Refuse or pass on one request."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if "/file=" in path and path.split("/file=", 1)[1].lower().startswith(("http:", "https:")):
            return await _plain(send, 403, "this server does not fetch outside URLs")
        if path.endswith(self.upload_paths) or scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            return await _plain(send, 413, f"request body over the {self.max_body // 1024} KB limit")
        received, started = 0, False

        async def bounded_receive() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise _BodyTooLarge
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _plain(send, 413, f"request body over the {self.max_body // 1024} KB limit")


class _BodyTooLarge(Exception):
    pass


async def _plain(send: Callable, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------- disk


class CacheSweeper:
    """Removes empty folders under a cache root that have been empty for ``age`` seconds, every ``every`` seconds.

    Gradio's ``delete_cache`` deletes the files; each sat in a folder of its own (named by its
    hash), which stays behind. A folder is only removed once its last change is ``age`` old, so one
    a file is being written into is left alone.
    """

    def __init__(self, root: str | Path, age: float = CACHE_AGE_SECONDS, every: float = CACHE_SWEEP_SECONDS):
        """Watch ``root``; call :meth:`start` to sweep in the background."""
        self.root, self.age, self.every = Path(root), age, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> int:
        """Remove the empty folders old enough now; returns how many."""
        removed, now = 0, time.time()
        for folder, subfolders, files in os.walk(self.root, topdown=False):
            path = Path(folder)
            if path == self.root or files or subfolders and any((path / s).exists() for s in subfolders):
                continue
            try:
                if now - path.stat().st_mtime > self.age:
                    path.rmdir()
                    removed += 1
            except OSError:  # a file arrived, or someone else removed it: fine either way
                pass
        return removed

    def start(self) -> CacheSweeper:
        """Sweep every ``every`` seconds on a daemon thread until :meth:`stop`."""
        def loop() -> None:
            while not self._stop.wait(self.every):
                try:
                    self.sweep()
                except OSError as err:
                    log.warning("cache sweep of %s failed: %s", self.root, err)

        self._thread = threading.Thread(target=loop, name="cache-sweeper", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the background sweeps."""
        self._stop.set()


def folder_size(root: str | Path) -> tuple[int, int]:
    """(bytes, entries) of everything under a folder."""
    size = entries = 0
    for folder, subfolders, files in os.walk(root):
        entries += len(subfolders) + len(files)
        for name in files:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return size, entries


def private_temp_folder(prefix: str = "crossmodal-server-") -> Path:
    """A new folder for this process's temporary files, removed when it exits, also on SIGTERM.

    SIGTERM (what ``docker stop``, systemd and ``kill`` send) is turned into KeyboardInterrupt so
    that the server shuts down as on Ctrl-C and the exit handlers run.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    return folder


# ---------------------------------------------------------------------------- rebuilding


class RetrieverSwap:
    """The retriever requests use now; a rebuilt one replaces it in one step.

    Handlers call :meth:`current` once per request and keep what it returned for the whole
    request, so a request never mixes the old and the new index.
    """

    def __init__(self, retriever: Any):
        """Start with ``retriever``."""
        self._retriever = retriever
        self.rebuilding: threading.Thread | None = None
        self.error: str | None = None  # why the last rebuild failed, if it did

    def current(self) -> Any:
        """The retriever to use for one request."""
        return self._retriever

    def replace(self, retriever: Any) -> None:
        """Serve ``retriever`` from the next request on (a reference swap: atomic)."""
        self._retriever = retriever

    def rebuild(self, build: Callable[[], Any], done: Callable[[Any], None] | None = None) -> threading.Thread:
        """Run ``build()`` on a background thread and serve its result when it succeeds.

        A failed build is logged and leaves the current retriever serving.
        """
        def run() -> None:
            try:
                retriever = build()
            except Exception as err:  # the old index keeps serving; the log says why the new one is not there
                self.error = f"{type(err).__name__}: {err}"
                log.error("rebuilding the gallery index failed, still serving the previous one: %s", self.error)
                return
            self.replace(retriever)
            if done is not None:
                done(retriever)

        self.rebuilding = threading.Thread(target=run, name="index-rebuild", daemon=True)
        self.rebuilding.start()
        return self.rebuilding
