"""Atomic file writes, integrity checks of saved arrays, and run provenance (package versions, git commit)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
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


@contextlib.contextmanager
def atomic_path(path: Path) -> "Iterator[Path]":
    """Yield a temporary path in ``path``'s folder to write; on success fsync it, give it the usual permissions and
    rename it to ``path`` (atomic); on any error remove it. For writers that need a path (e.g. a memory map)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the usual file permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write(path: Path, write: "Any") -> None:
    """Write ``path`` atomically: ``write(handle)`` into a temporary file of the same folder, fsync, rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
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
    atomic_write(
        Path(path), lambda handle: np.save(_HashingWriter(handle, digest), np.asarray(array), allow_pickle=False)
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
