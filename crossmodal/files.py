"""Small file helpers shared by checkpoints, indexes, downloads and the server (no torch import)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """Lower-case hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_size(root: str | Path) -> tuple[int, int]:
    """(bytes, files and folders) of everything under a folder; a file gone meanwhile counts for nothing."""
    size = entries = 0
    for folder, subfolders, files in os.walk(root):
        entries += len(subfolders) + len(files)
        for name in files:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return size, entries


def process_alive(pid: int) -> bool:
    """True when a process of this machine has this id: whether a temporary folder named by it is still in use."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True
