"""A scripted expert as an Inspect model: it plays demonstrations through the real agents.

Trajectories are recorded by running the package's own agents (CodeAct, the WebDojo
actions agent) in their real environments (the bubblewrap sandbox, Chromium) with this
model in the driver's seat. Each answer comes from a *policy* that reads the agent's
input, exactly as a model would, and writes the next turn. What the model was shown and
what it answered then lands in the eval log, from which ``export`` writes the records:
the training format is the runtime format because it is the runtime.

``ping_expert/<name>`` is created only by this package's trajectory builders (the policy
is a Python callable passed as a model argument); it is not meant for ``--model``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    Model,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

Policy = Callable[[list[ChatMessage], list[ToolInfo]], ModelOutput | str]
"""Reads the agent's input (and tools) and returns the expert's next answer."""


class ExpertAPI(ModelAPI):
    """A model whose every answer comes from a scripted policy."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        policy: Policy | None = None,
        **model_args: Any,
    ) -> None:
        """Wrap ``policy`` (required when the model is used; absent for info look-ups)."""
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key,
                         config=config or GenerateConfig())
        self.policy = policy

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        """Answer with the policy's next turn (usage counted in characters, not tokens)."""
        if self.policy is None:
            raise RuntimeError("ping_expert/ models are made by the trajectory builders only.")
        answer = self.policy(input, tools)
        output = ModelOutput.from_content(self.model_name, answer) if isinstance(
            answer, str) else answer
        if output.usage is None:
            chars = sum(len(m.text) for m in input)
            output.usage = ModelUsage(input_tokens=chars, output_tokens=len(output.completion),
                                      total_tokens=chars + len(output.completion))
        return output

    def max_connections(self) -> int:
        """The policy is instant: let samples through as fast as the environment takes."""
        return 8


@modelapi(name="ping_expert")
def ping_expert() -> type[ModelAPI]:
    """Return the scripted-expert model API."""
    return ExpertAPI


def expert_model(name: str, policy: Policy) -> Model:
    """Make a ``ping_expert/<name>`` model that answers with ``policy``."""
    return get_model(f"ping_expert/{name}", policy=policy, memoize=False)
