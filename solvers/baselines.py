"""The baseline defences for the Inspect CLI: ``--solver solvers/baselines.py@ptst``.

Each solver is the package's (``ping_inspect.defences``); this file only exposes them by path.
"""

from inspect_ai.solver import Solver, solver

from ping_inspect.defences import solvers as package


@solver
def ptst() -> Solver:
    """PTST: a safety block added to the agent's system prompt."""
    return package.ptst()


@solver
def fewshot(benign: int = 5, harmful: int = 5) -> Solver:
    """Few-shot safety examples from the benchmark's validation split."""
    return package.fewshot(benign=benign, harmful=harmful)


@solver
def suffix(
    prefix: str | None = None, prefix_file: str | None = None, preset: str | None = None
) -> Solver:
    """The paper's suffix ablation: the prefix appended to the user turn."""
    return package.suffix(prefix=prefix, prefix_file=prefix_file, preset=preset)


@solver
def guard(role: str = "guard") -> Solver:
    """Input guardrail on a ``guard`` model role; flagged tasks are refused."""
    return package.guard(role=role)


@solver
def no_defence() -> Solver:
    """The agent with no defence."""
    return package.no_defence()


@solver
def defend(
    defences: str = "none",
    prefix: str | None = None,
    prefix_file: str | None = None,
    preset: str | None = None,
    mode: str = "auto",
) -> Solver:
    """Any combination of defences, e.g. ``-S defences=ptst+ping``."""
    return package.defend(
        defences, prefix=prefix, prefix_file=prefix_file, preset=preset, mode=mode
    )
