"""Download public datasets into the layout the loaders read, with resume and verification.

``python -m crossmodal download ucmerced`` fetches the official ``UCMerced_LandUse.zip`` into
``<root>/UCMerced_LandUse.zip.part`` (an interrupted download resumes from there with an HTTP
``Range`` request), checks its size and SHA-256 against the values recorded here, extracts
``UCMerced_LandUse/Images/<class>/<file>`` into a temporary folder beside the target and only
then renames it to ``<root>/ucmerced/<class>/<file>``: a failure at any step leaves no
half-extracted dataset behind.

The Earth on Canvas sketches cannot be fetched this way: they are distributed through IEEE
DataPort, which needs a login (see :data:`EOC_INSTRUCTIONS`).
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from .files import file_sha256

DEFAULT_ROOT = Path.home() / ".cache" / "crossmodal" / "data"
CHUNK = 1 << 16  # bytes read per step of the download


@dataclass(frozen=True)
class Archive:
    """A dataset published as one zip archive."""

    name: str  # folder the dataset gets under the root: <root>/<name>/<class>/<file>
    url: str  # where the archive is published
    filename: str  # the archive's file name
    size: int | None  # expected size in bytes (None: not checked)
    sha256: str | None  # expected SHA-256, lower-case hex (None: not checked)
    inner: str  # folder inside the archive that holds the <class>/ folders
    page: str = ""  # the dataset's web page, for messages


# Size and SHA-256 of the official archive as recorded by TensorFlow Datasets
# (tensorflow/datasets, tensorflow_datasets/url_checksums/uc_merced.txt, which lists this URL);
# the same SHA-256 is used by other projects for mirrors of the same file. Not re-downloaded here.
UCMERCED = Archive(
    name="ucmerced",
    url="http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip",
    filename="UCMerced_LandUse.zip",
    size=332_468_434,
    sha256="06c539ef28703a58fb07bd2837991ac7c48b813b00bb12ac197efd813a18daeb",
    inner="UCMerced_LandUse/Images",
    page="http://weegee.vision.ucmerced.edu/datasets/landuse.html",
)
DATASETS: dict[str, Archive] = {"ucmerced": UCMERCED}

EOC_INSTRUCTIONS = """\
The Earth on Canvas sketches are distributed through IEEE DataPort (https://ieee-dataport.org,
search for "Earth on Canvas"); downloading them needs a free IEEE account, so this command cannot
fetch them. Download and unpack the archive yourself, then pass its sketch folder as it comes:
its class folders (such as Aeroplane, Tenniscourt) are mapped to the UC Merced names by the
loaders, e.g.
    python -m crossmodal train --photos {root}/ucmerced --sketches <unpacked folder with class folders> ...
A small public sample of the sketches is enough to try the app; without any, use the built-in
demo world: python -m crossmodal synth --out <folder>"""


class DownloadError(RuntimeError):
    """A dataset could not be downloaded (no network, a server error, an interrupted transfer)."""


class ChecksumError(DownloadError):
    """A downloaded archive does not have the recorded size or SHA-256."""


def verify_archive(path: str | Path, size: int | None, sha256: str | None) -> None:
    """Check a file's size and SHA-256 against the expected values (None skips a check).

    Raises:
        ChecksumError: the size or the hash differs.
    """
    path = Path(path)
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError(f"{path.name} has {actual_size:,} bytes, expected {size:,}")
    if sha256 is not None:
        actual = file_sha256(path)
        if actual != sha256.lower():
            raise ChecksumError(f"{path.name} has SHA-256 {actual}, expected {sha256.lower()}")


def _network_error(url: str, err: BaseException, part: Path) -> DownloadError:
    host = urlparse(url).netloc or url
    reason = getattr(err, "reason", err)
    kept = part.stat().st_size if part.exists() else 0
    resume = f" The {kept:,} bytes already received are kept in {part}; run the same command again to resume." \
        if kept else " Run the same command again once the network is up."
    manual = part.with_name(part.name.removesuffix(".part"))
    return DownloadError(f"cannot download {url}: no connection to {host} ({reason}). Check the network "
                         f"connection or proxy settings, or download the file by hand and save it as {manual}."
                         f"{resume}")


def download_file(url: str, dest: str | Path, size: int | None = None, sha256: str | None = None,
                  progress: bool = True, timeout: float = 30.0, retries: int = 3) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming a partial file, then verify it.

    A complete ``dest`` that verifies is reused without a network access (a file downloaded by
    hand can be put there). An interrupted transfer is retried ``retries`` times, each time from
    where it stopped; the partial file stays for the next run when all tries fail.

    Raises:
        DownloadError: no network, an HTTP error, or the transfer stopped early every time.
        ChecksumError: the downloaded file has the wrong size or SHA-256 (the file is deleted).
    """
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if dest.exists():
        try:
            verify_archive(dest, size, sha256)
            return dest
        except ChecksumError:
            dest.unlink()  # a stale or damaged archive: fetch it again
    for attempt in range(retries + 1):
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:  # not a prefix of the right file
            part.unlink()
            offset = 0
        if size is not None and offset == size:
            break
        request = urllib.request.Request(url, headers={"User-Agent": "crossmodal-download/1",
                                                       **({"Range": f"bytes={offset}-"} if offset else {})})
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as err:
            if err.code == 416 and offset:  # nothing left to send: the partial file is complete
                break
            raise DownloadError(f"cannot download {url}: the server answered HTTP {err.code} {err.reason}") from err
        except (urllib.error.URLError, OSError) as err:
            raise _network_error(url, err, part) from err
        with response:
            if offset and response.status != 206:  # the server ignores Range: start over
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else size
            received = offset
            try:
                with open(part, "ab" if offset else "wb") as f, \
                        tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=dest.name, disable=not progress, leave=False) as bar:
                    while True:
                        block = response.read(CHUNK)
                        if not block:
                            break
                        f.write(block)
                        received += len(block)
                        bar.update(len(block))
            except (OSError, http.client.HTTPException) as err:  # reset, timeout, early close
                if attempt == retries:
                    raise _network_error(url, err, part) from err
                continue
        if total is None or received >= total:
            break
        if attempt == retries:
            raise DownloadError(f"the download of {url} stopped after {received:,} of {total:,} bytes "
                                f"(tried {retries + 1} times); run the same command again to resume from {part}")
    try:
        verify_archive(part, size, sha256)
    except ChecksumError as err:
        part.unlink(missing_ok=True)
        raise ChecksumError(f"the download of {url} is corrupt: {err}. The file was deleted; run the command "
                            f"again, and if it fails the same way, the published file has changed") from err
    os.replace(part, dest)
    return dest


def _safe_member(name: str, inner: str) -> PurePosixPath | None:
    """The path of a member relative to ``inner``, or None when it is outside it or unsafe."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        return None
    try:
        relative = path.relative_to(inner)
    except ValueError:
        return None
    return relative if relative.parts else None


def extract_archive(archive: str | Path, target: str | Path, inner: str) -> Path:
    """Extract ``inner/<class>/<file>`` of a zip into ``target/<class>/<file>``, all or nothing.

    The files go to a temporary folder beside ``target`` that is renamed only once everything is
    written; an existing ``target`` is replaced.

    Raises:
        DownloadError: the archive is not a zip, is damaged, or has no ``inner`` folder.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-extracting-"))
    try:
        count = 0
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                relative = _safe_member(info.filename, inner)
                if relative is None or info.is_dir():
                    continue
                out = staging.joinpath(*relative.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                count += 1
        if count == 0:
            raise DownloadError(f"{Path(archive).name} has no files under {inner}/: not the expected archive")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as err:
        raise DownloadError(f"cannot extract {archive}: {err}") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_complete(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_dir() and any(p.iterdir()) for p in folder.iterdir())


def download_dataset(archive: Archive, root: str | Path = DEFAULT_ROOT, progress: bool = True,
                     keep_archive: bool = False, force: bool = False, timeout: float = 30.0,
                     retries: int = 3) -> Path:
    """Download, verify and extract an archive into ``root/<archive.name>/<class>/<file>``.

    Args:
        archive: what to fetch (e.g. :data:`UCMERCED`).
        root: the data folder (default ``~/.cache/crossmodal/data``).
        progress: show a progress bar.
        keep_archive: keep the zip after extraction (it is deleted by default).
        force: download and extract again even if the dataset folder exists.
        timeout: seconds to wait for the server before giving up.
        retries: how many times an interrupted transfer is resumed before giving up.

    Returns:
        The dataset folder.

    Raises:
        DownloadError: no network, a server error, or a damaged archive (nothing is extracted).
        ChecksumError: the archive has the wrong size or SHA-256 (nothing is extracted).
    """
    root = Path(root).expanduser()
    target = root / archive.name
    if _is_complete(target) and not force:
        return target
    zip_path = download_file(archive.url, root / archive.filename, archive.size, archive.sha256, progress,
                             timeout, retries)
    extract_archive(zip_path, target, archive.inner)
    if not keep_archive:
        zip_path.unlink(missing_ok=True)
    return target


def download(name: str, root: str | Path = DEFAULT_ROOT, **kwargs) -> Path:
    """Download a dataset by name (``"ucmerced"``); see :func:`download_dataset` for the options.

    Raises:
        ValueError: unknown dataset name (``"eoc"`` explains where the sketches come from).
    """
    if name in ("eoc", "earth-on-canvas", "eoc-sketches"):
        raise ValueError(EOC_INSTRUCTIONS.format(root=root))
    if name not in DATASETS:
        raise ValueError(f"no dataset named {name!r}: choose from {sorted(DATASETS)}")
    return download_dataset(DATASETS[name], root, **kwargs)
