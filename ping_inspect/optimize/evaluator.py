"""Evaluating candidates: each one a real Inspect evaluation, run outside the outer eval.

Inspect allows no ``eval()`` inside a running eval, so a batch of candidates (a round, or
a racing stage) goes to a separate process (``python -m ping_inspect.optimize.inner``),
which runs them with ``eval_set`` against one loaded target model: each candidate is the
benchmark's task with the ``ping`` solver and that candidate's prefix, on the batch's
samples, and leaves its own log. The candidate's first responses are scored by the
search's fitness (``fitness``: the paper's search patterns by default, which replace the
benchmark's scorer) and generated greedily, as the paper's search was (every turn of the
package is greedy unless the user chose a temperature, which then reaches the inner
evals through the target's configuration and is recorded in their samples). The outer
eval awaits the process without blocking its event loop, counting the candidates whose
logs are finished as it goes.

Each batch has its own log directory named after its content, so a batch
started again after a kill is the same ``eval_set``: finished candidates are not run
again, unfinished ones resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ping_inspect.optimize.benchmarks import BenchmarkError, BenchmarkSpec, TaskRef
from ping_inspect.optimize.fitness import DEFAULT_FITNESS, SearchFitness, parse_fitness
from ping_inspect.optimize.state import write_atomically
from ping_inspect.prefill import user_temperature

SPEC_FILE, RESULTS_FILE, PROCESS_LOG = "spec.json", "results.json", "inner.log"
DEFAULT_PARALLEL = 8
"""Candidates an inner eval runs at once by default (each with all its samples)."""
POLL_SECONDS = 2.0
"""How often a running batch's finished logs are counted for the progress display."""

BatchProgress = Callable[[str, int, int], None]
"""Called with a batch's label, its candidates finished so far and its candidates."""


class EvaluationError(RuntimeError):
    """An inner evaluation process that gave no result (the search stops; resume later)."""


@dataclass(frozen=True)
class TargetModel:
    """The model under test, as the inner process must recreate it."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    base_url: str | None = None

    @classmethod
    def from_model(cls, model: Any) -> TargetModel:
        """Describe an Inspect ``Model`` (e.g. the outer eval's ``get_model()``)."""
        config = model.config.model_dump(exclude_none=True) if model.config else {}
        # The eval's --temperature (or the task's) reaches the inner runs too; none: greedy.
        temperature = user_temperature(model)
        if temperature is not None:
            config["temperature"] = temperature
        args = {k: v for k, v in (model.model_args or {}).items() if _shareable(k, v)}
        return cls(str(model), args, config, getattr(model, "explicit_base_url", None))

    def describe(self) -> dict[str, Any]:
        """Return a JSON-ready description (for spec, state and output files)."""
        return {"name": self.name, "args": dict(self.args), "config": dict(self.config),
                "base_url": self.base_url}

    @property
    def key(self) -> str:
        """A short key of the model and its settings."""
        text = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _shareable(name: str, value: Any) -> bool:
    """Whether a model argument may be written to spec files (no secrets, plain JSON)."""
    lowered = name.lower()
    if lowered.endswith("key") or any(w in lowered for w in ("secret", "password", "auth",
                                                            "access_token")):
        return False  # the inner process reads credentials from the environment
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Job:
    """Evaluate one candidate prefix on some tasks."""

    candidate: str
    prefix: str
    refs: tuple[TaskRef, ...]


@dataclass
class BatchOutcome:
    """What a batch of jobs gave."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per candidate: value per task key."""

    logs: dict[str, list[str]] = field(default_factory=dict)
    """Per candidate: the logs of its evaluations."""

    failures: dict[str, str] = field(default_factory=dict)
    """Per candidate whose evaluation failed: why."""

    target_tokens: int = 0
    generations: int = 0
    inner_runs: int = 0
    directory: str | None = None


class Evaluator(Protocol):
    """Evaluates jobs (the search is written against this, tests give their own)."""

    async def evaluate(self, jobs: Sequence[Job], label: str,
                       progress: BatchProgress | None = None) -> BatchOutcome:
        """Evaluate ``jobs``; ``label`` names the batch (``r03-s1``).

        ``progress``, if given, is told how many of the batch's candidates are done.
        """
        ...


def batch_entries(spec: BenchmarkSpec, jobs: Sequence[Job],
                  fitness: SearchFitness = DEFAULT_FITNESS) -> list[dict[str, Any]]:
    """Return the inner tasks of a batch: one per candidate and source.

    Raises:
        BenchmarkError: a fitness the benchmark cannot be scored by.
    """
    if fitness != SearchFitness.EVALUATION and spec.fitness_domain is None:
        raise BenchmarkError(
            f"{spec.name} has no fitness domain (web or code), so fitness={fitness.value} "
            "cannot score it: use fitness=evaluation (its own first-response scorer).")
    entries = []
    for job in jobs:
        by_source: dict[str, list[str]] = {}
        for ref in job.refs:
            by_source.setdefault(ref.source, []).append(ref.sample_id)
        for label, ids in by_source.items():
            source = spec.source(label)
            entries.append({
                "candidate": job.candidate, "prefix": job.prefix, "source": label,
                "task": source.task, "args": spec.task_args_of(source), "sample_ids": ids,
                "fitness": fitness.value, "fitness_domain": spec.fitness_domain,
            })
    return entries


class SubprocessEvaluator:
    """Runs each batch as an ``eval_set`` in its own process."""

    def __init__(
        self,
        spec: BenchmarkSpec,
        target: TargetModel,
        work_dir: Path,
        max_tasks: int | None = None,
        retry_attempts: int = 2,
        imports: Sequence[str] = (),
        python: str = sys.executable,
        fitness: SearchFitness | str = DEFAULT_FITNESS,
        grader: TargetModel | None = None,
    ) -> None:
        """Create the evaluator.

        Args:
            spec: The benchmark.
            target: The model under test.
            work_dir: Folder that gets one sub-folder (logs, spec, process log) per batch.
            max_tasks: Candidates evaluated at once (default ``DEFAULT_PARALLEL``; their
                samples share the target, so a local model answers them in shared batches).
            retry_attempts: ``eval_set`` retries of a failed candidate.
            imports: Modules the inner process imports first (to register tasks or model
                providers that the task spec alone does not load).
            python: The interpreter of the inner process.
            fitness: How candidates are scored (``SearchFitness``; default ``paper``).
            grader: The ``grader`` role of the inner evals (needed by ``judge``).

        Raises:
            ValueError: ``judge`` fitness with no grader.
        """
        self.spec, self.target, self.work_dir = spec, target, work_dir
        self.max_tasks, self.retry_attempts = max_tasks, retry_attempts
        self.imports, self.python = list(imports), python
        self.fitness, self.grader = parse_fitness(fitness), grader
        if self.fitness == SearchFitness.JUDGE and grader is None:
            raise ValueError("fitness=judge needs a grader model (--model-role grader=MODEL).")

    def batch_dir(self, entries: list[dict[str, Any]], label: str) -> Path:
        """Return the folder of a batch: its label and a hash of what it evaluates."""
        grader = self.grader.describe() if self.grader else None
        text = json.dumps([self.target.describe(), entries, grader],
                          sort_keys=True, default=str)
        return self.work_dir / f"{label}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"

    async def evaluate(self, jobs: Sequence[Job], label: str,
                       progress: BatchProgress | None = None) -> BatchOutcome:
        """Evaluate ``jobs`` in one inner process (see the module docstring).

        Raises:
            EvaluationError: the process failed before it could report any result.
        """
        if not jobs:
            return BatchOutcome()
        entries = batch_entries(self.spec, jobs, self.fitness)
        directory = self.batch_dir(entries, label)
        directory.mkdir(parents=True, exist_ok=True)
        spec_file = directory / SPEC_FILE
        write_atomically(spec_file, json.dumps({
            "target": self.target.describe(),
            "log_dir": str(directory.resolve()),
            "tasks": entries,
            "max_tasks": self.max_tasks or min(len(entries), DEFAULT_PARALLEL),
            "retry_attempts": self.retry_attempts,
            "imports": self.imports,
            "roles": {"grader": self.grader.describe()} if self.grader else {},
        }, indent=1))
        (directory / RESULTS_FILE).unlink(missing_ok=True)
        returncode = await self._run(spec_file, directory / PROCESS_LOG,
                                     _watch(directory, entries, label, progress))
        results_file = directory / RESULTS_FILE
        if returncode != 0 or not results_file.is_file():
            tail = (directory / PROCESS_LOG).read_text(errors="replace")[-3000:]
            raise EvaluationError(
                f"The inner evaluation in {directory} exited with code {returncode}. Run the "
                f"search again to resume it. Its output ends with:\n{tail}"
            )
        results = json.loads(results_file.read_text(encoding="utf-8"))
        outcome = read_results(self.spec, jobs, results)
        outcome.directory, outcome.inner_runs = str(directory), 1
        return outcome

    async def _run(self, spec_file: Path, process_log: Path,
                   watch: Callable[[], Any] | None = None) -> int:
        import anyio

        env = dict(os.environ)
        # The inner process must import what this one can (tests, a user's own tasks); the
        # interpreter's own folders it finds by itself.
        own = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
        extra = [os.path.abspath(p) for p in sys.path if p and os.path.isdir(p) and not any(
            os.path.realpath(p).startswith(prefix) for prefix in own)]
        env["PYTHONPATH"] = os.pathsep.join(
            dict.fromkeys([os.getcwd(), *extra, *filter(None, [env.get("PYTHONPATH")])]))
        command = [self.python, "-m", "ping_inspect.optimize.inner", str(spec_file)]
        with process_log.open("ab") as log:
            async with anyio.create_task_group() as group:
                if watch is not None:
                    group.start_soon(watch)
                result = await anyio.run_process(command, stdout=log, stderr=log,
                                                 check=False, env=env)
                group.cancel_scope.cancel()
        return result.returncode


async def finished_candidates(directory: Path, entries: list[dict[str, Any]],
                              known: dict[str, tuple[str, str] | None]) -> int:
    """Count the candidates of a batch whose every task's log in ``directory`` is finished.

    ``known`` remembers the logs already read as finished (path -> (candidate, source)) or
    not inspectable yet (None), so each finished log is read once.
    """
    from inspect_ai.log import read_eval_log_async

    from ping_inspect.optimize.inner import TASK_METADATA_KEY

    for path in directory.glob("*.eval"):
        if known.get(str(path)) is not None:
            continue
        try:
            header = await read_eval_log_async(str(path), header_only=True)
        except Exception:  # being written: count it on a later look
            continue
        described = (header.eval.metadata or {}).get(TASK_METADATA_KEY) or {}
        if header.status != "started" and described:
            known[str(path)] = (described.get("candidate"), described.get("source"))
    done_tasks = {v for v in known.values() if v is not None}
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        wanted.setdefault(entry["candidate"], set()).add(entry["source"])
    return sum(1 for candidate, sources in wanted.items()
               if all((candidate, s) in done_tasks for s in sources))


def _watch(directory: Path, entries: list[dict[str, Any]], label: str,
           progress: BatchProgress | None) -> Callable[[], Any] | None:
    """Return a task that tells ``progress`` how many candidates of the batch are done."""
    if progress is None:
        return None
    total = len({e["candidate"] for e in entries})

    async def watch() -> None:
        import anyio

        known: dict[str, tuple[str, str] | None] = {}
        last = -1
        while True:
            done = await finished_candidates(directory, entries, known)
            if done != last:
                progress(label, done, total)
                last = done
            await anyio.sleep(POLL_SECONDS)

    return watch


def read_results(
    spec: BenchmarkSpec, jobs: Sequence[Job], results: Mapping[str, Any]
) -> BatchOutcome:
    """Turn the inner process's results into values per candidate and task."""
    outcome = BatchOutcome()
    refs = {(job.candidate, ref.source, ref.sample_id): ref for job in jobs for ref in job.refs}
    for entry in results["tasks"]:
        candidate = entry["candidate"]
        outcome.target_tokens += int(entry.get("tokens") or 0)
        if entry.get("log"):
            outcome.logs.setdefault(candidate, []).append(entry["log"])
        if entry.get("status") != "success":
            outcome.failures[candidate] = f"{entry['source']}: {entry.get('error') or 'failed'}"
            continue
        values = outcome.values.setdefault(candidate, {})
        for sample in entry["samples"]:
            outcome.generations += int(sample.get("generations") or 0)
            ref = refs.get((candidate, entry["source"], str(sample["id"])))
            if ref is None:
                continue
            if sample.get("error"):
                outcome.failures[candidate] = f"{ref.key}: {sample['error']}"
                continue
            values[ref.key] = spec.value_of(ref.category, sample["scores"])
    for job in jobs:
        missing = [r.key for r in job.refs if r.key not in outcome.values.get(job.candidate, {})]
        if missing and job.candidate not in outcome.failures:
            outcome.failures[job.candidate] = f"no result for {missing[:3]}"
    return outcome


class CachingEvaluator:
    """Remembers every (prefix, task) value in a JSON file; evaluates only what is new.

    Values are kept per namespace (target model, benchmark and its task arguments), so a
    cache file can serve several models. Used by ``benchmarks/optimizer_modes.py``.
    """

    def __init__(self, inner: Evaluator, path: Path, namespace: str) -> None:
        """Wrap ``inner`` with the cache in ``path`` under ``namespace``.

        The namespace must name everything that changes a value: the target model, the
        benchmark and its arguments, and the fitness (``fitness`` is added to it here).
        """
        self.inner, self.path = inner, path
        self.fitness = getattr(inner, "fitness", None)
        self.namespace = f"{namespace}:{self.fitness.value}" if self.fitness else namespace

    def _load(self) -> dict[str, Any]:
        if self.path.is_file():
            return json.loads(self.path.read_text(encoding="utf-8"))
        return {}

    async def evaluate(self, jobs: Sequence[Job], label: str,
                       progress: BatchProgress | None = None) -> BatchOutcome:
        """Evaluate the uncached part of ``jobs``; answer the rest from the cache."""
        cache = self._load()
        known = cache.setdefault(self.namespace, {})
        todo = []
        for job in jobs:
            have = known.get(job.prefix, {}).get("values", {})
            refs = tuple(r for r in job.refs if r.key not in have)
            if refs:
                todo.append(Job(job.candidate, job.prefix, refs))
        fresh = await self.inner.evaluate(todo, label, progress) if todo else BatchOutcome()
        cache = self._load()  # another run may have written meanwhile
        known = cache.setdefault(self.namespace, {})
        for job in todo:
            entry = known.setdefault(job.prefix, {"values": {}, "logs": []})
            entry["values"].update(fresh.values.get(job.candidate, {}))
            entry["logs"] = sorted(set(entry["logs"]) | set(fresh.logs.get(job.candidate, [])))
        write_atomically(self.path, json.dumps(cache, indent=1, sort_keys=True))
        outcome = BatchOutcome(failures=dict(fresh.failures), target_tokens=fresh.target_tokens,
                               generations=fresh.generations, inner_runs=fresh.inner_runs,
                               directory=fresh.directory)
        for job in jobs:
            entry = known.get(job.prefix, {"values": {}, "logs": []})
            keys = {r.key for r in job.refs}
            outcome.values[job.candidate] = {k: v for k, v in entry["values"].items() if k in keys}
            outcome.logs[job.candidate] = list(entry["logs"])
        return outcome
