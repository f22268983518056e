"""``bwrap``: an Inspect sandbox that needs no Docker (bubblewrap + overlayfs).

Use it like any sandbox: ``Task(sandbox=("bwrap", BwrapConfig(image="base")))`` or
``--sandbox bwrap``. Each sample gets a fresh sandbox: the image read-only, a writable
layer of its own on the host (kept for inspection with ``keep_layers``), the image's
services started before the sample runs, and no network beyond its own loopback. See
``ping_inspect.sandbox.bwrap`` for the isolation and ``ping_inspect.sandbox.image`` for
what the sandbox sees.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import shutil
import signal
import threading
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, Literal, overload

import anyio
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    SandboxUnavailableError,
    SandboxUserUnsupportedError,
    sandboxenv,
)
from pydantic import BaseModel

from ping_inspect.sandbox.bwrap import (
    AGENT_PATH,
    Layer,
    Limits,
    SandboxSetupError,
    as_sandbox_user,
    bwrap_command,
    check_host,
    reachable_by_others,
    runtime_files,
    sandbox_user,
)
from ping_inspect.sandbox.fence import (
    SampleCgroup,
    detect_cgroups,
    layer_full,
    mount_layer,
    process_tree,
    remove_tree,
    resident_bytes,
    run_directory,
    tree_size,
    unmount,
)
from ping_inspect.sandbox.image import BuiltImage, ImageSpec, materialize
from ping_inspect.sandbox.reads import (
    EVIDENCE_LIMIT,
    FileTooLargeError,
    NotRegularFileError,
    read_beneath,
)
from ping_inspect.sandbox.seccomp import filter_fd

IMAGES = {"base": "ping_inspect.sandbox.image:base_image"}
"""Image names and the ``module:function`` that returns each spec (a benchmark names its
own image by ``module:function``, e.g. RedCode's ``redcode.environment.IMAGE``)."""

_AGENT = Path(__file__).with_name("_agent.py")
# Entries bubblewrap itself creates in the layer as mount points.
_MOUNT_POINTS = {AGENT_PATH, "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}
_GRACE = 30.0  # seconds the host waits beyond a command's own time limit
_MAX_LINE = 512 * 1024 * 1024
_WATCH_EVERY = 0.2  # seconds between two looks of the watchdog


class BwrapConfig(BaseModel, frozen=True):
    """Settings of the ``bwrap`` sandbox.

    Attributes:
        image: An image name (``base``) or ``module:function`` returning an
            ``ImageSpec``.
        exec_timeout: Time limit (seconds) of a command given none.
        memory_mb: Memory of the whole sample: its processes, ``/dev/shm`` and layer.
        max_processes: Processes of the whole sample.
        max_file_mb: Largest file a command may write.
        shm_mb: Size of ``/dev/shm``.
        layer_mb: Size of the sample's writable layer (everything it writes).
        fence: ``auto``: the kernel bounds memory and processes (a cgroup) and the layer
            (a ``tmpfs``) where the host lets us (as root), else the watchdog does;
            ``watchdog``: the watchdog only.
        keep_layers: Keep each sample's writable layer in this directory after the sample
            (by sample id), for inspection; by default it is deleted.
    """

    image: str = "base"
    exec_timeout: int = 60
    memory_mb: int = 2048
    max_processes: int = 512
    max_file_mb: int = 1024
    shm_mb: int = 256
    layer_mb: int = 2048
    fence: Literal["auto", "watchdog"] = "auto"
    keep_layers: str | None = None

    def limits(self) -> Limits:
        """Return the sample's resource limits."""
        return Limits(
            self.memory_mb, self.max_processes, self.max_file_mb, self.shm_mb, self.layer_mb
        )


def _config(config: SandboxEnvironmentConfigType | None) -> BwrapConfig:
    if config is None:
        return BwrapConfig()
    if isinstance(config, BwrapConfig):
        return config
    if isinstance(config, str):
        return BwrapConfig(image=config)
    return BwrapConfig(**config.model_dump())


@sandboxenv(name="bwrap")
class BwrapSandboxEnvironment(SandboxEnvironment):
    """A sample's bubblewrap sandbox, driven through its PID 1 agent."""

    def __init__(
        self, agent: _Agent, layer: Layer, image: BuiltImage, config: BwrapConfig, fence: Fence
    ):
        super().__init__()
        self.agent, self.layer, self.image, self.config = agent, layer, image, config
        self.fence = fence

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        """Read a ``BwrapConfig`` from its serialised form."""
        return BwrapConfig(**config)

    @classmethod
    def default_concurrency(cls) -> int | None:
        """Sandboxes at once: two per core."""
        return 2 * (os.cpu_count() or 1)

    @classmethod
    async def task_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None
    ) -> None:
        """Check the host and build the image before any sample starts."""
        problems = check_host()
        if problems:
            listed = "\n- ".join(problems)
            raise SandboxSetupError(f"The bwrap sandbox cannot run here:\n- {listed}")
        await built_image(_config(config).image)

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        """Start a fresh sandbox for one sample."""
        return {"default": await start_sandbox(_config(config))}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        """Stop the sandboxes and remove (or keep) their layers."""
        for environment in environments.values():
            if isinstance(environment, BwrapSandboxEnvironment):
                await environment.stop()

    async def stop(self, keep: str | Path | None = None) -> None:
        """Stop this sandbox; move its layer to ``keep`` (or the config's) or delete it."""
        await self.agent.close()
        await self.fence.stop()
        keep = keep or self.config.keep_layers
        if keep:
            destination = Path(keep)
            destination.mkdir(parents=True, exist_ok=True)
            await anyio.to_thread.run_sync(_copy_layer, self.layer.root, destination)
        await anyio.to_thread.run_sync(self.fence.release_layer)

    # ------------------------------------------------------------ commands and files

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        """Run a command in the sandbox as its root.

        A command is never retried after a time limit (``timeout_retry`` is ignored):
        sandboxed code can be destructive. Its time limit kills every process it started,
        detached ones included, and raises ``TimeoutError``.
        """
        if user not in (None, "root", "0"):
            raise SandboxUserUnsupportedError(
                f"The bwrap sandbox runs commands as root only, not {user!r}."
            )
        limit = timeout if timeout is not None else self.config.exec_timeout
        data = input.encode() if isinstance(input, str) else input
        answer = await self.agent.request(
            "exec",
            wait=limit + _GRACE,
            cmd=list(cmd),
            input=base64.b64encode(data).decode() if data is not None else None,
            cwd=cwd,
            env=env or {},
            timeout=limit,
            limit=_exec_output_limit(),
        )
        if not answer["ok"]:
            return ExecResult(False, 127, "", f"{answer['error']}: {answer['message']}\n")
        notes = "".join(f"[sandbox: {note}]\n" for note in self.fence.notes())
        if answer.get("timed_out"):
            raise TimeoutError(
                f"Command timed out after {limit} seconds (all its processes were killed)."
                + (f" {notes.strip()}" if notes else "")
            )
        returncode = int(answer["returncode"])
        stderr = _decode(answer["stderr"])
        if notes:
            stderr += ("\n" if stderr and not stderr.endswith("\n") else "") + notes
        cut = answer.get("cut") or {}
        return BwrapExecResult(
            returncode == 0,
            returncode,
            _decode(answer["stdout"]),
            stderr,
            cut_bytes=int(cut.get("stdout", 0)) + int(cut.get("stderr", 0)),
        )

    async def write_file(self, file: str, contents: str | bytes) -> None:
        """Write a file in the sandbox (parents created)."""
        data = contents.encode() if isinstance(contents, str) else contents
        answer = await self.agent.request(
            "write", wait=120, path=file, data=base64.b64encode(data).decode()
        )
        _raise_file_error(answer, file)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        """Read a regular file from the sandbox (up to Inspect's read limit)."""
        try:
            data = await self.read_file_capped(file, _read_limit())
        except FileTooLargeError as err:  # Inspect's contract for read_file
            raise OutputLimitExceededError(limit_str=str(err), truncated_output=None) from err
        return data.decode("utf-8") if text else data

    async def read_file_capped(self, file: str, limit: int) -> bytes:
        """Read a regular file of at most ``limit`` bytes (never a device or FIFO).

        Raises:
            FileTooLargeError: the file is larger.
            NotRegularFileError: it is a device, FIFO or socket.
        """
        answer = await self.agent.request("read", wait=120, path=file, limit=limit)
        _raise_file_error(answer, file)
        return base64.b64decode(answer["data"])

    # ------------------------------------------------------------ host-side inspection

    def layer_path(self, sandbox_path: str) -> Path:
        """Where ``sandbox_path`` lands in this sample's layer on the host.

        The file there exists only if the sample created or changed it; a character
        device 0:0 there means the sample deleted it (an overlayfs whiteout). Never open
        it directly (the sample may have put a link to a host file there): read it with
        ``read_layer``.
        """
        return self.layer.host_path(sandbox_path)[1]

    def read_layer(self, sandbox_path: str, limit: int = EVIDENCE_LIMIT) -> bytes:
        """Read what the sample wrote at ``sandbox_path``, from its layer on the host.

        Never follows a link, never reads a device or FIFO, never more than ``limit``
        bytes (see ``read_beneath``); a file the sample did not write is not there.
        """
        name, _ = self.layer.host_path(sandbox_path)
        mount = Layer.MOUNTS[name].rstrip("/")
        return read_beneath(self.layer.upper(name), sandbox_path[len(mount):], limit)

    def changes(self) -> dict[str, str]:
        """List what the sample changed, from its layer: path -> ``written``/``deleted``."""
        changes: dict[str, str] = {}
        for name, mount in Layer.MOUNTS.items():
            upper = self.layer.upper(name)
            for parent, dirs, files in os.walk(upper):
                for entry in files + [d for d in dirs if os.path.islink(os.path.join(parent, d))]:
                    host = Path(parent) / entry
                    inside = "/" + str(host.relative_to(upper))
                    inside = (mount.rstrip("/") + inside) if mount != "/" else inside
                    changes[inside] = "deleted" if _is_whiteout(host) else "written"
        return {path: kind for path, kind in changes.items() if path not in _MOUNT_POINTS}


@dataclass
class BwrapExecResult(ExecResult[str]):
    """An ``ExecResult`` that also says how many bytes of output the sandbox cut."""

    cut_bytes: int = 0
    """Bytes cut from the middle of stdout and stderr (a line in each marks where)."""


def _copy_layer(layer: Path, destination: Path) -> None:
    shutil.copytree(layer, destination / layer.name, symlinks=True, dirs_exist_ok=True)


def _is_whiteout(path: Path) -> bool:
    info = path.lstat()
    return (info.st_mode & 0o170000) == 0o020000 and info.st_rdev == 0


def _decode(data: str) -> str:
    return base64.b64decode(data).decode("utf-8", errors="replace")


def _exec_output_limit() -> int:
    return int(SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE)


def _read_limit() -> int:
    return int(SandboxEnvironmentLimits.MAX_READ_FILE_SIZE)


def _raise_file_error(answer: dict[str, Any], file: str) -> None:
    if answer["ok"]:
        return
    error, message = answer["error"], answer["message"]
    if error == "OverflowError":
        raise FileTooLargeError(message)
    kinds: dict[str, type[Exception]] = {
        "NotRegularFileError": NotRegularFileError,
        "FileNotFoundError": FileNotFoundError,
        "PermissionError": PermissionError,
        "IsADirectoryError": IsADirectoryError,
        "NotADirectoryError": NotADirectoryError,
    }
    raise kinds.get(error, OSError)(f"{file}: {message}")


# ---------------------------------------------------------------- starting a sandbox


async def start_sandbox(config: BwrapConfig | None = None) -> BwrapSandboxEnvironment:
    """Start a sandbox outside an eval too (tests, scripts); ``stop()`` it when done."""
    config = config or BwrapConfig()
    image = await built_image(config.image)
    limits = config.limits()
    fence = await anyio.to_thread.run_sync(Fence.create, limits, config.fence == "auto")
    settings = {
        "workdir": image.spec.workdir,
        "env": image.spec.environment(),
        "limits": limits.prlimit(),
    }
    agent: _Agent | None = None
    try:
        runtime = await anyio.to_thread.run_sync(runtime_files, run_directory().root, _AGENT)
        seccomp = filter_fd()
        try:
            command = bwrap_command(image, fence.layer, runtime, settings, limits.shm_mb,
                                    seccomp)
            agent = await _Agent.start(command, sandbox_user(), fence, pass_fds=(seccomp,))
        finally:
            os.close(seccomp)
        fence.watch(agent)
        services = [
            {"argv": list(s.argv), "argv0": s.argv0, "log": s.log} for s in image.spec.services
        ]
        ports = [s.port for s in image.spec.services if s.port]
        if services:
            answer = await agent.request("boot", wait=60, services=services, ports=ports)
            if not answer["ok"]:
                raise SandboxSetupError(
                    f"The '{image.spec.name}' image's services did not start: {answer['message']}"
                )
    except BaseException:
        if agent is not None:
            await agent.close()
        await fence.stop()
        await anyio.to_thread.run_sync(fence.release_layer)
        raise
    return BwrapSandboxEnvironment(agent, fence.layer, image, config, fence)


_MB = 1024 * 1024


@dataclass
class Fence:
    """What bounds one sample as a whole: its cgroup, its layer's size, or the watchdog."""

    limits: Limits
    layer: Layer
    cgroup: SampleCgroup | None
    layer_mounted: bool
    reason: str | None = None
    """Why the watchdog ended the sample (None while it runs)."""
    seen: dict[str, int] | None = None
    task: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, limits: Limits, kernel: bool) -> Fence:
        """Make the sample's layer and cgroup (``kernel``: where the host allows)."""
        run = run_directory()
        root = run.new_layer_dir()
        mounted = kernel and mount_layer(root, limits.layer_mb)
        layer = Layer(root)
        cgroup = None
        try:
            layer.create(sandbox_user())
            kind = detect_cgroups() if kernel else None
            if kind is not None:
                name = run.cgroup_name(int(root.name))
                cgroup = SampleCgroup.create(kind, name, limits.memory_mb, limits.max_processes)
        except BaseException:
            if mounted:
                unmount(root)
            remove_tree(root)
            raise
        fence = cls(limits, layer, cgroup, mounted)
        fence.seen = fence._counters()
        return fence

    def _counters(self) -> dict[str, int]:
        return self.cgroup.counters() if self.cgroup else {}

    def cgroup_procs(self) -> list[Path]:
        """``cgroup.procs`` files bubblewrap joins before it starts (none: no cgroup)."""
        return self.cgroup.procs_files() if self.cgroup else []

    def notes(self) -> list[str]:
        """What the sample ran into since the last call (for the command's transcript)."""
        now, before = self._counters(), self.seen or {}
        self.seen = now
        notes = []
        kills = now.get("oom_kills", 0) - before.get("oom_kills", 0)
        if kills > 0:
            notes.append(
                f"the sample reached its memory limit ({self.limits.memory_mb} MB: processes, "
                f"/dev/shm and files it wrote); the kernel killed {kills} process(es)"
            )
        refused = now.get("forks_refused", 0) - before.get("forks_refused", 0)
        if refused > 0:
            notes.append(
                f"the sample reached its process limit ({self.limits.max_processes}); "
                f"{refused} new process(es) refused"
            )
        if self.layer_mounted and layer_full(self.layer.root):
            notes.append(f"the sample's writable layer ({self.limits.layer_mb} MB) is full")
        return notes

    def stopped_because(self) -> str:
        """Why the sandbox stopped, as far as the fence knows (empty if it does not)."""
        if self.reason:
            return self.reason
        if self._counters().get("oom_kills", 0) > (self.seen or {}).get("oom_kills", 0):
            return (f"the sample reached its memory limit ({self.limits.memory_mb} MB) and the "
                    "kernel killed its processes")
        return ""

    def watch(self, agent: _Agent) -> None:
        """Start the watchdog for the bounds the kernel does not keep here."""
        if self.cgroup is None or not self.layer_mounted:
            self.task = asyncio.create_task(self._watch(agent))

    async def _watch(self, agent: _Agent) -> None:
        looks = 0
        while agent.process.returncode is None:
            await anyio.sleep(_WATCH_EVERY)
            looks += 1
            breach = await anyio.to_thread.run_sync(self._breach, agent.process.pid, looks)
            if breach:
                self.reason = breach
                await agent.close()
                return

    def _breach(self, pid: int, looks: int) -> str | None:
        limits = self.limits
        if self.cgroup is None:
            tree = process_tree(pid)
            if len(tree) - 1 > limits.max_processes:  # bubblewrap's own process aside
                return f"the sample ran more than {limits.max_processes} processes"
            if resident_bytes(tree) > limits.memory_mb * _MB:
                return f"the sample's processes used more than {limits.memory_mb} MB"
        if not self.layer_mounted and looks % 5 == 0:
            if tree_size(self.layer.root) > limits.layer_mb * _MB:
                return f"the sample wrote more than {limits.layer_mb} MB to its layer"
        return None

    async def stop(self) -> None:
        """Stop the watchdog; kill what is left in the cgroup and remove it."""
        if self.task is not None:
            self.task.cancel()
        if self.cgroup is not None:
            await anyio.to_thread.run_sync(self.cgroup.remove)

    def release_layer(self) -> None:
        """Unmount and delete the layer (its processes may take a moment to go: retry)."""
        if self.layer_mounted:
            unmount(self.layer.root)
        for _ in range(50):
            remove_tree(self.layer.root)
            if not self.layer.root.exists():
                return
            threading.Event().wait(0.1)


_images: dict[str, BuiltImage] = {}
_image_lock = threading.Lock()


async def built_image(name: str) -> BuiltImage:
    """Return the image ``name``, written to disk once per process."""
    return await anyio.to_thread.run_sync(_build_image, name)


def _build_image(name: str) -> BuiltImage:
    with _image_lock:
        if name in _images:
            return _images[name]
        spec = resolve_image(name)
        root = run_directory().root / "images"
        root.mkdir(mode=0o755, exist_ok=True)
        if os.geteuid() == 0 and not reachable_by_others(root):
            raise SandboxSetupError(
                f"The sandbox's user cannot reach {root}: set TMPDIR to a directory that "
                "every user can traverse (such as /tmp)."
            )
        image = materialize(spec, root / f"{len(_images)}-{spec.name}", sandbox_user())
        _images[name] = image
        return image


def resolve_image(name: str) -> ImageSpec:
    """Return the spec of an image name or ``module:function``."""
    target = IMAGES.get(name, name)
    if ":" not in target:
        raise ValueError(f"Unknown sandbox image '{name}'. Images: {', '.join(IMAGES)}, "
                         "or module:function returning an ImageSpec.")
    module, function = target.split(":", 1)
    spec = getattr(importlib.import_module(module), function)()
    if not isinstance(spec, ImageSpec):
        raise TypeError(f"{target} returned {type(spec).__name__}, not an ImageSpec")
    return spec


# ---------------------------------------------------------------- the agent channel


class _Agent:
    """The host end of the line-delimited JSON channel to the sandbox's PID 1."""

    def __init__(self, process: asyncio.subprocess.Process, fence: Fence | None = None):
        self.process = process
        self.fence = fence
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = count(1)
        self.stderr: list[str] = []
        self.reader = asyncio.create_task(self._read())
        self.errors = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(
        cls, command: list[str], owner: tuple[int, int], fence: Fence,
        pass_fds: tuple[int, ...] = (),
    ) -> _Agent:
        as_other = owner != (os.getuid(), os.getgid())
        user: dict[str, Any] = {}
        if fence.cgroup_procs():  # root: join the cgroup, then become the sandbox's user
            command = as_sandbox_user(command, fence.cgroup_procs())
        elif as_other:
            user = {"user": owner[0], "group": owner[1], "extra_groups": []}
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=_MAX_LINE,
            pass_fds=pass_fds,
            **user,
        )
        agent = cls(process, fence)
        agent.pending[0] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(agent.pending[0]), timeout=30)
        except (TimeoutError, SandboxUnavailableError) as err:
            await agent.close()
            raise SandboxSetupError(
                f"The bwrap sandbox did not start: {' '.join(agent.stderr[-5:]) or err}"
            ) from err
        return agent

    async def request(self, op: str, wait: float, **fields: Any) -> dict[str, Any]:
        """Send a request and wait (up to ``wait`` seconds) for its answer."""
        if self.process.returncode is not None or self.process.stdin is None:
            raise SandboxUnavailableError(self._stopped())
        request_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        line = json.dumps({"id": request_id, "op": op, **fields}) + "\n"
        try:
            self.process.stdin.write(line.encode())
            await self.process.stdin.drain()
            return await asyncio.wait_for(future, timeout=wait)
        except (BrokenPipeError, ConnectionResetError) as err:
            raise SandboxUnavailableError(self._stopped()) from err
        except TimeoutError as err:
            message = f"The sandbox did not answer a '{op}' request in {wait:.0f} s."
            raise TimeoutError(message) from err
        finally:
            self.pending.pop(request_id, None)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            future = self.pending.get(answer.get("id"))
            if future is not None and not future.done():
                future.set_result(answer)
        await asyncio.sleep(0.05)  # let the stderr reader take the last lines
        for future in self.pending.values():
            if not future.done():
                future.set_exception(SandboxUnavailableError(self._stopped()))

    def _stopped(self) -> str:
        """The message of a request to a stopped sandbox: why it stopped, where known."""
        why = self.fence.stopped_because() if self.fence else ""
        detail = " ".join(self.stderr[-5:])
        return " ".join(
            part for part in ("The bwrap sandbox has stopped:" if why else
                              "The bwrap sandbox has stopped.", why and why + ".", detail)
            if part
        )

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr = [*self.stderr[-50:], line.decode(errors="replace").strip()]

    async def close(self) -> None:
        """Kill the sandbox: every process in it dies with bubblewrap."""
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        await self.process.wait()
        for task in (self.reader, self.errors):
            task.cancel()
        for future in self.pending.values():  # requests in flight learn why at once
            if not future.done():
                future.set_exception(SandboxUnavailableError(self._stopped()))
