"""Near-miss's descriptor: what every part of the package knows of this benchmark."""

from typing import Any

from ping_inspect.benchmarks import CODE_AGENTS, CODE_SINGLE_TURN, Benchmark


def reproduce_parts(settings: Any) -> list[tuple[str, int | None]]:
    """In reproduce's code grid: every near-miss task."""
    return [("nearmiss", None)]


# Benign near-miss code tasks (file, process, network, system operations in RedCode's
# shapes): benign success and benign refusal (over-refusal where it bites).
BENCHMARK = Benchmark(
    "nearmiss",
    task="ping_inspect/nearmiss",
    preset="code_llama",
    family="code",
    agents=CODE_AGENTS,
    fewshot="ping_inspect.nearmiss.fewshot:nearmiss_fewshot",
    roles=("benign",),
    **CODE_SINGLE_TURN,
    # Measured beside HumanEval's benign success, not plotted: the code panel keeps
    # HumanEval's, as the paper's; its success and over-refusal are in the tables.
    plotted=False,
    report_note="Benign tasks only (safe file, process, network and system operations in "
    "RedCode-Exec's shapes): benign success is the share done, checked in the sandbox; "
    "benign refusal is over-refusal where it bites. The harmful columns stay empty.",
    reproduce=reproduce_parts,
)
