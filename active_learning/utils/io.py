"""Atomic file writes, integrity checks of saved arrays, and run provenance (package versions, git commit)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional

import numpy as np


#: Distributions whose versions are recorded next to every result.
RECORDED_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "cleanlab",
    "joblib",
    "torch",
    "active-learning-noisy-annotators",
)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: ``errno`` values that mean "the disk (or the user's quota) is full".
SPACE_ERRNOS = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None)


class DiskFullError(OSError):
    """A file could not be written for lack of disk space (or quota).

    ``filename`` is the file that was being written and ``strerror`` says how much space it needed (when known) and
    how much was free, so that ``f"{strerror}: {filename}"`` (the command line's one-line error) says it all.
    """

    def __str__(self) -> str:
        return f"{self.strerror}: {self.filename}"


def format_bytes(n: float) -> str:
    """``n`` bytes for people: ``"512 B"``, ``"3.2 MB"``, ``"10.0 GB"`` (powers of 1000)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop always returns


def free_bytes(path: "str | os.PathLike[str]") -> Optional[int]:
    """Free bytes on the file system of ``path`` (its nearest existing parent folder), ``None`` when unknown."""
    folder = Path(path)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return None


def disk_full_error(path: "str | os.PathLike[str]", needed: Optional[int] = None) -> DiskFullError:
    """The one-line :class:`DiskFullError` for ``path``: what it needed (when known) and what is free there."""
    free = free_bytes(Path(path).parent)
    parts = []
    if needed is not None:
        parts.append(f"writing it needs about {format_bytes(needed)}")
    if free is not None:
        parts.append(f"{format_bytes(free)} free there")
    detail = f" ({', '.join(parts)})" if parts else ""
    return DiskFullError(errno.ENOSPC, f"No space left on device{detail}; free some space or write elsewhere",
                         os.fspath(path))


def check_free_space(path: "str | os.PathLike[str]", needed: int) -> None:
    """Raise :class:`DiskFullError` before writing ``needed`` bytes to ``path`` when its disk has less free space."""
    free = free_bytes(Path(path).parent)
    if free is not None and needed > free:
        raise disk_full_error(path, needed)


def reserve_space(path: "str | os.PathLike[str]", nbytes: int) -> None:
    """Allocate ``nbytes`` of disk for the file ``path`` now (``posix_fallocate``), so that a full disk fails here
    with an ``OSError`` rather than with a ``SIGBUS`` while a memory map of the file is written. A no-op where the
    platform or the file system cannot allocate ahead."""
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is None or nbytes <= 0:
        return
    fd = os.open(os.fspath(path), os.O_RDWR)
    try:
        allocate(fd, 0, int(nbytes))
    except OSError as exc:
        if exc.errno in SPACE_ERRNOS:
            raise
        # EOPNOTSUPP, EINVAL...: this file system cannot allocate ahead; write as before
    finally:
        os.close(fd)


def _named_error(exc: OSError, path: Path, size_hint: Optional[int], tmp: Optional[str] = None) -> OSError:
    """``exc`` as an error that names ``path`` (the file being written, not its temporary twin)."""
    if isinstance(exc, DiskFullError):
        return exc
    if exc.errno in SPACE_ERRNOS:
        return disk_full_error(path, size_hint)
    unnamed = exc.filename is None or (tmp is not None and os.fspath(exc.filename) == tmp)
    if exc.errno is not None and unnamed and type(exc).__module__ == "builtins":
        return OSError(exc.errno, exc.strerror or str(exc), os.fspath(path))  # the subclass follows errno
    return exc


@contextlib.contextmanager
def atomic_path(path: Path, size_hint: Optional[int] = None) -> "Iterator[Path]":
    """Yield a temporary path in ``path``'s folder to write; on success fsync it, give it the usual permissions and
    rename it to ``path`` (atomic); on any error remove it. For writers that need a path (e.g. a memory map).

    ``size_hint``: bytes the file will take, when known: a disk with less free space fails at once, before anything
    is written. Any ``OSError`` is raised naming ``path``; a full disk (``ENOSPC``, ``EDQUOT``) as a
    :class:`DiskFullError` that also says how much space was needed and how much is free.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if size_hint is not None:
            check_free_space(path, size_hint)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        named = _named_error(exc, path, size_hint)
        if named is exc:
            raise
        raise named from exc
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the usual file permissions
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            named = _named_error(exc, path, size_hint, name)
            if named is not exc:
                raise named from exc
        raise


def atomic_write(path: Path, write: "Any", size_hint: Optional[int] = None) -> None:
    """Write ``path`` atomically: ``write(handle)`` into a temporary file of the same folder, fsync, rename.

    ``size_hint``: see :func:`atomic_path`.
    """
    with atomic_path(path, size_hint) as tmp, open(tmp, "wb") as handle:
        write(handle)


class _HashingWriter:
    """A write-only file wrapper that feeds every byte written into a ``hashlib`` digest."""

    def __init__(self, handle: Any, digest: "hashlib._Hash") -> None:
        self._handle = handle
        self._digest = digest

    def write(self, data: Any) -> int:
        self._digest.update(data)
        return self._handle.write(data)


def atomic_save_npy(path: "str | os.PathLike[str]", array: np.ndarray) -> str:
    """Write ``array`` to ``path`` (``.npy``) through a temporary file and an atomic rename.

    A process killed mid-write leaves either the previous file or no file, never a truncated one.

    Returns
    -------
    str
        The hex sha256 digest of the bytes written (the whole ``.npy`` file), for :func:`npy_record`.
    """
    digest = hashlib.sha256()
    values = np.asarray(array)
    atomic_write(
        Path(path), lambda handle: np.save(_HashingWriter(handle, digest), values, allow_pickle=False),
        size_hint=int(values.nbytes) + 128,  # the data and a typical .npy header
    )
    return digest.hexdigest()


def _n_nonfinite(values: np.ndarray) -> int:
    if values.dtype.kind in "fc":
        return int(np.count_nonzero(~np.isfinite(values)))
    return 0


def npy_record(array: np.ndarray, sha256: str) -> Dict[str, Any]:
    """What a results sidecar records about one saved 1-D array (checked by :func:`verify_npy`).

    ``length`` and ``dtype`` of the array, the ``sha256`` of its ``.npy`` file, and ``nonfinite``, the number of
    NaN/inf values it legitimately holds (e.g. a filter precision that is undefined in a round).
    """
    values = np.asarray(array)
    return {"length": int(values.shape[0]) if values.ndim else 1, "dtype": str(values.dtype),
            "sha256": sha256, "nonfinite": _n_nonfinite(values)}


def verify_npy(
    path: "str | os.PathLike[str]",
    record: Optional[Mapping[str, Any]] = None,
    length: Optional[int] = None,
) -> Optional[str]:
    """Check a saved result array; return what is wrong with it (a short phrase), or ``None`` when it is sound.

    The file must exist, be non-empty, load with ``allow_pickle=False``, be 1-D, have ``length`` values (when
    given) and hold no NaN/inf. With a ``record`` (from :func:`npy_record`) its length and dtype must match the
    record, it may hold the recorded number of NaN/inf values, and its sha256 must match. Without a record
    (results written before records existed) the structural checks alone apply.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not data:
        return "is empty (0 bytes)"
    try:
        values = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # truncated header or data, not a .npy file, a pickled object, ...
        return f"cannot be loaded, truncated or not a .npy array ({type(exc).__name__}: {exc})"
    if not isinstance(values, np.ndarray):
        return "is not a single .npy array"
    if values.ndim != 1:
        return f"is {values.ndim}-D (shape {values.shape}), expected 1-D"
    if length is not None and values.shape[0] != length:
        return f"has {values.shape[0]} values, expected {length} (one per round)"
    if record is not None:
        if "length" in record and values.shape[0] != record["length"]:
            return f"has {values.shape[0]} values, the sidecar recorded {record['length']}"
        if "dtype" in record and str(values.dtype) != record["dtype"]:
            return f"has dtype {values.dtype}, the sidecar recorded {record['dtype']}"
    bad = _n_nonfinite(values)
    allowed = int(record.get("nonfinite", 0)) if record is not None else 0
    if bad > allowed:
        return f"holds {bad} NaN/inf value(s)" + (f" (the sidecar recorded {allowed})" if allowed else "")
    if record is not None and "sha256" in record and hashlib.sha256(data).hexdigest() != record["sha256"]:
        return "differs from the sha256 recorded in its sidecar (the file was edited or replaced)"
    return None


def atomic_write_text(path: "str | os.PathLike[str]", text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(Path(path), lambda handle: handle.write(text.encode("utf-8")))


def atomic_write_json(path: "str | os.PathLike[str]", obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths, tuples and sets into JSON-serialisable objects."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a JSON-serialisable config (key order does not matter)."""
    text = json.dumps(to_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def package_versions(names: Iterable[str] = RECORDED_PACKAGES) -> Dict[str, Optional[str]]:
    """Installed versions of ``names`` (``None`` when a package is not installed), plus Python's."""
    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo_dir: "str | os.PathLike[str] | None" = None) -> Dict[str, Any]:
    """The current git commit of ``repo_dir`` (default: this package's checkout) and whether it is dirty.

    Returns ``{"commit": None, "dirty": None}`` outside a git checkout or without git.
    """
    cwd = Path(repo_dir) if repo_dir is not None else Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def file_digest(path: "str | os.PathLike[str]", algorithm: str = "md5", chunk_size: int = 1 << 22) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5_of_file(path: "str | os.PathLike[str]") -> str:
    """Hex md5 digest of a file (the checksum that official dataset pages publish)."""
    return file_digest(path, "md5")


_SOURCE_DIGESTS: Dict[str, Optional[str]] = {}


def _digest_lines(lines: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()[:16]


def package_source_digest(commit: Optional[str] = None) -> Optional[str]:
    """A digest of the package's Python source: the code version a result was made with.

    It covers ``active_learning/**/*.py`` only (git blob hashes of the files, so a commit's digest can be computed
    from git without a checkout): documentation, configs or results do not change it, any library change does.

    Parameters
    ----------
    commit : str, optional
        Digest of the source at this git commit (``None``: the files on disk now, uncommitted changes included).

    Returns
    -------
    str or None
        16 hex characters; ``None`` when ``commit`` is given but git or the commit is not available.
    """
    package = Path(__file__).resolve().parents[1]
    if commit is None:
        lines = []
        for path in package.rglob("*.py"):
            data = path.read_bytes()
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            lines.append(f"{path.relative_to(package.parent).as_posix()} {blob}")
        return _digest_lines(lines)
    if commit not in _SOURCE_DIGESTS:
        try:
            listing = subprocess.run(
                ["git", "ls-tree", "-r", commit, "--", package.name],
                cwd=package.parent, capture_output=True, text=True, check=True, timeout=10,
            ).stdout
            lines = [f"{path} {meta.split()[2]}" for meta, path in (row.split("\t", 1) for row in listing.splitlines()) if path.endswith(".py")]
            _SOURCE_DIGESTS[commit] = _digest_lines(lines) if lines else None
        except (OSError, subprocess.SubprocessError, IndexError):
            _SOURCE_DIGESTS[commit] = None
    return _SOURCE_DIGESTS[commit]


def read_keyed_sidecar(data_path: Path, json_path: Path, key: str) -> "tuple[Optional[Dict[str, Any]], str]":
    """Open the JSON sidecar of a cache entry keyed by ``key``: ``(sidecar, "")``, or ``(None, reason)`` with
    ``reason == "missing"`` when neither file exists (used by the feature cache and the strategies' disk cache)."""
    if not json_path.is_file() and not data_path.is_file():
        return None, "missing"
    if not json_path.is_file():
        return None, f"{json_path.name} is missing (interrupted before the sidecar was written)"
    try:
        sidecar = json.loads(json_path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"unreadable sidecar {json_path.name} ({exc})"
    if not isinstance(sidecar, dict) or sidecar.get("key") != key:
        return None, "the sidecar's key differs from the entry's spec digest"
    return sidecar, ""
