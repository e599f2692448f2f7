"""Finding raw dataset files: the local ``datasets/`` folder, then a user-given mirror, then the official download.

Every file a loader needs is described by a :class:`RemoteFile` (name, md5, official URL, and the member to take
out of an archive). :func:`resolve_file` returns a path to a verified copy, or raises
:class:`DatasetFileNotFoundError`, whose message names the file, every place looked in, the URL and what to do.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from ..utils.io import md5_of_file

#: Environment variable naming a mirror folder of raw files (``<mirror>/<dataset>/<file>``).
MIRROR_ENV = "AL_DATA_MIRROR"
#: Environment variable overriding the default local data folder.
ROOT_ENV = "AL_DATA_ROOT"


class DatasetFileNotFoundError(FileNotFoundError):
    """A raw dataset file is missing everywhere the loader looked, or failed its checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One raw file of a dataset.

    Parameters
    ----------
    filename : str
        Name of the file inside ``<root>/<dataset>/``.
    md5 : str or None
        Expected md5 hex digest (``None`` skips the check, for files without a published checksum).
    url : str or None
        Official download URL (``None`` for gated datasets that cannot be downloaded automatically).
    archive_member : str or None
        When ``url`` points to a zip archive, the member to extract as ``filename``.
    instructions : str
        Extra text for the error message (how to obtain a gated file, the licence, ...).
    """

    filename: str
    md5: Optional[str]
    url: Optional[str]
    archive_member: Optional[str] = None
    instructions: str = ""


def default_root() -> Path:
    """The local data folder: ``$AL_DATA_ROOT``, else ``datasets/`` in the working directory (the repository's
    ``datasets/`` when run from the checkout; never a folder inside an installed package)."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env)
    return Path.cwd() / "datasets"


def default_mirror() -> Optional[Path]:
    """The mirror folder named by ``$AL_DATA_MIRROR``, if any."""
    env = os.environ.get(MIRROR_ENV)
    return Path(env) if env else None


def _checksum_ok(path: Path, md5: Optional[str]) -> bool:
    return md5 is None or md5_of_file(path) == md5


def _download(spec: RemoteFile, destination: Path, timeout: float) -> None:
    assert spec.url is not None
    with urllib.request.urlopen(spec.url, timeout=timeout) as response:  # noqa: S310 - official https URL
        payload = response.read()
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            if spec.archive_member is not None:
                with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                    member = next(
                        (n for n in archive.namelist() if n.rstrip("/").endswith(spec.archive_member)), None
                    )
                    if member is None:
                        raise DatasetFileNotFoundError(
                            f"the archive downloaded from {spec.url} has no member {spec.archive_member!r}"
                        )
                    with archive.open(member) as source:
                        shutil.copyfileobj(source, handle)
            else:
                handle.write(payload)
        os.replace(tmp, destination)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def resolve_file(
    dataset: str,
    spec: RemoteFile,
    *,
    root: "str | os.PathLike[str] | None" = None,
    mirror: "str | os.PathLike[str] | None" = None,
    download: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Return the path of a verified copy of ``spec``'s file.

    Looks in ``<root>/<dataset>/<filename>``, then ``<mirror>/<dataset>/<filename>`` (mirror files are read in
    place, never modified), then downloads the official file into ``<root>/<dataset>/`` and checks its md5.

    Parameters
    ----------
    dataset : str
        Sub-folder name of the dataset (e.g. ``"wall_robot"``).
    spec : RemoteFile
        The file to find.
    root : path, optional
        Local data folder; default :func:`default_root`.
    mirror : path, optional
        Mirror folder; default ``$AL_DATA_MIRROR``.
    download : bool, default=True
        Allow the download step.
    timeout : float, default=60
        Network timeout in seconds.

    Raises
    ------
    DatasetFileNotFoundError
        If no verified copy can be found or made. The message lists every place looked in and the URL.
    """
    root_path = Path(root) if root is not None else default_root()
    mirror_path = Path(mirror) if mirror is not None else default_mirror()
    tried: List[str] = []
    bad: List[str] = []

    local = root_path / dataset / spec.filename
    candidates = [local]
    if mirror_path is not None:
        candidates.append(mirror_path / dataset / spec.filename)
    for candidate in candidates:
        tried.append(str(candidate))
        if candidate.is_file():
            if _checksum_ok(candidate, spec.md5):
                return candidate
            bad.append(f"{candidate} (md5 differs from {spec.md5}: corrupted or a different version)")

    download_error = ""
    if download and spec.url is not None:
        tried.append(spec.url)
        try:
            _download(spec, local, timeout)
        except (urllib.error.URLError, OSError, zipfile.BadZipFile, TimeoutError) as exc:
            download_error = f" The download failed: {exc}."
        else:
            if _checksum_ok(local, spec.md5):
                return local
            bad.append(f"{local} (downloaded, but its md5 differs from {spec.md5})")
            local.unlink()
    elif not download:
        download_error = " Downloading was switched off (download=False)."

    lines = [
        f"{dataset}: cannot find a valid copy of {spec.filename!r}.",
        "Looked in: " + "; ".join(tried) + ".",
    ]
    if bad:
        lines.append("Rejected: " + "; ".join(bad) + ".")
    if download_error:
        lines.append(download_error.strip())
    if spec.url:
        lines.append(f"Official source: {spec.url}" + (f" (take {spec.archive_member!r} from the archive)" if spec.archive_member else "") + ".")
    lines.append(
        f"Put the file at {local}, or pass a mirror folder holding {dataset}/{spec.filename} "
        f"(--data-mirror PATH, DATA_MIRROR=PATH for make, or ${MIRROR_ENV})."
    )
    if spec.instructions:
        lines.append(spec.instructions)
    raise DatasetFileNotFoundError(" ".join(lines))
