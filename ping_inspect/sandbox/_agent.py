"""The sandbox's PID 1: runs commands for the host, starts services, reaps orphans.

This file runs *inside* the bubblewrap sandbox, under the sandbox's own ``python3``, with
the standard library only; the host never imports it. It reads one JSON request per line
on stdin and answers with one JSON line on stdout. Every process it starts gets its own
pipes (or a log file) and never this channel. It marks itself non-dumpable so that code in
the sandbox cannot open ``/proc/1/fd`` to forge answers, and as PID 1 of its PID namespace
it cannot be killed from inside: the kernel drops a signal sent to a namespace's init from
inside unless init handles it, and the agent handles none (SIGTERM, SIGINT, SIGHUP and
SIGQUIT are left at their defaults, which its children inherit), so ``kill -TERM 1`` or a
sandboxed ``kill -9 -1`` ends everything but the agent.

Host-side reads (``read``) take regular files only (never a device or FIFO: ``/dev/zero``
would never end) and never more than their limit. A command's output over its limit keeps
its head and tail, with a line saying how many bytes were cut between them.

Requests (``id`` is echoed in the answer):
    ``{"op": "exec", "cmd": [...], "input": b64|null, "cwd", "env", "timeout", "limit"}``
    ``{"op": "read", "path", "limit"}``, ``{"op": "write", "path", "data": b64}``
    ``{"op": "boot", "services": [...], "ports": [...]}``, ``{"op": "ping"}``
"""

import base64
import ctypes
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

PR_SET_DUMPABLE = 4
EXEC_MARKER = "PING_SANDBOX_EXEC"
RLIMITS = {"as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC,
           "fsize": resource.RLIMIT_FSIZE}

_out_lock = threading.Lock()
# Held while a command is spawned and while orphans are reaped, so that the reaper never
# collects the exit status of a command whose caller is about to wait for it.
_spawn_lock = threading.Lock()
_waited = set()
_running = {}  # exec id -> pid of its command, while it runs
_services = []
_settings = {"workdir": "/", "env": {}, "limits": {}}


def main():
    """Serve requests until the host closes stdin."""
    _settings.update(json.loads(sys.argv[1]))
    _make_undumpable()
    # No handler: a handled signal is the only kind a process inside can send to PID 1.
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)
    threading.Thread(target=_reap_orphans, daemon=True).start()
    _reply({"id": 0, "ok": True, "pid": os.getpid()})
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        try:
            threading.Thread(target=_serve, args=(request,), daemon=True).start()
        except RuntimeError:  # the sample's process limit counts threads: serve it here
            _serve(request)
    os._exit(0)


def _make_undumpable():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _reply(message):
    data = (json.dumps(message) + "\n").encode()
    with _out_lock:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _serve(request):
    handlers = {"exec": _exec, "read": _read, "write": _write, "boot": _boot, "ping": _ping}
    answer = {"id": request.get("id")}
    try:
        answer.update(handlers[request["op"]](request))
        answer["ok"] = True
    except Exception as err:  # every failure goes back to the host, named
        answer.update(ok=False, error=type(err).__name__, message=str(err))
    _reply(answer)


def _ping(request):
    return {"pid": os.getpid()}


def _resolve(path):
    return path if os.path.isabs(path) else os.path.join(_settings["workdir"], path)


def _environment(extra=None):
    env = dict(_settings["env"])
    env.update(extra or {})
    return env


def _apply_limits():
    """Set a command's limits in its own process, between fork and exec.

    The agent sets them itself (never through a binary of the sample's layer, which the
    sample could replace); without CAP_SYS_RESOURCE the command cannot raise them again.
    """
    for name, value in _settings["limits"].items():
        if value:
            resource.setrlimit(RLIMITS[name], (value, value))


# ---------------------------------------------------------------- commands


def _exec(request):
    exec_id = str(request["id"])
    env = _environment(request.get("env"))
    env[EXEC_MARKER] = exec_id
    data = base64.b64decode(request["input"]) if request.get("input") is not None else None
    cwd = _resolve(request.get("cwd") or _settings["workdir"])
    if not os.path.isdir(cwd):
        return {"returncode": 1, "stdout": "", "stderr": _b64(f"no such directory: {cwd}\n")}
    with _spawn_lock:
        since = _now_ticks()
        try:
            proc = subprocess.Popen(
                request["cmd"],
                preexec_fn=_apply_limits,
                stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError) as err:  # as a shell answers
            code = 127 if isinstance(err, FileNotFoundError) else 126
            return {"returncode": code, "stdout": "", "stderr": _b64(f"{err}\n")}
        _waited.add(proc.pid)
        _running[exec_id] = proc.pid
    limit = int(request.get("limit") or 10 * 1024 * 1024)
    try:
        stdout, stderr = _Capture(proc.stdout, limit), _Capture(proc.stderr, limit)
        if data is not None:
            threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True).start()
    except RuntimeError as err:  # no thread left (the process limit): give up the command
        _kill_command(proc.pid, exec_id, since)
        proc.wait()
        with _spawn_lock:
            _waited.discard(proc.pid)
            _running.pop(exec_id, None)
        raise RuntimeError(f"the sandbox reached its process limit: {err}") from err
    timed_out = False
    try:
        returncode = proc.wait(timeout=request.get("timeout"))
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_command(proc.pid, exec_id, since)
        returncode = proc.wait()
    finally:
        with _spawn_lock:
            _waited.discard(proc.pid)
            _running.pop(exec_id, None)
    # Background children may keep the pipes open: take what has arrived so far.
    for capture in (stdout, stderr):
        capture.thread.join(timeout=0.5)
    return {
        "returncode": returncode,
        "timed_out": timed_out,
        "stdout": _b64(stdout.value()),
        "stderr": _b64(stderr.value()),
        "cut": {"stdout": stdout.cut, "stderr": stderr.cut},
    }


def _b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def _feed(pipe, data):
    try:
        pipe.write(data)
    except OSError:
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


CUT_LINE = "\n[... {cut} bytes cut by the sandbox: the output was over {limit} bytes ...]\n"
"""Where a command's output was cut (between its head and its tail)."""


class _Capture:
    """Drain a pipe in a thread, keeping the first and the last ``limit / 2`` bytes."""

    def __init__(self, pipe, limit):
        self.pipe, self.limit = pipe, limit
        self.head_size = limit // 2
        self.head, self.tail, self.cut = bytearray(), bytearray(), 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while True:
            chunk = self.pipe.read1(65536)
            if not chunk:
                break
            with self.lock:
                room = self.head_size - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                self.tail += chunk
                excess = len(self.tail) - (self.limit - self.head_size)
                if excess > 0:
                    del self.tail[:excess]
                    self.cut += excess
        self.pipe.close()

    def value(self):
        with self.lock:
            if not self.cut:
                return bytes(self.head + self.tail)
            line = CUT_LINE.format(cut=self.cut, limit=self.limit).encode()
            return bytes(self.head) + line + bytes(self.tail)


def _kill_command(pid, exec_id, since):
    """Kill a timed-out command and everything it started, detached children included.

    A process is the command's when it is in the command's session, carries its marker in
    its environment, or started after it and belongs to no other running command (this
    catches a child that left the session *and* cleared its environment).
    """
    marker = f"{EXEC_MARKER}={exec_id}".encode()
    for _ in range(5):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        with _spawn_lock:
            others = {p for e, p in _running.items() if e != exec_id}
        victims = [
            p for p in _processes()
            if p != 1 and p not in others and _belongs(p, pid, marker, since, others)
        ]
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
            except OSError:
                pass
        if not victims:
            return
        time.sleep(0.05)


def _belongs(pid, session, marker, since, others):
    """Whether ``pid`` belongs to the command that started at ``since`` (clock ticks)."""
    stat = _stat(pid)
    if stat is None:
        return False
    # Fields after the name: state, ppid, pgrp, session, ..., starttime (the 20th).
    if int(stat[3]) == session:
        return True
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            variables = f.read().split(b"\0")
    except OSError:
        variables = []
    if marker in variables:
        return True
    # Any marker is the process's own word (it can forge one): never a reason to spare it.
    return int(stat[19]) >= since and int(stat[3]) not in others


def _now_ticks():
    """Clock ticks since boot (the unit of a process's start time in /proc)."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))


def _processes():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _stat(pid):
    """Return the fields of ``/proc/PID/stat`` after the command name (state, ppid, ...)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _reap_orphans():
    """Collect exited orphans (PID 1's duty), never a command someone is waiting for."""
    me = os.getpid()
    while True:
        time.sleep(0.5)
        with _spawn_lock:
            for pid in _processes():
                stat = _stat(pid)
                if stat and stat[0] == "Z" and int(stat[1]) == me and pid not in _waited:
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass


# ---------------------------------------------------------------- files


def _open_regular(path, flags):
    """Open ``path`` without blocking (a FIFO) and refuse anything but a regular file."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{path} is a directory")
        raise NotRegularFileError(f"{path} is not a regular file (a device, FIFO or socket)")
    return fd


class NotRegularFileError(OSError):
    """A read or write of something that is not a regular file."""


def _read(request):
    path = _resolve(request["path"])
    limit = int(request.get("limit") or 100 * 1024 * 1024)
    fd = _open_regular(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)  # a file may grow, or claim size 0 (/proc): never trust it
    if len(data) > limit:
        raise OverflowError(f"{path} is larger than {limit} bytes")
    return {"data": _b64(data)}


def _write(request):
    path = _resolve(request["path"])
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory")
    os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
    fd = _open_regular(path, os.O_WRONLY | os.O_CREAT)
    with os.fdopen(fd, "wb") as f:
        f.truncate(0)
        f.write(base64.b64decode(request["data"]))
    return {}


# ---------------------------------------------------------------- services


def _boot(request):
    """Start the image's services and wait until their ports accept connections."""
    for service in request.get("services", []):
        log = open(_resolve(service["log"]), "ab") if service.get("log") else subprocess.DEVNULL
        argv = list(service["argv"])
        executable = None
        if service.get("argv0"):
            executable, argv[0] = argv[0], service["argv0"]
        proc = subprocess.Popen(
            argv,
            executable=executable,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=_resolve(service.get("cwd") or _settings["workdir"]),
            env=_environment(service.get("env")),
            start_new_session=True,
        )
        _services.append(proc)
    deadline = time.monotonic() + float(request.get("wait", 10))
    waiting = list(request.get("ports", []))
    while waiting and time.monotonic() < deadline:
        waiting = [port for port in waiting if not _listening(port)]
        if waiting:
            time.sleep(0.02)
    if waiting:
        raise TimeoutError(f"services did not open ports {waiting}")
    return {"pids": [p.pid for p in _services]}


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
