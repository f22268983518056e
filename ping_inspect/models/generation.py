"""Batched generation on a transformers model: settings, one batch, and its decoded results.

This is the part of the ``transformers/`` provider that touches torch. It runs in the
provider's worker thread; ``RequestBatcher`` decides what goes into each batch.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inspect_ai.model import GenerateConfig, StopReason

from ping_inspect.models.hidden_states import encode_hidden_states

if TYPE_CHECKING:
    import torch
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

# Flags that only sampling reads: unset for greedy decoding, or transformers complains
# when a model's generation_config.json sets them.
_SAMPLING_FLAGS = ("temperature", "top_p", "top_k", "min_p", "typical_p")
# Prompt tokens decoded together with the continuation, so that tokenizers which drop a
# word's leading space at the start of a decode (SentencePiece) keep it.
_DECODE_CONTEXT = 8


@dataclass(frozen=True)
class GenerationSettings:
    """The settings a batch shares (requests with equal settings can be batched)."""

    max_new_tokens: int
    do_sample: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop_seqs: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: GenerateConfig, default_max_tokens: int) -> GenerationSettings:
        """Read an Inspect ``GenerateConfig``: greedy unless ``temperature`` is above 0."""
        sample = config.temperature is not None and config.temperature > 0
        return cls(
            max_new_tokens=config.max_tokens or default_max_tokens,
            do_sample=sample,
            temperature=config.temperature if sample else None,
            top_p=config.top_p if sample else None,
            top_k=config.top_k if sample else None,
            seed=config.seed,
            stop_seqs=tuple(config.stop_seqs or ()),
        )


@dataclass(frozen=True)
class Generated:
    """One request's answer."""

    text: str
    stop_reason: StopReason
    input_tokens: int
    output_tokens: int
    time: float
    hidden_states: dict[str, Any] | None = None


def generation_config(
    base: GenerationConfig, settings: GenerationSettings, pad_token_id: int | None
) -> GenerationConfig:
    """Return the model's generation config with ``settings`` applied.

    Greedy decoding unsets every sampling flag (a chat model's defaults often set
    ``temperature`` and ``top_p``), so transformers neither warns nor rejects it.
    """
    config = copy.deepcopy(base)
    if settings.do_sample:
        config.do_sample = True
        for flag in ("temperature", "top_p", "top_k"):
            if getattr(settings, flag) is not None:
                setattr(config, flag, getattr(settings, flag))
    else:
        config.do_sample = False
        for flag in _SAMPLING_FLAGS:
            if hasattr(config, flag):
                setattr(config, flag, None)
    config.max_new_tokens = settings.max_new_tokens
    if config.pad_token_id is None:
        config.pad_token_id = pad_token_id
    return config


def decode_continuation(
    tokenizer: PreTrainedTokenizerBase, prompt_ids: list[int], new_ids: list[int]
) -> str:
    """Decode generated tokens as the text that follows the prompt."""
    context = prompt_ids[-_DECODE_CONTEXT:]
    before = tokenizer.decode(context, skip_special_tokens=True)
    together = tokenizer.decode(context + new_ids, skip_special_tokens=True)
    if together.startswith(before):
        return together[len(before) :]
    return tokenizer.decode(new_ids, skip_special_tokens=True)


def trim_at_stop(text: str, stop_seqs: tuple[str, ...]) -> tuple[str, bool]:
    """Cut ``text`` before the first stop sequence; say whether one was found."""
    cuts = [i for i in (text.find(s) for s in stop_seqs if s) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class BatchGenerator:
    """Generates for a batch of tokenised prompts with one model (call it from one thread)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        hidden_states: bool = False,
    ) -> None:
        """Wrap a loaded model (see ``load_local_model``).

        Args:
            model: The causal language model.
            tokenizer: Its tokenizer (with a pad token).
            hidden_states: Also return the final prompt token's hidden state per layer.
        """
        self.model = model
        self.tokenizer = tokenizer
        self.hidden_states = hidden_states
        self.context_length: int | None = getattr(model.config, "max_position_embeddings", None)
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        self.eos_ids = eos_ids

    def __call__(self, settings: GenerationSettings, prompts: list[list[int]]) -> list[Generated]:
        """Generate for every prompt with left padding, in one ``model.generate`` call.

        Args:
            settings: The settings every prompt of the batch shares.
            prompts: Token ids of each rendered prompt.

        Returns:
            One result per prompt, in order.
        """
        import torch

        started = time.monotonic()
        input_ids, attention_mask = self._left_pad(prompts)
        fitted = self._fit_context(settings, input_ids.shape[1])
        if settings.seed is not None:
            torch.manual_seed(settings.seed)
        config = generation_config(
            self.model.generation_config, fitted, self.tokenizer.pad_token_id
        )
        # Generation settings go in the config: transformers deprecates mixing the two.
        extra: dict[str, Any] = {}
        if settings.stop_seqs:
            config.stop_strings = list(settings.stop_seqs)
            extra["tokenizer"] = self.tokenizer  # stop strings are matched on text
        if self.hidden_states:
            config.output_hidden_states = True
            config.return_dict_in_generate = True
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                generation_config=config,
                **extra,
            )
        sequences = output.sequences if self.hidden_states else output
        new_tokens = sequences[:, input_ids.shape[1] :].tolist()
        elapsed = time.monotonic() - started
        states = self._last_prompt_states(output) if self.hidden_states else None
        return [
            self._result(prompt, tokens, settings, fitted, elapsed, states[i] if states else None)
            for i, (prompt, tokens) in enumerate(zip(prompts, new_tokens, strict=True))
        ]

    def _left_pad(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
        return ids.to(self.model.device), mask.to(self.model.device)

    def _fit_context(self, settings: GenerationSettings, width: int) -> GenerationSettings:
        if self.context_length is None or width + settings.max_new_tokens <= self.context_length:
            return settings
        room = max(self.context_length - width, 1)
        return GenerationSettings(**{**settings.__dict__, "max_new_tokens": room})

    def _last_prompt_states(self, output: Any) -> list[dict[str, Any]]:
        import torch

        # hidden_states[0] is the prompt's forward pass: one [batch, width, dim] per layer;
        # with left padding the last position is every row's final prompt token.
        layers = torch.stack([layer[:, -1, :] for layer in output.hidden_states[0]], dim=1)
        return [encode_hidden_states(row) for row in layers]

    def _result(
        self,
        prompt: list[int],
        tokens: list[int],
        settings: GenerationSettings,
        fitted: GenerationSettings,
        elapsed: float,
        states: dict[str, Any] | None,
    ) -> Generated:
        ended = next((i for i, t in enumerate(tokens) if t in self.eos_ids), None)
        if ended is not None:
            kept, counted = tokens[:ended], ended + 1
        else:
            kept = self._strip_padding(tokens)
            counted = len(kept)
        text, stopped = trim_at_stop(
            decode_continuation(self.tokenizer, prompt, kept), settings.stop_seqs
        )
        stop_reason: StopReason = "stop"
        if ended is None and not stopped and counted >= fitted.max_new_tokens:
            shortened = fitted.max_new_tokens < settings.max_new_tokens
            stop_reason = "model_length" if shortened else "max_tokens"
        return Generated(
            text=text,
            stop_reason=stop_reason,
            input_tokens=len(prompt),
            output_tokens=counted,
            time=elapsed,
            hidden_states=states,
        )

    def _strip_padding(self, tokens: list[int]) -> list[int]:
        # A row that stopped on a stop string is padded up to the batch's longest row.
        pad = self.tokenizer.pad_token_id
        end = len(tokens)
        while end > 0 and tokens[end - 1] == pad:
            end -= 1
        return tokens[:end]
