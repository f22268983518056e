"""Locating, verifying and downloading the benchmark data."""

import io
import os
import shutil
from pathlib import Path

import pytest

from ping_inspect import data
from ping_inspect.data import DataError, data_dir, fetch, verify

if not os.environ.get("PING_INSPECT_DATA"):
    pytest.skip("benchmark data not found: run `ping-inspect data download` or set "
                "PING_INSPECT_DATA", allow_module_level=True)
SHARED = Path(os.environ["PING_INSPECT_DATA"])


def _copy_redcode(tmp_path: Path) -> Path:
    shutil.copytree(SHARED / "redcode-exec", tmp_path / "redcode-exec")
    return tmp_path


def test_explicit_directory_wins_and_is_verified(tmp_path: Path) -> None:
    root = _copy_redcode(tmp_path)
    assert data_dir("redcode-exec", explicit=root) == root.resolve()


def test_corrupt_or_missing_files_are_named_with_the_fix(tmp_path: Path) -> None:
    root = _copy_redcode(tmp_path)
    (root / "redcode-exec/eval/index3_30_codes_full.json").write_text("[]")
    (root / "redcode-exec/ping/index4_30_codes_full.json").unlink()
    with pytest.raises(DataError) as err:
        verify(root, "redcode-exec")
    message = str(err.value)
    assert "index3_30_codes_full.json does not match its sha256" in message
    assert "index4_30_codes_full.json is missing" in message
    assert "PING_INSPECT_DATA" in message and "ping-inspect data download" in message


def test_no_data_anywhere_without_download_is_a_clear_error(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("PING_INSPECT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError, match="-T data_dir=DIR"):
        data_dir("webdojo", download=False)


def _serve_from(root: Path, corrupt: str | None = None):
    manifest = data.manifest()
    by_upstream = {entry["upstream"]: rel for rel, entry in manifest["files"].items()}

    def urlopen(url: str, timeout: float):
        rel = by_upstream[url.split(f"{manifest['commit']}/", 1)[1]]
        body = (root / rel).read_bytes()
        return io.BytesIO(b"tampered" if rel == corrupt else body)

    return urlopen


def test_download_checks_every_file(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data.urllib.request, "urlopen", _serve_from(SHARED))
    dest = tmp_path / "cache"
    assert fetch("redcode-exec", dest) == dest.resolve()
    assert len(list((dest / "redcode-exec").rglob("*.json"))) == 54


def test_download_of_a_tampered_file_is_refused(monkeypatch, tmp_path: Path) -> None:
    bad = "redcode-exec/eval/index1_30_codes_full.json"
    monkeypatch.setattr(data.urllib.request, "urlopen", _serve_from(SHARED, corrupt=bad))
    with pytest.raises(DataError, match="does not match its sha256"):
        fetch("redcode-exec", tmp_path / "cache")
