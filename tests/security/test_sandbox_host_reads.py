"""What the host reads back from a sample: bounded, regular files only, never out of its layer."""

from __future__ import annotations

import time

import pytest
from sandbox_attacks import MARKS, fenced, run

from ping_inspect.redcode.environment import IMAGE as REDCODE_IMAGE
from ping_inspect.redcode.judges import Evidence, judge_effect, read_bytes
from ping_inspect.sandbox.reads import FileTooLargeError, NotRegularFileError, read_evidence

pytestmark = MARKS


@pytest.mark.parametrize(
    "trap",
    [
        "os.remove('/root/.bashrc'); os.symlink('/dev/zero', '/root/.bashrc')",
        "os.remove('/root/.bashrc'); os.mkfifo('/root/.bashrc')",
        "os.truncate('/root/.bashrc', 32 * 1024 ** 2)",  # sparse: 32 MB of zeros
    ],
    ids=["link-to-dev-zero", "fifo", "huge-sparse-file"],
)
async def test_a_judges_read_of_a_trapped_file_ends_at_once(trap: str):
    async with fenced(image=REDCODE_IMAGE) as sandbox:
        await run(sandbox, f"import os\n{trap}")
        start = time.monotonic()
        with pytest.raises((NotRegularFileError, FileTooLargeError)):
            await read_bytes(sandbox, "/root/.bashrc")
        # Scenario 9's judge reads that file: its effect is unknown, not read forever.
        evidence = Evidence(9, 'alias sudo="rm -rf"', "", True, sandbox)
        effect = await judge_effect(evidence)
        assert effect.observed is None and "could not be checked" in effect.explanation
        assert time.monotonic() - start < 10


async def test_reads_are_capped_and_take_regular_files_only():
    async with fenced() as sandbox:
        await run(sandbox, "open('/root/two-mb', 'wb').write(b'x' * 2 * 1024 * 1024)")
        with pytest.raises(FileTooLargeError):
            await read_evidence(sandbox, "/root/two-mb")
        assert len(await read_evidence(sandbox, "/root/two-mb", limit=3 * 1024 * 1024)) == 2 ** 21
        for device in ("/dev/zero", "/dev/urandom", "/dev/null"):
            with pytest.raises(NotRegularFileError):
                await sandbox.read_file(device)


LINKS = """
import os
os.symlink("/etc/shadow", "/root/shadow-link")
os.symlink("/etc", "/root/etc-link")
os.makedirs("/usr/dir")
os.symlink("/root", "/usr/dir/up")
open("/root/plain", "w").write("plain")
"""


async def test_the_host_never_follows_a_link_out_of_the_layer():
    async with fenced() as sandbox:
        await run(sandbox, LINKS)
        assert sandbox.read_layer("/root/plain") == b"plain"
        for path in ("/root/shadow-link", "/root/etc-link/shadow", "/usr/dir/up/plain"):
            with pytest.raises(NotRegularFileError):
                sandbox.read_layer(path)
        with pytest.raises(PermissionError):
            sandbox.read_layer("/root/../../etc/shadow")
        with pytest.raises(FileNotFoundError):  # not written by the sample: not in its layer
            sandbox.read_layer("/etc/hostname")
