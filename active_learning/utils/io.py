"""Atomic file writes and run provenance (package versions, git commit)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional

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


def _atomic_write(path: Path, write: "Any") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the usual file permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_save_npy(path: "str | os.PathLike[str]", array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (``.npy``) through a temporary file and an atomic rename.

    A process killed mid-write leaves either the previous file or no file, never a truncated one.
    """
    _atomic_write(Path(path), lambda handle: np.save(handle, np.asarray(array), allow_pickle=False))


def atomic_write_text(path: "str | os.PathLike[str]", text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    _atomic_write(Path(path), lambda handle: handle.write(text.encode("utf-8")))


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
