"""Scripted models for unit tests: mockllm outputs with usage set, and fake provider names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from inspect_ai._util.registry import REGISTRY_INFO, RegistryInfo
from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput, ModelUsage
from inspect_ai.model._providers.mockllm import MockLLM

Recorder = list[tuple[list[ChatMessage], GenerateConfig]]


def output(text: str, model: str = "mockllm") -> ModelOutput:
    """A model output with usage set (mockllm would otherwise download a tokenizer)."""
    out = ModelOutput.from_content(model, text)
    out.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
    return out


def replying(
    reply: str | Callable[[list[ChatMessage]], str], seen: Recorder | None = None
) -> Callable[..., ModelOutput]:
    """A mockllm ``custom_outputs`` callable that records what it receives."""

    def respond(input: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig):
        if seen is not None:
            seen.append((list(input), config))
        return output(reply(input) if callable(reply) else reply)

    return respond


def scripted(texts: Iterable[str]) -> list[ModelOutput]:
    """Outputs for mockllm's ``custom_outputs`` list form."""
    return [output(t) for t in texts]


def provider_model(api: str, name: str, outputs: Any) -> Model:
    """A mock model that presents itself as ``api/name`` (e.g. ``openai/gpt-4o``)."""
    cls = type(f"Fake_{api.replace('-', '_')}", (MockLLM,), {})
    setattr(cls, REGISTRY_INFO, RegistryInfo(type="modelapi", name=f"tests/{api}"))
    return Model(cls(name, custom_outputs=outputs), GenerateConfig())
