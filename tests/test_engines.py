"""Local engines: the engine ``--engine auto`` picks, and the GGUF a checkpoint is served from.

The conversion runs llama.cpp's own converter on a tiny random Llama (a few seconds);
skipped where the converter is not installed (`bash scripts/install.sh`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tiny_models import save_tiny_llama

from ping_inspect.contracts import Engine
from ping_inspect.models import engines
from ping_inspect.models.llama_server import LlamaServerError


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        engines.find_converter()
    except LlamaServerError as err:
        pytest.skip(str(err))
    return save_tiny_llama(tmp_path_factory.mktemp("tiny"))


def test_auto_is_llamacpp_on_cpu_only_where_it_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert engines.resolve_engine("auto", "cuda") == Engine.TRANSFORMERS
    assert engines.resolve_engine("llamacpp", "cuda") == Engine.LLAMACPP
    monkeypatch.delenv("PING_INSPECT_LLAMA_SERVER", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing installed there
    assert engines.resolve_engine("auto", "cpu") == Engine.TRANSFORMERS
    with pytest.raises(LlamaServerError, match="bash scripts/install.sh"):
        engines.find_converter()


def test_a_checkpoint_converts_once_and_again_when_it_changes(tiny_folder: Path) -> None:
    first = engines.gguf_for(tiny_folder)
    assert first.read_bytes()[:4] == b"GGUF" and first.parent == tiny_folder / "gguf"
    assert engines.gguf_for(tiny_folder) == first  # cached: no second conversion
    config = tiny_folder / "config.json"
    stat = config.stat()
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = engines.gguf_for(tiny_folder)
    assert second != first and second.is_file() and not first.exists()
    assert engines.local_model_name(tiny_folder, Engine.LLAMACPP) == f"llamacpp/{second}"
    assert engines.local_model_name(tiny_folder, Engine.TRANSFORMERS) == (
        f"transformers/{tiny_folder.resolve()}")


def test_a_folder_that_is_not_a_model_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LlamaServerError, match="not a transformers model folder"):
        engines.gguf_for(tmp_path)


def test_compare_puts_only_local_models_named_without_a_provider_on_the_engine(
    tiny_folder: Path,
) -> None:
    from ping_inspect.compare.cli import on_engine

    given = ["smollm2", str(tiny_folder), "transformers/smollm2", "openai/gpt-4o"]
    assert on_engine(given, "transformers") == [
        "transformers/smollm2", f"transformers/{tiny_folder.resolve()}",
        "transformers/smollm2", "openai/gpt-4o"]
    on_llamacpp = on_engine(given, "llamacpp")
    assert on_llamacpp[0] == "llamacpp/smollm2" and on_llamacpp[2:] == given[2:]
    assert on_llamacpp[1] == f"llamacpp/{engines.gguf_for(tiny_folder)}"
