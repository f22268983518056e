"""Training records from Inspect logs: each model call's real input and the model's answer.

The source of truth is the log's model events: what the agent sent the model on each call
(system prompt, observation or tool-result format, history) and what came back. A sample
is exported only when it is benign, ran without a defence, and its benchmark's scorer says
it succeeded (``success`` = 1: a WebDojo goal's criteria held, a code solution passed its
tests). This is how the ``code`` and ``web`` trajectories are written too (their eval runs
a scripted expert), and how a strong model's runs are distilled (``logs``).

Calls that extend one conversation (a CodeAct episode: each input is the previous one
plus the answer and the execution output) become one record holding every turn; calls
that do not (the WebDojo actions agent builds a fresh observation each step) become one
record per call.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.event import ModelEvent
from inspect_ai.log import EvalLog, EvalSample, read_eval_log, resolve_sample_attachments
from inspect_ai.model import ChatMessage, ChatMessageAssistant

from ping_inspect.finetune.records import Record, chat_dicts, training_record


@dataclass
class Export:
    """Records exported from logs, and why the other samples were left out."""

    records: list[Record] = field(default_factory=list)
    kept_samples: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    from_test_splits: Counter[str] = field(default_factory=Counter)
    """Kept samples per benchmark whose ``subset`` is ``test``: training on them makes that
    benchmark's evaluation meaningless (the CLI warns)."""

    def summary(self) -> str:
        """One line: records, samples kept, samples skipped by reason."""
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        return (
            f"{len(self.records)} records from {self.kept_samples} samples"
            + (f"; skipped: {reasons}" if reasons else "")
        )


def export_logs(paths: list[str | Path], category: str = "benign") -> Export:
    """Export the successful, undefended samples of a category from Inspect logs.

    Args:
        paths: ``.eval`` / ``.json`` log files.
        category: Sample category to keep (``benign``: the paper fine-tunes on benign
            demonstrations only).
    """
    export = Export()
    for path in paths:
        log = read_eval_log(str(path), resolve_attachments=True)
        export_log(log, export, category)
    return export


def export_log(log: EvalLog, export: Export, category: str = "benign") -> Export:
    """Add one log's qualifying samples to ``export``."""
    for sample in log.samples or []:
        sample = resolve_sample_attachments(sample)
        reason = skip_reason(sample, category)
        if reason is not None:
            export.skipped[reason] += 1
            continue
        records = sample_records(sample, source=log.eval.task)
        if not records:
            export.skipped["no model call"] += 1
            continue
        export.records.extend(records)
        export.kept_samples += 1
        if (sample.metadata or {}).get("subset") == "test":
            export.from_test_splits[str(sample.metadata.get("benchmark"))] += 1
    return export


def skip_reason(sample: EvalSample, category: str = "benign") -> str | None:
    """Why a sample must not become training data, or None when it may."""
    metadata = sample.metadata or {}
    if sample.error is not None:
        return "errored"
    if metadata.get("category") != category:
        return f"not {category}"
    if metadata.get("defence", "none") != "none" or metadata.get("prefix"):
        return "defended (a prefix or defence changed the model's input)"
    success = sample_success(sample)
    if success is None:
        return "no success score"
    if success != 1.0:
        return "not successful"
    return None


def sample_success(sample: EvalSample) -> float | None:
    """The sample's ``success`` score (the package's scorers all report one), or None."""
    for score in (sample.scores or {}).values():
        value = score.value
        if isinstance(value, dict) and "success" in value:
            found = value["success"]
            if isinstance(found, int | float) and not math.isnan(float(found)):
                return float(found)
            return None
    return None


def agent_calls(sample: EvalSample) -> list[ModelEvent]:
    """The agent's model calls (no judge, guard or other role), in order, without errors."""
    return [
        e for e in sample.events
        if isinstance(e, ModelEvent) and e.role is None and e.error is None and e.output.choices
    ]


def sample_records(sample: EvalSample, source: str | None = None) -> list[Record]:
    """The training records of one sample (see the module docstring)."""
    calls = agent_calls(sample)
    if not calls:
        return []
    meta: dict[str, Any] = {"source": source, "sample_id": sample.id}
    last = calls[-1]
    if all(_extends(call.input, last.input) for call in calls[:-1]):
        messages = [*last.input, answer(last)]
        return [training_record(messages, last.tools, **meta, turns=len(calls))]
    return [
        training_record([*call.input, answer(call)], call.tools, **meta, step=step)
        for step, call in enumerate(calls, start=1)
    ]


def answer(call: ModelEvent) -> ChatMessageAssistant:
    """The model's answer on a call, closed the way the CodeAct agent closes it.

    The ``<execute>`` agent stops generation at ``</execute>`` and adds it back to the
    message it keeps; the answer is trained with it, as the agent records it.
    """
    from ping_inspect.codeact.agent import STOP, extract_code

    message = call.output.message
    stops = call.config.stop_seqs or []
    if STOP in stops and extract_code(message.text) is not None and STOP not in message.text:
        message = message.model_copy(update={"content": message.text + STOP})
    return message


def _extends(earlier: list[ChatMessage], later: list[ChatMessage]) -> bool:
    """Whether ``later`` starts with every message of ``earlier`` unchanged."""
    if len(earlier) > len(later):
        return False
    return chat_dicts(earlier) == chat_dicts(later[: len(earlier)])
