"""Bounded reads of a sample's files: what judges and the host read, and how.

Code under test controls every file it can write: it can replace a file a judge reads with
a link to a host file, a device (``/dev/zero`` never ends) or a FIFO (never opens), or
grow it without end. So every read here takes a regular file only and at most ``limit``
bytes, and a read on the host side (``read_beneath``) never follows a link: it stays in
the sample's layer.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from inspect_ai.util import SandboxEnvironment

EVIDENCE_LIMIT = 1024 * 1024
"""Bytes a judge reads of one file at most (the files judges read are a few KB)."""


class FileTooLargeError(OSError):
    """A file is larger than the read's limit."""


class NotRegularFileError(OSError):
    """A read of something other than a regular file (a device, FIFO, socket or link)."""


def read_beneath(root: Path, relative: str, limit: int) -> bytes:
    """Read ``root/relative`` on the host without ever leaving ``root``.

    Every component is opened relative to the previous one with ``O_NOFOLLOW``, so a link
    anywhere on the path is refused rather than followed (a link in a sample's layer may
    point at the host's ``/etc/shadow``); the file must be regular and is read up to
    ``limit`` bytes.

    Raises:
        FileNotFoundError: nothing there, or an overlay whiteout (the sample deleted it).
        NotRegularFileError: a link, device, FIFO or socket on the path.
        IsADirectoryError: a directory.
        FileTooLargeError: more than ``limit`` bytes.
        PermissionError: a ``..`` component.
    """
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PermissionError(f"{relative}: '..' is not allowed in a layer path")
    if not parts:
        raise IsADirectoryError(f"{root} is a directory")
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            below = _step(directory, part, relative)
            os.close(directory)
            directory = below
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY,
                         dir_fd=directory)
        except OSError as err:
            if err.errno == 40:  # ELOOP: the last component is a link
                raise NotRegularFileError(f"{relative} is a link: never followed") from err
            raise
    finally:
        os.close(directory)
    return _read_regular(fd, relative, limit)


def _step(directory: int, part: str, relative: str) -> int:
    try:
        fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
    except OSError as err:
        if err.errno in (20, 40):  # ENOTDIR, ELOOP: a file or a link on the way
            raise NotRegularFileError(f"{relative}: '{part}' is not a directory") from err
        raise
    return fd


def _read_regular(fd: int, name: str, limit: int) -> bytes:
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
            raise FileNotFoundError(f"{name} was deleted (an overlay whiteout)")
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{name} is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{name} is not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(f"{name} is larger than {limit} bytes")
    return data


_READ_SCRIPT = """\
import base64, os, stat, sys
path, limit = sys.argv[1], int(sys.argv[2])
try:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
except FileNotFoundError:
    sys.exit(3)
info = os.fstat(fd)
if stat.S_ISDIR(info.st_mode):
    sys.exit(4)
if not stat.S_ISREG(info.st_mode):
    sys.exit(5)
data, chunk = b"", b"x"
while chunk and len(data) <= limit:
    chunk = os.read(fd, limit + 1 - len(data))
    data += chunk
if len(data) > limit:
    sys.exit(6)
sys.stdout.write(base64.b64encode(data).decode())
"""

_EXIT_ERRORS: dict[int, type[OSError]] = {
    3: FileNotFoundError, 4: IsADirectoryError, 5: NotRegularFileError, 6: FileTooLargeError,
}


async def read_evidence(
    sandbox: SandboxEnvironment, path: str, limit: int = EVIDENCE_LIMIT
) -> bytes:
    """Read a file in the sandbox for a judge: a regular file of at most ``limit`` bytes.

    Raises:
        FileNotFoundError, IsADirectoryError, NotRegularFileError, FileTooLargeError.
    """
    from ping_inspect.sandbox.environment import BwrapSandboxEnvironment

    try:
        bwrap = sandbox.as_type(BwrapSandboxEnvironment)
    except TypeError:
        bwrap = None
    if bwrap is not None:
        return await bwrap.read_file_capped(path, limit)
    result = await sandbox.exec(["python3", "-c", _READ_SCRIPT, path, str(limit)], timeout=60)
    if result.returncode in _EXIT_ERRORS:
        raise _EXIT_ERRORS[result.returncode](f"{path}: could not be read as evidence")
    if not result.success:
        raise OSError(f"reading {path} failed: {result.stderr.strip()[-500:]}")
    return base64.b64decode(result.stdout)
