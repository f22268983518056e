"""HumanEval's descriptor: what every part of the package knows of this benchmark."""

from typing import Any

from ping_inspect.benchmarks import CODE_AGENTS, CODE_SINGLE_TURN, Benchmark


def reproduce_parts(settings: Any) -> list[tuple[str, int | None]]:
    """In reproduce's code grid: the ``--humaneval-problems`` problems."""
    return [(f"humaneval:problems={settings.humaneval_problems}", None)]


BENCHMARK = Benchmark(
    "humaneval",
    task="ping_inspect/humaneval",
    preset="code_llama",
    family="code",
    agents=CODE_AGENTS,
    fewshot="ping_inspect.humaneval.fewshot:humaneval_fewshot",
    roles=("benign",),
    **CODE_SINGLE_TURN,
    plot_group="code",
    reproduce=reproduce_parts,
)
