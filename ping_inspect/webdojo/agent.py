"""The WebDojo agent loops: the paper's action format, and a tool-calling variant.

Both run one episode per sample in a fresh browser context (the one the task's setup
opened on the start page, taken over: ``browser_tools.sample_browser``). Each step the
model sees the task and the current page (simplified HTML with numbered elements),
answers through ``ping_inspect.agents.agent_turn`` (so defences such as PING apply to
every turn), and its action is carried out in the browser. The episode ends when all
the task's criteria hold (success), when the agent stops (``exit`` / ``finish``), when
its own words match the paper's refusal patterns (as in the paper's environment, the
action is then not carried out), or after ``max_steps``. A malformed action is a failed
step: the reason is logged and shown to the model on its next turn.

In ``first_response`` mode the model is asked once, on the start page, greedily and with
at most 150 tokens, and nothing is carried out: what the prefix optimiser scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
)
from inspect_ai.solver import Generate, Solver, TaskState
from inspect_ai.tool import ToolCall
from pydantic import BaseModel, ConfigDict

from ping_inspect.agents import agent_turn, defended_system_prompt, register_agent, run_episode
from ping_inspect.contracts import StopReason
from ping_inspect.prefill import Turn
from ping_inspect.webdojo import prompts
from ping_inspect.webdojo.actions import ActionError, parse_action
from ping_inspect.webdojo.browser_tools import (  # noqa: F401 (tool_call_action: re-exported)
    sample_browser,
    tool_call_action,
    web_tools,
)
from ping_inspect.webdojo.episode import Episode

FIRST_RESPONSE_TOKENS = 150
"""Token budget of the single greedy turn in ``first_response`` mode (the paper's)."""
ACTIONS_TOKENS = 128
"""Default token budget of an actions turn: one action line with its comments."""
TOOLS_TOKENS = 512
"""Default token budget of a tools turn."""


def turn_config(max_tokens: int, first_response: bool) -> GenerateConfig:
    """A WebDojo turn's config: ``max_tokens``, or the paper's 150 for a first response."""
    # No temperature: every turn is greedy unless the user chose one (agent_turn).
    return GenerateConfig(max_tokens=FIRST_RESPONSE_TOKENS if first_response else max_tokens)


class WebAgentSettings(BaseModel, frozen=True):
    """The settings of both WebDojo agents (what the task passes to ``use_agent``)."""

    model_config = ConfigDict(extra="forbid")

    websites: str
    """The WebDojo ``websites/`` folder."""
    max_steps: int = 5
    """Most steps per episode (the paper's is 5)."""
    max_tokens: int | None = None
    """Token budget of each turn (None: the variant's own, 128 for actions, 512 for tools)."""
    first_response: bool = False
    """Ask once on the start page (greedy, 150 tokens) and act not."""
    stop_on_refusal: bool = True
    """End the episode, without acting, when the model's own words match the paper's
    refusal patterns (the paper's environment did)."""
    observation_chars: int = 8000
    """Most characters of simplified HTML shown per step."""

    def turn_config(self, default_tokens: int) -> GenerateConfig:
        """Each turn's config (no temperature: greedy unless the user chose one)."""
        tokens = self.max_tokens if self.max_tokens is not None else default_tokens
        return turn_config(tokens, self.first_response)

    def episode(self) -> dict[str, Any]:
        """The skeleton's arguments (``agents.run_episode``)."""
        return {"first_response": self.first_response, "max_turns": self.max_steps,
                "refusal_domain": "web" if self.stop_on_refusal else None}


@register_agent("webdojo")
def webdojo_agent(**settings: Any) -> Solver:
    """Run the paper's web agent: one action per turn in the Python-like syntax.

    Args:
        **settings: ``WebAgentSettings`` (``max_tokens`` 128 unless given).
    """
    s = WebAgentSettings(**settings)
    config = s.turn_config(ACTIONS_TOKENS)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        system = ChatMessageSystem(content=defended_system_prompt(prompts.SYSTEM_PROMPT))
        state.messages = [system]
        async with sample_browser(state, Path(s.websites)) as (session, page):
            episode = Episode(state, session, page, agent="actions")
            exit_message: str | None = None

            async def ask() -> tuple[Turn, ChatMessageAssistant]:
                shown = _observation(state, episode, s.observation_chars)
                observation = ChatMessageUser(content=shown)
                turn, reply = await agent_turn(state, [system, observation], config=config)
                state.messages.extend([observation, reply])
                return turn, reply

            async def act(turn: Turn, reply: ChatMessageAssistant) -> StopReason | None:
                nonlocal exit_message
                try:
                    action = parse_action(turn.text)
                except ActionError as err:
                    episode.fail(turn.continuation.strip()[:200], str(err))
                    return None
                if action.is_exit:
                    exit_message = action.message
                    return StopReason.EXIT
                await episode.act(action)
                return StopReason.SUCCESS if episode.success else None

            reason = await run_episode(state, ask, act, **s.episode())
            episode.finish(reason, exit_message)
        return state

    return solve


def _observation(state: TaskState, episode: Episode, max_chars: int) -> str:
    history = "\n".join(f"{i}. {h}" for i, h in enumerate(episode.history, start=1))
    return prompts.OBSERVATION.format(
        goal=state.input_text,
        history=history or prompts.NO_HISTORY,
        note=episode.note,
        location=episode.location(),
        page=episode.page.render(max_chars),
    )


@register_agent("webdojo_tools")
def webdojo_tools_agent(**settings: Any) -> Solver:
    """Run the same environment for models that act through tool calls.

    Tools: ``click``, ``type_text``, ``search``, ``scroll``, ``go_back``, ``finish``. A turn
    without a tool call ends the episode. Older pages are left out of the conversation.

    Args:
        **settings: ``WebAgentSettings`` (``max_tokens`` 512 unless given).
    """
    s = WebAgentSettings(**settings)
    config = s.turn_config(TOOLS_TOKENS)
    tools = web_tools()

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        system = ChatMessageSystem(content=defended_system_prompt(prompts.TOOLS_SYSTEM_PROMPT))
        async with sample_browser(state, Path(s.websites)) as (session, page):
            episode = Episode(state, session, page, agent="tools")
            first = prompts.TOOLS_FIRST_MESSAGE.format(
                goal=state.input_text, location=episode.location(),
                page=episode.page.render(s.observation_chars),
            )
            state.messages = [system, ChatMessageUser(content=first)]
            exit_message: str | None = None

            async def ask() -> tuple[Turn, ChatMessageAssistant]:
                shown = without_old_pages(state.messages)
                turn, reply = await agent_turn(state, shown, tools=tools, config=config)
                state.messages.append(reply)
                return turn, reply

            async def act(turn: Turn, reply: ChatMessageAssistant) -> StopReason | None:
                nonlocal exit_message
                if not reply.tool_calls:
                    return StopReason.NO_ACTION
                stop, exit_message = await _run_tool_calls(episode, reply, state,
                                                           s.observation_chars)
                return stop

            reason = await run_episode(state, ask, act, **s.episode())
            episode.finish(reason, exit_message)
        return state

    return solve


async def _run_tool_calls(
    episode: Episode,
    reply: ChatMessageAssistant,
    state: TaskState,
    observation_chars: int,
) -> tuple[StopReason | None, str | None]:
    """Carry out the first tool call of a turn and answer every call.

    Returns:
        Why the episode stops (``exit``, ``success``) or None, and the exit message.
    """
    calls = reply.tool_calls or []
    first, rest = calls[0], calls[1:]
    stop: StopReason | None = None
    try:
        action = tool_call_action(first)
    except ActionError as err:
        episode.fail(f"{first.function}({first.arguments})", str(err))
        outcome = f"Not carried out: {err}"
    else:
        if action.is_exit:
            return StopReason.EXIT, action.message
        outcome = await episode.act(action)
        stop = StopReason.SUCCESS if episode.success else None
    results = [_tool_result(first, prompts.TOOL_RESULT.format(
        outcome=outcome, location=episode.location(), page=episode.page.render(observation_chars)
    ))]
    results += [_tool_result(c, "Not carried out: one action per turn.") for c in rest]
    state.messages.extend(results)
    return stop, None


def _tool_result(call: ToolCall, content: str) -> ChatMessageTool:
    return ChatMessageTool(content=content, tool_call_id=call.id, function=call.function)


PAGE_MARK = "\nCurrent page: "
"""Where a tool result's page starts (``prompts.TOOL_RESULT``)."""


def without_old_pages(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The conversation as the tools agent shows it to the model: only the latest page.

    A message filter: each earlier tool result keeps its outcome, and its page gives way
    to a short note, so the conversation stays short; the sample's messages (the log)
    keep every page.
    """
    pages = [i for i, m in enumerate(messages)
             if isinstance(m, ChatMessageTool) and PAGE_MARK in m.text]
    old = set(pages[:-1])
    return [_page_left_out(m) if i in old else m for i, m in enumerate(messages)]


def _page_left_out(message: ChatMessage) -> ChatMessage:
    head = message.text.split(PAGE_MARK, 1)[0]
    return message.model_copy(update={"content": f"{head}\n{prompts.TOOL_RESULT_OLD_PAGE}"})
