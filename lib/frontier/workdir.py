"""Run directories: created with a clear error when they cannot be, and locked while in use.

`lock(workdir)` holds `workdir/LOCK` (JSON: pid, host, start time) for the duration of a run,
so a second run started on the same directory refuses, naming the holder, instead of
interleaving its writes. A lock left by a process that died (same host, pid no longer
running, e.g. after SIGKILL) is taken over with a warning; a lock from another host is never
taken over, since its process cannot be checked from here. On several processes only process
0 holds the lock and the others learn the outcome from it, so they all stop or all go on.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import warnings
from pathlib import Path

import jax

LOCK_NAME = "LOCK"


class WorkdirError(ValueError):
    """The run directory cannot be used (a file, unwritable, or locked by another run)."""


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create `path` (and its parents) or raise `WorkdirError` saying why it cannot be."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise WorkdirError(
            f"workdir {path} is an existing file, not a directory; pass a directory path "
            "(it is created if missing)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), path)
        raise WorkdirError(
            f"cannot create workdir {path}: {blocker} is a file, not a directory; "
            "pass a path whose parents are directories"
        ) from None
    except PermissionError:
        raise WorkdirError(
            f"cannot create workdir {path}: permission denied; pass a writable path"
        ) from None
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read_holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable or half-written: treated as held by an unknown process


def _describe(holder: dict) -> str:
    started = holder.get("started")
    when = f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}"
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}" + (
        when if isinstance(started, int | float) else ""
    )


def _acquire(workdir: Path) -> Path:
    path = workdir / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _read_holder(path)
            if holder is None:  # released between our open and our read
                continue
            same_host = holder.get("host") == me["host"]
            pid = holder.get("pid")
            if same_host and isinstance(pid, int) and pid != me["pid"] and not _pid_alive(pid):
                warnings.warn(
                    f"{path} was left by {_describe(holder)}, which is no longer running; "
                    "taking the lock over",
                    RuntimeWarning,
                    stacklevel=3,
                )
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            raise WorkdirError(
                f"workdir {workdir} is in use by another run ({_describe(holder)}; lock file "
                f"{path}). Wait for it to finish or use another --workdir; if no run is "
                "going on there, delete the lock file."
            ) from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        return path
    raise WorkdirError(f"could not take the lock {path}: it keeps changing; try again")


def _release(path: Path) -> None:
    holder = _read_holder(path)
    if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def lock(workdir: str | os.PathLike):
    """Hold `workdir/LOCK` for the duration of the block (released on any exit)."""
    workdir = Path(workdir)
    held, error = None, ""
    if jax.process_index() == 0:
        try:
            held = _acquire(workdir)
        except WorkdirError as e:
            error = str(e)
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        failed = multihost_utils.broadcast_one_to_all(int(bool(error)))
        if int(failed) and not error:
            error = f"process 0 could not lock workdir {workdir}; see its error"
    if error:
        raise WorkdirError(error)
    try:
        yield held
    finally:
        if held is not None:
            _release(held)
