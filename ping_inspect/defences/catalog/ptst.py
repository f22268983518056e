"""PTST: a safety block added to the agent's system prompt at test time."""

from __future__ import annotations

from inspect_ai.solver import Solver, solver

from ping_inspect.defence_registry import Defence, DefenceRun, SingleTurnPrompt
from ping_inspect.defences.prompts import PTST_BLOCK
from ping_inspect.defences.solvers import defend


@solver
def ptst() -> Solver:
    """PTST: a safety block added to the agent's system prompt at test time."""
    return defend("ptst")


def safety_block(run: DefenceRun) -> str:
    """The PTST block, for the agent's system prompt."""
    return PTST_BLOCK


def with_safety_block(prompt: SingleTurnPrompt) -> SingleTurnPrompt:
    """The PTST block appended to the system prompt."""
    return prompt.but(system=f"{prompt.system}\n\n{PTST_BLOCK}")


DEFENCE = Defence(
    "ptst",
    solver=ptst,
    summary="a safety block in the system prompt",
    system_addendum=safety_block,
    single_turn=with_safety_block,
)
