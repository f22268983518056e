"""The sandbox's seccomp filter: a classic-BPF program, generated here, that bubblewrap applies.

Every process of a sample runs under it (bubblewrap installs it with ``--seccomp FD`` just
before it execs the agent; children inherit it and cannot remove it). In the spirit of
Docker's default profile it refuses, with ``EPERM``, what sandboxed code never needs and
what widens the kernel's attack surface: new namespaces (``unshare``, ``setns``, ``clone``
with a ``CLONE_NEW*`` flag), io_uring, userfaultfd, the keyrings, ``bpf``,
``perf_event_open``, kexec and kernel modules, file handles (``open_by_handle_at``), the
mount API old and new, ``ptrace`` of the agent (PID 1), and a few host-wide switches
(``reboot``, ``swapon``, ``acct``, ``syslog``). ``clone3`` gets ``ENOSYS`` (its flags sit
in memory a filter cannot read), so the C library falls back to ``clone``, whose flags
the filter checks. A syscall of another architecture (32-bit code on x86_64) or of the
x32 ABI kills the process: the numbers below would not mean the same calls there.

The program is generated in pure Python rather than with libseccomp's bindings: classic
BPF for a deny list is a few dozen instructions, and the bindings are not on PyPI for
this Python (Debian's ``python3-seccomp`` is built for Debian's own Python only).
"""

from __future__ import annotations

import errno
import hashlib
import os
import platform
import struct
from pathlib import Path

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6].
_NR, _ARCH = 0, 4


def _arg_low(index: int) -> int:
    """Offset of the low 32 bits of syscall argument ``index`` (little-endian hosts)."""
    return 16 + 8 * index


# Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000

CLONE_NEW_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
"""``clone`` flags that make a namespace (CLONE_NEWTIME is clone3/unshare only)."""

X32_SYSCALL_BIT = 0x40000000

DENIED = (
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init",
    "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl",
)
"""Syscalls refused with EPERM whatever their arguments."""

ARCHITECTURES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (0xC000003E, {
        "clone": 56, "clone3": 435, "ptrace": 101,
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
        "chroot": 161, "mount_setattr": 442, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "move_mount": 429, "open_tree": 428, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "userfaultfd": 323, "keyctl": 250,
        "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
        "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
        "delete_module": 176, "open_by_handle_at": 304, "name_to_handle_at": 303,
        "fanotify_init": 300, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
        "syslog": 103, "quotactl": 179,
    }),
    "aarch64": (0xC00000B7, {
        "clone": 220, "clone3": 435, "ptrace": 117,
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
        "chroot": 51, "mount_setattr": 442, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "move_mount": 429, "open_tree": 428, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "userfaultfd": 282, "keyctl": 219,
        "add_key": 217, "request_key": 218, "bpf": 280, "perf_event_open": 241,
        "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273,
        "delete_module": 106, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "fanotify_init": 262, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89,
        "syslog": 116, "quotactl": 60,
    }),
}
"""Machine -> (AUDIT_ARCH_* value, syscall numbers)."""


class UnsupportedArchitectureError(RuntimeError):
    """The sandbox has no seccomp filter for this machine's architecture."""


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _ret(value: int) -> bytes:
    return _op(_RET_K, value)


def filter_program(machine: str | None = None) -> bytes:
    """Return the compiled filter (``struct sock_filter`` array) for ``machine``.

    Raises:
        UnsupportedArchitectureError: not x86_64 or aarch64.
    """
    machine = machine or platform.machine()
    if machine not in ARCHITECTURES:
        raise UnsupportedArchitectureError(
            f"The bwrap sandbox has a seccomp filter for {', '.join(ARCHITECTURES)} only, "
            f"not {machine}: run code benchmarks on one of those."
        )
    arch, numbers = ARCHITECTURES[machine]
    eperm = _ret(RET_ERRNO | errno.EPERM)
    program = [
        _op(_LD_W_ABS, _ARCH),
        _op(_JEQ_K, arch, jt=1),
        _ret(RET_KILL_PROCESS),
        _op(_LD_W_ABS, _NR),
    ]
    if machine == "x86_64":  # x32 numbers are the same calls with a high bit set
        program += [_op(_JGE_K, X32_SYSCALL_BIT, jf=1), _ret(RET_KILL_PROCESS)]
    for name in DENIED:
        program += [_op(_JEQ_K, numbers[name], jf=1), eperm]
    program += [_op(_JEQ_K, numbers["clone3"], jf=1), _ret(RET_ERRNO | errno.ENOSYS)]
    # clone: refused when its flags (argument 0) ask for a namespace.
    program += [
        _op(_JEQ_K, numbers["clone"], jf=4),
        _op(_LD_W_ABS, _arg_low(0)),
        _op(_JSET_K, CLONE_NEW_FLAGS, jf=1),
        eperm,
        _ret(RET_ALLOW),
    ]
    # ptrace: refused when its target (argument 1) is the agent, PID 1.
    program += [
        _op(_JEQ_K, numbers["ptrace"], jf=4),
        _op(_LD_W_ABS, _arg_low(1)),
        _op(_JEQ_K, 1, jf=1),
        eperm,
        _ret(RET_ALLOW),
    ]
    program.append(_ret(RET_ALLOW))
    return b"".join(program)


def filter_fd(machine: str | None = None) -> int:
    """Return a readable file descriptor (a memfd, inheritable) holding the filter."""
    fd = os.memfd_create("ping-sandbox-seccomp", 0)
    os.write(fd, filter_program(machine))
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    return fd


# ---------------------------------------------------------------- the browser's filter

_ALU_AND_K = 0x54
SOCKET_NUMBERS = {"x86_64": 41, "aarch64": 198}
"""``socket`` per machine."""
AF_INET, AF_INET6, SOCK_TYPE_MASK, SOCK_DGRAM, SOCK_RAW = 2, 10, 0xF, 2, 3


def no_udp_program(machine: str | None = None) -> bytes:
    """Return a filter that refuses (EPERM) every UDP or raw IP socket, for the browser.

    Chromium reaches its site server through a proxy over TCP; nothing it may do needs
    UDP. Under this filter WebRTC's STUN and ICE, QUIC, mDNS, WebTransport and DNS have no
    socket to send from, whatever a page does and whatever Chromium's own switches say.
    Unix sockets (Chromium's processes talk over them) are left alone.

    Raises:
        UnsupportedArchitectureError: not x86_64 or aarch64.
    """
    machine = machine or platform.machine()
    if machine not in SOCKET_NUMBERS:
        raise UnsupportedArchitectureError(
            f"The browser's UDP filter exists for {', '.join(SOCKET_NUMBERS)} only, "
            f"not {machine}."
        )
    arch = ARCHITECTURES[machine][0]
    eperm = _ret(RET_ERRNO | errno.EPERM)
    return b"".join([
        _op(_LD_W_ABS, _ARCH),
        _op(_JEQ_K, arch, jt=1),
        _ret(RET_KILL_PROCESS),
        _op(_LD_W_ABS, _NR),
        _op(_JEQ_K, SOCKET_NUMBERS[machine], jf=8),
        _op(_LD_W_ABS, _arg_low(0)),
        _op(_JEQ_K, AF_INET, jt=1),
        _op(_JEQ_K, AF_INET6, jf=5),
        _op(_LD_W_ABS, _arg_low(1)),
        _op(_ALU_AND_K, SOCK_TYPE_MASK),
        _op(_JEQ_K, SOCK_DGRAM, jt=1),
        _op(_JEQ_K, SOCK_RAW, jf=1),
        eperm,
        _ret(RET_ALLOW),
    ])


_LAUNCHER = '''#!{python} -I
# Apply ping-inspect's no-UDP seccomp filter, then become Chromium (every process it starts
# inherits the filter). Generated by ping_inspect.sandbox.seccomp.
import ctypes, os, sys
program = bytes.fromhex("{program}")
buffer = ctypes.create_string_buffer(program, len(program))
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(len(program) // 8, ctypes.addressof(buffer))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
    sys.exit("ping-inspect: cannot apply the browser's seccomp filter: errno %d"
             % ctypes.get_errno())
os.execv({executable!r}, [{executable!r}, *sys.argv[1:]])
'''


def no_udp_launcher(executable: str, directory: Path) -> Path:
    """Write (once) a launcher that starts ``executable`` under ``no_udp_program``.

    Returns:
        The launcher's path (give it to Playwright as the browser's executable).
    """
    import sys

    program = no_udp_program().hex()
    text = _LAUNCHER.format(python=sys.executable, program=program, executable=executable)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    launcher = directory / f"chromium-no-udp-{digest}"
    if not launcher.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = launcher.with_suffix(".partial")
        partial.write_text(text)
        partial.chmod(0o755)
        partial.replace(launcher)
    return launcher
