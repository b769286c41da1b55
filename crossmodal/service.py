"""What keeps the web app healthy as a public service, apart from its layout.

- :func:`gallery_route`: the one place gallery images are served from, by their public id
  (``/gallery/photo/runway/runway49.jpg``), and only for items of a loaded index;
- :class:`RequestGuard`: request bodies bounded (uploads have their own limit, Gradio's
  ``max_file_size``); only public endpoints are called by name (the page's own events, such as
  searching while drawing, go through the queue like the page itself); the file route never serves
  uploads back, nor fetches outside URLs;
- :class:`CacheSweeper`: old uploads and result files, and their folders, deleted from Gradio's
  cache (whose own ``delete_cache`` leaves folders and stops under concurrent uploads);
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
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .files import process_alive
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


def with_urls(payload: dict[str, Any], request: Any = None) -> dict[str, Any]:
    """A result JSON with each result's image URL added as ``url`` (in place; returned).

    Args:
        payload: ``SearchResult.to_json()`` output (an empty dict is left as it is).
        request: the ``gr.Request`` of the call, for the app's public root URL; None gives URLs
            relative to the app's root (``/gallery/...``).
    """
    http = getattr(request, "request", None)
    root = request_root(http) if http is not None else ""
    for result in payload.get("results", []):
        result["url"] = gallery_url(root, payload["gallery"], result["id"])
    return payload


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
    """ASGI middleware: bounded bodies, the public API alone called by name, no uploads or outside URLs served.

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
        if "/file=" in path:
            target = path.split("/file=", 1)[1]
            if target.lower().startswith(("http:", "https:")):
                return await _plain(send, 403, "this server does not fetch outside URLs")
            if _is_upload(scope, target):  # an upload is the server's to read, no one's to fetch back
                return await _plain(send, 403, "uploads are not served")
        if path.endswith(self.upload_paths) or scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        named = _NAMED_CALL.search(path)
        if named and not _is_public(scope, named.group(1)):  # Gradio would run any event by its function's name
            return await _plain(send, 404, "no such API endpoint")
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


_NAMED_CALL = re.compile(r"/(?:run|api|call|call/v2)/([^/]+)/?$")  # Gradio's routes that call an event by name


def _blocks(scope: dict) -> Any:
    get_blocks = getattr(scope.get("app"), "get_blocks", None)
    return get_blocks() if get_blocks is not None else None


def _is_public(scope: dict, api_name: str) -> bool:
    """True when ``api_name`` names an endpoint of the app's public API (the browser's own events are not)."""
    blocks = _blocks(scope)
    if blocks is None:
        return True
    return any(fn.api_name == api_name and fn.api_visibility == "public" for fn in blocks.fns.values())


def _is_upload(scope: dict, target: str) -> bool:
    """True when a file route asks for a file that a client uploaded (Gradio records them per app)."""
    uploads = getattr(_blocks(scope), "upload_file_set", None)
    return bool(uploads) and (target in uploads or os.path.abspath(target) in uploads)


async def _plain(send: Callable, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------- disk


class CacheSweeper:
    """Keeps Gradio's cache folder bounded: files older than ``age`` seconds go, then empty folders.

    Gradio copies every upload and every result file into its cache, each into a folder of its own,
    and leaves an empty temporary file per upload besides. Its own ``delete_cache`` leaves the
    folders and those files, and its loop stops for good the first time an upload arrives while it
    runs (the set of files it iterates changes size). This sweep walks the folder instead: it never
    touches the files the app keeps (examples, ``keep_in_cache``) and drops what it deleted from
    Gradio's records of temporary files, so those stay bounded too.

    Args:
        root: Gradio's cache folder (``GRADIO_TEMP_DIR``).
        age: seconds since a file's last change (Gradio touches a cached file it hands out again)
            after which it is deleted; a folder goes when it is empty and that old.
        every: seconds between sweeps of :meth:`start`.
        blocks: the app (``gr.Blocks``) whose kept files are spared and whose records are pruned.
    """

    def __init__(self, root: str | Path, age: float = CACHE_AGE_SECONDS, every: float = CACHE_SWEEP_SECONDS,
                 blocks: Any = None):
        """Watch ``root``; call :meth:`start` to sweep in the background."""
        self.root, self.age, self.every, self.blocks = Path(root), age, every, blocks
        self._stop = threading.Event()

    def _kept(self) -> set[str]:
        if self.blocks is None:
            return set()
        return {str(path) for block in list(self.blocks.blocks.values())
                for path in list(getattr(block, "keep_in_cache", ()))}

    def sweep(self) -> int:
        """Delete what is old enough now; returns how many files and folders went."""
        kept, now, removed = self._kept(), time.time(), []
        for folder, subfolders, files in os.walk(self.root, topdown=False):
            try:  # its age before this sweep deletes anything in it (a deletion makes it look new)
                folder_age = now - os.stat(folder).st_mtime
            except OSError:
                continue
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                    if path not in kept and now - max(info.st_mtime, info.st_ctime) > self.age:
                        os.remove(path)
                        removed.append(path)
                except OSError:  # gone already, or in use elsewhere: the next sweep sees it again
                    pass
            if Path(folder) != self.root and folder_age > self.age:
                try:
                    os.rmdir(folder)  # only succeeds when empty
                    removed.append(folder)
                except OSError:
                    pass
        if self.blocks is not None and removed:
            gone = set(removed)
            for files in list(self.blocks.temp_file_sets):
                files.difference_update(gone)
        return len(removed)

    def start(self) -> CacheSweeper:
        """Sweep every ``every`` seconds on a daemon thread until :meth:`stop`."""
        def loop() -> None:
            while not self._stop.wait(self.every):
                try:
                    self.sweep()
                except Exception as err:  # a failed sweep must not end the sweeping
                    log.warning("cache sweep of %s failed: %s", self.root, err)

        threading.Thread(target=loop, name="cache-sweeper", daemon=True).start()
        return self

    def stop(self) -> None:
        """End the background sweeps."""
        self._stop.set()


def private_temp_folder(prefix: str = "crossmodal-server-") -> Path:
    """A new folder for this process's temporary files, removed when it exits, also on SIGTERM.

    SIGTERM (what ``docker stop``, systemd and ``kill`` send) is turned into KeyboardInterrupt so
    that the server shuts down as on Ctrl-C and the exit handlers run. Folders that servers killed
    outright (SIGKILL, power loss) left in the temporary folder are removed first.
    """
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)-")
    for old in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        match = pattern.match(old.name)
        if match and old.is_dir() and not process_alive(int(match.group(1))):
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
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
