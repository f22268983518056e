"""Sandboxed processes: the agent survives them, time limits end them, nothing is left."""

from __future__ import annotations

import time

import pytest
from sandbox_attacks import MARKS, SMALL, fenced, run

from ping_inspect.sandbox.fence import process_tree

pytestmark = MARKS


async def test_code_cannot_kill_its_sandboxs_agent():
    async with fenced() as sandbox:
        for signal in ("TERM", "INT", "HUP", "QUIT", "USR1", "KILL", "STOP"):
            result = await sandbox.exec(["sh", "-c", f"kill -{signal} 1; echo sent {signal}"])
            assert result.stdout == f"sent {signal}\n"
        await sandbox.exec(["sh", "-c", "kill -9 -1"])
        assert (await sandbox.exec(["echo", "alive"])).stdout == "alive\n"


PTRACE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print("attach", libc.ptrace(16, 1, 0, 0), ctypes.get_errno())  # PTRACE_ATTACH to the agent
for path in ("/proc/1/fd/0", "/proc/1/environ", "/proc/1/mem"):
    try:
        open(path, "rb").read(1)
        print("opened", path)
    except OSError as err:
        print("refused", path, err.errno)
"""


async def test_ptrace_and_the_agents_channel_are_out_of_reach():
    async with fenced() as sandbox:
        result = await run(sandbox, PTRACE)
    assert "attach -1" in result.stdout and "opened" not in result.stdout
    assert result.stdout.count("refused") == 3


async def test_time_limit_ends_processes_that_ignore_sigterm_and_double_forked_daemons():
    async with fenced() as sandbox:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            await sandbox.exec(
                ["bash", "-c", "trap '' TERM; (trap '' TERM; setsid sleep 401 &) ; "
                 "(setsid bash -c 'trap \"\" TERM HUP; exec -a daemon402 sleep 402' &); "
                 "nohup sleep 403 >/dev/null 2>&1 & sleep 404"],
                timeout=2,
            )
        assert time.monotonic() - start < 15
        listing = await sandbox.exec(["ps", "-eo", "args="])
        assert "sleep 40" not in listing.stdout and "daemon402" not in listing.stdout
        started = _started(process_tree(sandbox.agent.process.pid))
    assert not _survivors(started)


async def test_daemons_started_by_a_sample_end_with_it():
    async with fenced() as sandbox:
        await sandbox.exec(["bash", "-c", "(setsid sleep 600 &); (nohup sleep 601 &) ; true"])
        started = _started(process_tree(sandbox.agent.process.pid))
        assert len(started) >= 4  # bubblewrap, the agent, the two daemons
    assert not _survivors(started)


def _started(pids: list[int]) -> dict[int, str]:
    """Host pid -> start time (a pid reused later has another)."""
    return {pid: _start_time(pid) for pid in pids}


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return ""


def _survivors(started: dict[int, str]) -> list[int]:
    """Processes of ``started`` still running (a zombie, awaiting its reaper, holds nothing)."""
    return [pid for pid, since in started.items()
            if since and _start_time(pid) == since and _state(pid) != "Z"]


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


async def test_a_replaced_prlimit_in_the_layer_neither_runs_nor_lifts_the_limits():
    async with fenced(max_file_mb=1) as sandbox:
        replaced = await sandbox.exec(["sh", "-c", (
            "rm -f /usr/bin/prlimit && printf '#!/bin/sh\\necho HIJACKED\\nshift $#\\n' "
            "> /usr/bin/prlimit && chmod +x /usr/bin/prlimit && echo replaced")])
        assert replaced.stdout == "replaced\n", replaced.stderr
        limits = await sandbox.exec(["sh", "-c", "ulimit -f; ulimit -v; "
                                     "head -c 3000000 /dev/zero > /tmp/big; ls -l /tmp/big"])
    assert "HIJACKED" not in limits.stdout
    lines = limits.stdout.split()
    assert lines[0] == str(1024 * 1024 // 512) and lines[1] == str(SMALL["memory_mb"] * 1024)
    assert " 1048576 " in limits.stdout  # the write stopped at the 1 MB file limit


async def test_a_daemon_forging_an_exec_marker_does_not_survive_a_timeout():
    forged = ("import os, time\n"
              "if os.fork() == 0:\n"
              "    os.setsid()\n"
              "    if os.fork() == 0:\n"
              "        env = {'PING_SANDBOX_EXEC': 'forged'}\n"
              "        os.execve('/bin/sleep', ['sleep', '407'], env)\n"
              "    os._exit(0)\n"
              "time.sleep(100)\n")
    async with fenced() as sandbox:
        with pytest.raises(TimeoutError):
            await sandbox.exec(["python3", "-c", forged], timeout=3)
        listing = await sandbox.exec(["ps", "-eo", "args="])
        assert "sleep 407" not in listing.stdout, listing.stdout
