"""The prefix search: rounds of generated candidates, evaluated faithfully or by racing.

``faithful`` is the paper's loop: every candidate of every round is evaluated on every
task of the optimisation split, the pool only grows, and the best combined score wins.

``racing`` spends fewer evaluations and chooses on fresh tasks. The optimisation split is
visited in stages, in a fixed seeded order, the same tasks for every candidate (paired).
After each stage the contenders are ranked on the stage's tasks; a contender is dropped
when it falls outside the best ``1/eta`` (successive halving) or when its paired gap to
the leader is clearly negative (gap + z * se < 0). The last stage keeps ``finalists``
contenders; a tie across that cut is first settled on up to ``tie_tasks`` further tasks
per category, for the tied only, since this cut decides who gets the costly re-check.
Earlier cuts keep a third of the field and leave ties to a seeded draw: settling every
cut touches many candidates (on the modes benchmark it took racing from 0.32 to over 0.5
of faithful's evaluations). The finalists carry into the next round, where they race the
new candidates again on the tasks they already have (which costs nothing). At the end the
finalists are evaluated on held-out tasks the search never selected on, and the best
there wins, with a bootstrap confidence interval on its held-out fitness.

Both modes record everything in the ``SearchState``, so a killed search resumes: rounds
that finished are skipped, recorded generator replies are replayed, and evaluations
already recorded are not asked for again.

Both score candidates by the settings' ``fitness`` (``fitness.SearchFitness``: the paper's
search patterns by default), which the result names. ``max_candidates`` bounds every
candidate the search evaluates: seeds and a fixed pool included. Progress (round r/R,
candidates done/planned, and the running batch's candidates) goes to ``progress``, by
default a counter in Inspect's task display (``inspect_ai.util.display_counter``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from inspect_ai.log import transcript
from inspect_ai.util import display_counter, span

from ping_inspect.contracts import SearchResult
from ping_inspect.optimize.benchmarks import BenchmarkSpec, TaskRef, stage_order
from ping_inspect.optimize.evaluator import Evaluator, Job
from ping_inspect.optimize.fitness import (
    DEFAULT_FITNESS,
    FITNESS_DESCRIPTIONS,
    SearchFitness,
    parse_fitness,
)
from ping_inspect.optimize.proposer import Exemplar, Proposer
from ping_inspect.optimize.state import Attempt, CandidateRecord, RoundRecord, StateStore
from ping_inspect.optimize.stats import (
    CATEGORIES,
    CI_METHOD,
    Fitness,
    bootstrap_interval,
    fitness,
    paired_gap,
    rank_value,
)

Mode = Literal["faithful", "racing"]
MODES: tuple[Mode, ...] = ("faithful", "racing")
EVENT_SOURCE = "ping_optimize"


@dataclass(frozen=True)
class SearchSettings:
    """How the search runs (see ``ping_optimize`` for each argument's meaning)."""

    mode: Mode = "faithful"
    rounds: int = 20
    per_round: int = 5
    exemplars: int = 3
    threshold: float = 1.5
    temperature: float = 0.7
    attempts: int = 3
    max_candidates: int | None = None
    max_tokens: int | None = None
    stages: tuple[int, ...] = (1, 2)
    eta: float = 3.0
    z: float = 1.0
    finalists: int = 3
    tie_tasks: int = 1
    heldout_per_category: int = 0
    seed: int = 0
    resamples: int = 2000
    level: float = 0.95
    fitness: SearchFitness = DEFAULT_FITNESS

    def __post_init__(self) -> None:
        """Check the settings."""
        object.__setattr__(self, "fitness", parse_fitness(self.fitness))
        if self.max_candidates is not None and self.max_candidates < 1:
            raise ValueError(f"max_candidates must be at least 1, not {self.max_candidates}.")
        if self.mode not in MODES:
            raise ValueError(f"Unknown search mode '{self.mode}': use faithful or racing.")
        if not self.stages or any(s < 1 for s in self.stages) or list(self.stages) != sorted(
                self.stages):
            raise ValueError(f"Racing stages must be increasing task counts, not {self.stages}.")
        if self.eta <= 1 or self.finalists < 1 or self.per_round < 1 or self.rounds < 1:
            raise ValueError("Need eta > 1, finalists >= 1, candidates per round >= 1, "
                             "rounds >= 1.")

    def identity(self) -> dict[str, Any]:
        """Return what must match for a search to resume (budgets and rounds may change).

        The fitness is part of it: values scored one way never mix with another's.
        """
        values = asdict(self)
        for budget in ("rounds", "max_candidates", "max_tokens"):
            values.pop(budget)
        values["fitness"] = self.fitness.value
        return values


@dataclass(frozen=True)
class SearchProgress:
    """Where a search stands, for the terminal."""

    round: int
    """The round under way, from 1."""
    rounds: int
    done: int
    """Candidates evaluated (or failed) so far."""
    planned: int
    """Candidates the search will evaluate at most (budget, rounds, seeds or pool)."""
    batch: str | None = None
    batch_done: int = 0
    batch_total: int = 0

    def text(self) -> str:
        """One line: ``round 2/20 · candidates 7/100 · batch r01: 3/5``."""
        line = f"round {self.round}/{self.rounds} · candidates {self.done}/{self.planned}"
        if self.batch:
            line += f" · batch {self.batch}: {self.batch_done}/{self.batch_total}"
        return line


PROGRESS_CAPTION = "PING search"


def show_progress(progress: SearchProgress) -> None:
    """Show the search's progress in Inspect's task display (a footer counter)."""
    try:
        display_counter(PROGRESS_CAPTION, progress.text())
    except Exception:  # no display to show it in (a script, a test): nothing to do
        pass


def _info(event: str, **data: Any) -> None:
    transcript().info({"event": event, **data}, source=EVENT_SOURCE)


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


class PrefixSearch:
    """One prefix search over a benchmark (see the module docstring)."""

    def __init__(
        self,
        spec: BenchmarkSpec,
        settings: SearchSettings,
        evaluator: Evaluator,
        proposer: Proposer | None,
        store: StateStore,
        selection: Sequence[TaskRef],
        heldout: Sequence[TaskRef] = (),
        pool: Sequence[str] | None = None,
        seeds: Sequence[str] = (),
        progress: Callable[[SearchProgress], None] | None = show_progress,
    ) -> None:
        """Set up a search.

        Args:
            spec: The benchmark.
            settings: The search's settings.
            evaluator: Evaluates candidates on tasks.
            proposer: The generator's proposer (None with a fixed ``pool``).
            store: The search's state (new or to resume).
            selection: The optimisation split.
            heldout: Tasks for the final re-check (disjoint from ``selection``).
            pool: A fixed list of candidates instead of a generator (one round).
            seeds: Candidates evaluated in round 0 beside the generator's (e.g. the
                published prefixes), which it then sees as exemplars like any other.
            progress: Told where the search stands at each round and batch (default:
                Inspect's task display; None: nothing shown).

        Raises:
            ValueError: overlapping tasks, no candidates source, or an evaluator that
                scores by another fitness than the settings say.
        """
        overlap = {r.key for r in selection} & {r.key for r in heldout}
        if overlap:
            raise ValueError(f"Held-out tasks overlap the selection tasks: {sorted(overlap)[:3]}")
        if proposer is None and pool is None:
            raise ValueError("A search needs a generator or a fixed pool of candidates.")
        scored_by = getattr(evaluator, "fitness", None)
        if scored_by is not None and scored_by != settings.fitness:
            raise ValueError(f"The evaluator scores by fitness {scored_by.value}, the settings "
                             f"say {settings.fitness.value}.")
        self.spec, self.settings = spec, settings
        self.evaluator, self.proposer, self.store = evaluator, proposer, store
        self.selection, self.heldout = list(selection), list(heldout)
        self.pool = list(pool) if pool is not None else None
        self.seeds = list(seeds)
        self.categories = {r.key: r.category for r in [*self.selection, *self.heldout]}
        self.selection_keys = [r.key for r in self.selection]
        self.heldout_keys = [r.key for r in self.heldout]
        self._order = stage_order(self.selection, settings.seed)
        self.progress = progress
        self._round_index = 0

    @property
    def state(self):  # noqa: D102 - the store's state
        return self.store.state

    # --- scores --------------------------------------------------------------------------

    def score(self, record: CandidateRecord, keys: Sequence[str] | None = None) -> Fitness:
        """Return a candidate's fitness on ``keys`` (default: the selection tasks)."""
        return fitness(record.values, self.categories, keys or self.selection_keys)

    def _usable(self) -> list[CandidateRecord]:
        return [c for c in self.state.candidates.values()
                if not c.failed and self.score(c).n_benign + self.score(c).n_harmful > 0]

    def exemplars(self) -> dict[str, list[CandidateRecord]] | None:
        """Return the candidates to show the generator, once the best passes the threshold."""
        usable = self._usable()
        if self.settings.mode == "racing":  # partial scores on a task or two are too noisy
            full = [r.key for r in self.stage_refs(len(self.settings.stages) - 1)]
            usable = [c for c in usable if all(k in c.values for k in full)] or usable
        scored = [(c, self.score(c)) for c in usable]
        if not scored:
            return None
        best = max(rank_value(f.combined) for _, f in scored)
        if best < self.settings.threshold:
            return None
        k = self.settings.exemplars
        index = {c.id: i for i, c in enumerate(self.state.candidates.values())}

        def top(metric: str) -> list[CandidateRecord]:
            ranked = sorted(scored, key=lambda cf: (-rank_value(getattr(cf[1], metric)),
                                                    -rank_value(cf[1].combined), index[cf[0].id]))
            return [c for c, _ in ranked[:k]]

        return {"combined": top("combined"), "benign": top("benign"), "refusal": top("refusal")}

    # --- budgets ---------------------------------------------------------------------------

    def _candidates_left(self) -> int | None:
        """Candidates the budget still allows (None: no candidate budget)."""
        if self.settings.max_candidates is None:
            return None
        return max(0, self.settings.max_candidates - len(self.state.candidates))

    def planned(self) -> int:
        """Candidates the search will evaluate at most: its budget, pool, seeds and rounds."""
        known = {c.prefix for c in self.state.candidates.values()}
        if self.pool is not None:
            most = len(known | set(self.pool))
        else:
            proposed = [r for r in self.state.rounds if r.candidates or r.done]
            seeds = [] if proposed else [p for p in self.seeds if p not in known]
            most = len(known) + len(seeds) + self.settings.per_round * max(
                0, self.settings.rounds - len(proposed))
        if self.settings.max_candidates is not None:
            most = min(most, max(self.settings.max_candidates, len(known)))
        return most

    def _show(self, batch: str | None = None, batch_done: int = 0, batch_total: int = 0) -> None:
        if self.progress is None:
            return
        done = sum(1 for c in self.state.candidates.values() if c.values or c.failed)
        rounds = 1 if self.pool is not None else self.settings.rounds
        self.progress(SearchProgress(self._round_index + 1, rounds, done, self.planned(),
                                     batch, batch_done, batch_total))

    def _budget_left(self) -> tuple[int, str | None]:
        """Candidates the next round may add, and why the search must stop (if it must)."""
        s, cost = self.settings, self.state.cost
        if s.max_tokens is not None and cost.tokens >= s.max_tokens:
            return 0, f"token budget reached ({cost.tokens} of {s.max_tokens})"
        room = s.per_round
        if s.max_candidates is not None:
            room = min(room, s.max_candidates - len(self.state.candidates))
            if room <= 0:
                return 0, f"candidate budget reached ({s.max_candidates})"
        return room, None

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> SearchResult:
        """Run (or resume) the search and return its result."""
        self.state.stopped = None
        rounds = 1 if self.pool is not None else self.settings.rounds
        if self.store.resumed:
            _info("resumed", state=str(self.store.path),
                  rounds_done=sum(r.done for r in self.state.rounds),
                  candidates=len(self.state.candidates))
        for index in range(rounds):
            record = self.state.rounds[index] if index < len(self.state.rounds) else None
            if record is not None and record.done:
                continue
            room, reason = self._budget_left()
            # A round that had begun goes on: it passed this check before it was killed.
            if reason and (record is None or not (record.attempts or record.candidates)):
                self.state.stopped = reason
                _info("stopped", reason=reason)
                break
            record = record or self.state.round(index)
            self._round_index = index
            self._show()
            async with span(f"round {index}", type="round"):
                await self._round(record, room)
            record.done = True
            self.store.save()
        async with span("result", type="result"):
            result = await self._finish()
        self.state.result = result
        self.store.save()
        return result

    async def _round(self, record: RoundRecord, room: int) -> None:
        if record.candidates:  # resumed: what the generator was shown is on record
            shown = {k: [self.state.candidates[i] for i in ids]
                     for k, ids in record.exemplars.items()}
        else:
            shown = (self.exemplars() if record.index > 0 else None) or {}
            record.exemplars = {k: [c.id for c in v] for k, v in shown.items()}
        _info("exemplars", round=record.index, shown=bool(shown), exemplars={
            kind: [{"id": c.id, "prefix": c.prefix, **self.score(c).as_dict()} for c in cs]
            for kind, cs in shown.items()})
        if not record.candidates:
            seeds = self.seeds if record.index == 0 and self.pool is None else []
            left = self._candidates_left()
            if left is not None:  # seeds and a pool count against the budget too
                seeds = seeds[:left]
                room = min(self.settings.per_round, left - len(seeds))
            texts = await self._propose(record, room, shown, seeds) \
                if room > 0 or self.pool is not None else []
            if self.pool is not None and left is not None:
                texts = texts[:left]
            origin = "pool" if self.pool is not None else "generator"
            chosen = [(t, "seed") for t in seeds] + [(t, origin) for t in texts]
            ids = [self.state.add_candidate(t, record.index, how).id for t, how in chosen]
            record.candidates = list(dict.fromkeys(ids))
            self.store.save()
        if record.candidates:
            if self.settings.mode == "faithful":
                await self._evaluate_all(record)
            else:
                await self._race(record)
        self._summarise(record)

    async def _propose(self, record: RoundRecord, room: int,
                       shown: dict[str, list[CandidateRecord]],
                       seeds: Sequence[str] = ()) -> list[str]:
        if self.pool is not None:
            return self.pool
        assert self.proposer is not None
        exemplars = {kind: [Exemplar(c.prefix, self.score(c).benign, self.score(c).refusal)
                            for c in cs] for kind, cs in shown.items()} or None
        known = [*(c.prefix for c in self.state.candidates.values()), *seeds]

        def note(attempt: Attempt, replayed: bool) -> None:
            if not replayed:
                self.state.cost.generator_calls += 1
                self.state.cost.generator_tokens += attempt.tokens
            _info("generator", round=record.index, replayed=replayed, reply=attempt.reply,
                  error=attempt.error, accepted=attempt.accepted,
                  rejected=[list(r) for r in attempt.rejected])

        texts = await self.proposer.propose(record, room, known, exemplars, self.store.save,
                                            note)
        if not texts:
            _info("empty_round", round=record.index,
                  why=f"no usable candidate in {len(record.attempts)} generator replies")
        return texts

    async def _evaluate(self, wanted: dict[str, Sequence[TaskRef]], label: str) -> None:
        """Evaluate candidates on the tasks they lack; record the values and the cost."""
        jobs = []
        for cid, refs in wanted.items():
            record = self.state.candidates[cid]
            missing = tuple(r for r in refs if r.key not in record.values)
            if missing and not record.failed:
                jobs.append(Job(cid, record.prefix, missing))
        if not jobs:
            return
        self._show(label, 0, len(jobs))
        outcome = await self.evaluator.evaluate(
            jobs, label, lambda batch, done, total: self._show(batch, done, total))
        for cid, values in outcome.values.items():
            self.state.candidates[cid].values.update(values)
        for cid, logs in outcome.logs.items():
            known = self.state.candidates[cid].logs
            known.extend(log for log in logs if log not in known)
        for cid, why in outcome.failures.items():
            self.state.candidates[cid].failed = why
        cost = self.state.cost
        cost.evaluations += sum(len(j.refs) for j in jobs)
        cost.target_tokens += outcome.target_tokens
        cost.target_generations += outcome.generations
        cost.inner_runs += outcome.inner_runs
        self.state.batches[label] = sorted({log for logs in outcome.logs.values() for log in logs})
        self.store.save()
        self._show()
        _info("evaluated", batch=label, directory=outcome.directory,
              pairs=sum(len(j.refs) for j in jobs),
              candidates={j.candidate: {"logs": outcome.logs.get(j.candidate, []),
                                        "failed": outcome.failures.get(j.candidate)}
                          for j in jobs})

    async def _evaluate_all(self, record: RoundRecord) -> None:
        await self._evaluate({cid: self.selection for cid in record.candidates},
                             f"r{record.index:02d}")

    # --- racing -------------------------------------------------------------------------

    def stage_refs(self, stage: int) -> list[TaskRef]:
        """Return the selection tasks of racing stage ``stage`` (cumulative, same for all)."""
        count = self.settings.stages[stage]
        return [ref for category in CATEGORIES for ref in self._order[category][:count]]

    async def _settle_cut(self, ranked: list[str], keep: int, stage: int,
                          label: str) -> list[str]:
        """Break a tie across the finalists' cut with more selection tasks, for the tied only.

        On a stage of a task or two per category, ties are the rule, and this cut decides
        who gets the costly held-out re-check. Rather than drop some of the tied at
        random, they go on to the next tasks of the stage order (the same for all of them,
        so still paired) until the cut falls between two scores, ``tie_tasks`` run out or
        the selection tasks do; then the seeded tie-break decides.
        """
        keys = [r.key for r in self.stage_refs(stage)]

        def combined(cid: str, on: list[str]) -> float:
            return rank_value(self.score(self.state.candidates[cid], on).combined)

        if len(ranked) <= keep or combined(ranked[keep - 1], keys) != combined(ranked[keep], keys):
            return ranked
        cut = combined(ranked[keep - 1], keys)
        above = [c for c in ranked if combined(c, keys) > cut]
        tied = [c for c in ranked if combined(c, keys) == cut]
        below = [c for c in ranked if combined(c, keys) < cut]
        seats, count, extra = keep - len(above), self.settings.stages[stage], []
        for _ in range(self.settings.tie_tasks):
            more = [self._order[c][count] for c in CATEGORIES if count < len(self._order[c])]
            if not more:
                break
            count, extra = count + 1, [*extra, *more]
            await self._evaluate({cid: more for cid in tied}, f"{label}-tie{count}")
            tied = [c for c in tied if not self.state.candidates[c].failed]
            on = keys + [r.key for r in extra]
            tied.sort(key=lambda c: (-combined(c, on), self._tie_break(c)))
            if len(tied) <= seats or combined(tied[seats - 1], on) != combined(tied[seats], on):
                break
        _info("race_tie", stage=stage, seats=seats, tied=tied, extra_tasks=[r.key for r in extra])
        return above + tied + below

    def _tie_break(self, cid: str) -> str:
        """Return a seeded pseudo-random rank among equal racing scores.

        On a stage of one or two tasks per category ties are the rule, and the order in
        which candidates were proposed must not decide them.
        """
        text = f"{self.settings.seed}:{self.state.candidates[cid].prefix}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _alive(self) -> list[str]:
        return [c.id for c in self.state.candidates.values()
                if not c.failed and c.dropped_at is None and c.values]

    async def _race(self, record: RoundRecord) -> None:
        if record.contenders is None:
            earlier = [cid for cid in self._alive() if cid not in record.candidates]
            record.contenders = [*earlier, *record.candidates]
            self.store.save()
        for stage in range(len(record.survivors), len(self.settings.stages)):
            contenders = record.survivors[-1] if record.survivors else record.contenders
            survivors = await self._race_stage(record, stage, contenders)
            record.survivors.append(survivors)
            self.store.save()

    async def _race_stage(self, record: RoundRecord, stage: int,
                          contenders: list[str]) -> list[str]:
        """Evaluate a stage's tasks, then keep the best and drop the clearly worse."""
        refs = self.stage_refs(stage)
        keys = [r.key for r in refs]
        label = f"r{record.index:02d}-s{stage}"
        await self._evaluate({cid: refs for cid in contenders}, label)
        candidates = self.state.candidates
        contenders = [c for c in contenders if not candidates[c].failed]
        if not contenders:
            return []
        last = stage == len(self.settings.stages) - 1
        keep = self.settings.finalists if last else max(
            self.settings.finalists, math.ceil(len(contenders) / self.settings.eta))
        ranked = sorted(contenders, key=lambda c: (
            -rank_value(self.score(candidates[c], keys).combined), self._tie_break(c)))
        if last:
            ranked = await self._settle_cut(ranked, keep, stage, label)
        leader = candidates[ranked[0]]
        survivors, table = [], []
        for cid in ranked:
            gap, se = paired_gap(candidates[cid].values, leader.values, self.categories, keys)
            kept = len(survivors) < keep and gap + self.settings.z * se >= 0
            if kept:
                survivors.append(cid)
            else:
                candidates[cid].dropped_at = label
            table.append({"id": cid, **self.score(candidates[cid], keys).as_dict(),
                          "gap": round(gap, 4), "se": round(se, 4), "kept": kept})
        _info("race_stage", round=record.index, stage=stage, tasks=keys, keep=keep,
              leader=leader.id, contenders=table)
        return survivors

    # --- the result ---------------------------------------------------------------------

    async def _finish(self) -> SearchResult:
        usable = self._usable()
        if not usable:
            return self._result(None, [], why="no candidate was evaluated")
        index = {cid: i for i, cid in enumerate(self.state.candidates)}
        if self.settings.mode == "faithful":
            complete = [c for c in usable if all(k in c.values for k in self.selection_keys)]
            ranked = sorted(complete or usable, key=lambda c: (
                -rank_value(self.score(c).combined), index[c.id]))
            finalists = ranked[:1]
        else:
            alive = [c for c in usable if c.dropped_at is None] or usable
            finalists = sorted(alive, key=lambda c: (
                -rank_value(self.score(c).combined), self._tie_break(c.id)
            ))[:self.settings.finalists]
        if self.heldout:
            await self._evaluate({c.id: self.heldout for c in finalists}, "heldout")
            finalists = [c for c in finalists if not c.failed] or finalists
        if self.settings.mode == "racing" and self.heldout:
            finalists = sorted(finalists, key=lambda c: (
                -rank_value(self.score(c, self.heldout_keys).combined),
                -rank_value(self.score(c).combined), self._tie_break(c.id)))
        return self._result(finalists[0], finalists)

    def _result(self, winner: CandidateRecord | None, finalists: list[CandidateRecord],
                why: str | None = None) -> SearchResult:
        s, state = self.settings, self.state
        result: SearchResult = {
            "prefix": winner.prefix if winner else None,
            "candidate": winner.id if winner else None,
            "mode": s.mode,
            "fitness": s.fitness.value,
            "fitness_definition": FITNESS_DESCRIPTIONS[s.fitness],
            "benchmark": self.spec.name,
            "rounds_run": sum(r.done for r in state.rounds),
            "candidates_evaluated": sum(1 for c in state.candidates.values() if c.values),
            "stopped": state.stopped,
            "cost": {**state.cost.model_dump(), "tokens": state.cost.tokens},
            "selection_tasks": self.selection_keys,
            "heldout_tasks": self.heldout_keys,
        }
        if winner is None:
            return {**result, "why": why}
        chosen_on = "selection" if s.mode == "faithful" or not self.heldout else "heldout"
        result.update(
            chosen_on=chosen_on,
            selection=self._scores(winner, self.selection_keys),
            heldout=self._scores(winner, self.heldout_keys) if self.heldout else None,
            ci_method=CI_METHOD,
            ci_level=s.level,
            finalists=[{"id": c.id, "prefix": c.prefix,
                        "selection": self.score(c).as_dict(),
                        "heldout": self.score(c, self.heldout_keys).as_dict()
                        if self.heldout else None} for c in finalists],
            logs=list(winner.logs),
        )
        if self.heldout and len(finalists) > 1:
            gap, se = paired_gap(winner.values, finalists[1].values, self.categories,
                                 self.heldout_keys)
            result["heldout_gap_to_runner_up"] = {"gap": round(gap, 4), "se": round(se, 4)}
        return result

    def _scores(self, record: CandidateRecord, keys: Sequence[str]) -> dict[str, Any]:
        low, high = bootstrap_interval(record.values, self.categories, keys, self.settings.level,
                                       self.settings.resamples, self.settings.seed)
        return {**self.score(record, keys).as_dict(),
                "ci": [round(low, 4), round(high, 4)] if not math.isnan(low) else None}

    def _summarise(self, record: RoundRecord) -> None:
        rows = ["| id | prefix | benign | refusal | combined | tasks | status |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for cid in record.candidates:
            c = self.state.candidates[cid]
            f = self.score(c)
            status = f"failed: {c.failed}" if c.failed else (
                f"dropped {c.dropped_at}" if c.dropped_at else "in")
            rows.append(f"| {cid} | {c.prefix.replace('|', '/')} | {_fmt(f.benign)} | "
                        f"{_fmt(f.refusal)} | {_fmt(f.combined)} | "
                        f"{f.n_benign}+{f.n_harmful} | {status} |")
        transcript().info(f"**Round {record.index}**\n\n" + "\n".join(rows),
                          source=EVENT_SOURCE)
