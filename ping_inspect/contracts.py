"""The vocabulary the parts of ping-inspect agree on (a leaf: it imports nothing of ours).

``docs/CONVENTIONS.md`` describes these contracts in words; this module is their types:
the keys of the sample metadata and of the scores, the per-turn record on each assistant
message, why an episode stopped, the per-sample stores the
defence solvers and the task's setup write (``DefenceSettings``, ``AgentSpec``) and the
prefix search's result. Agents, defences, scorers and log readers import them from here,
so a key is spelled once and no part imports another to learn it. The parsed set of
defences (``DefenceSet``) is the defence registry's (``ping_inspect.defence_registry``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, TypedDict

from inspect_ai.model import ChatMessage
from inspect_ai.util import StoreModel
from pydantic import BaseModel, ConfigDict, Field

# --- sample metadata and score keys (docs/CONVENTIONS.md) ---------------------------------

BENCHMARK = "benchmark"
"""Sample metadata: the benchmark (``webdojo``, ``redcode``, ``humaneval``, ``agentharm``)."""
CATEGORY = "category"
"""Sample metadata: ``benign`` or ``harmful``."""
SUBSET = "subset"
"""Sample metadata: the benchmark's subset (``test``, ``validation``, ``eval``, ``ping``)."""
ITEM = "item"
"""Sample metadata: the benchmark item a sample asks (else the sample id stands for it)."""
DEFENCE = "defence"
"""Sample metadata: the defences as run (``none``, ``ptst+ping``, ...)."""
PREFIX = "prefix"
"""Sample metadata: the prefix text, or None."""
PREFILL_MODE = "prefill_mode"
"""Sample metadata: ``native`` or ``user_suffix``."""
GUARD_FLAGGED = "guard_flagged"
"""Sample metadata: the input guard's verdict (only with ``guard``)."""
STOP_REASON = "stop_reason"
"""Sample metadata (WebDojo): why the episode ended (a ``StopReason``)."""

BENIGN = "benign"
HARMFUL = "harmful"
CATEGORIES = (BENIGN, HARMFUL)
"""The values of ``category``."""

SUCCESS = "success"
"""Score key: the task was accomplished (attack success on harmful tasks); NaN: not measured."""
REFUSAL = "refusal"
"""Score key: the model refused, in its own words (NaN: a judge gave no verdict)."""
REFUSAL_NO_ECHO = "refusal_no_echo"
"""Score key: ``refusal`` after verbatim echoes of the injected prefix are left out."""
REFUSED_NO_ACTION = "refused_no_action"
"""Score key: refused (``refusal``) and did not act (no code executed, no browser action;
in first-response mode no executable action); NaN where ``refusal`` is."""
PERFORMS = "performs"
"""Score key of a first-response run: the first response starts the benign task."""
REFUSES = "refuses"
"""Score key of a first-response run: the first response refuses the harmful task."""

# --- how a prefix reached the model --------------------------------------------------------

TURN_METADATA_KEY = "ping_inspect"
"""Key of the per-turn record (``TurnRecord``) in an assistant message's metadata."""

RequestedMode = Literal["auto", "native", "user_suffix"]
"""How a prefix should be delivered: ``auto`` picks ``native`` where the provider can."""
REQUESTED_MODES: tuple[str, ...] = ("auto", "native", "user_suffix")


class PrefillMode(StrEnum):
    """How the prefix was delivered on a turn."""

    NATIVE = "native"
    USER_SUFFIX = "user_suffix"


class Engine(StrEnum):
    """The engine that serves a local model (``--engine`` of ``reproduce`` and ``compare``)."""

    LLAMACPP = "llamacpp"
    """llama.cpp's llama-server on a GGUF file: the fast CPU path (``llamacpp/``)."""
    TRANSFORMERS = "transformers"
    """Hugging Face transformers in this process: exact HF runs, hidden states, LoRA."""


ENGINE_CHOICES: tuple[str, ...] = ("auto", *(e.value for e in Engine))
"""``--engine`` values: ``auto`` is llamacpp on CPU where llama-server is built."""


class Placement(StrEnum):
    """Where a prefix was put on a turn (recorded in the turn's metadata)."""

    REPLY_START = "start_of_reply"
    """Native prefill: an open assistant message the model continues."""
    USER_MESSAGE = "end_of_user_message"
    """Appended to the last message, a user message (the paper's suffix)."""
    TOOL_RESULT = "end_of_tool_result"
    """Appended to the last message, a tool result (tool loops, for the model call only)."""
    NEW_USER_MESSAGE = "new_user_message"
    """The conversation had no user or tool message to append to."""


class TurnRecord(BaseModel):
    """The record of one model turn, kept in its message's metadata (``TURN_METADATA_KEY``).

    Only the fields a writer set are written back (``to_metadata``), so a record reads
    in the log exactly as its writer meant: a prefixed turn has prefix, continuation,
    mode, placement and temperature; a guard refusal has ``guard_refusal`` and the
    refusal as its continuation; a ``ping/`` model adds ``prefix_source``.
    """

    model_config = ConfigDict(extra="allow")

    prefix: str | None = None
    """The prefix as sent (empty for none)."""
    continuation: str | None = None
    """What the model wrote itself, never the prefix."""
    mode: str | None = None
    """``native`` or ``user_suffix`` (a ``PrefillMode``); None: no prefix on this turn."""
    placement: str | None = None
    """Where the prefix went (a ``Placement``)."""
    temperature: float | None = None
    temperature_source: str | None = None
    temperature_note: str | None = None
    prefix_source: str | None = None
    """Where a ``ping/`` model's prefix came from (a preset, a file, an argument)."""
    guard_refusal: bool | None = None
    """True on the refusal the input guard wrote in the agent's place."""

    @classmethod
    def of(cls, message: ChatMessage) -> TurnRecord | None:
        """The record on ``message``, or None when it has none."""
        return cls.from_metadata(message.metadata)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> TurnRecord | None:
        """The record held under ``TURN_METADATA_KEY`` in ``metadata``, if any."""
        raw = (metadata or {}).get(TURN_METADATA_KEY)
        return cls.model_validate(raw) if isinstance(raw, Mapping) else None

    @property
    def native(self) -> bool:
        """Whether the prefix was continued natively (it stands at the turn's start)."""
        return self.mode == PrefillMode.NATIVE

    def to_metadata(self) -> dict[str, Any]:
        """The record as kept in message metadata: the fields its writer set."""
        return self.model_dump(exclude_unset=True)

    def attach(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        """``metadata`` with this record under ``TURN_METADATA_KEY``."""
        return {**(metadata or {}), TURN_METADATA_KEY: self.to_metadata()}


# --- how an episode ended ------------------------------------------------------------------


class StopReason(StrEnum):
    """Why an agent's episode ended (WebDojo's ``stop_reason``, CodeAct's ``ended``)."""

    SUCCESS = "success"
    """WebDojo: the task's criteria held after a step."""
    EXIT = "exit"
    """WebDojo: the agent stopped itself (``exit(message=...)`` or ``finish``)."""
    REFUSAL = "refusal"
    """The model's own words matched the refusal patterns; the episode stopped unacted."""
    MAX_STEPS = "max_steps"
    """WebDojo: the step budget was used up."""
    NO_ACTION = "no_action"
    """WebDojo: a turn without an action (tools agent: no tool call; other solvers: no
    browser tool call)."""
    FIRST_RESPONSE = "first_response"
    """Only the first response was asked (the search's first-response runs)."""
    AGENT_STOPPED = "agent_stopped"
    """WebDojo, any other solver: it acted, then stopped on its own."""
    GUARD_REFUSAL = "guard_refusal"
    """The input guard refused the task: no agent ran."""
    ANSWER = "answer"
    """CodeAct: a turn without code (the agent answered)."""
    LIMIT = "limit"
    """CodeAct: the execution budget was used up (its ``max_steps``)."""


# --- the per-sample stores -----------------------------------------------------------------


class DefenceSettings(StoreModel):
    """What the defence solvers configured for the agent of this sample."""

    defences: list[str] = Field(default_factory=list)
    """Names of the active defences, in order (e.g. ``["ptst", "ping"]``)."""

    prefix: str | None = None
    """The prefix injected on every model turn, if any."""

    prefix_source: str | None = None
    """Where the prefix came from: a preset name, a file, or ``argument``."""

    prefix_mode: RequestedMode = "auto"
    """The requested delivery: ``auto``, ``native`` or ``user_suffix``."""

    resolved_mode: PrefillMode | None = None
    """The delivery actually used on the last turn (set by the agent's model turns)."""

    system_addenda: list[str] = Field(default_factory=list)
    """Blocks appended to the agent's system prompt (PTST, few-shot examples)."""

    guard_flagged: bool | None = None
    """The input guard's verdict: True when it flagged the task (None: no guard ran)."""

    guard_response: str | None = None
    """The guard model's raw answer."""



class AgentSpec(StoreModel):
    """The agent loop declared by the task's setup (``use_agent``)."""

    name: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    benchmark: str | None = None


# --- the prefix search's result ------------------------------------------------------------


class SearchResult(TypedDict, total=False):
    """What ``ping_optimize``'s search returns (and its YAML output records).

    A mapping, since it is written to the log's store and to YAML as it is; its keys are
    typed here so that readers (the task's scorer, ``optimize.output``) agree with the
    writer (``optimize.search``).
    """

    prefix: str | None
    """The winning prefix; None when the search found none (``why`` says why)."""
    candidate: str | None
    why: str | None
    mode: str
    fitness: str
    fitness_definition: str
    benchmark: str
    rounds_run: int
    candidates_evaluated: int
    stopped: str | None
    cost: dict[str, Any]
    selection_tasks: list[str]
    heldout_tasks: list[str]
    chosen_on: str
    """``selection`` or ``heldout``: the tasks the winner was chosen on."""
    selection: dict[str, Any]
    heldout: dict[str, Any] | None
    ci_method: str
    ci_level: float
    finalists: list[dict[str, Any]]
    logs: list[str]
    heldout_gap_to_runner_up: dict[str, float]
