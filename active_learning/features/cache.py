"""Extract image features once and cache them on disk, resumably.

Layout under ``root`` (default ``datasets/features``, i.e. ``$AL_DATA_ROOT/features``)::

    <image_set>/<split>/<encoder>/<key>.npy        float32 (N, d), memory-mapped on load
    <image_set>/<split>/<encoder>/<key>.json       sidecar: spec, shape, dtype, sha256, encoder info, timing
    <image_set>/<split>/<encoder>/<key>.chunks/    partial results while an extraction runs

``key`` is the first 16 hex digits of the sha256 of the *spec*: the image identity (image set, split, number of
images, JPEG flag, pixel checksum, subset indices digest) and the encoder fingerprint (name, weights id and md5,
input size, preprocessing). Any change gives a new key; the full digest is stored and compared on load.

Extraction is batched (torch threads = all cores on CPU; the GPU when present) with a tqdm bar in images/s. Every
``chunk_size`` images are written to their own ``.npy`` (atomically) with the sha256 of its bytes beside it
(``chunk_<c>.sha256``), so a killed run resumes from its last finished chunk. Before a chunk is reused or assembled
it is verified: its sha256, its shape (its rows, the features' width), float32 and finite values; a chunk that fails
is recomputed with a warning that names it, never assembled. (Chunks written before digests existed have no
``.sha256``: they get the structural checks only.) The final file is assembled from the verified chunks into a
temporary file and renamed, then the sidecar is written (its presence marks a complete cache entry). A cache entry
whose file size, shape or checksum does not match its sidecar is recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..datasets._files import default_root
from ..utils.io import (
    atomic_path,
    atomic_save_npy,
    atomic_write_json,
    atomic_write_text,
    file_digest,
    git_commit,
    package_versions,
    read_keyed_sidecar,
    reserve_space,
    to_jsonable,
)

FORMAT_VERSION = 1


def default_feature_root() -> Path:
    """``<data root>/features`` (``datasets/features`` at the repository root, or ``$AL_DATA_ROOT/features``)."""
    return default_root() / "features"


def feature_spec(dataset: Any, encoder: Any) -> Dict[str, Any]:
    """The JSON-serialisable description whose sha256 is the cache key."""
    return to_jsonable({
        "format_version": FORMAT_VERSION,
        "dataset": dataset.cache_identity(),
        "encoder": encoder.fingerprint(),
    })


def spec_digest(spec: Dict[str, Any]) -> str:
    """Full sha256 hex digest of a spec (key order does not matter)."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_paths(root: "str | os.PathLike[str] | None", dataset: Any, encoder: Any,
                digest: str) -> Tuple[Path, Path, Path]:
    """``(features.npy, sidecar.json, chunk folder)`` of a cache entry."""
    base = Path(root) if root is not None else default_feature_root()
    folder = base / dataset.image_set / dataset.split / encoder.name
    key = digest[:16]
    return folder / f"{key}.npy", folder / f"{key}.json", folder / f"{key}.chunks"


def _npy_data_offset(path: Path) -> int:
    """Byte offset of the data in an ``.npy`` file (after its header)."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            np.lib.format.read_array_header_1_0(handle)
        else:
            np.lib.format.read_array_header_2_0(handle)
        return handle.tell()


def validate_entry(npy_path: Path, json_path: Path, digest: str, n_rows: int,
                   verify_checksum: bool = True) -> Tuple[Optional[np.ndarray], str]:
    """Return ``(features, "")`` for a valid cache entry, or ``(None, reason)``."""
    sidecar, reason = read_keyed_sidecar(npy_path, json_path, digest)
    if sidecar is None:
        return None, reason
    shape = tuple(sidecar.get("shape", ()))
    if len(shape) != 2 or shape[0] != n_rows or sidecar.get("dtype") != "float32":
        return None, f"sidecar shape {shape} / dtype {sidecar.get('dtype')} do not fit {n_rows} float32 rows"
    if not npy_path.is_file():
        return None, f"{npy_path.name} is missing"
    try:
        expected = _npy_data_offset(npy_path) + int(np.prod(shape)) * 4
    except (OSError, ValueError) as exc:
        return None, f"cannot read the header of {npy_path.name} ({exc})"
    if npy_path.stat().st_size != expected:
        return None, f"{npy_path.name} has {npy_path.stat().st_size} bytes, expected {expected}"
    if verify_checksum and file_digest(npy_path, "sha256") != sidecar.get("sha256"):
        return None, f"{npy_path.name} does not match the sha256 in its sidecar"
    try:
        features = np.load(npy_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        return None, f"cannot read {npy_path.name} ({exc})"
    if features.shape != shape or features.dtype != np.float32:
        return None, f"{npy_path.name} holds {features.shape} {features.dtype}, sidecar says {shape} float32"
    return features, ""


def chunk_digest_path(chunk: Path) -> Path:
    """The file holding the sha256 of a resumable chunk's bytes (``chunk_000003.npy`` -> ``chunk_000003.sha256``)."""
    return chunk.with_suffix(".sha256")


def verify_chunk(path: Path, rows: int, dim: Optional[int] = None) -> Tuple[Optional[np.ndarray], str]:
    """``(chunk, "")`` for a sound resumable chunk, else ``(None, reason)``.

    The chunk's bytes must match the sha256 written with it (chunks written before digests existed have none and
    get the other checks only), and it must load as a 2-D float32 array of ``rows`` rows (and ``dim`` columns, when
    given) of finite values.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, "is missing"
    except OSError as exc:
        return None, f"cannot be read ({exc})"
    digest_file = chunk_digest_path(path)
    if digest_file.is_file():
        try:
            expected = digest_file.read_text().strip()
        except OSError as exc:
            return None, f"its digest {digest_file.name} cannot be read ({exc})"
        if hashlib.sha256(data).hexdigest() != expected:
            return None, f"does not match the sha256 in {digest_file.name} (corrupted or edited)"
    try:
        chunk = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # truncated header or data, not a .npy file, a pickled object, ...
        return None, f"cannot be loaded ({type(exc).__name__}: {exc})"
    if not isinstance(chunk, np.ndarray) or chunk.ndim != 2 or chunk.shape[0] != rows:
        return None, f"holds shape {getattr(chunk, 'shape', None)}, expected {rows} rows"
    if dim is not None and chunk.shape[1] != dim:
        return None, f"has {chunk.shape[1]} columns, the other chunks {dim}"
    if chunk.dtype != np.float32:
        return None, f"has dtype {chunk.dtype}, expected float32"
    if not np.all(np.isfinite(chunk)):
        return None, "holds NaN/inf values"
    return chunk, ""


def _remove_chunk(path: Path) -> None:
    for stale in (path, chunk_digest_path(path)):
        try:
            stale.unlink()
        except FileNotFoundError:
            pass


class _Threads:
    """Set torch's intra-op threads for the extraction and restore them afterwards."""

    def __init__(self, device: str, num_threads: Optional[int]) -> None:
        self.device = device
        self.num_threads = num_threads
        self.previous: Optional[int] = None

    def __enter__(self) -> int:
        import torch

        self.previous = torch.get_num_threads()
        if self.device.startswith("cpu"):
            wanted = self.num_threads or os.cpu_count() or 1
            torch.set_num_threads(int(wanted))
        return torch.get_num_threads()

    def __exit__(self, *exc: Any) -> None:
        import torch

        if self.previous is not None:
            torch.set_num_threads(self.previous)


def _write_entry(npy_path: Path, json_path: Path, features_writer: Any, shape: Tuple[int, int],
                 sidecar: Dict[str, Any]) -> None:
    """Write the final array through a temporary file + rename (its disk space reserved first, so that a full disk
    fails at once naming the file), then its sidecar."""
    nbytes = int(np.prod(shape)) * 4
    with atomic_path(npy_path, size_hint=nbytes + 128) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
        reserve_space(tmp, int(out.offset) + nbytes)
        features_writer(out)
        out.flush()
        del out
        sidecar["sha256"] = file_digest(tmp, "sha256")
    atomic_write_json(json_path, sidecar)


def _encode_chunks(dataset: Any, encoder: Any, chunks: "list[int]", chunk_size: int, batch_size: int,
                   write_chunk: Any, bar: Any) -> int:
    """Encode the images of ``chunks`` (batches prefetched by a thread) and hand each finished chunk to
    ``write_chunk(c, features)``; returns the number of images encoded."""
    n = len(dataset)
    encoded = 0
    batches = [(c, s) for c in chunks for s in range(c * chunk_size, min((c + 1) * chunk_size, n), batch_size)]
    if not batches:
        return 0

    def rows(c: int) -> int:
        return min(chunk_size, n - c * chunk_size)

    with ThreadPoolExecutor(max_workers=1) as loader:
        pending = loader.submit(dataset.images.batch, range(batches[0][1], min(batches[0][1] + batch_size, n)))
        current: Dict[int, list] = {}
        for b, (c, s) in enumerate(batches):
            images = pending.result()
            if b + 1 < len(batches):
                s_next = batches[b + 1][1]
                pending = loader.submit(dataset.images.batch, range(s_next, min(s_next + batch_size, n)))
            current.setdefault(c, []).append(encoder.encode(images))
            encoded += len(images)
            if bar is not None:
                bar.update(len(images))
            if sum(len(x) for x in current[c]) == rows(c):
                chunk = np.concatenate(current.pop(c)).astype(np.float32, copy=False)
                if not np.all(np.isfinite(chunk)):
                    raise FloatingPointError(f"{encoder.name}: non-finite features in chunk {c}")
                write_chunk(c, chunk)
    return encoded


def extract_features(
    dataset: Any,
    encoder: Any,
    root: "str | os.PathLike[str] | None" = None,
    batch_size: int = 128,
    chunk_size: int = 2048,
    device: Optional[str] = None,
    progress: bool = True,
    num_threads: Optional[int] = None,
    verify_checksum: bool = True,
) -> np.ndarray:
    """Features of every image of ``dataset``, computed once and cached.

    Parameters
    ----------
    dataset : ImageDataset
        From :func:`active_learning.datasets.load`; its ``cache_identity()`` is part of the key.
    encoder : ImageEncoder
        From :func:`active_learning.encoders.get_encoder`; its ``fingerprint()`` is part of the key.
    root : path, optional
        Cache folder; default ``datasets/features``.
    batch_size : int, default=128
        Images per forward pass.
    chunk_size : int, default=2048
        Images per resumable chunk file (rounded up to a multiple of ``batch_size``).
    device : str, optional
        Torch device; default the encoder's (GPU when available).
    progress : bool, default=True
        Show a tqdm progress bar (images/s).
    num_threads : int, optional
        Torch CPU threads during extraction; default all cores.
    verify_checksum : bool, default=True
        Check the cached file's sha256 against its sidecar on every load.

    Returns
    -------
    numpy.ndarray (memory-mapped, read-only) of shape (N, d), float32
        Row ``i`` is the feature of ``dataset.images[i]``.
    """
    if batch_size <= 0 or chunk_size <= 0:
        raise ValueError("batch_size and chunk_size must be positive")
    if device is not None:
        encoder.to(device)
    n = len(dataset)
    if n == 0:
        raise ValueError(f"{dataset.name}/{dataset.split}: no images")
    spec = feature_spec(dataset, encoder)
    digest = spec_digest(spec)
    npy_path, json_path, chunk_dir = cache_paths(root, dataset, encoder, digest)

    features, reason = validate_entry(npy_path, json_path, digest, n, verify_checksum)
    if features is not None:
        return features
    if reason != "missing":
        warnings.warn(f"feature cache {npy_path}: {reason}; recomputing", stacklevel=2)
        for path in (json_path, npy_path):
            if path.exists():
                path.unlink()

    sidecar: Dict[str, Any] = {
        "key": digest,
        "spec": spec,
        "dataset": {"name": dataset.name, "image_set": dataset.image_set, "split": dataset.split},
        "encoder": encoder.fingerprint(),
        "self_supervised": getattr(encoder, "self_supervised", None),
        "jpeg_compressed": bool(getattr(dataset, "jpeg_compressed", False)),
        "dtype": "float32",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions(),
        "git": git_commit(),
    }

    precomputed = encoder.features_for(dataset)
    if precomputed is not None:
        shape = (int(precomputed.shape[0]), int(precomputed.shape[1]))
        sidecar.update({"shape": list(shape), "timing": {"seconds": 0.0, "precomputed": True}})

        def copy_all(out: np.ndarray) -> None:
            out[:] = precomputed

        _write_entry(npy_path, json_path, copy_all, shape, sidecar)
        return np.load(npy_path, mmap_mode="r", allow_pickle=False)

    chunk_size = int(-(-chunk_size // batch_size) * batch_size)
    n_chunks = -(-n // chunk_size)
    chunk_dir.mkdir(parents=True, exist_ok=True)
    marker = chunk_dir / "key.txt"
    if marker.is_file() and marker.read_text().strip() != f"{digest} {chunk_size}":
        shutil.rmtree(chunk_dir)  # chunks of another spec or chunk size: start over
        chunk_dir.mkdir(parents=True)
    atomic_write_text(marker, f"{digest} {chunk_size}\n")

    def chunk_path(c: int) -> Path:
        return chunk_dir / f"chunk_{c:06d}.npy"

    def rows(c: int) -> int:
        return min(chunk_size, n - c * chunk_size)

    def write_chunk(c: int, chunk: np.ndarray) -> None:
        sha = atomic_save_npy(chunk_path(c), chunk)
        atomic_write_text(chunk_digest_path(chunk_path(c)), sha + "\n")  # after the chunk: no digest, no trust

    def discard(c: int, why: str) -> None:
        warnings.warn(f"feature chunk {chunk_path(c)} {why}; recomputing it", stacklevel=3)
        _remove_chunk(chunk_path(c))

    dims: Dict[int, int] = {}  # the features' width, from the first sound chunk
    done = []
    for c in range(n_chunks):
        if not chunk_path(c).is_file():
            continue
        chunk, why = verify_chunk(chunk_path(c), rows(c), dims.get(0))
        if chunk is None:
            discard(c, why)
            continue
        dims.setdefault(0, int(chunk.shape[1]))
        done.append(c)
    todo = [c for c in range(n_chunks) if c not in set(done)]
    done_rows = sum(rows(c) for c in done)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, initial=done_rows, unit="img", desc=f"{encoder.name} {dataset.image_set}/{dataset.split}")
    start = time.perf_counter()
    resolved_device = encoder.resolved_device
    with _Threads(resolved_device, num_threads) as threads:
        encoded = _encode_chunks(dataset, encoder, todo, chunk_size, batch_size, write_chunk, bar)
        if bar is not None:
            bar.close()
        # every chunk is verified again (digest, shape, values) right before assembly; one that fails is recomputed
        recomputed = []
        for c in range(n_chunks):
            chunk, why = verify_chunk(chunk_path(c), rows(c), dims.get(0))
            if chunk is None:
                discard(c, why)
                recomputed.append(c)
            else:
                dims.setdefault(0, int(chunk.shape[1]))
        encoded += _encode_chunks(dataset, encoder, recomputed, chunk_size, batch_size, write_chunk, None)
    seconds = time.perf_counter() - start
    if 0 not in dims:
        dims[0] = int(np.load(chunk_path(0), mmap_mode="r").shape[1])
    shape = (n, dims[0])

    def assemble(out: np.ndarray) -> None:
        for c in range(n_chunks):
            chunk, why = verify_chunk(chunk_path(c), rows(c), shape[1])
            if chunk is None:
                raise RuntimeError(f"feature chunk {chunk_path(c)} {why} (changed during the extraction); run again")
            out[c * chunk_size:c * chunk_size + rows(c)] = chunk

    sidecar.update({
        "shape": list(shape),
        "timing": {
            "seconds": round(seconds, 3),
            "images_encoded": encoded,
            "images_per_s": round(encoded / seconds, 2) if seconds > 0 and encoded else None,
            "resumed_chunks": len(done),
            "recomputed_chunks": len(recomputed),
            "device": resolved_device,
            "torch_threads": threads,
            "batch_size": batch_size,
            "chunk_size": chunk_size,
        },
    })
    _write_entry(npy_path, json_path, assemble, shape, sidecar)
    shutil.rmtree(chunk_dir, ignore_errors=True)
    return np.load(npy_path, mmap_mode="r", allow_pickle=False)


def read_sidecar(features_path: "str | os.PathLike[str]") -> Dict[str, Any]:
    """The JSON sidecar of a cached ``.npy`` feature file."""
    return json.loads(Path(features_path).with_suffix(".json").read_text())


def cached_path(dataset: Any, encoder: Any, root: "str | os.PathLike[str] | None" = None) -> Path:
    """Where the features of ``(dataset, encoder)`` are (or would be) cached."""
    return cache_paths(root, dataset, encoder, spec_digest(feature_spec(dataset, encoder)))[0]
