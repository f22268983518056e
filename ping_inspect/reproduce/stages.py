"""Resumable stages: each is skipped when its output exists with the same settings hash.

A stage records ``DIR/stages/<name>.json`` when it finishes (hash, outputs, timing) and
``<name>.started.json`` when it starts. A stage whose finished record holds another hash
runs again; a stage started with another hash has its outputs removed first (a training
run must not resume from another run's checkpoints), while one started with the same hash
keeps them (training resumes from its last checkpoint, an eval grid from its logs). The
manifest (``DIR/manifest.json``) gathers every stage's record.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
STAGES = "stages"


def settings_hash(values: Mapping[str, Any]) -> str:
    """A short, stable hash of JSON-able settings."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def folder_fingerprint(path: str | Path) -> str:
    """A hash of a model folder's files (names, sizes, modification times)."""
    folder = Path(path)
    if not folder.is_dir():
        return str(path)  # a model id or the embedded model's name
    items = sorted((str(p.relative_to(folder)), p.stat().st_size, int(p.stat().st_mtime))
                   for p in folder.glob("*") if p.is_file())
    return settings_hash({"files": items})


@dataclass
class StageResult:
    """What a stage produced."""

    outputs: dict[str, Any]
    """Paths and values later stages read (JSON-able)."""


class Pipeline:
    """Runs stages in order, skipping finished ones, and keeps the manifest."""

    def __init__(self, out: Path, settings: Mapping[str, Any], command: list[str] | None = None,
                 exclusive: bool = False):
        """Keep the manifest of ``out``.

        Args:
            out: The experiment's folder.
            settings: The run's settings (recorded).
            command: The command line (recorded).
            exclusive: Several workers share ``out`` (``--shard``): a stage that is not
                ``shared`` is claimed, so one worker runs it while the others wait.
        """
        self.out = out
        self.exclusive = exclusive
        self.records_dir = out / STAGES
        self.records_dir.mkdir(parents=True, exist_ok=True)
        self.manifest_path = out / MANIFEST
        self.manifest: dict[str, Any] = {
            "command": command,
            "settings": dict(settings),
            "stages": {},
        }
        if self.manifest_path.is_file():
            earlier = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            self.manifest["stages"] = earlier.get("stages", {})

    def run(self, name: str, values: Mapping[str, Any],
            body: Callable[[], StageResult], clean: list[Path] | None = None,
            outputs_exist: Callable[[dict[str, Any]], bool] | None = None,
            shared: bool = False) -> dict[str, Any]:
        """Run stage ``name`` unless it finished with the same settings; return its outputs.

        Args:
            name: The stage's name.
            values: What the stage depends on (hashed).
            body: Does the work.
            clean: Paths removed before a run whose started record holds another hash.
            outputs_exist: Whether a finished record's outputs are still there.
            shared: The stage's own work is shared out between workers (evaluation grids):
                every worker runs it, unclaimed.
        """
        if not self.exclusive or shared:
            return self._run(name, values, body, clean, outputs_exist)
        from ping_inspect.compare.claims import CellClaims

        claims = CellClaims(self.records_dir)
        while (claim := claims.claim(name)) is None:
            time.sleep(2.0)  # another worker runs it: wait, then find it done
        try:
            return self._run(name, values, body, clean, outputs_exist)
        finally:
            claim.release()

    def _run(self, name: str, values: Mapping[str, Any], body: Callable[[], StageResult],
             clean: list[Path] | None,
             outputs_exist: Callable[[dict[str, Any]], bool] | None) -> dict[str, Any]:
        digest = settings_hash(values)
        done_path = self.records_dir / f"{name}.json"
        started_path = self.records_dir / f"{name}.started.json"
        if done_path.is_file():
            done = json.loads(done_path.read_text(encoding="utf-8"))
            if done.get("hash") == digest and (outputs_exist is None
                                               or outputs_exist(done["outputs"])):
                self._record(name, {**done, "skipped": True})
                _say(f"{name}: done earlier with the same settings ({digest}), skipped")
                return done["outputs"]
            done_path.unlink()
        resumed = False
        if started_path.is_file():
            started = json.loads(started_path.read_text(encoding="utf-8"))
            if started.get("hash") != digest:
                for path in clean or []:
                    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else (
                        path.unlink(missing_ok=True))
            else:
                resumed = True
        started_at = _now()
        started_path.write_text(json.dumps({"hash": digest, "started": started_at}),
                                encoding="utf-8")
        _say(f"{name}: {'resuming' if resumed else 'running'} ({digest})")
        self._record(name, {"hash": digest, "status": "running", "started": started_at,
                            "settings": dict(values)})
        clock = time.monotonic()
        try:
            result = body()
        except BaseException:
            self._record(name, {**self.manifest["stages"][name], "status": "interrupted"})
            raise
        record = {
            "hash": digest,
            "status": "done",
            "started": started_at,
            "finished": _now(),
            "seconds": round(time.monotonic() - clock, 1),
            "resumed": resumed,
            "settings": dict(values),
            "outputs": result.outputs,
        }
        done_path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        self._record(name, {**record, "skipped": False})
        _say(f"{name}: done in {record['seconds']} s")
        return result.outputs

    def note(self, key: str, value: Any) -> None:
        """Add a top-level entry to the manifest."""
        self.manifest[key] = value
        self._write()

    def _record(self, name: str, record: dict[str, Any]) -> None:
        self.manifest["stages"][name] = record
        self._write()

    def _write(self) -> None:
        tmp = self.manifest_path.with_suffix(f".{os.getpid()}.tmp")  # workers share out/
        tmp.write_text(json.dumps(self.manifest, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.manifest_path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _say(text: str) -> None:
    print(f"ping-inspect reproduce: {text}", file=sys.stderr, flush=True)
