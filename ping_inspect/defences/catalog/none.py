"""No defence: the baseline every defence is compared with."""

from __future__ import annotations

from inspect_ai.solver import Solver, solver

from ping_inspect.defence_registry import NO_DEFENCE, Defence, SingleTurnPrompt
from ping_inspect.defences.solvers import defend


@solver
def no_defence() -> Solver:
    """Run the sample's agent with no defence (the baseline)."""
    return defend(NO_DEFENCE)


def as_is(prompt: SingleTurnPrompt) -> SingleTurnPrompt:
    """The single-turn prompt unchanged."""
    return prompt


DEFENCE = Defence(
    NO_DEFENCE,
    solver=no_defence,
    summary="the agent as it is",
    single_turn=as_is,
)
