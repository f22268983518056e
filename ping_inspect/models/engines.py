"""Which engine serves a local model, and the GGUF file llama.cpp serves it from.

``--engine auto`` (the default of ``reproduce`` and ``compare``) picks ``llamacpp`` on CPU
where llama-server is built, else ``transformers``. A transformers folder (the embedded
model's, or ``ping-inspect finetune``'s output, full or LoRA-merged) is served by
llama.cpp after conversion with llama.cpp's own ``convert_hf_to_gguf.py`` (the one in the
same llama-cpp-python sdist as the server, installed beside it by
``scripts/install-llama-server.sh``). The GGUF is cached in the folder
(``gguf/model-<key>-<type>.gguf``), keyed by the names, sizes and modification times of
the folder's weight, config and tokenizer files, so a changed checkpoint is converted
again and an unchanged one never.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from ping_inspect.contracts import Engine
from ping_inspect.models.llama_server import (
    INSTALL_STEP,
    LlamaServerError,
    cached_binary,
    find_llama_server,
)

CONVERTER_ENV = "PING_INSPECT_GGUF_CONVERTER"
"""Environment variable naming a ``convert_hf_to_gguf.py`` to use instead of the cached one."""

GGUF_DIR = "gguf"
"""The folder, inside a model folder, that holds its converted GGUF files."""

DEFAULT_OUTTYPE = "auto"
"""The converter's ``--outtype``: ``auto`` keeps the checkpoint's precision (bf16 stays bf16)."""

_KEYED_SUFFIXES = (".safetensors", ".bin", ".json", ".jinja", ".model", ".txt")


def cached_converter() -> Path:
    """Where ``scripts/install-llama-server.sh`` puts llama.cpp's converter."""
    return cached_binary().parent / "convert" / "convert_hf_to_gguf.py"


def find_converter() -> Path:
    """Return ``convert_hf_to_gguf.py``: ``$PING_INSPECT_GGUF_CONVERTER``, else the cached one.

    Raises:
        LlamaServerError: neither exists (the message names the install step).
    """
    override = os.environ.get(CONVERTER_ENV)
    path = Path(override).expanduser() if override else cached_converter()
    if path.is_file():
        return path
    raise LlamaServerError(
        f"llama.cpp's convert_hf_to_gguf.py is not installed (looked for {path}). Install it "
        f"with `{INSTALL_STEP}`, or point {CONVERTER_ENV} at the script."
    )


def resolve_engine(requested: str, device: str) -> Engine:
    """The engine for ``--engine requested`` on ``device`` (``cpu``, ``cuda``...).

    ``auto``: llamacpp on CPU where llama-server and the converter are installed, else
    transformers.
    """
    if requested != "auto":
        return Engine(requested)
    if device != "cpu":
        return Engine.TRANSFORMERS
    try:
        find_llama_server()
        find_converter()
    except LlamaServerError:
        return Engine.TRANSFORMERS
    return Engine.LLAMACPP


def checkpoint_key(folder: Path) -> str:
    """A short key that changes when the folder's weights, config or tokenizer change."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in _KEYED_SUFFIXES:
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def gguf_for(folder: str | Path, outtype: str = DEFAULT_OUTTYPE) -> Path:
    """The GGUF of a transformers model folder, converted on first use and cached in it.

    Raises:
        LlamaServerError: the converter is missing or fails (its last lines are quoted).
    """
    folder = Path(folder).resolve()
    if not (folder / "config.json").is_file():
        raise LlamaServerError(f"{folder} is not a transformers model folder (no config.json).")
    target = folder / GGUF_DIR / f"model-{checkpoint_key(folder)}-{outtype}.gguf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    command = [sys.executable, str(find_converter()), str(folder), "--outtype", outtype,
               "--outfile", str(partial)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise LlamaServerError(f"convert_hf_to_gguf.py could not convert {folder}: {tail}")
    for stale in target.parent.glob(f"model-*-{outtype}.gguf"):
        stale.unlink()  # an earlier state of this checkpoint
    partial.rename(target)
    return target


def local_model_name(source: str | Path, engine: Engine) -> str:
    """The ``--model`` of a local transformers folder (or cached id) on ``engine``."""
    path = Path(source)
    if engine == Engine.LLAMACPP:
        return f"llamacpp/{gguf_for(path)}"
    return f"transformers/{path.resolve() if path.is_dir() else source}"
