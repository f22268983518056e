"""What a sandbox sees: an image built from a spec, under a per-sample writable layer.

An ``ImageSpec`` lists the files, directories, symlinks and services of an environment.
``materialize`` writes it to a directory once per process; every sample then mounts it
read-only under its own overlay, so the sample's changes land in its layer only.

The layout inside the sandbox:

- ``/usr``: the host's ``/usr`` (read-only lower layer), under a skeleton of all its
  directories owned by the sandbox's root, so that sandboxed root can create and delete
  entries anywhere in ``/usr`` as in a container (files the host owns stay unmodifiable in
  place). ``/usr/local`` is the image's own (the host's is hidden).
- everything else (``/etc``, ``/root``, ``/var``, ``/app``, ...): the image alone. Host
  ``/etc`` files are copied in from an allow-list, and only when world-readable, so a
  sandbox never sees a secret of the host (``/etc/shadow`` in a sandbox is a stand-in).
- ``/proc``: the sandbox's own procfs; an image may lay stand-in files or directories over
  entries of it that depend on the host (``/proc/cmdline``, ``/proc/driver``).

This module uses the standard library only, so that the Docker variant can materialize the
same image inside a container build (``materialize_in_place``).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TLS_DIR = "/etc/ssl/standin"

Locator = Callable[[str], Path]
"""Maps a path inside the sandbox to where its file is written."""

# Host /etc entries the sandbox's programs need to run (dynamic linker, alternatives,
# Python, shells, name service). Copied only when world-readable.
HOST_ETC = (
    "adduser.conf", "alternatives", "bash.bashrc", "debian_version", "deluser.conf",
    "environment", "gai.conf", "host.conf", "inputrc", "issue", "issue.net",
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "login.defs", "magic",
    "mime.types", "nsswitch.conf", "os-release", "pam.conf", "pam.d", "profile",
    "profile.d", "protocols", "python3", "python3.11", "python3.12", "python3.13",
    "security", "services", "shells", "skel", "ssh/ssh_config", "ssh/ssh_config.d",
    "ssl/openssl.cnf", "terminfo", "timezone", "wgetrc", "xattr.conf",
)

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""

GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
news:x:9:
man:x:12:
www-data:x:33:
backup:x:34:
shadow:x:42:
users:x:100:
nogroup:x:65534:
"""


@dataclass(frozen=True)
class Service:
    """A process the sandbox starts before the sample runs.

    Attributes:
        argv: The command (``argv[0]`` resolved on the sandbox's ``PATH``).
        argv0: The name the process shows (``exec -a``), if not ``argv[0]``.
        log: File inside the sandbox that receives its output.
        port: A loopback TCP port to wait for before the sample starts.
    """

    argv: tuple[str, ...]
    argv0: str | None = None
    log: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class ImageSpec:
    """The files, directories and services of a sandbox environment.

    Attributes:
        name: Short name (shown in errors and logs).
        files: Sandbox path -> content (text or bytes).
        modes: Sandbox path -> permission bits, for files and directories not 0644/0755.
        dirs: Directories to create (parents are created anyway).
        symlinks: Sandbox path -> link target.
        host_etc: Entries of the host's ``/etc`` to copy in (when world-readable).
        proc: ``/proc`` entries to cover -> {relative path: content} (a file when the only
            key is ``""``, else a directory of files).
        services: Processes started at sample start.
        env: Environment of every command.
        workdir: Working directory of commands.
        hosts: Host names resolved to 127.0.0.1 (``/etc/hosts``).
        tls_names: Names for which a stand-in TLS certificate is made (and its CA trusted).
    """

    name: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()
    symlinks: dict[str, str] = field(default_factory=dict)
    host_etc: tuple[str, ...] = HOST_ETC
    proc: dict[str, dict[str, str]] = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/root"
    hosts: tuple[str, ...] = ()
    tls_names: tuple[str, ...] = ()

    def extended(self, name: str, **changes: object) -> ImageSpec:
        """Return a new spec: this one with mappings merged and sequences appended."""
        merged: dict[str, object] = {"name": name}
        for key, value in changes.items():
            current = getattr(self, key)
            if isinstance(current, dict):
                merged[key] = {**current, **value}  # type: ignore[dict-item]
            elif isinstance(current, tuple):
                merged[key] = (*current, *value)  # type: ignore[misc]
            else:
                merged[key] = value
        return replace(self, **merged)  # type: ignore[arg-type]

    def environment(self) -> dict[str, str]:
        """Return the environment of every command in the sandbox."""
        env = {
            "PATH": SANDBOX_PATH,
            "HOME": "/root",
            "USER": "root",
            "LOGNAME": "root",
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
        }
        if self.tls_names:
            env.update(SSL_CERT_FILE=CA_BUNDLE, REQUESTS_CA_BUNDLE=CA_BUNDLE)
        return {**env, **self.env}


def base_image() -> ImageSpec:
    """Describe a minimal Debian-like system: root's home, /tmp, name service, python."""
    return ImageSpec(
        name="base",
        files={
            "/etc/passwd": PASSWD,
            "/etc/group": GROUP,
            "/etc/hostname": "sandbox\n",
            "/etc/resolv.conf": "# no network in the sandbox\n",
            "/root/.bashrc": "# ~/.bashrc: executed by bash(1) for non-login shells.\n",
            "/root/.profile": PROFILE,
        },
        modes={"/tmp": 0o1777, "/var/tmp": 0o1777, "/root": 0o700},
        dirs=("/tmp", "/var/tmp", "/root", "/home", "/opt", "/srv", "/mnt", "/media",
              "/run", "/var/log", "/var/lib", "/var/cache", "/sys", "/usr/local/bin"),
        symlinks={"/usr/local/bin/python": "/usr/bin/python3"},
        # Keep the sample's layer to what its code did, without bytecode caches.
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )


PROFILE = """\
# ~/.profile: executed by Bourne-compatible login shells.

if [ "$BASH" ]; then
  if [ -f ~/.bashrc ]; then
    . ~/.bashrc
  fi
fi

mesg n 2> /dev/null || true
"""


@dataclass(frozen=True)
class BuiltImage:
    """An image written to disk, ready to be mounted read-only by many sandboxes."""

    spec: ImageSpec
    root: Path

    @property
    def rootfs(self) -> Path:
        """Lower layer of ``/`` (everything but ``/usr`` and ``/proc``)."""
        return self.root / "rootfs"

    @property
    def usr(self) -> Path:
        """Lower layer laid over the host's ``/usr``."""
        return self.root / "usr"

    @property
    def usr_local(self) -> Path:
        """The whole of ``/usr/local``."""
        return self.root / "usr-local"

    def proc_binds(self) -> list[tuple[Path, str]]:
        """Return (host path, sandbox path) pairs laid over ``/proc`` entries."""
        return [(self.root / "proc" / path.lstrip("/"), path) for path in sorted(self.spec.proc)]


def materialize(spec: ImageSpec, dest: Path, owner: tuple[int, int] | None = None) -> BuiltImage:
    """Write ``spec`` under ``dest`` for bubblewrap.

    Args:
        spec: The image.
        dest: An empty directory (created if needed).
        owner: uid/gid that own everything (the host uid the sandbox's root maps to).

    Returns:
        The built image.
    """
    image = BuiltImage(spec, dest)
    for part in (image.rootfs, image.usr, image.usr_local):
        part.mkdir(parents=True, exist_ok=True)
    _copy_host_etc(spec.host_etc, image.rootfs / "etc")
    _usr_skeleton(Path("/usr"), image.usr)
    _write_entries(spec, lambda path: _layer_path(image, path))
    _write_proc(spec, image.root / "proc")
    if owner is not None:
        _chown_tree(dest, *owner)
    dest.chmod(0o755)
    return image


def materialize_in_place(spec: ImageSpec, root: Path = Path("/")) -> None:
    """Write ``spec`` straight into a filesystem (a container image being built).

    Host ``/etc`` copies, the ``/usr`` skeleton and ``/proc`` stand-ins are skipped: in a
    container the image's own system provides the first two, and ``/proc`` is the
    runtime's.
    """
    _write_entries(spec, lambda path: root / path.lstrip("/"))


def _layer_path(image: BuiltImage, path: str) -> Path:
    if path == "/usr/local" or path.startswith("/usr/local/"):
        return image.usr_local / path[len("/usr/local") :].lstrip("/")
    if path == "/usr" or path.startswith("/usr/"):
        return image.usr / path[len("/usr") :].lstrip("/")
    return image.rootfs / path.lstrip("/")


def _write_entries(spec: ImageSpec, locate: Locator) -> None:
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    hosts += "".join(f"127.0.0.1\t{name}\n" for name in spec.hosts)
    files = {"/etc/hosts": hosts, **spec.files}
    for path in spec.dirs:
        target = locate(path)
        target.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        target = locate(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
        target.chmod(0o644)
    for path, link in spec.symlinks.items():
        target = locate(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(link)
    if spec.tls_names:
        _write_tls(spec.tls_names, locate)
    for path, mode in spec.modes.items():
        target = locate(path)
        if target.exists():
            target.chmod(mode)


def _write_proc(spec: ImageSpec, dest: Path) -> None:
    for path, entries in spec.proc.items():
        target = dest / path.lstrip("/")
        if set(entries) == {""}:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(entries[""])
            continue
        target.mkdir(parents=True, exist_ok=True)
        for relative, content in entries.items():
            item = target / relative
            if relative.endswith("/"):
                item.mkdir(parents=True, exist_ok=True)
                continue
            item.parent.mkdir(parents=True, exist_ok=True)
            item.write_text(content)


def _copy_host_etc(entries: tuple[str, ...], dest: Path) -> None:
    """Copy world-readable host /etc entries (never a file only root may read)."""
    for entry in entries:
        source = Path("/etc") / entry
        if not source.exists() and not source.is_symlink():
            continue
        _copy_readable(source, dest / entry)


def _copy_readable(source: Path, target: Path) -> None:
    info = source.lstat()
    if stat.S_ISLNK(info.st_mode):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(os.readlink(source))
    elif stat.S_ISDIR(info.st_mode):
        if not info.st_mode & stat.S_IROTH:
            return
        target.mkdir(parents=True, exist_ok=True)
        for child in source.iterdir():
            _copy_readable(child, target / child.name)
    elif stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_IROTH:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(stat.S_IMODE(info.st_mode) & 0o755)


def _usr_skeleton(source: Path, dest: Path) -> None:
    """Mirror every directory of the host's /usr (directories only, no files)."""
    stack = [(source, dest)]
    while stack:
        here, there = stack.pop()
        there.mkdir(exist_ok=True)
        there.chmod(stat.S_IMODE(here.stat().st_mode) | 0o700)
        try:
            entries = list(os.scandir(here))
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if here == source and entry.name == "local":  # the image has its own
                continue
            stack.append((Path(entry.path), there / entry.name))


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), uid, gid)


def _write_tls(names: tuple[str, ...], locate: Locator) -> None:
    """Write a stand-in CA and a certificate for ``names``; the CA is the only root."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError(
            "openssl is needed to make the sandbox's stand-in TLS certificate: "
            "apt-get install openssl (see .ci/install-sandbox-deps)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sans = ",".join(f"DNS:{name}" for name in names)
        (work / "ext.cnf").write_text(
            f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        )
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run = [openssl, "req", *key, "-x509", "-days", "3650", "-subj", "/CN=stand-in CA",
               "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign",
               "-keyout", "ca.key", "-out", "ca.pem"]
        subprocess.run(run, cwd=work, check=True, capture_output=True)
        run = [openssl, "req", *key, "-subj", f"/CN={names[0]}",
               "-keyout", "site.key", "-out", "site.csr"]
        subprocess.run(run, cwd=work, check=True, capture_output=True)
        run = [openssl, "x509", "-req", "-in", "site.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
               "-CAcreateserial", "-days", "3650", "-extfile", "ext.cnf", "-out", "site.pem"]
        subprocess.run(run, cwd=work, check=True, capture_output=True)
        outputs = {
            f"{TLS_DIR}/site.pem": (work / "site.pem").read_bytes(),
            f"{TLS_DIR}/site.key": (work / "site.key").read_bytes(),
            CA_BUNDLE: (work / "ca.pem").read_bytes(),
        }
    for path, data in outputs.items():
        target = locate(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.write_bytes(data)
        target.chmod(0o644)
