"""The paper's suffix ablation: the PING prefix appended to the last message instead."""

from __future__ import annotations

from inspect_ai.solver import Solver, solver

from ping_inspect.contracts import PrefillMode
from ping_inspect.defence_registry import Defence, SingleTurnPrompt
from ping_inspect.defences.solvers import NOT_GIVEN, defend


@solver
def suffix(
    prefix: str = NOT_GIVEN, prefix_file: str = NOT_GIVEN, preset: str = NOT_GIVEN
) -> Solver:
    """The paper's suffix ablation: the PING prefix appended to the last message instead.

    The prefix goes at the end of the message the model answers: the user turn, or in a
    tool loop the last tool result (in the request only; the log's conversation keeps
    the tool's own words, and each turn's metadata says where the prefix went).

    Args:
        prefix: The prefix text (passed as for ``ping``).
        prefix_file: File holding the prefix.
        preset: A published prefix name.
    """
    return defend("suffix", prefix=prefix, prefix_file=prefix_file, preset=preset)


def after_request(prompt: SingleTurnPrompt) -> SingleTurnPrompt:
    """The prefix appended to the user's request."""
    if not prompt.prefix:
        return prompt
    return prompt.but(user=f"{prompt.user.rstrip()}\n\n{prompt.prefix}")


DEFENCE = Defence(
    "suffix",
    solver=suffix,
    summary="the PING prefix appended to the last message (the paper's ablation)",
    uses_prefix=True,
    prefill_mode=PrefillMode.USER_SUFFIX,
    single_turn=after_request,
)
