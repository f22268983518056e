"""Fences around a whole sample, on the host: its run directory, cgroup, layer and watchdog.

Per-process limits (``prlimit``) do not bound a sample: four processes of 2 GB each, a
``/dev/shm`` and a writable layer on the host's disk add up. So every sample gets:

- a **cgroup** (v1 ``memory`` + ``pids``, or v2) holding bubblewrap and everything it
  starts, with the sample's total memory (processes, ``/dev/shm`` and layer pages alike)
  and process count; the kernel enforces them (an out-of-memory kill, a failed fork);
- a **layer of bounded size**: its writable layer is a ``tmpfs`` of ``layer_mb`` mounted
  on the host (a full layer fails writes with ``ENOSPC``);
- a **watchdog** for hosts where these are unavailable (not root, a read-only cgroupfs):
  it sums the memory and processes of the sandbox's process tree and the layer's size a
  few times a second and ends the sample when one is exceeded (a bound checked by polling,
  so a fast burst can overshoot it briefly; the per-process limits still hold).

Everything a process creates lives under one **run directory** (``ping-sandbox-run-*``
in the temporary directory) locked with ``flock`` while the process lives: the next
process to start a sandbox unmounts and deletes the run directories (and cgroups) of
processes that died without cleaning up.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

RUN_PREFIX = "ping-sandbox-run-"
DEAD_PREFIX = "ping-sandbox-dead-"
"""A run directory being deleted (renamed first, so that a kill mid-deletion is seen)."""
CGROUP_PREFIX = "ping-sandbox-"
MIB = 1024 * 1024


# ---------------------------------------------------------------- the run directory


class RunDirectory:
    """The directory of this process for images, layers and the sandbox's own files."""

    def __init__(self) -> None:
        clean_stale_runs()
        self.root = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
        self.root.chmod(0o755)  # the sandbox's user must reach images and the agent
        self.name = self.root.name[len(RUN_PREFIX):]
        self._lock = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._layers = 0
        self._counter = threading.Lock()
        atexit.register(self.remove)

    def new_layer_dir(self) -> Path:
        """Return a fresh, empty directory for one sample's layer."""
        with self._counter:
            self._layers += 1
            number = self._layers
        path = self.root / "layers" / str(number)
        path.mkdir(parents=True)
        path.chmod(0o755)
        path.parent.chmod(0o755)
        return path

    def cgroup_name(self, number: int) -> str:
        """Name of a sample's cgroup (tied to this run, for stale clean-up)."""
        return f"{CGROUP_PREFIX}{self.name}-{number}"

    def remove(self) -> None:
        """Unmount and delete everything of this run (at exit)."""
        remove_run(self.root, self.name)


_run: RunDirectory | None = None
_run_lock = threading.Lock()


def run_directory() -> RunDirectory:
    """Return this process's run directory (created, after a stale clean-up, on first use)."""
    global _run
    with _run_lock:
        if _run is None:
            _run = RunDirectory()
        return _run


def clean_stale_runs(temp: Path | None = None) -> list[Path]:
    """Remove the run directories (mounts, cgroups) of processes that are gone.

    A run is stale when nobody holds its lock; a run directory without a lock file is
    never touched (it is being created, or is not ours).
    """
    removed = remove_tombstones(temp)
    for path in sorted(Path(temp or tempfile.gettempdir()).glob(f"{RUN_PREFIX}*")):
        lock = path / "lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # alive
        try:
            remove_run(path, path.name[len(RUN_PREFIX):])
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def remove_run(root: Path, name: str) -> None:
    """Unmount the layers under ``root``, remove its cgroups, delete it.

    The directory is renamed to a ``ping-sandbox-dead-*`` tombstone before any file goes:
    a process killed mid-deletion leaves either a run directory with its lock (stale, so
    removed again) or a tombstone (removed at the next start), never a half-deleted run
    directory that nothing claims.
    """
    for mount in reversed(mounts_under(root)):
        unmount(mount)
    for cgroup_dir in _cgroup_parents():
        for stale in cgroup_dir.glob(f"{CGROUP_PREFIX}{name}-*"):
            _remove_cgroup_dir(stale)
    tombstone = root.with_name(f"{DEAD_PREFIX}{name}")
    try:
        os.rename(root, tombstone)
    except FileNotFoundError:
        return
    except OSError:
        tombstone = root  # cannot rename (busy): delete in place
    remove_tree(tombstone)


def remove_tombstones(temp: Path | None = None) -> list[Path]:
    """Delete what runs killed during their clean-up left (``ping-sandbox-dead-*``)."""
    removed = []
    for path in sorted(Path(temp or tempfile.gettempdir()).glob(f"{DEAD_PREFIX}*")):
        for mount in reversed(mounts_under(path)):
            unmount(mount)
        remove_tree(path)
        removed.append(path)
    return removed


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below ``root`` (from ``/proc/self/mountinfo``), outermost first."""
    prefix = str(root).rstrip("/")
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts))


def unmount(path: Path) -> None:
    """Detach a mount (lazily: a dying sandbox may still hold it)."""
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def remove_tree(path: Path) -> None:
    """Delete a layer or image, including overlayfs work directories left unreadable."""
    if not Path(path).exists():
        return
    for parent, dirs, _ in os.walk(path):  # top-down: open each directory before entering
        for name in dirs:
            full = os.path.join(parent, name)
            if not os.path.islink(full):
                try:
                    os.chmod(full, 0o700)
                except OSError:
                    pass
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- cgroups


@dataclass(frozen=True)
class CgroupKind:
    """Where this host lets us make a sample's cgroup: v1 (two hierarchies) or v2."""

    version: int
    parents: dict[str, Path]
    """Controller (``memory``, ``pids``; ``unified`` for v2) -> the directory to create in."""


def _mount_points() -> list[tuple[str, str, set[str]]]:
    """(mount point, filesystem type, super options) of every cgroup mount."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        head, _, tail = line.partition(" - ")
        fields = tail.split()
        if len(fields) >= 3 and fields[0] in ("cgroup", "cgroup2"):
            found.append((head.split()[4], fields[0], set(fields[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """Controller -> this process's cgroup path (``""`` is the v2 one)."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def detect_cgroups() -> CgroupKind | None:
    """Return where sample cgroups can be made here, or None (then the watchdog fences)."""
    if os.geteuid() != 0:
        return None
    try:
        mounts, own = _mount_points(), _own_cgroups()
    except OSError:
        return None
    v1 = {}
    for point, kind, options in mounts:
        for controller in ("memory", "pids"):
            if kind == "cgroup" and controller in options and controller in own:
                v1[controller] = Path(point) / own[controller].lstrip("/")
    if set(v1) == {"memory", "pids"} and all(os.access(p, os.W_OK) for p in v1.values()):
        return CgroupKind(1, v1)
    for point, kind, _ in mounts:
        if kind != "cgroup2" or "" not in own:
            continue
        parent = Path(point) / own[""].lstrip("/")
        if _v2_delegates(parent):
            return CgroupKind(2, {"unified": parent})
    return None


def _v2_delegates(parent: Path) -> bool:
    """Whether ``parent`` can give children memory and pids controllers."""
    try:
        available = (parent / "cgroup.controllers").read_text().split()
        if not {"memory", "pids"} <= set(available):
            return False
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(enabled):
            (parent / "cgroup.subtree_control").write_text("+memory +pids")
        return True
    except OSError:
        return False


def _cgroup_parents() -> list[Path]:
    kind = detect_cgroups()
    return list(kind.parents.values()) if kind else []


def _remove_cgroup_dir(path: Path) -> None:
    """Kill what is left in a cgroup and remove it."""
    for _ in range(50):
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            threading.Event().wait(0.05)


@dataclass
class SampleCgroup:
    """One sample's cgroup (one directory per v1 hierarchy, or one v2 directory)."""

    kind: CgroupKind
    dirs: dict[str, Path] = field(default_factory=dict)
    """Controller (as in ``kind.parents``) -> this sample's directory."""

    @classmethod
    def create(cls, kind: CgroupKind, name: str, memory_mb: int, processes: int) -> SampleCgroup:
        """Make the cgroup and set its limits (swap counts as memory where the host has it)."""
        cgroup = cls(kind)
        try:
            for controller, parent in kind.parents.items():
                path = parent / name
                path.mkdir()
                cgroup.dirs[controller] = path
            memory = str(memory_mb * MIB)
            if kind.version == 1:
                cgroup._write("memory", "memory.limit_in_bytes", memory)
                cgroup._write("memory", "memory.memsw.limit_in_bytes", memory, optional=True)
                cgroup._write("pids", "pids.max", str(processes))
            else:
                cgroup._write("unified", "memory.max", memory)
                cgroup._write("unified", "memory.swap.max", "0", optional=True)
                cgroup._write("unified", "pids.max", str(processes))
        except BaseException:
            cgroup.remove()
            raise
        return cgroup

    def _dir(self, controller: str) -> Path:
        return self.dirs[controller]

    def _write(self, controller: str, name: str, value: str, optional: bool = False) -> None:
        try:
            (self._dir(controller) / name).write_text(value)
        except OSError:
            if not optional:
                raise

    def procs_files(self) -> list[Path]:
        """The ``cgroup.procs`` files a process writes its pid to, to join."""
        return [path / "cgroup.procs" for path in self.dirs.values()]

    def counters(self) -> dict[str, int]:
        """Out-of-memory kills and refused forks so far."""
        memory = "memory" if self.kind.version == 1 else "unified"
        pids = "pids" if self.kind.version == 1 else "unified"
        events = "memory.oom_control" if self.kind.version == 1 else "memory.events"
        return {
            "oom_kills": _field(self._dir(memory) / events, "oom_kill"),
            "forks_refused": _field(self._dir(pids) / "pids.events", "max"),
        }

    def remove(self) -> None:
        """Kill anything left in the cgroup and delete it."""
        for path in self.dirs.values():
            _remove_cgroup_dir(path)
        self.dirs = {}


def _field(path: Path, name: str) -> int:
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


# ---------------------------------------------------------------- the bounded layer


def mount_layer(path: Path, size_mb: int) -> bool:
    """Mount a ``tmpfs`` of ``size_mb`` on ``path`` (root only); False where it cannot."""
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755,nosuid,nodev",
         "ping-sandbox-layer", str(path)],
        capture_output=True,
        timeout=30,
    )
    return done.returncode == 0


def tree_size(path: Path) -> int:
    """Bytes used on disk under ``path`` (never following a link)."""
    total = 0
    for parent, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_blocks * 512
            except OSError:
                pass
    return total


def layer_full(path: Path) -> bool:
    """Whether a mounted layer has (almost) no space left."""
    try:
        info = os.statvfs(path)
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < 64 * 1024


# ---------------------------------------------------------------- the watchdog's view


def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and all its descendants (orphans in a PID namespace stay below its init)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(text[text.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    tree, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def resident_bytes(pids: list[int]) -> int:
    """Anonymous resident memory of ``pids`` together.

    Resident minus file-backed and shared pages (``statm``): the libraries every process
    maps are not counted once per process; ``/dev/shm`` has its own bound.
    """
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                fields = f.read().split()
            total += (int(fields[1]) - int(fields[2])) * page
        except (OSError, ValueError, IndexError):
            pass
    return total
