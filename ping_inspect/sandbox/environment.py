"""``bwrap``: an Inspect sandbox that needs no Docker (bubblewrap + overlayfs).

Use it like any sandbox: ``Task(sandbox=("bwrap", BwrapConfig(image="redcode")))`` or
``--sandbox bwrap``. Each sample gets a fresh sandbox: the image read-only, a writable
layer of its own on the host (kept for inspection with ``keep_layers``), the image's
services started before the sample runs, and no network beyond its own loopback. See
``ping_inspect.sandbox.bwrap`` for the isolation and ``ping_inspect.sandbox.image`` for
what the sandbox sees.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import importlib
import json
import os
import shutil
import signal
import tempfile
import threading
from itertools import count
from pathlib import Path
from typing import Any, Literal, overload

import anyio
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    sandboxenv,
)
from inspect_ai.util._sandbox.environment import (
    SandboxUnavailableError,
    SandboxUserUnsupportedError,
)
from pydantic import BaseModel

from ping_inspect.sandbox.bwrap import (
    AGENT_PATH,
    Layer,
    Limits,
    SandboxSetupError,
    bwrap_command,
    check_host,
    sandbox_user,
)
from ping_inspect.sandbox.image import BuiltImage, ImageSpec, materialize

IMAGES = {
    "base": "ping_inspect.sandbox.image:base_image",
    "redcode": "ping_inspect.redcode.environment:redcode_image",
}
"""Image names and the ``module:function`` that returns each spec."""

_AGENT = Path(__file__).with_name("_agent.py")
# Entries bubblewrap itself creates in the layer as mount points.
_MOUNT_POINTS = {AGENT_PATH, "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}
_GRACE = 30.0  # seconds the host waits beyond a command's own time limit
_MAX_LINE = 512 * 1024 * 1024


class BwrapConfig(BaseModel, frozen=True):
    """Settings of the ``bwrap`` sandbox.

    Attributes:
        image: An image name (``base``, ``redcode``) or ``module:function`` returning an
            ``ImageSpec``.
        exec_timeout: Time limit (seconds) of a command given none.
        memory_mb: Address-space limit of each process.
        max_processes: Process limit of the sandbox's user.
        max_file_mb: Largest file a command may write.
        keep_layers: Keep each sample's writable layer in this directory after the sample
            (by sample id), for inspection; by default it is deleted.
    """

    image: str = "base"
    exec_timeout: int = 60
    memory_mb: int = 2048
    max_processes: int = 512
    max_file_mb: int = 1024
    keep_layers: str | None = None

    def limits(self) -> Limits:
        """Return the per-command resource limits."""
        return Limits(self.memory_mb, self.max_processes, self.max_file_mb)


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

    def __init__(self, agent: _Agent, layer: Layer, image: BuiltImage, config: BwrapConfig):
        super().__init__()
        self.agent, self.layer, self.image, self.config = agent, layer, image, config

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
        keep = keep or self.config.keep_layers
        if keep:
            destination = Path(keep)
            destination.mkdir(parents=True, exist_ok=True)
            await anyio.to_thread.run_sync(shutil.move, self.layer.root, destination)
        else:
            # The sandbox's processes may take a moment to go after bubblewrap: retry.
            for _ in range(50):
                await anyio.to_thread.run_sync(_remove_tree, self.layer.root)
                if not self.layer.root.exists():
                    break
                await anyio.sleep(0.1)

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
        if answer.get("timed_out"):
            raise TimeoutError(
                f"Command timed out after {limit} seconds (all its processes were killed)."
            )
        returncode = int(answer["returncode"])
        return ExecResult(
            returncode == 0,
            returncode,
            _decode(answer["stdout"]),
            _decode(answer["stderr"]),
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
        """Read a file from the sandbox."""
        answer = await self.agent.request("read", wait=120, path=file, limit=_read_limit())
        _raise_file_error(answer, file)
        data = base64.b64decode(answer["data"])
        return data.decode("utf-8") if text else data

    # ------------------------------------------------------------ host-side inspection

    def layer_path(self, sandbox_path: str) -> Path:
        """Where ``sandbox_path`` lands in this sample's layer on the host.

        The file there exists only if the sample created or changed it; a character
        device 0:0 there means the sample deleted it (an overlayfs whiteout).
        """
        return self.layer.host_path(sandbox_path)[1]

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


def _is_whiteout(path: Path) -> bool:
    info = path.lstat()
    return (info.st_mode & 0o170000) == 0o020000 and info.st_rdev == 0


def _decode(data: str) -> str:
    return base64.b64decode(data).decode("utf-8", errors="replace")


def _exec_output_limit() -> int:
    from inspect_ai.util._sandbox.limits import SandboxEnvironmentLimits

    return int(SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE)


def _read_limit() -> int:
    from inspect_ai.util._sandbox.limits import SandboxEnvironmentLimits

    return int(SandboxEnvironmentLimits.MAX_READ_FILE_SIZE)


def _raise_file_error(answer: dict[str, Any], file: str) -> None:
    if answer["ok"]:
        return
    error, message = answer["error"], answer["message"]
    if error == "OverflowError":
        raise OutputLimitExceededError(limit_str=message, truncated_output=None)
    kinds: dict[str, type[Exception]] = {
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
    owner = sandbox_user()
    layer = Layer(Path(tempfile.mkdtemp(prefix="ping-sandbox-layer-")))
    await anyio.to_thread.run_sync(layer.create, owner)
    settings = {
        "workdir": image.spec.workdir,
        "env": image.spec.environment(),
        "limits": config.limits().prlimit(),
    }
    command = bwrap_command(image, layer, _AGENT, settings)
    try:
        agent = await _Agent.start(command, owner)
        services = [
            {"argv": list(s.argv), "argv0": s.argv0, "log": s.log} for s in image.spec.services
        ]
        ports = [s.port for s in image.spec.services if s.port]
        if services:
            answer = await agent.request("boot", wait=60, services=services, ports=ports)
            if not answer["ok"]:
                await agent.close()
                raise SandboxSetupError(
                    f"The '{image.spec.name}' image's services did not start: {answer['message']}"
                )
    except BaseException:
        await anyio.to_thread.run_sync(_remove_tree, layer.root)
        raise
    return BwrapSandboxEnvironment(agent, layer, image, config)


_images: dict[str, BuiltImage] = {}
_image_lock = threading.Lock()
_image_root: Path | None = None


async def built_image(name: str) -> BuiltImage:
    """Return the image ``name``, written to disk once per process."""
    return await anyio.to_thread.run_sync(_build_image, name)


def _build_image(name: str) -> BuiltImage:
    global _image_root
    with _image_lock:
        if name in _images:
            return _images[name]
        spec = resolve_image(name)
        if _image_root is None:
            _image_root = Path(tempfile.mkdtemp(prefix="ping-sandbox-images-"))
            _image_root.chmod(0o755)
            atexit.register(_remove_tree, _image_root)
        image = materialize(spec, _image_root / f"{len(_images)}-{spec.name}", sandbox_user())
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


def _remove_tree(path: Path) -> None:
    """Delete a layer or image, including overlayfs work directories left unreadable."""
    if not Path(path).exists():
        return
    for parent, dirs, _ in os.walk(path):  # top-down: open each directory before entering
        for name in dirs:
            full = os.path.join(parent, name)
            if not os.path.islink(full):
                try:
                    os.chmod(full, 0o700)
                except OSError:
                    pass
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- the agent channel


class _Agent:
    """The host end of the line-delimited JSON channel to the sandbox's PID 1."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = count(1)
        self.stderr: list[str] = []
        self.reader = asyncio.create_task(self._read())
        self.errors = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, command: list[str], owner: tuple[int, int]) -> _Agent:
        as_other = owner != (os.getuid(), os.getgid())
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=_MAX_LINE,
            **({"user": owner[0], "group": owner[1], "extra_groups": []} if as_other else {}),
        )
        agent = cls(process)
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
            raise SandboxUnavailableError("The bwrap sandbox has stopped.")
        request_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        line = json.dumps({"id": request_id, "op": op, **fields}) + "\n"
        try:
            self.process.stdin.write(line.encode())
            await self.process.stdin.drain()
            return await asyncio.wait_for(future, timeout=wait)
        except (BrokenPipeError, ConnectionResetError) as err:
            raise SandboxUnavailableError("The bwrap sandbox has stopped.") from err
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
        detail = " ".join(self.stderr[-5:])
        for future in self.pending.values():
            if not future.done():
                stopped = SandboxUnavailableError(f"The bwrap sandbox stopped. {detail}")
                future.set_exception(stopped)

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
