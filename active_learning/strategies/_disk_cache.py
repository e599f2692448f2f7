"""An on-disk cache of the label-independent structures of the coverage strategies (δ-graphs, near kernels).

The δ-graph of ProbCover / NPC / weighted NPC and MaxHerding's near kernel depend only on the (normalised) features
and a few parameters (δ, or the kernel radius and σ), not on the seed, the round, the noise filter or the noise
level. They are built once per feature set and stored here, so that every later run on the same features loads
them instead of rebuilding them.

Layout under ``root`` (default ``<data root>/graphs``: the runner's ``--data-root`` for the jobs of a run, see
:func:`use_data_root`; else ``$AL_DATA_ROOT/graphs``, else ``datasets/graphs`` in the working directory)::

    <key>.npz     the arrays (uncompressed ``numpy.savez``; loaded with ``allow_pickle=False``)
    <key>.json    sidecar: full key, kind, parameters, feature digest and shape, array shapes and dtypes, the
                  file's size and sha256, creation time, package versions, build time
    <key>.lock    a :class:`filelock.FileLock`, so that only one process (or thread) builds an entry

``key`` is the first 16 hex digits of the sha256 of the *spec* (format version, kind, sha256 of the features'
dtype, shape and bytes, and the structure's parameters), as in the feature cache
(:mod:`active_learning.features.cache`); the full digest is stored in the sidecar and compared on load.

Writes are atomic (temporary file in the same folder, fsync, ``os.replace``; the ``.npz`` first, the sidecar, which
marks a complete entry, last). On load the sidecar's key and parameters, the file's size and sha256 and every
array's shape and dtype are checked, then the caller's structural check runs; any mismatch, or an unreadable file,
is reported with a :class:`GraphCacheWarning` and the entry is rebuilt. A cache folder that cannot be written
(read-only, disk full) only costs the rebuild: a warning, and the structure is used without being stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from contextvars import ContextVar
from typing import Any, Callable, Dict, Generic, Iterator, Mapping, Optional, Tuple, TypeVar, Union

import numpy as np

from ..utils.io import (
    atomic_path,
    atomic_write,
    atomic_write_json,
    file_digest,
    package_versions,
    read_keyed_sidecar,
    reserve_space,
    to_jsonable,
)
from ._graph import SparseGraph

#: Bumped whenever the stored arrays or their meaning change (part of every key).
FORMAT_VERSION = 1

#: Pools smaller than this are not stored on disk by default: their structures build faster than a file round trip
#: and would only fill the cache folder (tests, toy data). Per strategy: ``disk_cache_min_points``.
DEFAULT_MIN_POINTS = 5000

#: Seconds to wait for another process that builds the same entry; then build without storing.
LOCK_TIMEOUT = 1800.0

CacheDir = Union[str, "os.PathLike[str]", bool, None]

T = TypeVar("T")

log = logging.getLogger(__name__)


class GraphCacheWarning(UserWarning):
    """A cache entry was unusable (corrupt, edited, unreadable) or could not be written."""


#: The data root of the running job (``--data-root``), set by :func:`use_data_root`; ``None``: the default root.
_DATA_ROOT: ContextVar[Optional[Path]] = ContextVar("active_learning_data_root", default=None)


@contextlib.contextmanager
def use_data_root(root: "str | os.PathLike[str] | None") -> Iterator[None]:
    """Within the block (one job of a run), the default cache folder is ``<root>/graphs``: the structures follow
    the run's ``--data-root`` like its features do. ``None`` leaves the default (``$AL_DATA_ROOT``, else
    ``./datasets``). A :class:`contextvars.ContextVar`, so threads and processes of other runs are not affected."""
    token = _DATA_ROOT.set(Path(root) if root is not None else None)
    try:
        yield
    finally:
        _DATA_ROOT.reset(token)


def default_graph_root() -> Path:
    """``<data root>/graphs``: the running job's ``--data-root`` (:func:`use_data_root`), else ``$AL_DATA_ROOT``,
    else ``datasets`` in the working directory."""
    root = _DATA_ROOT.get()
    if root is not None:
        return root / "graphs"
    from ..datasets import default_root

    return default_root() / "graphs"


def check_cache_dir(cache_dir: Any) -> CacheDir:
    """Validate a strategy's ``cache_dir``: ``None``/``True`` (default root), ``False`` (off) or a path."""
    if cache_dir is None or isinstance(cache_dir, bool):
        return cache_dir
    if isinstance(cache_dir, (str, os.PathLike)):
        if not os.fspath(cache_dir):
            raise ValueError("cache_dir must be a non-empty path, None (default root) or False (no disk cache)")
        return cache_dir
    raise ValueError(f"cache_dir must be a path, None (default root) or False (no disk cache), got {cache_dir!r}")


def resolve_cache_dir(cache_dir: CacheDir) -> Optional[Path]:
    """The cache folder of a ``cache_dir`` setting, or ``None`` when the disk cache is off."""
    if cache_dir is False:
        return None
    if cache_dir is None or cache_dir is True:
        return default_graph_root()
    return Path(cache_dir)


def features_digest(X: np.ndarray) -> str:
    """sha256 hex digest of a feature matrix's dtype, shape and bytes (the feature part of every key)."""
    arr = np.ascontiguousarray(X)
    h = hashlib.sha256()
    h.update(f"{arr.dtype.str}|{arr.shape}|".encode())
    h.update(arr.view(np.uint8).reshape(-1).data)
    return h.hexdigest()


def entry_spec(kind: str, feature_digest: str, params: Mapping[str, Any]) -> Dict[str, Any]:
    """The JSON-serialisable description whose sha256 is an entry's key."""
    return to_jsonable({"format_version": FORMAT_VERSION, "kind": kind, "features": feature_digest,
                        "params": dict(params)})


def entry_key(kind: str, feature_digest: str, params: Mapping[str, Any]) -> str:
    """Full sha256 hex digest of :func:`entry_spec` (key order does not matter)."""
    text = json.dumps(entry_spec(kind, feature_digest, params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_paths(root: Path, key: str) -> Tuple[Path, Path, Path]:
    """``(arrays.npz, sidecar.json, lock)`` of the entry with full key ``key``."""
    name = key[:16]
    return root / f"{name}.npz", root / f"{name}.json", root / f"{name}.lock"


@dataclass
class Cached(Generic[T]):
    """A structure and where it came from: ``"disk"`` (loaded), ``"built"`` (built and stored), ``"uncached"``
    (built, not stored: the folder could not be written or the lock timed out)."""

    value: T
    source: str
    path: Optional[Path] = None


def _arrays_record(arrays: Mapping[str, np.ndarray]) -> Dict[str, Dict[str, Any]]:
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}


def _read_entry(npz_path: Path, json_path: Path, key: str,
                params: Mapping[str, Any]) -> Tuple[Optional[Dict[str, np.ndarray]], str]:
    """``(arrays, "")`` for an intact entry, else ``(None, reason)``; ``reason == "missing"`` when absent."""
    sidecar, reason = read_keyed_sidecar(npz_path, json_path, key)
    if sidecar is None:
        return None, reason
    if sidecar.get("params") != to_jsonable(dict(params)):
        return None, "the sidecar's parameters differ from the requested ones"
    record = sidecar.get("arrays")
    file_info = sidecar.get("file")
    if not isinstance(record, dict) or not isinstance(file_info, dict):
        return None, "the sidecar lacks its array or file record"
    if not npz_path.is_file():
        return None, f"{npz_path.name} is missing"
    size = npz_path.stat().st_size
    if size != file_info.get("bytes"):
        return None, f"{npz_path.name} has {size} bytes, the sidecar recorded {file_info.get('bytes')}"
    try:
        digest = file_digest(npz_path, "sha256")
    except OSError as exc:
        return None, f"cannot read {npz_path.name} ({exc})"
    if digest != file_info.get("sha256"):
        return None, f"{npz_path.name} does not match the sha256 in its sidecar"
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        return None, f"cannot load {npz_path.name} ({type(exc).__name__}: {exc})"
    if _arrays_record(arrays) != record:
        return None, f"the arrays of {npz_path.name} do not match the shapes/dtypes recorded in its sidecar"
    return arrays, ""


def _write_entry(npz_path: Path, json_path: Path, arrays: Mapping[str, np.ndarray],
                 sidecar: Dict[str, Any]) -> None:
    """The ``.npz`` atomically, then its sidecar (with the digest of the bytes now on disk) atomically."""
    atomic_write(npz_path, lambda handle: np.savez(handle, **arrays))  # type: ignore[arg-type]
    sidecar["file"] = {"name": npz_path.name, "bytes": npz_path.stat().st_size,
                       "sha256": file_digest(npz_path, "sha256")}
    atomic_write_json(json_path, sidecar)


def _package_version() -> Optional[str]:
    return package_versions(("active-learning-noisy-annotators",)).get("active-learning-noisy-annotators")


def load_or_build(
    root: Path,
    kind: str,
    feature_digest: str,
    params: Mapping[str, Any],
    build: Callable[[], T],
    encode: Callable[[T], Dict[str, np.ndarray]],
    decode: Callable[[Dict[str, np.ndarray]], T],
    *,
    info: Optional[Mapping[str, Any]] = None,
    lock_timeout: Optional[float] = None,
) -> Cached[T]:
    """Load the entry ``(kind, features, params)`` from ``root``, or build it once and store it.

    Parameters
    ----------
    root : Path
        Cache folder (created when needed).
    kind : str
        What is stored (``"delta_graph"``, ``"maxherding_near"``); part of the key.
    feature_digest : str
        :func:`features_digest` of the features the structure is built from.
    params : mapping
        JSON-serialisable parameters the structure depends on (part of the key, stored in the sidecar).
    build : callable
        ``build() -> value``; called at most once, and only when no intact entry exists.
    encode, decode : callable
        ``value -> {name: array}`` and back; ``decode`` raises ``ValueError`` on inconsistent arrays (the entry is
        then rebuilt with a warning).
    info : mapping, optional
        Extra build information recorded in the sidecar (device, block size...); not part of the key.
    lock_timeout : float, optional
        Seconds to wait for another builder of the same entry (default :data:`LOCK_TIMEOUT`).
    """
    from filelock import FileLock, Timeout

    key = entry_key(kind, feature_digest, params)
    npz_path, json_path, lock_path = entry_paths(root, key)

    def attempt() -> Tuple[Optional[T], str]:
        arrays, why = _read_entry(npz_path, json_path, key, params)
        if arrays is None:
            return None, why
        try:
            return decode(arrays), ""
        except (ValueError, KeyError, IndexError) as exc:
            return None, f"inconsistent arrays in {npz_path.name} ({exc})"

    value, _ = attempt()  # fast path, no lock: intact entries are never rewritten
    if value is not None:
        log.debug("%s: loaded %s", kind, npz_path)
        return Cached(value, "disk", npz_path)

    def build_uncached(reason: str) -> Cached[T]:
        warnings.warn(f"graph cache {root}: {reason}; building {kind} without storing it", GraphCacheWarning,
                      stacklevel=4)
        return Cached(build(), "uncached", None)

    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT if lock_timeout is None else lock_timeout)
        lock.acquire()
    except Timeout:
        return build_uncached(f"timed out waiting for {lock_path.name}")
    except OSError as exc:
        return build_uncached(f"cannot create the folder or lock ({exc})")
    try:
        value, why = attempt()  # another process may have stored it while we waited
        if value is not None:
            log.debug("%s: loaded %s (built by another process)", kind, npz_path)
            return Cached(value, "disk", npz_path)
        if why != "missing":
            warnings.warn(f"graph cache {npz_path}: {why}; recomputing", GraphCacheWarning, stacklevel=3)
            for path in (json_path, npz_path):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError:
                    break
        start = time.perf_counter()
        value = build()
        seconds = time.perf_counter() - start
        arrays = encode(value)
        sidecar: Dict[str, Any] = {
            **entry_spec(kind, feature_digest, params),
            "key": key,
            "arrays": _arrays_record(arrays),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "package_version": _package_version(),
            "versions": package_versions(),
            "build": {"seconds": round(seconds, 4), **to_jsonable(dict(info or {}))},
        }
        try:
            _write_entry(npz_path, json_path, arrays, sidecar)
        except OSError as exc:
            warnings.warn(f"graph cache {npz_path}: cannot be written ({exc}); continuing without it",
                          GraphCacheWarning, stacklevel=3)
            return Cached(value, "uncached", None)
        log.debug("%s: built and stored %s in %.3fs", kind, npz_path, seconds)
        return Cached(value, "built", npz_path)
    finally:
        lock.release()


# ---- SparseGraph <-> arrays ----------------------------------------------------------------------------------


def graph_to_arrays(g: SparseGraph, prefix: str = "") -> Dict[str, np.ndarray]:
    """The arrays of a :class:`SparseGraph` (the reverse CSR only when the graph is not symmetric)."""
    out = {f"{prefix}indptr": g.indptr, f"{prefix}indices": g.indices,
           f"{prefix}symmetric": np.array(bool(g.symmetric))}
    if g.values is not None:
        out[f"{prefix}values"] = g.values
    if not g.symmetric:
        out[f"{prefix}rev_indptr"] = g.rev_indptr
        out[f"{prefix}rev_indices"] = g.rev_indices
        if g.rev_values is not None:
            out[f"{prefix}rev_values"] = g.rev_values
    return out


def _check_csr(indptr: np.ndarray, indices: np.ndarray, n: int, what: str) -> None:
    if indptr.ndim != 1 or indptr.shape[0] != n + 1 or indptr.dtype != np.int64:
        raise ValueError(f"{what}: indptr must be int64 of length n_nodes + 1 = {n + 1}")
    if indices.ndim != 1 or indices.dtype != np.int32:
        raise ValueError(f"{what}: indices must be 1-D int32")
    if indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
        raise ValueError(f"{what}: indptr is not a valid CSR offset array for {indices.shape[0]} edges")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= n):
        raise ValueError(f"{what}: column indices outside [0, {n})")


def graph_from_arrays(arrays: Mapping[str, np.ndarray], n_nodes: int, prefix: str = "",
                      values: Optional[bool] = None) -> SparseGraph:
    """Rebuild a :class:`SparseGraph` from :func:`graph_to_arrays`, checking its structure (``ValueError``).

    ``values``: whether per-edge values must be present (``True``) or absent (``False``); ``None`` accepts both.
    """
    indptr, indices = arrays[f"{prefix}indptr"], arrays[f"{prefix}indices"]
    symmetric = bool(arrays[f"{prefix}symmetric"])
    _check_csr(indptr, indices, n_nodes, "graph")
    vals = arrays.get(f"{prefix}values")
    if values is not None and (vals is not None) != values:
        raise ValueError("graph: per-edge values " + ("missing" if values else "unexpected"))
    if vals is not None and (vals.shape != indices.shape or vals.dtype != np.float32):
        raise ValueError("graph: values must be float32, one per edge")
    if symmetric:
        return SparseGraph(indptr, indices, indptr, indices, vals, vals, symmetric=True)
    rev_indptr, rev_indices = arrays[f"{prefix}rev_indptr"], arrays[f"{prefix}rev_indices"]
    _check_csr(rev_indptr, rev_indices, n_nodes, "reverse graph")
    if rev_indices.shape != indices.shape:
        raise ValueError("graph: the reverse CSR has a different number of edges")
    rev_vals = arrays.get(f"{prefix}rev_values")
    if (rev_vals is None) != (vals is None) or (rev_vals is not None and rev_vals.shape != indices.shape):
        raise ValueError("graph: reverse values do not match the forward values")
    return SparseGraph(indptr, indices, rev_indptr, rev_indices, vals, rev_vals, symmetric=False)


# ---- dense matrices, memory-mapped -----------------------------------------------------------------------------

#: sha256 of the matrix files this process has verified, by (path, size, mtime, inode): a multi-GB matrix is hashed
#: once per process, not at every load (an edited or replaced file has a new stat and is hashed again).
_VERIFIED_MATRICES: Dict[Tuple[str, int, int, int], str] = {}


def _stat_key(path: Path) -> Tuple[str, int, int, int]:
    st = path.stat()
    return str(path.resolve()), int(st.st_size), int(st.st_mtime_ns), int(st.st_ino)


def matrix_path(root: Path, key: str) -> Path:
    """The ``.npy`` file of the dense matrix of the entry with full key ``key`` (beside its ``.npz``)."""
    return root / f"{key[:16]}.matrix.npy"


def load_or_build_matrix(
    root: Path,
    kind: str,
    feature_digest: str,
    params: Mapping[str, Any],
    shape: Tuple[int, int],
    fill: Callable[[np.ndarray], Dict[str, np.ndarray]],
    *,
    info: Optional[Mapping[str, Any]] = None,
    lock_timeout: Optional[float] = None,
) -> Cached[Tuple[np.ndarray, Dict[str, np.ndarray]]]:
    """A dense float32 matrix (memory-mapped read-only) and small side arrays: loaded, or built once and stored.

    ``fill(out)`` writes the matrix into ``out`` (a writable float32 memory map of ``shape``, so a matrix larger
    than memory is never held twice) and returns the side arrays (e.g. row sums). The matrix goes to
    :func:`matrix_path` (``.npy``, written to a temporary file, fsynced, renamed), its size and sha256 into the
    entry's ``.npz`` with the side arrays, the sidecar last — the same protocol and checks as
    :func:`load_or_build`. On load the matrix file's size, sha256 (hashed once per process and file), shape and
    dtype are checked; a mismatch rebuilds the entry with a :class:`GraphCacheWarning`.
    """
    key = entry_key(kind, feature_digest, params)
    target = matrix_path(root, key)

    def build() -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        nbytes = 4 * int(shape[0]) * int(shape[1])
        # the free space is checked and the file's blocks allocated before the fill: a full disk is one line
        # (DiskFullError naming the file and the size), never a SIGBUS in the middle of writing the memory map
        with atomic_path(target, size_hint=nbytes + 128) as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
            reserve_space(tmp, int(out.offset) + nbytes)
            extras = fill(out)
            out.flush()
            del out
            digest = file_digest(tmp, "sha256")
        _VERIFIED_MATRICES[_stat_key(target)] = digest
        side = {**extras, "matrix_sha256": np.array(digest), "matrix_bytes": np.array(target.stat().st_size)}
        return np.load(target, mmap_mode="r"), side

    def encode(value: Tuple[np.ndarray, Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
        return value[1]

    def decode(arrays: Dict[str, np.ndarray]) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        if "matrix_sha256" not in arrays or "matrix_bytes" not in arrays:
            raise ValueError("the entry does not record its matrix file")
        if not target.is_file():
            raise ValueError(f"{target.name} is missing")
        stat = _stat_key(target)
        if stat[1] != int(arrays["matrix_bytes"]):
            raise ValueError(f"{target.name} has {stat[1]} bytes, the entry recorded {int(arrays['matrix_bytes'])}")
        want = str(arrays["matrix_sha256"])
        if _VERIFIED_MATRICES.get(stat) != want:
            if file_digest(target, "sha256") != want:
                raise ValueError(f"{target.name} does not match the sha256 recorded in its entry")
            _VERIFIED_MATRICES[stat] = want
        matrix = np.load(target, mmap_mode="r")
        if matrix.shape != tuple(shape) or matrix.dtype != np.float32:
            raise ValueError(f"{target.name} holds {matrix.dtype} {matrix.shape}, expected float32 {tuple(shape)}")
        return matrix, arrays

    return load_or_build(root, kind, feature_digest, params, build, encode, decode, info=info,
                         lock_timeout=lock_timeout)
