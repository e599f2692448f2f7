"""Worker processes that die with their driver.

A driver killed with ``kill -9`` (or by the out-of-memory killer) cannot stop its worker processes: joblib's loky
workers only notice a dead parent when they ask for their next task, so a worker inside a long job runs on,
orphaned, until the job ends (or for ever). :func:`exit_with_parent` is the workers' initializer (the runner passes
it to the ``loky`` and ``multiprocessing`` backends): it starts a daemon thread that looks at the parent every
:data:`POLL_INTERVAL_S` seconds and ends the worker process (``os._exit``) as soon as the parent is gone.

The parent is "gone" when the worker's parent process id is no longer the driver's (on POSIX an orphan is adopted
by ``init`` or a subreaper, so ``os.getppid()`` changes), or, for a worker that is not the driver's direct child,
when no process with the driver's id exists any more. Linux's ``prctl(PR_SET_PDEATHSIG)`` is not used: it fires
when the *thread* that started the worker ends, and loky starts workers from helper threads that end while the
driver lives on.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable, Optional

#: Seconds between two looks at the parent process.
POLL_INTERVAL_S = 0.5

#: Exit status of a worker that ended because its driver died.
ORPHAN_EXIT_CODE = 70


def _pid_exists(pid: int) -> Optional[bool]:
    """Whether a process ``pid`` exists (``None``: cannot tell on this platform)."""
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process on Windows
        try:
            import psutil
        except ImportError:
            return None
        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return None
    return True


def parent_alive_check(parent_pid: int) -> Callable[[], bool]:
    """A function that tells whether the driver ``parent_pid`` of this (worker) process is still alive."""
    direct = os.getppid() == parent_pid and sys.platform != "win32"

    def alive() -> bool:
        if direct:
            return os.getppid() == parent_pid
        exists = _pid_exists(parent_pid)
        return True if exists is None else exists

    return alive


def watch_parent(parent_pid: int, on_death: Optional[Callable[[], None]] = None,
                 interval: float = POLL_INTERVAL_S) -> threading.Thread:
    """Start a daemon thread that calls ``on_death()`` (default: end this process at once, ``os._exit``) once the
    process ``parent_pid`` is gone. Returns the thread (it stops after calling ``on_death``)."""
    alive = parent_alive_check(parent_pid)

    def die() -> None:
        try:
            sys.stderr.write(f"active_learning worker {os.getpid()}: driver {parent_pid} is gone; exiting\n")
            sys.stderr.flush()
        finally:
            os._exit(ORPHAN_EXIT_CODE)

    action = on_death or die

    def loop() -> None:
        while alive():
            time.sleep(interval)
        action()

    thread = threading.Thread(target=loop, name=f"watch-parent-{parent_pid}", daemon=True)
    thread.start()
    return thread


def exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker process within :data:`POLL_INTERVAL_S` seconds of its driver's death.

    Parameters
    ----------
    parent_pid : int
        The driver's process id (``os.getpid()`` in the driver, passed as ``initargs``).
    """
    if parent_pid == os.getpid():  # not a worker (a sequential fallback runs in the driver itself)
        return
    watch_parent(int(parent_pid))
