"""Shared pieces of the sandbox's security tests: a small fenced sandbox, host checksums."""

from __future__ import annotations

import hashlib
import os
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ping_inspect.sandbox.bwrap import check_host
from ping_inspect.sandbox.environment import BwrapConfig, BwrapSandboxEnvironment, start_sandbox

_problems = check_host()
MARKS = [
    pytest.mark.security,
    pytest.mark.sandbox,
    pytest.mark.skipif(bool(_problems), reason="; ".join(_problems)),
]
"""Every sandbox security test: the ``security`` marker, skipped where bwrap cannot run."""

SMALL = {"memory_mb": 256, "max_processes": 64, "shm_mb": 16, "layer_mb": 64,
         "max_file_mb": 64, "exec_timeout": 20}
"""Limits small enough that every bomb ends in a few seconds."""

WORK_TREE = Path(__file__).resolve().parents[2]
ATTEMPTED = "ATTEMPTED"
"""What an attack prints before it tries, so that a test knows it ran (the request counted)."""


@asynccontextmanager
async def fenced(image: str = "base", **changes: object):
    """A sandbox with ``SMALL`` limits (``changes`` override), stopped afterwards."""
    sandbox = await start_sandbox(BwrapConfig(image=image, **{**SMALL, **changes}))
    try:
        yield sandbox
    finally:
        await sandbox.stop()


async def run(sandbox: BwrapSandboxEnvironment, code: str, timeout: int = 20):
    """Run Python ``code`` in the sandbox; assert that it started (it prints ATTEMPTED)."""
    result = await sandbox.exec(["python3", "-c", f"print({ATTEMPTED!r}, flush=True)\n{code}"],
                                timeout=timeout)
    assert result.stdout.startswith(ATTEMPTED), (result.stdout[:500], result.stderr[-2000:])
    return result


def host_checksums(paths: list[Path]) -> dict[str, str]:
    """Digest of every file, link and directory under ``paths`` (links never followed)."""
    digests: dict[str, str] = {}
    for root in paths:
        entries = [root]
        if root.is_dir() and not root.is_symlink():
            for parent, dirs, files in os.walk(root):
                dirs[:] = [d for d in dirs if d not in (".git", ".venv", "__pycache__")]
                entries += [Path(parent) / name for name in dirs + files]
        for path in sorted(entries):
            digests[str(path)] = _digest(path)
    return digests


def _digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + os.readlink(path)
    if path.is_file():
        info = path.stat()
        if info.st_size > 256 * 1024:  # large binaries: any write changes size or ctime
            return f"file:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        return f"dir:{oct(path.stat().st_mode)}"
    return "absent" if not path.exists() else "other"


def watched_host_paths() -> list[Path]:
    """What sandboxed code aims at on the host: system files, root's home, the work tree."""
    paths = [Path("/etc"), Path("/usr/bin"), Path("/usr/local/bin"), Path("/root/.bashrc"),
             Path("/root/.profile"), Path("/usr/usrfile.txt"), Path("/usr/pwned"),
             WORK_TREE / "ping_inspect" / "sandbox", WORK_TREE / "pyproject.toml",
             WORK_TREE / "pwned"]
    return paths
