"""The baseline defences for the Inspect CLI: ``--solver solvers/baselines.py@ptst``.

Each solver is the package's (``ping_inspect.defences``); this file only exposes them by path.
"""

from inspect_ai.solver import Solver, solver

from ping_inspect import defences as package
from ping_inspect.defences.solvers import NOT_GIVEN


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
    prefix: str = NOT_GIVEN, prefix_file: str = NOT_GIVEN, preset: str = NOT_GIVEN
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
    prefix: str = NOT_GIVEN,
    prefix_file: str = NOT_GIVEN,
    preset: str = NOT_GIVEN,
    mode: str = "auto",
) -> Solver:
    """Any combination of defences, e.g. ``-S defences=ptst+ping``."""
    return package.defend(
        defences, prefix=prefix, prefix_file=prefix_file, preset=preset, mode=mode
    )
