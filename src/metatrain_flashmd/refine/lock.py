"""One refine at a time in a refine directory.

Two refines writing the same rounds would mix their files, so a refine holds
``DIR/refine.lock`` (JSON: ``pid``, ``host``, ``started``) while it runs and
removes it when it stops, however it stops. A refine that finds the lock of a
process that no longer runs on this machine (killed, or the machine restarted)
takes it over and says so; one held by a running process, or by another
machine, is refused with the holder named.

A refine stopped by ``SIGKILL`` leaves its ``mtt train`` child running, which a
resumed refine would run again beside it in the same round folder. So each
``mtt`` child is recorded in ``FOLDER/mtt.pid`` (same fields) while it runs, and
a new one is refused in a folder whose recorded child still runs.
"""

import contextlib
import datetime
import json
import os
import socket
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

from metatrain_flashmd.refine.errors import RefineError, RefineInputError


LOCK_NAME = "refine.lock"
CHILD_NAME = "mtt.pid"


def _holder(path: Path) -> Optional[Dict[str, Any]]:
    """The lock's contents (``{}`` when unreadable), ``None`` when there is none."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _running_here(holder: Dict[str, Any]) -> bool:
    """Whether the lock's process runs on this machine (``True`` when that cannot
    be told: another machine, or an unreadable lock)."""
    if holder.get("host") != socket.gethostname() or "pid" not in holder:
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def _record(pid: int) -> Dict[str, Any]:
    """What a lock or a child record says about process ``pid``."""
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def _take(path: Path) -> bool:
    """Create the lock atomically; ``False`` when it exists."""
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as stream:
        json.dump(_record(os.getpid()), stream)
    return True


@contextlib.contextmanager
def directory_lock(directory: Path, progress: bool = True) -> Iterator[None]:
    """Hold ``directory/refine.lock`` for the duration of the block.

    :raises RefineInputError: when another refine holds it (named, with how to
        clear a lock left by a refine that no longer runs elsewhere).
    """
    path = Path(directory) / LOCK_NAME
    while not _take(path):
        holder = _holder(path)
        if holder is None:
            continue  # released meanwhile
        if _running_here(holder):
            raise RefineInputError(
                directory,
                f"another refine works in this directory (process "
                f"{holder.get('pid', '?')} on {holder.get('host', '?')}, since "
                f"{holder.get('started', '?')}); wait for it to stop, or, if it "
                f"no longer runs, remove {path}",
            )
        if progress:
            print(
                f"refine: {path} was left by process {holder.get('pid')}, which "
                "no longer runs; taking it over",
                flush=True,
            )
        path.unlink(missing_ok=True)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def refuse_running_child(folder: Path) -> None:
    """Refuse to start an ``mtt`` child in ``folder`` while the one recorded
    there (by an earlier refine, killed meanwhile) still runs.

    :raises RefineError: naming the process and how to stop it.
    """
    path = Path(folder) / CHILD_NAME
    holder = _holder(path)
    if holder is None:
        return
    if holder and not _running_here(holder):
        path.unlink(missing_ok=True)
        return
    raise RefineError(
        f"{folder}: an mtt process started there by an earlier refine still runs "
        f"(process {holder.get('pid', '?')} on {holder.get('host', '?')}, since "
        f"{holder.get('started', '?')}); stop it (kill {holder.get('pid', 'PID')}) "
        f"or let it finish, or, if it no longer runs, remove {path}"
    )


@contextlib.contextmanager
def child_record(folder: Path, pid: int) -> Iterator[None]:
    """Record ``mtt`` child ``pid`` in ``folder/mtt.pid`` during the block."""
    path = Path(folder) / CHILD_NAME
    path.write_text(json.dumps(_record(pid)))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
