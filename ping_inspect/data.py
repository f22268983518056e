"""Locating, verifying and downloading the benchmark data (WebDojo, RedCode-Exec).

The data is never shipped with the package. It is found, in order, in: the directory a
task argument names; the directory in ``PING_INSPECT_DATA``; the user cache
(``~/.cache/ping-inspect/data``); else it is downloaded there from the PING authors'
public repository at a pinned commit, each file checked against its sha256 sum
(``data_manifest.json``). A data directory holds ``webdojo/`` and ``redcode-exec/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ping_inspect.arguments import ShortError

Benchmark = Literal["webdojo", "redcode-exec"]
ENV_VAR = "PING_INSPECT_DATA"


class DataError(ShortError, RuntimeError):
    """Benchmark data that is missing or corrupt (the Inspect CLI prints the message alone)."""


@cache
def manifest() -> dict[str, Any]:
    """The pinned source and sha256 sum of every data file."""
    text = resources.files("ping_inspect").joinpath("data_manifest.json").read_text()
    return json.loads(text)


def cache_dir() -> Path:
    """Where downloaded data lives (``$XDG_CACHE_HOME/ping-inspect/data``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ping-inspect" / "data"


def benchmark_files(benchmark: Benchmark) -> dict[str, dict[str, Any]]:
    """Manifest entries of one benchmark, keyed by path relative to the data directory."""
    return {k: v for k, v in manifest()["files"].items() if k.startswith(f"{benchmark}/")}


def data_dir(
    benchmark: Benchmark, explicit: str | Path | None = None, download: bool = True
) -> Path:
    """Find (or fetch) a verified data directory that holds ``benchmark``.

    Args:
        benchmark: ``webdojo`` or ``redcode-exec``.
        explicit: A directory given as a task argument (wins over everything else).
        download: Download into the cache when the data is nowhere else.

    Returns:
        The data directory (the parent of ``benchmark/``).

    Raises:
        DataError: the data is missing or corrupt, with what to do about it.
    """
    if explicit is not None:
        return verify(Path(explicit), benchmark, origin="the data_dir argument")
    if os.environ.get(ENV_VAR):
        return verify(Path(os.environ[ENV_VAR]), benchmark, origin=f"${ENV_VAR}")
    cached = cache_dir()
    if (cached / benchmark).is_dir():
        return verify(cached, benchmark, origin="the download cache")
    if not download:
        raise DataError(_how_to_get(benchmark, f"{benchmark}/ is not in {cached}"))
    return fetch(benchmark, cached)


def verify(root: Path, benchmark: Benchmark, origin: str = "the data directory") -> Path:
    """Check every file of ``benchmark`` under ``root`` against its sha256 sum."""
    root = root.expanduser().resolve()
    problems = _check(str(root), benchmark)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        shown = "; ".join(problems[:3]) + more
        raise DataError(_how_to_get(benchmark, f"{origin} ({root}): {shown}"))
    return root


@cache
def _check(root: str, benchmark: Benchmark) -> tuple[str, ...]:
    problems = []
    for rel, entry in benchmark_files(benchmark).items():
        path = Path(root) / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif _sha256(path.read_bytes()) != entry["sha256"]:
            problems.append(f"{rel} does not match its sha256 sum")
    return tuple(problems)


def fetch(benchmark: Benchmark, dest: Path) -> Path:
    """Download ``benchmark`` at the pinned commit into ``dest``, verifying each file."""
    info = manifest()
    for rel, entry in benchmark_files(benchmark).items():
        path = dest / rel
        if path.is_file() and _sha256(path.read_bytes()) == entry["sha256"]:
            continue
        url = info["url_template"].format(
            repository=info["repository"], commit=info["commit"], upstream=entry["upstream"]
        )
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                body = response.read()
        except OSError as err:
            raise DataError(_how_to_get(benchmark, f"downloading {url} failed: {err}")) from err
        if _sha256(body) != entry["sha256"]:
            raise DataError(_how_to_get(benchmark, f"{url} does not match its sha256 sum"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    _check.cache_clear()
    return verify(dest, benchmark, origin="the download")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _how_to_get(benchmark: Benchmark, problem: str) -> str:
    info = manifest()
    return (
        f"{benchmark} data unavailable: {problem}.\n"
        f"Fix: pass -T data_dir=DIR or set {ENV_VAR}=DIR, where DIR holds {benchmark}/ "
        f"(a copy of {info['repository']} at {info['commit'][:7]}), or run "
        f"`ping-inspect data download` with internet access."
    )
