"""Claims on a shared log folder: which worker runs which cell of a grid.

A claim is a file ``<key>.claim`` in ``<log_dir>/.ping-inspect-claims/``, created with
``os.link`` from a finished temporary file (atomic and exclusive, also on NFS), holding
its owner's host, pid and a random token. The owner touches it every ``heartbeat_s``
seconds; a claim whose owner is dead (same host, no such pid) or whose heartbeat is older
than ``lease_s`` is stale and is taken again. Taking a stale claim happens under an
``flock`` on the folder's ``.takeover.lock``, re-checking the claim there, so that two
workers never both remove a claim (and never remove a fresh one). ``<key>.done`` records
a finished cell. The files do not end in ``.json``/``.eval``: Inspect's log listing and
the report never see them.

Whether a cell's work is finished is Inspect's call (``eval_set`` skips a cell with a
finished log of the same task identity); the claim only keeps two workers off one cell
at the same time.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLAIMS_FOLDER = ".ping-inspect-claims"
DEFAULT_LEASE_S = 60.0


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class Claim:
    """A held claim; its heartbeat runs until ``release``."""

    path: Path
    token: str
    heartbeat_s: float

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def held(self) -> bool:
        """Whether the claim file is still this claim's (not taken as stale)."""
        return (_read(self.path) or {}).get("token") == self.token

    def release(self) -> None:
        """Stop the heartbeat and remove the claim if it is still ours."""
        self._stop.set()
        self._thread.join()
        if self.held():
            self.path.unlink(missing_ok=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                return


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class CellClaims:
    """The claim folder of one log directory."""

    def __init__(self, log_dir: str | Path, lease_s: float = DEFAULT_LEASE_S,
                 heartbeat_s: float | None = None):
        self.folder = Path(log_dir) / CLAIMS_FOLDER
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s or max(lease_s / 4, 0.05)
        self.host = socket.gethostname()

    def claim(self, key: str) -> Claim | None:
        """Claim ``key``; ``None`` when a live worker holds it."""
        path = self.folder / f"{key}.claim"
        token = uuid.uuid4().hex
        if self._create(path, {"host": self.host, "pid": os.getpid(), "token": token,
                               "claimed": time.time()}):
            return Claim(path, token, self.heartbeat_s)
        if self._take_if_stale(path) and self._create(
                path, {"host": self.host, "pid": os.getpid(), "token": token,
                       "claimed": time.time(), "taken_over": True}):
            return Claim(path, token, self.heartbeat_s)
        return None

    def held_by_other(self, key: str) -> bool:
        """Whether a live claim on ``key`` exists."""
        path = self.folder / f"{key}.claim"
        return path.exists() and not self._stale(path)

    def is_done(self, key: str) -> bool:
        """Whether ``key`` was marked finished."""
        return (self.folder / f"{key}.done").is_file()

    def mark_done(self, key: str, **record: Any) -> None:
        """Record ``key`` as finished (atomic)."""
        final = self.folder / f"{key}.done"
        tmp = self.folder / f".{key}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps({"host": self.host, "pid": os.getpid(),
                                   "finished": time.time(), **record}), encoding="utf-8")
        tmp.replace(final)

    def _create(self, path: Path, record: dict[str, Any]) -> bool:
        tmp = self.folder / f".{path.name}.{record['token']}.tmp"
        tmp.write_text(json.dumps(record), encoding="utf-8")
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def _stale(self, path: Path) -> bool:
        record = _read(path)
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False  # released meanwhile: not stale, free
        if age > self.lease_s:
            return True
        return bool(record and record.get("host") == self.host
                    and not _pid_alive(int(record.get("pid", -1))))

    def _take_if_stale(self, path: Path) -> bool:
        """Remove a stale claim (under the takeover lock); whether the key is now free."""
        with self._takeover_lock():
            if not path.exists():
                return True
            if not self._stale(path):
                return False
            path.replace(self.folder / f".{path.stem}.stale-{uuid.uuid4().hex[:8]}")
            return True

    @contextmanager
    def _takeover_lock(self) -> Iterator[None]:
        with open(self.folder / ".takeover.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
