"""Progress bars that also read well in a log: a live bar on a terminal, a plain line now and then elsewhere."""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm

LOG_INTERVAL = 10.0  # seconds between progress lines when the output is not a terminal
LOG_FORMAT = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%), {elapsed} elapsed, {remaining} left"


class _Lines:
    """A text stream that turns tqdm's carriage-return redraws into one line each."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable: Any = None, *, file: IO[str] | None = None, **kwargs: Any) -> tqdm:
    """A ``tqdm`` bar; where ``file`` (default stderr) is not a terminal, a line every ``LOG_INTERVAL`` s instead.

    Args:
        iterable: what to iterate over, as for ``tqdm``.
        file: where the bar goes (default ``sys.stderr``).
        **kwargs: any other ``tqdm`` argument (``total``, ``desc``, ``unit``, ``disable``, ...).
    """
    file = sys.stderr if file is None else file
    isatty = getattr(file, "isatty", None)
    if isatty is not None and isatty():
        return tqdm(iterable, file=file, **kwargs)
    kwargs.setdefault("mininterval", LOG_INTERVAL)
    kwargs.setdefault("bar_format", LOG_FORMAT)
    return tqdm(iterable, file=_Lines(file), **kwargs)
