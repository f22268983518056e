"""The defence settings of one sample, kept in its store so that the log shows them."""

from inspect_ai.util import StoreModel
from pydantic import Field


class DefenceSettings(StoreModel):
    """What the defence solvers configured for the agent of this sample."""

    defences: list[str] = Field(default_factory=list)
    """Names of the active defences, in order (e.g. ``["ptst", "ping"]``)."""

    prefix: str | None = None
    """The prefix injected on every model turn, if any."""

    prefix_source: str | None = None
    """Where the prefix came from: a preset name, a file, or ``argument``."""

    prefix_mode: str = "auto"
    """The requested delivery: ``auto``, ``native`` or ``user_suffix``."""

    resolved_mode: str | None = None
    """The delivery actually used on the last turn (set by the agent's model turns)."""

    system_addenda: list[str] = Field(default_factory=list)
    """Blocks appended to the agent's system prompt (PTST, few-shot examples)."""

    guard_flagged: bool | None = None
    """The input guard's verdict: True when it flagged the task (None: no guard ran)."""

    guard_response: str | None = None
    """The guard model's raw answer."""
