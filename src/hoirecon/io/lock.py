"""One writer per output: a lock file beside (or inside) every output a command writes.

The lock file records its holder (pid, host, command, start time) as JSON, and the holder keeps
an exclusive ``flock`` on it while it works, so the kernel releases the lock of a process that
dies however it dies. A second writer is refused with :class:`OutputLockedError` naming the
holder. A lock file left behind by a dead process on this host (its ``flock`` free, its pid
gone) is stale: it is taken over with a warning. A lock recorded by another host is never taken
over (its process cannot be checked from here); the message says how to remove it.

``flock`` is the standard POSIX advisory lock (``fcntl``); where it is missing the pid check
alone decides.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

log = logging.getLogger(__name__)

FOLDER_LOCK_NAME = ".hoirecon.lock"
"""Name of the lock file inside an output folder."""
_ATTEMPTS = 5


class OutputLockedError(RuntimeError):
    """Another process is writing the same output; the message names it and the lock file."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock."""

    pid: int
    host: str
    command: str = ""
    started: str = ""

    def describe(self) -> str:
        """``pid 123 on host h (hoirecon fit, since 2025-01-01 12:00:00)``."""
        extra = ", ".join(t for t in (self.command, f"since {self.started}" if self.started else "") if t)
        return f"pid {self.pid} on host {self.host}" + (f" ({extra})" if extra else "")


def lock_path(target: str | os.PathLike[str], folder: bool) -> Path:
    """The lock file of an output: ``<folder>/.hoirecon.lock`` or ``<file>.lock``."""
    target = Path(target)
    return target / FOLDER_LOCK_NAME if folder else target.with_name(target.name + ".lock")


def _this_host() -> str:
    return socket.gethostname()


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _parse(text: str) -> LockHolder | None:
    try:
        data = json.loads(text)
        return LockHolder(int(data["pid"]), str(data["host"]), str(data.get("command", "")),
                          str(data.get("started", "")))
    except (ValueError, KeyError, TypeError):
        return None


def read_holder(path: str | os.PathLike[str]) -> LockHolder | None:
    """The holder recorded in a lock file (None when the file is missing, empty or garbled)."""
    try:
        return _parse(Path(path).read_text())
    except OSError:
        return None


def _refusal(path: Path, holder: LockHolder | None, target: str) -> OutputLockedError:
    who = holder.describe() if holder is not None else "another process"
    return OutputLockedError(f"{target} is being written by {who}; lock file {path}. Wait for that run "
                             "to finish or choose another output")


def _try_flock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_linked(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (a releasing holder unlinks it)."""
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _check_previous(path: Path, holder: LockHolder | None, target: str) -> None:
    """Refuse a recorded holder that may still run; log the take-over of a stale one."""
    if holder is None or holder.pid == os.getpid() and holder.host == _this_host():
        return
    if holder.host != _this_host():
        raise OutputLockedError(f"{target}: lock file {path} is held by {holder.describe()}, another "
                                "host, which cannot be checked from here; if that run is gone, delete the lock file")
    if fcntl is None and _alive(holder.pid):
        raise _refusal(path, holder, target)
    state = "no longer running" if not _alive(holder.pid) else "no longer holding it"
    log.warning("%s: taking over the stale lock of %s (%s)", path, holder.describe(), state)


def _write_holder(fd: int, command: str) -> None:
    me = LockHolder(os.getpid(), _this_host(), command, time.strftime("%Y-%m-%d %H:%M:%S"))
    data = (json.dumps(asdict(me)) + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def acquire(path: Path, target: str, command: str) -> int:
    """Take the lock file ``path`` for ``target``; returns the open descriptor that holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_flock(fd):
            os.close(fd)
            raise _refusal(path, read_holder(path), target)
        if not _still_linked(fd, path):  # released and removed between our open and flock
            os.close(fd)
            continue
        try:
            _check_previous(path, read_holder(path), target)
            _write_holder(fd, command)
        except BaseException:
            os.close(fd)
            raise
        return fd
    raise OutputLockedError(f"{target}: could not take lock file {path} (it keeps changing hands)")


def release(path: Path, fd: int) -> None:
    """Remove the lock file (if it is still ours) and drop the lock."""
    try:
        if _still_linked(fd, path):
            path.unlink()
    finally:
        os.close(fd)


@contextmanager
def output_lock(target: str | os.PathLike[str], folder: bool, command: str | None = None) -> Iterator[Path]:
    """Hold the lock of output ``target`` (a folder, or a file) for the duration of the block.

    Yields the lock file's path. Raises :class:`OutputLockedError` when another live process
    holds it. ``command`` is recorded for the message a second writer gets (default: this
    process's command line).
    """
    path = lock_path(target, folder)
    command = command if command is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:3]])
    fd = acquire(path, str(target), command)
    try:
        yield path
    finally:
        release(path, fd)
