"""Sandboxed code writes everywhere it should not: the host's files stay as they were."""

from __future__ import annotations

from sandbox_attacks import MARKS, WORK_TREE, fenced, host_checksums, run, watched_host_paths

pytestmark = MARKS

WRITES = f"""
import os
targets = ["/usr/pwned", "/usr/bin/pwned", "/etc/passwd", "/etc/pwned", "/root/.bashrc",
           "{WORK_TREE}/pwned", "{WORK_TREE}/pyproject.toml", "/proc/1/root/etc/pwned"]
for path in targets:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            f.write("pwned\\n")
        print("wrote", path)
    except OSError as err:
        print("refused", path, err.errno)
"""


async def test_writes_to_system_files_home_and_work_tree_stay_in_the_layer():
    before = host_checksums(watched_host_paths())
    async with fenced() as sandbox:
        result = await run(sandbox, WRITES)
        # Inside they succeed (the sandbox is a container-like root) ...
        assert "wrote /usr/pwned" in result.stdout and "wrote /etc/passwd" in result.stdout
        assert f"wrote {WORK_TREE}/pwned" in result.stdout
        # ... and land in the sample's layer only.
        assert sandbox.changes()["/usr/pwned"] == "written"
    assert host_checksums(watched_host_paths()) == before


REMOUNT_AND_DEVICES = """
import subprocess
for cmd in (["mount", "-o", "remount,rw", "/usr"], ["mount", "-t", "tmpfs", "x", "/mnt"],
            ["mount", "--bind", "/", "/mnt"], ["mknod", "/tmp/sda", "b", "8", "0"],
            ["mknod", "/tmp/mem", "c", "1", "1"], ["chroot", "/", "true"],
            ["unshare", "-m", "true"]):
    done = subprocess.run(cmd, capture_output=True, text=True)
    print("ok" if done.returncode == 0 else "refused", " ".join(cmd))
"""


async def test_remount_mknod_chroot_and_namespaces_are_refused():
    before = host_checksums(watched_host_paths())
    async with fenced() as sandbox:
        result = await run(sandbox, REMOUNT_AND_DEVICES)
    lines = result.stdout.splitlines()[1:]
    assert len(lines) == 7 and all(line.startswith("refused") for line in lines), lines
    assert host_checksums(watched_host_paths()) == before


ODD_NAMES = r"""
import os
names = ["new\nline", "tab\there", "-rf", "back\\slash", " space ", "*", "$(reboot)",
         "a" * 255, "dots..", os.fsdecode(b"bad\xff\xfebytes"), "emoji\u2603"]
for name in names:
    for folder in ("/root", "/usr"):
        with open(os.path.join(folder, name), "w") as f:
            f.write("x")
os.symlink("/etc/shadow", "/root/-link\nto shadow")
print(len(os.listdir("/root")))
"""


async def test_odd_file_names_are_listed_and_removed_by_the_host():
    async with fenced() as sandbox:
        await run(sandbox, ODD_NAMES)
        changes = sandbox.changes()
        assert changes["/root/new\nline"] == changes["/usr/-rf"] == "written"
        assert changes["/root/" + "a" * 255] == "written"
        assert "/root/-link\nto shadow" in changes
        layer = sandbox.layer.root
    assert not layer.exists()  # stopping removed every odd name with the layer
