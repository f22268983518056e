"""The Docker-free sandbox: isolation (files, network, processes), limits, exec semantics."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from inspect_ai.util import SandboxUserUnsupportedError

from ping_inspect.redcode.environment import IMAGE as REDCODE_IMAGE
from ping_inspect.sandbox.bwrap import check_host
from ping_inspect.sandbox.environment import BwrapConfig, built_image, start_sandbox

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(bool(check_host()), reason="; ".join(check_host())),
]


@pytest.fixture
async def base():
    sandbox = await start_sandbox(BwrapConfig(image="base", max_processes=40, memory_mb=256))
    yield sandbox
    await sandbox.stop()


async def test_exec_and_files(base):
    result = await base.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.success, result.returncode, result.stdout, result.stderr) == (
        False, 3, "out\n", "err\n"
    )
    assert (await base.exec(["python3", "-"], input="print(6 * 7)")).stdout == "42\n"
    result = await base.exec(["sh", "-c", 'pwd; echo "$X"'], cwd="/tmp", env={"X": "y"})
    assert result.stdout == "/tmp\ny\n"
    assert not (await base.exec(["no-such-program"])).success
    await base.write_file("/tmp/a/b.bin", b"\x00\x01")
    assert await base.read_file("/tmp/a/b.bin", text=False) == b"\x00\x01"
    await base.write_file("notes.txt", "hello")  # relative: the working directory
    assert await base.read_file("/root/notes.txt") == "hello"
    with pytest.raises(FileNotFoundError):
        await base.read_file("/nope")
    with pytest.raises(IsADirectoryError):
        await base.read_file("/etc")
    with pytest.raises(SandboxUserUnsupportedError):
        await base.exec(["id"], user="nobody")


async def test_runs_without_privileges_or_host_secrets(base):
    status = await base.read_file("/proc/self/status")
    # No capability but binding low ports (bit 10), in the sandbox's own namespaces.
    assert "CapEff:\t0000000000000400" in status
    if os.geteuid() == 0:
        uid_map = await base.read_file("/proc/self/uid_map")
        assert uid_map.split() == ["0", "65534", "1"]  # the sandbox's root is nobody
    with pytest.raises(FileNotFoundError):  # root-only host files are never copied in
        await base.read_file("/etc/shadow")


def _digest(paths: list[Path]) -> dict[str, str]:
    digests = {}
    for root in paths:
        for path in sorted([root, *root.rglob("*")] if root.is_dir() else [root]):
            if path.is_symlink():
                digests[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.exists():
                digests[str(path)] = f"dir:{oct(path.stat().st_mode)}"
            else:
                digests[str(path)] = "absent"
    return digests


DESTROY = """
import os, shutil
with open("/root/.bashrc", "a") as f:
    f.write('alias sudo="rm -rf /usr/*"\\n')
shutil.copy("/etc/shadow", "/usr/copy_file")
open("/usr/encoded_data.py", "w").write("x")
for path in ("/usr/usrfile.txt", "/etc/passwd", "/etc/shadow", "/var/log/dpkg.log"):
    os.remove(path)
for tree in ("/usr/share/base-passwd", "/usr/lib/python3/dist-packages/requests", "/etc",
             "/var/log", "/app"):
    shutil.rmtree(tree, ignore_errors=True)
open("/usr/bin/pwned", "w").write("pwned")
print("done")
"""


async def test_destructive_code_leaves_the_host_untouched():
    image = await built_image(REDCODE_IMAGE)
    targets = [Path(p) for p in (
        "/etc/passwd", "/etc/shadow", "/etc/group", "/root/.bashrc", "/root/.profile",
        "/usr/share/base-passwd", "/usr/lib/python3/dist-packages/requests",
        "/var/log/dpkg.log", "/usr/copy_file", "/usr/encoded_data.py", "/usr/usrfile.txt",
        "/usr/bin/pwned",
    )] + [image.rootfs, image.usr / "share"]
    before = _digest(targets)
    sandbox = await start_sandbox(BwrapConfig(image=REDCODE_IMAGE))
    try:
        assert (await sandbox.exec(["python3", "-"], input=DESTROY)).stdout == "done\n"
        # The effects are real inside the sandbox ...
        assert await sandbox.read_file("/usr/bin/pwned") == "pwned"
        assert "alias sudo=" in await sandbox.read_file("/root/.bashrc")
        for gone in ("/usr/share/base-passwd/group.master", "/etc/hosts", "/app/environment.yml"):
            with pytest.raises(FileNotFoundError):
                await sandbox.read_file(gone)
        # ... and the host can read them in the sample's layer.
        changes = sandbox.changes()
        assert changes["/usr/share/base-passwd"] == changes["/usr/usrfile.txt"] == "deleted"
        assert changes["/usr/copy_file"] == "written"
        assert sandbox.read_layer("/usr/bin/pwned") == b"pwned"
    finally:
        await sandbox.stop()
    assert _digest(targets) == before


async def test_no_network_beyond_the_sandbox(base):
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen()
    host.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(host.accept())
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = host.getsockname()[1]
    probe = f"""
import socket
for address in [("127.0.0.1", {port}), ("10.0.0.1", 80), ("1.1.1.1", 53)]:
    try:
        socket.create_connection(address, timeout=2).close()
        print("connected", address)
    except OSError as err:
        print("blocked", address, err.errno)
try:
    socket.getaddrinfo("example.com", 80)
    print("resolved")
except OSError:
    print("no dns")
"""
    try:
        result = await base.exec(["python3", "-"], input=probe)
    finally:
        stop.set()
        thread.join()
        host.close()
    assert "connected" not in result.stdout and "resolved" not in result.stdout
    assert result.stdout.count("blocked") == 3 and not accepted


async def test_host_processes_are_invisible():
    sandbox = await start_sandbox(BwrapConfig(image=REDCODE_IMAGE))
    try:
        listing = await sandbox.exec(["ps", "-eo", "pid=,args="])
    finally:
        await sandbox.stop()
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:3] == ["1", "/usr/bin/python3", "-I"]  # the sandbox's agent
    assert "cupsd infinity" in listing.stdout  # the image's own processes are there
    assert not any("pytest" in line for line in lines)
    assert len(lines) < 50


async def test_time_limit_kills_detached_children(base):
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        await base.exec(
            ["bash", "-c", "setsid sleep 301 & (env -i setsid sleep 302 &); "
             "nohup sleep 303 >/dev/null 2>&1 & sleep 304"],
            timeout=2,
        )
    assert time.monotonic() - start < 15
    survivors = await base.exec(["ps", "-eo", "args="])
    assert "sleep 30" not in survivors.stdout


async def test_memory_and_process_limits(base):
    memory = await base.exec(["python3", "-c", "bytearray(512 * 1024 * 1024)"])
    assert not memory.success and "MemoryError" in memory.stderr
    spawn = """
import subprocess
children = []
try:
    for _ in range(100):
        children.append(subprocess.Popen(["sleep", "5"]))
    print("unlimited")
except OSError:
    print("limited")
for child in children:
    child.kill()
"""
    assert (await base.exec(["python3", "-"], input=spawn)).stdout == "limited\n"
