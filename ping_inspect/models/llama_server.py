"""A managed llama.cpp ``llama-server``: found, started on a free local port, stopped.

The server is the fast local engine of the ``llamacpp/`` provider. It is a child of the
Python process that starts it, in its own process group, and dies with it: stopped by
``LlamaServer.stop`` (the provider's close at the end of an eval), by an ``atexit`` hook
(Ctrl-C, an exception) and, if the parent is killed outright, by the kernel
(``PR_SET_PDEATHSIG``), so no server outlives its run.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LLAMA_SERVER_ENV = "PING_INSPECT_LLAMA_SERVER"
"""Environment variable naming a llama-server binary to use instead of the cached build."""

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
"""The llama-cpp-python sdist whose vendored llama.cpp the install script builds."""

INSTALL_STEP = "bash scripts/install.sh"

GGUF_MAGIC = b"GGUF"

_PR_SET_PDEATHSIG = 1


class LlamaServerError(RuntimeError):
    """llama-server cannot be found, cannot start, or stopped while in use."""


def cached_binary() -> Path:
    """Where ``scripts/install-llama-server.sh`` puts the binary."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base) / "ping-inspect" / "llama-server"
            / f"llama-cpp-python-{LLAMA_CPP_PYTHON_VERSION}" / "llama-server")


def find_llama_server() -> Path:
    """Return the llama-server binary: ``$PING_INSPECT_LLAMA_SERVER``, else the cached build.

    Raises:
        LlamaServerError: neither exists (the message names the install step).
    """
    override = os.environ.get(LLAMA_SERVER_ENV)
    if override:
        path = Path(override).expanduser()
        resolved = path if path.is_file() else shutil.which(override)
        if not resolved or not os.access(resolved, os.X_OK):
            raise LlamaServerError(
                f"{LLAMA_SERVER_ENV}={override} is not an executable llama-server."
            )
        return Path(resolved)
    binary = cached_binary()
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    raise LlamaServerError(
        f"llama.cpp's llama-server is not installed (looked for {binary}). Build it with "
        f"`{INSTALL_STEP}` (about 5 minutes on 2 cores), or point {LLAMA_SERVER_ENV} at a "
        "llama-server binary."
    )


def find_llama_quantize() -> Path:
    """Return llama.cpp's llama-quantize: beside the llama-server in use, else on PATH.

    Raises:
        LlamaServerError: there is none (the message names the install step).
    """
    beside = find_llama_server().with_name("llama-quantize")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("llama-quantize")
    if on_path:
        return Path(on_path)
    raise LlamaServerError(
        f"llama.cpp's llama-quantize is not installed (looked for {beside}); it makes the "
        f"f32 copy of a quantised model. Build it with `{INSTALL_STEP}`, or serve the file "
        "as it is with -M dequantize=false."
    )


def dequantized_copy(gguf: Path, timeout: float = 600.0) -> Path:
    """An f32 copy of ``gguf`` holding the weights ``transformers/`` computes with.

    The copy is made once with llama-quantize and cached. Its values are the quantised
    weights rounded to bf16 (quantised -> BF16 -> F32), which is what the embedded
    model's transformers folder holds, so both engines run the same numbers. On CPU,
    llama.cpp's f32 kernels also run a model this small faster than its Q4_1 ones
    (``llama-batched-bench`` on SmolLM2-135M, 2 threads, 4 sequences of 1024 + 64
    tokens: 468 against 286 tokens/s).

    Raises:
        LlamaServerError: llama-quantize is missing or fails (its last lines quoted).
    """
    stat = gguf.stat()
    key = hashlib.sha256(
        f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    ).hexdigest()[:12]
    dest = cached_binary().parent / "models" / f"{gguf.stem}.{key}.bf16.F32.gguf"
    if dest.is_file():
        return dest
    quantize = find_llama_quantize()
    dest.parent.mkdir(parents=True, exist_ok=True)
    bf16 = dest.with_name(f"{dest.name}.{os.getpid()}.bf16.partial")
    f32 = dest.with_name(f"{dest.name}.{os.getpid()}.partial")
    try:
        _quantize(quantize, gguf, bf16, "BF16", timeout)
        _quantize(quantize, bf16, f32, "F32", timeout)
        # A rename: a concurrent run sees the whole file or none.
        os.replace(f32, dest)
    finally:
        bf16.unlink(missing_ok=True)
        f32.unlink(missing_ok=True)
    return dest


def _quantize(quantize: Path, source: Path, dest: Path, kind: str, timeout: float) -> None:
    command = [str(quantize), "--allow-requantize", str(source), str(dest), kind]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise LlamaServerError(f"llama-quantize took over {timeout:.0f} s on {source}.") from error
    if done.returncode != 0 or not dest.is_file():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-4:])
        raise LlamaServerError(f"llama-quantize could not make an f32 copy of {source}:\n{tail}")


def check_gguf(path: Path) -> Path:
    """Return ``path`` if it is a GGUF file, else raise one clear error."""
    if not path.is_file():
        raise LlamaServerError(f"No GGUF file at {path}.")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise LlamaServerError(
                f"{path} is not a GGUF file (llamacpp/ serves GGUF models; convert a "
                "transformers folder with llama.cpp's convert_hf_to_gguf.py)."
            )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Raise a clear error if ``port`` is already taken on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as err:
            raise LlamaServerError(
                f"Port {port} on {host} is in use ({err.strerror}); leave -M port unset "
                "for a free one, or pass -M base_url=http://HOST:PORT/v1 to use the server "
                "already there."
            ) from err


def _die_with_parent() -> None:
    # Runs in the child before exec: the kernel sends SIGTERM when the parent dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class LlamaServer:
    """One running llama-server process serving one GGUF model on 127.0.0.1."""

    command: list[str]
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    host: str = "127.0.0.1"
    _stopped: bool = field(default=False, repr=False)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://{self.host}:{self.port}/v1"

    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def log_tail(self, lines: int = 6) -> str:
        """The last lines the server wrote (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def exit_message(self) -> str:
        """One line saying that the server stopped, its exit code and its last words."""
        code = self.process.poll()
        tail = self.log_tail(3).replace("\n", " | ")
        return f"llama-server (port {self.port}) exited with code {code}: {tail}"

    def wait_ready(self, timeout: float) -> None:
        """Wait until ``/health`` answers 200; raise if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                self.stop()
                raise LlamaServerError(self.exit_message())
            try:
                with urllib.request.urlopen(
                    f"http://{self.host}:{self.port}/health", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise LlamaServerError(
            f"llama-server did not become ready within {timeout:.0f} s (-M timeout=...); "
            f"its log ends: {self.log_tail(3)}"
        )

    def stop(self) -> None:
        """Terminate the server's process group (SIGTERM, then SIGKILL after 5 s)."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self.running():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass


def start_llama_server(
    binary: Path,
    gguf: Path,
    *,
    alias: str,
    port: int | None = None,
    slots: int = 4,
    threads: int | None = None,
    ctx: int = 8192,
    chat_template: Path | None = None,
    extra_args: list[str] | None = None,
    timeout: float = 120.0,
) -> LlamaServer:
    """Start llama-server on ``gguf`` and wait until it is ready.

    Args:
        binary: The llama-server executable.
        gguf: The model file.
        alias: The model name the server reports.
        port: A port to use (checked free); None picks a free one.
        slots: Parallel request slots (``-np``); ``ctx`` is shared among them.
        threads: CPU threads (``-t``); None lets llama.cpp choose.
        ctx: Total context tokens (``-c``).
        chat_template: A Jinja chat template file to use instead of the model's own.
        extra_args: More llama-server arguments, passed as they are.
        timeout: Seconds to wait for the server to load the model.

    Raises:
        LlamaServerError: the port is taken, or the server exits or never becomes ready
            (the message quotes the end of its log).
    """
    if port is None:
        port = free_port()
    else:
        check_port_free(port)
    command = [
        str(binary), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "-np", str(slots), "-c", str(ctx), "--alias", alias, "--jinja", "--no-webui",
    ]
    if threads:
        command += ["-t", str(threads)]
    if chat_template is not None:
        command += ["--chat-template-file", str(chat_template)]
    # llama.cpp turns flash attention on by default; on CPU its kernel decodes at about
    # half the speed at a 1k-token context (llama-bench on SmolLM2 Q4_1, 2 threads: 45 vs
    # 84 tokens/s), and agent turns decode on long histories. extra_args may turn it on.
    command += ["--flash-attn", "off"]
    command += extra_args or []
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=_die_with_parent,
    )
    log.close()
    server = LlamaServer(command, port, process, Path(log.name))
    atexit.register(server.stop)
    server.wait_ready(timeout)
    return server
