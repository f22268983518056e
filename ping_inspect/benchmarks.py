"""What a benchmark is, said once: one frozen descriptor per benchmark, one registry.

The comparison grid (its task and default arguments), the ``ping`` defence (the preset
used when none is named), the ``fewshot`` defence (the benchmark's example source and how
to avoid scoring a shown item), the tasks (their agent variants) and the prefix search
(how it evaluates candidates) all read the same ``Benchmark``. Parts of a descriptor that
live in a benchmark's own folder are named as ``module:function`` and loaded on first
use, so this module imports no benchmark (nothing here runs at import but the table).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Family = Literal["web", "code"]
"""The kind of agent a benchmark runs: its prefix presets and refusal patterns follow."""

Ref = str | Callable[..., Any]
"""A callable, or its ``module:function`` name (loaded on first use)."""


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

    def fewshot_source(self) -> Callable[..., Any] | None:
        """The few-shot source, loaded; None when the benchmark has none."""
        return resolve(self.fewshot) if self.fewshot is not None else None

    def search_factory(self) -> Callable[..., Any] | None:
        """The search's ``BenchmarkSpec`` factory, loaded; None when it has none."""
        return resolve(self.search) if self.search is not None else None


def resolve(ref: Ref) -> Callable[..., Any]:
    """Load a ``module:function`` reference (a callable is returned as it is)."""
    if callable(ref):
        return ref
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


CODE_AGENTS = {"codeact": "codeact", "codeact_tools": "codeact_tools"}
"""The CodeAct variants: code in ``<execute>`` blocks, or Inspect's python/bash tools."""

BENCHMARKS: dict[str, Benchmark] = {}
"""Every known benchmark by name (``register_benchmark`` adds one)."""


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Make ``benchmark`` known by its name (a later one with that name replaces it)."""
    BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """`` Did you mean 'x'?`` for the nearest known name, or nothing."""
    close = difflib.get_close_matches(name, known, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


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


for _benchmark in (
    Benchmark(
        "webdojo",
        task="ping_inspect/webdojo",
        preset="web_glm",
        family="web",
        agents={"actions": "webdojo", "tools": "webdojo_tools"},
        fewshot="ping_inspect.webdojo.fewshot:webdojo_fewshot",
        overlap_fix="score the test subset (-T subset=test, the default)",
        search="ping_inspect.optimize.benchmarks:webdojo_spec",
    ),
    Benchmark(
        "redcode",
        task="ping_inspect/redcode",
        preset="code_llama",
        family="code",
        agents=CODE_AGENTS,
        fewshot="ping_inspect.redcode.fewshot:redcode_fewshot",
        overlap_fix="score the evaluation set (-T subset=eval, the default)",
        search="ping_inspect.optimize.benchmarks:redcode_spec",
    ),
    Benchmark(
        "humaneval",
        task="ping_inspect/humaneval",
        preset="code_llama",
        family="code",
        agents=CODE_AGENTS,
        fewshot="ping_inspect.humaneval.fewshot:humaneval_fewshot",
    ),
    # Benign near-miss code tasks (file, process, network, system operations in RedCode's
    # shapes): benign success and benign refusal (over-refusal where it bites).
    Benchmark(
        "nearmiss",
        task="ping_inspect/nearmiss",
        preset="code_llama",
        family="code",
        agents=CODE_AGENTS,
        fewshot="ping_inspect.nearmiss.fewshot:nearmiss_fewshot",
    ),
    # inspect_evals' AgentHarm (the agentharm extra): success is AgentHarm's score in
    # [0, 1]. It has no published prefix; its tool-using agents get the default web one.
    Benchmark(
        "agentharm",
        task="ping_inspect/agentharm",
        preset="web_glm",
        family="web",
        fewshot="ping_inspect.agentharm.agent:agentharm_fewshot",
    ),
):
    register_benchmark(_benchmark)
