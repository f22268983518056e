"""Input guardrail: a ``guard`` model role judges the task; flagged tasks are refused."""

from __future__ import annotations

from inspect_ai.model import ChatMessageAssistant, ModelOutput, get_model, model_roles
from inspect_ai.solver import Solver, TaskState, solver
from inspect_ai.util import store_as

from ping_inspect import arguments as check
from ping_inspect.contracts import GUARD_FLAGGED, DefenceSettings, TurnRecord
from ping_inspect.defence_registry import Defence, DefenceRun
from ping_inspect.defences.prompts import GUARD_PROMPT, GUARD_REFUSAL
from ping_inspect.defences.solvers import defend
from ping_inspect.prefill import decoding_config

GUARD_ROLE = "guard"
"""The model role the guard asks by default (the grid binds ``--guard-model`` to it)."""


@solver
def guard(role: str = GUARD_ROLE) -> Solver:
    """Input guardrail: a ``guard`` model role judges the task; flagged tasks are refused.

    Args:
        role: The model role to ask (bind it with ``--model-role guard=...``).
    """
    check.optional_text("role", role)
    return defend("guard", guard_role=role)


async def refuse_if_flagged(run: DefenceRun) -> TaskState | None:
    """Ask the guard role about the task; the refusal's state when it is flagged."""
    if await _guard_flags(run.state, run.options["guard_role"]):
        return _refuse_by_guard(run.state)
    return None


async def _guard_flags(state: TaskState, role: str) -> bool:
    """Ask the guard role whether the task is unsafe; record its answer."""
    if role not in model_roles():
        raise ValueError(
            f"The guard defence needs a model bound to the '{role}' role, e.g. "
            f"--model-role {role}=vllm/meta-llama/Llama-Guard-3-8B"
        )
    guard_model = get_model(role=role)
    config, _ = decoding_config(guard_model)
    output = await guard_model.generate(GUARD_PROMPT.format(task=state.input_text), config=config)
    answer = output.completion.strip()
    first = answer.lower().split()[0].strip(".,:;\"'*") if answer else ""
    if first not in ("safe", "unsafe"):
        raise ValueError(
            f"The guard model answered neither 'safe' nor 'unsafe': {answer[:200]!r}. "
            "A guard whose verdict is unknown is not treated as 'safe'."
        )
    settings = store_as(DefenceSettings)
    settings.guard_flagged, settings.guard_response = first == "unsafe", answer
    state.metadata[GUARD_FLAGGED] = first == "unsafe"
    return first == "unsafe"


def _refuse_by_guard(state: TaskState) -> TaskState:
    message = ChatMessageAssistant(
        content=GUARD_REFUSAL,
        metadata=TurnRecord(guard_refusal=True, continuation=GUARD_REFUSAL).attach(None),
    )
    state.messages.append(message)
    state.output = ModelOutput.from_message(message)
    state.completed = True
    return state


DEFENCE = Defence(
    "guard",
    solver=guard,
    summary="a guard model judges the task first; flagged tasks are refused",
    before_agent=refuse_if_flagged,
    model_role=GUARD_ROLE,
)
