"""Which device a job trains on: the device list of a run, and the device the runner assigned to the running job.

The runner (``run_grid(devices=...)``, ``run --devices``) assigns every job one device and runs the job inside
:func:`use_device`; learners whose ``device`` parameter is ``"auto"`` read it with :func:`current_device` (through
:func:`learner_device`). The device travels in a :class:`contextvars.ContextVar` (one per thread: right for the
``threading`` backend and for threaded Dask workers too), never in the job's config, so it changes neither the
job's identity (config hash) nor its results path: the same job computed on ``cuda:0`` or ``cuda:1`` is one job.
Inside a CUDA job, ``torch.cuda.device`` is also set, so code that asks for plain ``"cuda"`` (strategies, noise
filters, encoders with ``device="auto"``) lands on the job's GPU as well.
"""

from __future__ import annotations

import contextlib
import re
from contextvars import ContextVar
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Union

_CURRENT: ContextVar[Optional[str]] = ContextVar("active_learning_device", default=None)

_CUDA_RE = re.compile(r"cuda:(\d+)")


class DeviceError(ValueError):
    """A device list that cannot be used on this machine (no CUDA, a GPU that is not visible, a bad name)."""


def cuda_device_count() -> int:
    """Visible CUDA devices (``torch.cuda.device_count()``; 0 without torch or without CUDA)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _no_gpu_reason() -> str:
    """Why torch sees no CUDA device here, in a few words."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "torch is not installed"
    if getattr(torch.version, "cuda", None) is None:
        return f"this torch ({torch.__version__}) was built without CUDA"
    return f"torch {torch.__version__} sees no CUDA device (driver, CUDA_VISIBLE_DEVICES?)"


def check_torch_device(device: Optional[str], what: str = "device") -> Optional[str]:
    """Check a torch device name before any work: ``None`` and ``"auto"`` pass (they choose for themselves);
    ``"cpu"`` passes; ``"cuda"`` / ``"cuda:<k>"`` need that CUDA device to be visible, ``"mps"`` Apple's GPU.

    Returns ``device`` unchanged; raises :class:`DeviceError` (one line, naming ``what`` and the way out) otherwise.
    """
    if device is None or device == "auto":
        return device
    if not isinstance(device, str):
        raise DeviceError(f"{what} must be a device name such as cpu, cuda or cuda:0, got {device!r}")
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise DeviceError(f"{what} {device!r} is not a torch device; use cpu, cuda or cuda:<index>") from None
    if parsed.type == "cuda":
        count = cuda_device_count()
        if count == 0:
            raise DeviceError(f"{what} {device}: no GPU found ({_no_gpu_reason()}); use cpu")
        if parsed.index is not None and parsed.index >= count:
            raise DeviceError(
                f"{what} {device}: not visible, this machine has {count} CUDA device(s) "
                f"({', '.join(f'cuda:{k}' for k in range(count))})"
            )
    elif parsed.type == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise DeviceError(f"{what} {device}: Apple's MPS GPU is not available here; use cpu")
    return device


def check_device_param(where: str, params: Any) -> None:
    """A component's ``device`` parameter (learners, strategies, noise filters), checked before any job runs:
    :func:`check_torch_device` on ``params["device"]`` when ``params`` is a mapping that sets it."""
    if isinstance(params, Mapping) and "device" in params:
        check_torch_device(params["device"], f"{where}.device")


def auto_devices_note(devices: Optional[Sequence[str]]) -> Optional[str]:
    """The line ``--devices auto`` prints when it found no GPU (``devices == ["cpu"]``), else ``None``."""
    if devices is None or list(devices) != ["cpu"]:
        return None
    return f"--devices auto: no GPU found ({_no_gpu_reason()}); every job runs on the CPU"


def resolve_devices(spec: Union[None, str, Sequence[str]], *, check_visible: bool = True) -> Optional[List[str]]:
    """The device list of a run: ``None`` (no assignment), or a list of ``"cpu"`` / ``"cuda:<k>"``.

    ``spec``: ``None``; ``"auto"`` (every visible CUDA device, else ``["cpu"]``); ``"cpu"``; a comma list
    (``"cuda:0,cuda:1"``) or a sequence of names. ``check_visible=False`` skips the check that the GPUs exist
    here (for a remote Dask cluster, whose workers have their own); ``"auto"`` then cannot be resolved.

    Raises :class:`DeviceError` (one line) for an unknown name, a device listed twice, or a CUDA device that is
    not visible.
    """
    if spec is None:
        return None
    names = [part.strip() for part in spec.split(",")] if isinstance(spec, str) else [str(s).strip() for s in spec]
    names = [n for n in names if n]
    if not names:
        raise DeviceError("--devices is empty; use auto, cpu or a comma list such as cuda:0,cuda:1")
    if names == ["auto"]:
        if not check_visible:
            raise DeviceError(
                "--devices auto cannot see the GPUs of a remote Dask cluster's workers; list them "
                "(--devices cuda:0,cuda:1) or leave --devices out"
            )
        count = cuda_device_count()
        return [f"cuda:{k}" for k in range(count)] if count else ["cpu"]
    for name in names:
        if name == "auto":
            raise DeviceError(f"--devices {','.join(names)}: auto cannot be combined with other devices")
        if name != "cpu" and not _CUDA_RE.fullmatch(name):
            hint = " (name one: cuda:0)" if name == "cuda" else ""
            raise DeviceError(f"unknown device {name!r}{hint}; use auto, cpu or cuda:<index>, e.g. cuda:0,cuda:1")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DeviceError(
            f"--devices lists {', '.join(repeated)} more than once; use --jobs-per-device to run several jobs per device"
        )
    cuda = [int(m.group(1)) for m in map(_CUDA_RE.fullmatch, names) if m]
    if cuda and check_visible:
        count = cuda_device_count()
        if count == 0:
            raise DeviceError("no CUDA device visible; use --devices cpu or auto")
        missing = [f"cuda:{k}" for k in cuda if k >= count]
        if missing:
            raise DeviceError(
                f"{', '.join(missing)} not visible: this machine has {count} CUDA device(s) "
                f"({', '.join(f'cuda:{k}' for k in range(count))}); use --devices auto or name visible ones"
            )
    return names


def current_device() -> Optional[str]:
    """The device the runner assigned to the running job (``"cpu"``, ``"cuda:1"``), or ``None`` outside one."""
    return _CURRENT.get()


@contextlib.contextmanager
def use_device(device: Optional[str]) -> Iterator[None]:
    """Run a block as a job on ``device``: :func:`current_device` returns it, and for a CUDA device (when CUDA is
    available here) it is also torch's current device; cached CUDA memory is released at the end."""
    token = _CURRENT.set(device)
    try:
        if device is not None and device.startswith("cuda"):
            import torch

            if torch.cuda.is_available():
                try:
                    with torch.cuda.device(torch.device(device)):
                        yield
                finally:
                    torch.cuda.empty_cache()
                return
        yield
    finally:
        _CURRENT.reset(token)


def learner_device(device: Optional[str] = "auto", unassigned: Optional[str] = None) -> Any:
    """A learner's ``device`` parameter as a ``torch.device``.

    ``"auto"`` (or ``None``): the job's device (:func:`current_device`) when the runner assigned one, else
    ``unassigned`` (``None``: CUDA when available, else the CPU). Any other value (``"cpu"``, ``"cuda:1"``) is
    used as given.
    """
    import torch

    if device is not None and device != "auto":
        return torch.device(device)
    assigned = current_device()
    if assigned is not None:
        return torch.device(assigned)
    if unassigned is not None:
        return torch.device(unassigned)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
