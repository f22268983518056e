"""The search's state on disk: what a killed search needs to continue where it stopped.

Everything that cannot be recomputed is recorded: every generator reply (replayed on
resume, so the same candidates come back), every candidate's value on every task it was
evaluated on, the logs of its evaluations, the cost so far. The file is rewritten
atomically after every change, so a kill at any point leaves the last complete state.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

STATE_FILE = "state.json"
STATE_VERSION = 1


class Attempt(BaseModel):
    """One call of the generator."""

    reply: str = ""
    """The generator's raw reply."""

    accepted: list[str] = Field(default_factory=list)
    """The candidates taken from it."""

    rejected: list[tuple[str, str]] = Field(default_factory=list)
    """Lines left out, with the reason."""

    tokens: int = 0
    error: str | None = None
    """Why the call failed (the attempt then gave no candidate)."""


class RoundRecord(BaseModel):
    """One round of the search."""

    index: int
    exemplars: dict[str, list[str]] = Field(default_factory=dict)
    """Candidate ids shown to the generator: by combined, benign and refusal score."""

    attempts: list[Attempt] = Field(default_factory=list)
    candidates: list[str] = Field(default_factory=list)
    """Ids of the round's candidates."""

    contenders: list[str] | None = None
    """Racing: who raced this round (the earlier finalists and the new candidates)."""

    survivors: list[list[str]] = Field(default_factory=list)
    """Racing: who was still in after each finished stage."""

    done: bool = False


class CandidateRecord(BaseModel):
    """One candidate prefix and what is known about it."""

    id: str
    prefix: str
    round: int
    origin: str = "generator"
    """``generator`` or ``pool`` (a fixed list of candidates)."""

    values: dict[str, float] = Field(default_factory=dict)
    """Value per task key: performs (benign) or refuses (harmful)."""

    logs: list[str] = Field(default_factory=list)
    """Paths of the evaluation logs that hold its samples."""

    failed: str | None = None
    """Why its evaluation failed (it then takes no further part)."""

    dropped_at: str | None = None
    """Racing: where it was dropped (``r02-s0``: round 2, stage 0); None: still in."""


class Cost(BaseModel):
    """What the search has spent."""

    generator_calls: int = 0
    generator_tokens: int = 0
    target_tokens: int = 0
    target_generations: int = 0
    """Model calls made by the evaluations (a cached result costs none)."""

    evaluations: int = 0
    """(candidate, task) pairs the strategy asked for."""

    inner_runs: int = 0
    """Inner evaluation processes started."""

    wall_seconds: float = 0.0

    @property
    def tokens(self) -> int:
        """Generator and target tokens together (what ``max_tokens`` limits)."""
        return self.generator_tokens + self.target_tokens


class SearchState(BaseModel):
    """The whole state of one search."""

    version: int = STATE_VERSION
    key: str
    settings: dict[str, Any] = Field(default_factory=dict)
    rounds: list[RoundRecord] = Field(default_factory=list)
    candidates: dict[str, CandidateRecord] = Field(default_factory=dict)
    batches: dict[str, list[str]] = Field(default_factory=dict)
    """Finished evaluation batches: their directory and logs."""

    cost: Cost = Field(default_factory=Cost)
    stopped: str | None = None
    """Why the search stopped before its last round (a budget), if it did."""

    result: dict[str, Any] | None = None

    def round(self, index: int) -> RoundRecord:
        """Return round ``index``, creating it (and any before it) if needed."""
        while len(self.rounds) <= index:
            self.rounds.append(RoundRecord(index=len(self.rounds)))
        return self.rounds[index]

    def add_candidate(self, prefix: str, round: int, origin: str) -> CandidateRecord:
        """Add a candidate (or return the one with the same prefix)."""
        for record in self.candidates.values():
            if record.prefix == prefix:
                return record
        record = CandidateRecord(id=f"c{len(self.candidates):03d}", prefix=prefix,
                                 round=round, origin=origin)
        self.candidates[record.id] = record
        return record


def search_key(identity: dict[str, Any]) -> str:
    """Return a short stable key for a search's identity (what must match to resume)."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateStore:
    """Loads and saves one search's state in its directory, counting wall time."""

    def __init__(self, directory: Path, key: str, settings: dict[str, Any]) -> None:
        """Open the state in ``directory`` (a new one if there is none yet).

        Raises:
            ValueError: the directory holds the state of a different search.
        """
        self.directory = directory
        self.path = directory / STATE_FILE
        if self.path.is_file():
            self.state = SearchState.model_validate_json(self.path.read_text(encoding="utf-8"))
            if self.state.key != key:
                raise ValueError(
                    f"{self.path} belongs to search {self.state.key}, not {key}: use another "
                    "state_dir or delete the folder."
                )
            self.resumed = True
        else:
            self.state = SearchState(key=key, settings=settings)
            self.resumed = False
        self._clock = time.monotonic()

    def save(self) -> None:
        """Write the state (wall time since the last save is added to the cost)."""
        now = time.monotonic()
        self.state.cost.wall_seconds += now - self._clock
        self._clock = now
        write_atomically(self.path, self.state.model_dump_json(indent=1))
