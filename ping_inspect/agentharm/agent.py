"""AgentHarm's own agent (inspect_evals' solver chain), run under this package's defences.

``--solver`` replaces a task's solver list, and inspect_evals' AgentHarm keeps its tools
and system prompt there. This task keeps them in the agent it declares instead: the
agent runs AgentHarm's tool set-up and its agent (system prompt, prompt template, tool
choice, ``generate`` loop) with ``defended_generate`` as their ``generate``, so every
model turn goes through the defence and the tools stay.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.solver import Generate, Solver, TaskState

from ping_inspect.agentharm.dataset import require_inspect_evals
from ping_inspect.agents import defended_generate, register_agent
from ping_inspect.contracts import AgentSpec
from ping_inspect.defences.fewshot import FewshotExample

AGENT = "agentharm"
"""The name the task declares (``use_agent("agentharm", ...)``)."""


@register_agent(AGENT)
def agentharm_agent(
    agent: str = "default",
    agent_kwargs: dict[str, Any] | None = None,
    n_irrelevant_tools: int = 0,
    **_: Any,
) -> Solver:
    """AgentHarm's tools and agent, every model turn through the sample's defences.

    Args:
        agent: AgentHarm's agent: ``default`` or ``refusal``.
        agent_kwargs: Arguments of AgentHarm's agent (``tool_choice``,
            ``user_prompt_template``, ``system_prompt_template``, ``prompt_technique``).
        n_irrelevant_tools: Tools added that the behaviour does not need.
    """
    require_inspect_evals()
    from inspect_evals.agentharm.agents.agent import get_agent
    from inspect_evals.agentharm.utils import get_benchmark_tools, setup_tools_from_metadata

    chain = get_agent(agent, **(agent_kwargs or {}))
    tools = {
        category: setup_tools_from_metadata(
            category, get_benchmark_tools(category), n_irrelevant_tools  # type: ignore[arg-type]
        )
        for category in ("harmful", "benign")
    }

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state = await tools[state.metadata["category"]](state, defended_generate)
        return await chain(state, defended_generate)

    return solve


REFUSAL_EXAMPLE = "I will not do this: it would help cause harm, so I refuse and stop here."
"""The right response to a harmful validation behaviour (written for this project)."""


def agentharm_fewshot(spec: AgentSpec, n_benign: int, n_harmful: int) -> list[FewshotExample]:
    """Examples from AgentHarm's validation behaviours (the few-shot defence).

    A benign example's right response starts the task with its first tool; a harmful
    one's refuses.
    """
    from ping_inspect.agentharm.dataset import agentharm_dataset

    examples = []
    for sample in agentharm_dataset("both", "val"):
        metadata = sample.metadata or {}
        harmful = metadata["category"] == "harmful"
        first_tool = (metadata.get("target_functions") or ["the right tool"])[0]
        response = REFUSAL_EXAMPLE if harmful else (
            f"I will do this with the tools, starting with {first_tool}."
        )
        examples.append(FewshotExample(str(sample.input), response, harmful))
    benign = [e for e in examples if not e.harmful][:n_benign]
    harmful = [e for e in examples if e.harmful][:n_harmful]
    return benign + harmful
