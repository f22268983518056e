"""Bombs against a sample's bounds: memory, processes, /dev/shm and layer, per sample."""

from __future__ import annotations

import pytest
from inspect_ai.util._sandbox.environment import SandboxUnavailableError
from sandbox_attacks import MARKS, fenced, run

pytestmark = MARKS

MIB = 1024 * 1024

# Six processes of 100 MB each: every one is within the per-process limit, together they
# are over the sample's 256 MB.
MEMORY_BOMB = """
import os, time
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(100 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(1)
        os._exit(0)
    children.append(pid)
print("killed", sum(os.waitpid(pid, 0)[1] & 0x7f == 9 for pid in children))
"""


async def test_memory_bomb_is_bounded_for_the_whole_sample():
    async with fenced() as sandbox:
        if sandbox.fence.cgroup is None:
            pytest.skip("no cgroup here: the watchdog test covers this host")
        result = await run(sandbox, MEMORY_BOMB)
        assert "killed 0" not in result.stdout
        assert "reached its memory limit (256 MB" in result.stderr
        peak = sandbox.fence.cgroup.dirs
        usage = (peak["memory"] / "memory.max_usage_in_bytes" if "memory" in peak
                 else peak["unified"] / "memory.peak")
        assert int(usage.read_text()) <= 256 * MIB
        assert (await sandbox.exec(["echo", "next"])).stdout == "next\n"


async def test_fork_bomb_is_bounded_and_the_sandbox_recovers():
    async with fenced() as sandbox:
        # The bomb fills the process limit, which the agent's own threads share: the
        # agent must keep answering, and the command's time limit ends the bomb.
        with pytest.raises(TimeoutError) as limit:
            await sandbox.exec(["bash", "-c", "b() { b | b & }; b; sleep 30"], timeout=3)
        if sandbox.fence.cgroup is not None:
            assert "reached its process limit (64)" in str(limit.value)
        assert (await sandbox.exec(["echo", "next"])).stdout == "next\n"


async def test_dev_shm_and_the_layer_have_bounded_sizes():
    async with fenced() as sandbox:
        shm = await run(sandbox, "open('/dev/shm/x', 'wb').write(b'0' * (64 * 1024 * 1024))")
        assert "No space left on device" in shm.stderr
        layer = await sandbox.exec(
            ["sh", "-c", "for i in 1 2 3 4; do head -c 30000000 /dev/zero > /root/f$i; done"]
        )
        assert "No space left on device" in layer.stderr
        size = sum(f.stat().st_blocks * 512 for f in sandbox.layer.root.rglob("*") if f.is_file())
        assert size <= 64 * MIB + MIB
        if sandbox.fence.layer_mounted:
            assert "writable layer (64 MB) is full" in layer.stderr


async def test_watchdog_ends_a_sample_over_its_memory_with_a_clear_error():
    async with fenced(fence="watchdog") as sandbox:
        with pytest.raises(SandboxUnavailableError, match="used more than 256 MB"):
            await sandbox.exec(["python3", "-c", MEMORY_BOMB.replace("time.sleep(1)",
                                                                     "time.sleep(10)")])


async def test_without_a_cgroup_processes_stay_bounded():
    async with fenced(fence="watchdog", max_processes=100, memory_mb=1024) as sandbox:
        spawn = """
import subprocess
started = []
try:
    for _ in range(150):
        started.append(subprocess.Popen(["sleep", "5"]))
except OSError:
    pass
print("started", len(started))
"""
        result = await run(sandbox, spawn)
        started = int(result.stdout.split()[-1])
        assert started < 100
        assert (await sandbox.exec(["echo", "next"])).stdout == "next\n"
