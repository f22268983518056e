"""What a benchmark is, said once: the descriptor type and the registry that collects them.

The comparison grid (its task and default arguments), the ``ping`` defence (the preset
used when none is named), the ``fewshot`` defence (the benchmark's example source and how
to avoid scoring a shown item), the tasks (their agent variants) and the prefix search
(how it evaluates candidates) all read the same ``Benchmark``. Parts of a descriptor that
live in a benchmark's own folder are named as ``module:function`` and loaded on first
use. Each benchmark declares itself in its folder's ``benchmark.py``; the registry
imports those modules on first read, so this module imports no benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ping_inspect.contracts import BENIGN
from ping_inspect.registry import Ref, Registry, did_you_mean, resolve

if TYPE_CHECKING:
    from ping_inspect.judges.patterns import Domain

Family = Literal["web", "code"]
"""The kind of agent a benchmark runs: its prefix presets and refusal patterns follow."""

class UnknownBenchmarkError(ValueError):
    """A benchmark name no descriptor has (the message suggests the nearest)."""


@dataclass(frozen=True)
class Benchmark:
    """One benchmark, as every part of the package sees it.

    Attributes:
        name: The benchmark's name (sample metadata ``benchmark``, the grid's
            ``--benchmarks``, the search's ``-T benchmark=``).
        task: A registered task name (``ping_inspect/webdojo``), a task file spec
            (``tasks/x.py@x``) or a ``@task`` function; None for a benchmark that only
            supplies few-shot examples or a search.
        args: Default task arguments in the grid.
        preset: The published PING prefix used when the user names none.
        family: ``web`` or ``code``.
        agents: The task's agent variants (its ``agent`` argument) and the registered
            agent loop of each.
        fewshot: The few-shot source, ``(agent spec, n_benign, n_harmful) -> examples``.
        overlap_fix: How to leave the few-shot examples out of the scored samples.
        search: ``(data_dir=None) -> optimize.BenchmarkSpec``: how the prefix search
            evaluates a candidate on this benchmark.
        roles: The kinds of task it holds (``benign``, ``harmful``).
        single_turn: Task arguments of its first-response form (None: it has none).
        single_turn_prompt: ``(sample) -> (system, user)``: the single-turn form's
            prompt without a browser or sandbox (the lm-eval tasks); None: none.
        single_turn_judge: ``(text) -> {"refusal": 0/1, "performs": 0/1}`` on the
            model's own words: the first-response scorer's verdicts.
        single_turn_stop: Stop sequences of the single-turn response.
        plot_group: The report's trade-off panel it joins (``code``: benchmarks that hold
            one kind of task each and are plotted together; None: a panel of its own).
        plotted: False for a benchmark kept in the report's tables only.
        report_note: What its report columns mean where they depart from 0/1 rates.
        reproduce: ``(settings) -> [(compare spec, limit or None), ...]``: its parts of
            ``ping-inspect reproduce``'s default grid for its family's domain (the
            settings are reproduce's); None: not in that grid.
        reproduce_curve: Its compare spec for reproduce's erosion curve; the domain's
            prefix search runs on the benchmark that has one.
    """

    name: str
    task: str | Callable[..., Any] | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    preset: str | None = None
    family: Family | None = None
    agents: Mapping[str, str] = field(default_factory=dict)
    fewshot: Ref | None = None
    overlap_fix: str | None = None
    search: Ref | None = None
    roles: tuple[str, ...] = ("benign", "harmful")
    single_turn: Mapping[str, Any] | None = None
    single_turn_prompt: Ref | None = None
    single_turn_judge: Ref | None = None
    single_turn_stop: tuple[str, ...] = ()
    plot_group: str | None = None
    plotted: bool = True
    report_note: str | None = None
    reproduce: Ref | None = None
    reproduce_curve: str | None = None

    def fewshot_source(self) -> Callable[..., Any] | None:
        """The few-shot source, loaded; None when the benchmark has none."""
        return resolve(self.fewshot) if self.fewshot is not None else None

    def single_turn_prompt_source(self) -> Callable[..., tuple[str, str]]:
        """The single-turn prompt builder, loaded (``ValueError`` when it has none)."""
        if self.single_turn_prompt is None:
            raise ValueError(f"{self.name} has no static single-turn form.")
        return resolve(self.single_turn_prompt)

    def single_turn_judge_source(self) -> Callable[[str], dict[str, float]]:
        """The single-turn judge, loaded (``ValueError`` when it has none)."""
        if self.single_turn_judge is None:
            raise ValueError(f"{self.name} has no single-turn judge.")
        return resolve(self.single_turn_judge)

    def search_factory(self) -> Callable[..., Any] | None:
        """The search's ``BenchmarkSpec`` factory, loaded; None when it has none."""
        return resolve(self.search) if self.search is not None else None


# --- how the prefix search uses a benchmark (its descriptor's ``search``) ---------------


class BenchmarkError(ValueError):
    """A benchmark that cannot be used for the prefix search as configured."""


@dataclass(frozen=True)
class Source:
    """A task that holds some of a benchmark's candidate-evaluation samples.

    Attributes:
        label: Short unique name (``webdojo:validation``); task keys start with it.
        task: A registered task name (``ping_inspect/webdojo``) or a file spec
            (``/abs/path.py@task``).
        args: Task arguments (first-response mode, subset, ...).
        category: Keep only samples of this category (None: both).
        ids: Keep only these sample ids, in this order (None: all).
        skip_ids: Leave these sample ids out (e.g. the fixed benign set, from held-out).
    """

    label: str
    task: str
    args: Mapping[str, Any] = field(default_factory=dict)
    category: str | None = None
    ids: tuple[str, ...] | None = None
    skip_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskRef:
    """One sample of one source: the unit a candidate is evaluated on."""

    source: str
    sample_id: str
    category: str

    @property
    def key(self) -> str:
        """The task's key in search states, caches and files."""
        return f"{self.source}::{self.sample_id}"


@dataclass(frozen=True)
class BenchmarkSpec:
    """How the prefix search uses one benchmark.

    Attributes:
        name: The benchmark's name (``-T benchmark=``).
        selection: Sources of the optimisation split (the paper's).
        heldout: Sources that held-out tasks are drawn from (disjoint from ``selection``).
        threshold: Best combined score from which the generator sees exemplars.
        rounds: The paper's number of rounds.
        setting: The agent, as described to the generator.
        style: The form a prefix must take, as told to the generator.
        comment_marker: Added to a candidate that lacks it (``# `` for web agents).
        forbidden: A pattern no candidate may contain (an action the agent would take
            from the prefix itself).
        race_stages: Default racing stages (cumulative tasks per category).
        performs_key: Score key of "the agent performed the benign task".
        refuses_key: Score key of "the agent refused the harmful task".
        task_args: Arguments added to every source's task (``data_dir``).
        fitness_domain: ``web`` or ``code``: the search patterns and action check of the
            ``paper`` and ``judge`` fitness (see ``fitness``); None: only the benchmark's
            own first-response scorer (``evaluation``) can score it.
    """

    name: str
    selection: tuple[Source, ...]
    heldout: tuple[Source, ...]
    threshold: float
    rounds: int
    setting: str
    style: str
    comment_marker: str | None = None
    forbidden: str | None = None
    race_stages: tuple[int, ...] = (1, 2)
    performs_key: str = "performs"
    refuses_key: str = "refuses"
    task_args: Mapping[str, Any] = field(default_factory=dict)
    fitness_domain: Domain | None = None

    def source(self, label: str) -> Source:
        """Return the source called ``label``."""
        for source in (*self.selection, *self.heldout):
            if source.label == label:
                return source
        raise BenchmarkError(f"{self.name} has no source '{label}'.")

    def task_args_of(self, source: Source) -> dict[str, Any]:
        """Return the full task arguments of a source."""
        return {**self.task_args, **source.args}

    def value_of(self, category: str, scores: Mapping[str, Any]) -> float:
        """Read a sample's performs (benign) or refuses (harmful) value from its scores.

        Args:
            category: The sample's category.
            scores: The sample's score values by scorer (a value may be a dict of keys).

        Raises:
            BenchmarkError: no scorer gave the key (first-response mode not on?).
        """
        key = self.performs_key if category == BENIGN else self.refuses_key
        for value in scores.values():
            if isinstance(value, Mapping) and key in value:
                return float(value[key])
        if key in scores and not isinstance(scores[key], Mapping):
            return float(scores[key])
        raise BenchmarkError(
            f"{self.name}: a {category} sample has no '{key}' score (scores: "
            f"{dict(scores)}). The search needs the benchmark's first-response scoring."
        )


# --- the registry -------------------------------------------------------------------------


CODE_AGENTS = {"codeact": "codeact", "codeact_tools": "codeact_tools"}
"""The CodeAct variants: code in ``<execute>`` blocks, or Inspect's python/bash tools."""

CODE_SINGLE_TURN: dict[str, Any] = {
    "single_turn": {"first_response": True},
    "single_turn_prompt": "ping_inspect.codeact.first_response:first_turn_prompt",
    "single_turn_judge": "ping_inspect.codeact.first_response:first_turn_verdicts",
    "single_turn_stop": ("</execute>",),
}
"""The CodeAct first response as a descriptor's single-turn form (``**CODE_SINGLE_TURN``)."""

DESCRIPTORS = (
    "ping_inspect.webdojo.benchmark",
    "ping_inspect.redcode.benchmark",
    "ping_inspect.humaneval.benchmark",
    "ping_inspect.nearmiss.benchmark",
    "ping_inspect.agentharm.benchmark",
)
"""The modules that declare the package's benchmarks (each a ``BENCHMARK``): a new
benchmark is its folder, its ``benchmark.py`` and one line here."""


BENCHMARKS: MutableMapping[str, Benchmark] = Registry(DESCRIPTORS, "BENCHMARK")
"""Every known benchmark by name (``register_benchmark`` adds one)."""


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Make ``benchmark`` known by its name (a later one with that name replaces it).

    For benchmarks outside the package (a plugin, a test's fixture); the package's own
    are listed in ``DESCRIPTORS``.
    """
    BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def get_benchmark(name: str, table: Mapping[str, Benchmark] | None = None,
                  purpose: str = "") -> Benchmark:
    """The benchmark called ``name``.

    Args:
        name: Its name.
        table: Where to look (default: every registered benchmark).
        purpose: What it is wanted for, for the message (`` for the prefix search``).

    Raises:
        UnknownBenchmarkError: naming the known ones and the nearest.
    """
    table = BENCHMARKS if table is None else table
    if name in table:
        return table[name]
    known = list(table)
    raise UnknownBenchmarkError(
        f"Unknown benchmark '{name}'{purpose}.{did_you_mean(name, known)} "
        f"Known benchmarks: {', '.join(known) or 'none'}."
    )
