"""The sandbox's seccomp filter: no new namespaces, io_uring, userfaultfd, keyrings (N1, N10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sandbox_attacks import MARKS, fenced, run

from ping_inspect.sandbox.seccomp import ARCHITECTURES, DENIED

pytestmark = MARKS

SYSCALLS = """
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(name, number, *args):
    ret = libc.syscall(number, *[ctypes.c_long(a) for a in args])
    code = ctypes.get_errno()
    print(name, ret, errno.errorcode.get(code, code) if ret < 0 else "OK")
params = ctypes.create_string_buffer(120)
call("unshare_user", 272, 0x10000000)
call("unshare_user_ns", 272, 0x10000000 | 0x00020000)
call("unshare_net", 272, 0x40000000)
call("setns", 308, 0, 0)
call("clone_newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)
call("clone3", 435, 0, 0)
call("io_uring_setup", 425, 8, ctypes.addressof(params))
call("userfaultfd", 323, 0)
call("add_key", 248, 0, 0, 0, 0, 0)
call("keyctl", 250, 0, 0)
call("bpf", 321, 0, 0, 0)
call("perf_event_open", 298, 0, 0, -1, -1, 0)
call("fsopen", 430, 0, 0)
call("open_tree", 428, -100, 0, 0)
call("mount", 165, 0, 0, 0, 0, 0)
call("init_module", 175, 0, 0, 0)
call("kexec_load", 246, 0, 0, 0, 0)
call("open_by_handle_at", 304, -100, 0, 0)
call("ptrace_agent", 101, 16, 1, 0, 0)
"""


@pytest.mark.skipif(Path("/proc/sys/kernel").exists() is False, reason="no /proc")
async def test_new_namespaces_and_the_kernels_extra_surface_are_refused():
    async with fenced() as sandbox:
        result = await run(sandbox, SYSCALLS)
    answers = dict(re.findall(r"^(\w+) -?\d+ (\w+)$", result.stdout, re.M))
    assert len(answers) == 19, result.stdout
    assert answers.pop("clone3") == "ENOSYS"
    assert answers == {name: "EPERM" for name in answers}, result.stdout


async def test_unshare_commands_fail_and_ordinary_code_still_runs():
    async with fenced() as sandbox:
        for command in ("unshare -U true", "unshare -r true", "unshare -n true",
                        "unshare -m true", "unshare -p -f true"):
            result = await sandbox.exec(["sh", "-c", command])
            assert result.returncode != 0, command
            assert "Operation not permitted" in result.stderr, (command, result.stderr)
        ordinary = await run(sandbox, (
            "import threading, subprocess, multiprocessing, os\n"
            "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
            "print(subprocess.run(['sh', '-c', 'echo child; (sleep 0 &); wait'],"
            " capture_output=True, text=True).stdout.strip())\n"
            "pid = os.fork()\n"
            "if pid == 0: os._exit(7)\n"
            "print('fork', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"
            "with multiprocessing.Pool(2) as pool: print('pool', sum(pool.map(abs, [-1, -2])))\n"
        ))
    assert ordinary.stdout.split("\n")[1:5] == ["thread", "child", "fork 7", "pool 3"]


HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


@pytest.mark.skipif(not HEADER.exists(), reason="no kernel headers")
def test_the_filters_x86_64_numbers_match_the_kernel_headers():
    numbers = dict(re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text()))
    table = ARCHITECTURES["x86_64"][1]
    assert set(DENIED) <= set(table)
    assert {name: str(n) for name, n in table.items()} == {n: numbers[n] for n in table}


OOM = """
import glob
for path in ["/proc/1/oom_score_adj", "/proc/1/oom_adj", "/proc/self/oom_score_adj",
             *glob.glob("/proc/1/task/*/oom_score_adj")]:
    try:
        with open(path, "w") as f:
            f.write("1000" if "score" in path else "15")
        print("wrote", path)
    except OSError as err:
        print("refused", path, err.errno)
print("tasks", glob.glob("/proc/1/task/*"))
print("agent", open("/proc/1/oom_score_adj").read().strip())
"""


async def test_the_agents_oom_priority_cannot_be_raised_from_inside():
    async with fenced() as sandbox:
        result = await run(sandbox, OOM)
        assert (await sandbox.exec(["echo", "alive"])).stdout == "alive\n"
    assert "wrote /proc/1" not in result.stdout, result.stdout
    assert "refused /proc/1/oom_score_adj" in result.stdout
    assert "tasks []" in result.stdout
    assert "agent 1000" not in result.stdout


async def test_proc_cmdline_is_not_the_hosts():
    host = Path("/proc/cmdline").read_text()
    async with fenced() as sandbox:
        inside = (await sandbox.exec(["cat", "/proc/cmdline"])).stdout
    assert inside and inside != host
