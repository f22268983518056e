"""The probe analysis from start to end: prompts, hidden states (cached), probes, shifts.

``run_probe`` renders each instruction in the three conditions, collects the final-token
states of every layer (or reads them back from the output folder when the prompts, model
and dtype are unchanged), trains a probe per layer on the no-defence states, and measures
how the prefix and the suffix move the chosen layer's logit. With measured behaviour per
prefix it also relates the logit shift to refusal. The files are written by
``ping_inspect.probes.outputs``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ping_inspect.probes.alignment import Alignment, align
from ping_inspect.probes.behaviour import Measured, read_behaviour
from ping_inspect.probes.conditions import CONDITIONS, RenderedPrompt, render_condition
from ping_inspect.probes.instructions import Instruction, load_instructions
from ping_inspect.probes.probe import (
    Correlation,
    Interval,
    Probe,
    Split,
    best_layer,
    correlation,
    paired_interval,
    stratified_split,
    train_layer_probes,
)

CACHE_VERSION = 1
"""Bump when the cached arrays change meaning."""
CATEGORIES = ("harmful", "benign", "all")


@dataclass(frozen=True)
class ProbeSettings:
    """What to probe and how (the ``ping-inspect probe`` arguments)."""

    model: str
    benchmark: str
    prefix: str
    prefix_source: str
    out: Path
    device: str | None = None
    dtype: str = "fp32"
    batch_size: int = 8
    layer: int | None = None
    data_dir: str | None = None
    subset: str | None = None
    limit: int | None = None
    seed: int = 0
    heldout_fraction: float = 0.3
    sample: str | None = None
    behaviour: str | None = None
    sweep_prefixes: tuple[str, ...] = ()
    refresh: bool = False
    max_instruction_tokens: int = 48
    share_start: bool = True


@dataclass(frozen=True)
class TokenFigure:
    """The per-token logits of one harmful instruction under each condition."""

    sample: str
    alignment: Alignment
    logits: dict[str, np.ndarray]


@dataclass(frozen=True)
class SweepRow:
    """One prefix of the sweep: its logit shifts on the held-out split, and behaviour."""

    prefix: str | None
    shift: dict[str, Interval]
    measured: Measured | None


@dataclass
class ProbeResult:
    """Everything the files and figures show."""

    settings: ProbeSettings
    instructions: list[Instruction]
    labels: np.ndarray
    split: Split
    probes: list[Probe]
    layer: int
    logits: dict[str, np.ndarray]
    """Per condition: the chosen layer's final-token logit of every instruction."""
    shifts: dict[str, dict[str, Interval]]
    """Per condition (prefix, suffix, prefix_minus_suffix), per category: held-out shift."""
    flagged: dict[str, dict[str, float]]
    """Per condition and category: held-out fraction the probe calls harmful."""
    tokens: TokenFigure
    layer_shifts: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """Per condition (prefix, suffix), per category: each layer's mean held-out shift,
    in units of that layer's no-defence gap (mean harmful minus mean benign logit)."""
    sweep: list[SweepRow] = field(default_factory=list)
    correlations: dict[str, Correlation] = field(default_factory=dict)
    collected: bool = False
    """Whether the model ran (False: every array came from the cache)."""


class _Model:
    """The tokenizer at once; the model only when a state is not in the cache."""

    def __init__(self, settings: ProbeSettings) -> None:
        from transformers import AutoTokenizer

        from ping_inspect.models.loading import resolve_model_source

        self.settings = settings
        self.source = resolve_model_source(settings.model, progress=_say)
        self.tokenizer = AutoTokenizer.from_pretrained(self.source, local_files_only=True)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            from ping_inspect.models.loading import load_local_model

            _say(f"Loading {self.settings.model} ({self.settings.dtype}) ...")
            self._model, _ = load_local_model(
                self.source, device=self.settings.device, dtype=self.settings.dtype
            )
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def identity(self) -> dict[str, Any]:
        return {"model": self.source, "dtype": self.settings.dtype, "version": CACHE_VERSION}


def run_probe(settings: ProbeSettings) -> ProbeResult:
    """Run the whole analysis (see the module docstring)."""
    settings.out.mkdir(parents=True, exist_ok=True)
    instructions = load_instructions(
        settings.benchmark, settings.data_dir, settings.subset, settings.limit, settings.seed
    )
    labels = np.array([int(i.harmful) for i in instructions])
    session = _Model(settings)
    prompts = {
        c: [render_condition(session.tokenizer, i, c, settings.prefix).ids for i in instructions]
        for c in CONDITIONS
    }
    states = {
        c: _cached_states(session, prompts[c], settings.out / f"states_{c}.npz", c)
        for c in CONDITIONS
    }
    split = stratified_split(labels, settings.heldout_fraction, settings.seed)
    _say("Training a probe per layer ...")
    probes = train_layer_probes(states["none"], labels, split, settings.seed)
    layer = _chosen_layer(probes, settings.layer)
    probe = probes[layer]
    logits = {c: probe.logits(states[c][:, layer]) for c in CONDITIONS}
    held = split.heldout
    result = ProbeResult(
        settings=settings,
        instructions=instructions,
        labels=labels,
        split=split,
        probes=probes,
        layer=layer,
        logits=logits,
        shifts=_shifts(logits, labels, held),
        flagged={
            c: {cat: float(np.mean(logits[c][_members(labels, held, cat)] > 0))
                for cat in CATEGORIES}
            for c in CONDITIONS
        },
        tokens=_token_figure(session, instructions, labels, split, probe, settings),
        layer_shifts=_layer_shifts(probes, states, labels, held),
    )
    if settings.behaviour or settings.sweep_prefixes:
        _sweep(result, session, states["none"], states["prefix"])
    result.collected = session.loaded
    return result


def _chosen_layer(probes: list[Probe], layer: int | None) -> int:
    if layer is None:
        return best_layer(probes)
    if not -len(probes) <= layer < len(probes):
        raise ValueError(f"--layer {layer} is out of range: the model has 0..{len(probes) - 1}.")
    return layer % len(probes)


def _members(labels: np.ndarray, indices: np.ndarray, category: str) -> np.ndarray:
    if category == "all":
        return indices
    return indices[labels[indices] == int(category == "harmful")]


def _shifts(logits: dict[str, np.ndarray], labels: np.ndarray, held: np.ndarray
            ) -> dict[str, dict[str, Interval]]:
    shifts: dict[str, dict[str, Interval]] = {"prefix": {}, "suffix": {},
                                              "prefix_minus_suffix": {}}
    for category in CATEGORIES:
        rows = _members(labels, held, category)
        none = logits["none"][rows]
        shifts["prefix"][category] = paired_interval(logits["prefix"][rows], none)
        shifts["suffix"][category] = paired_interval(logits["suffix"][rows], none)
        shifts["prefix_minus_suffix"][category] = paired_interval(
            logits["prefix"][rows], logits["suffix"][rows])
    return shifts


def _layer_shifts(probes: list[Probe], states: dict[str, np.ndarray], labels: np.ndarray,
                  held: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Each layer's mean shift per condition and category, relative to its class gap."""
    harmful, benign = _members(labels, held, "harmful"), _members(labels, held, "benign")
    result: dict[str, dict[str, list[float]]] = {
        c: {"harmful": [], "benign": []} for c in ("prefix", "suffix")}
    for probe in probes:
        none = probe.logits(states["none"][:, probe.layer])
        gap = none[harmful].mean() - none[benign].mean()
        if abs(gap) < 1e-9:  # e.g. the embeddings: every final token is the same token
            gap = np.nan
        for condition in ("prefix", "suffix"):
            shifted = probe.logits(states[condition][:, probe.layer])
            for category, rows in (("harmful", harmful), ("benign", benign)):
                result[condition][category].append(
                    float((shifted[rows] - none[rows]).mean() / gap))
    return {c: {k: np.array(v) for k, v in by.items()} for c, by in result.items()}


def prompts_key(identity: dict[str, Any], prompts: Sequence[Sequence[int]]) -> str:
    """Return the cache key of a set of prompts for one model and dtype."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
    for ids in prompts:
        digest.update(np.asarray(ids, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _cached_states(session: _Model, prompts: Sequence[Sequence[int]], path: Path, name: str
                   ) -> np.ndarray:
    """Final-token states of ``prompts``, from ``path`` when it holds the same prompts."""
    key = prompts_key(session.identity(), prompts)
    if path.is_file() and not session.settings.refresh:
        with np.load(path) as cached:
            if str(cached["key"]) == key:
                return cached["states"]
    from ping_inspect.probes.collect import final_token_states

    _say(f"Collecting hidden states: {name} ({len(prompts)} prompts) ...")
    states = final_token_states(
        session.model, prompts, session.tokenizer.pad_token_id, session.settings.batch_size,
        session.settings.share_start, progress=_progress,
    )
    np.savez(path, states=states, key=key)
    return states


def _token_figure(session: _Model, instructions: list[Instruction], labels: np.ndarray,
                  split: Split, probe: Probe, settings: ProbeSettings) -> TokenFigure:
    instruction = _figure_instruction(instructions, labels, split, settings.sample)
    rendered = {c: render_condition(session.tokenizer, instruction, c, settings.prefix)
                for c in CONDITIONS}
    alignment = align(rendered, settings.max_instruction_tokens)
    logits = {}
    for condition, prompt in rendered.items():
        states = _cached_token_states(session, prompt, alignment.first[condition],
                                      settings.out / f"tokens_{condition}.npz")
        logits[condition] = probe.logits(states[:, probe.layer])
    return TokenFigure(instruction.id, alignment, logits)


def _figure_instruction(instructions: list[Instruction], labels: np.ndarray, split: Split,
                        wanted: str | None) -> Instruction:
    """The instruction named by ``--sample``, else the first held-out harmful one."""
    if wanted is not None:
        for instruction in instructions:
            if instruction.id == wanted:
                return instruction
        raise ValueError(f"No instruction with id {wanted!r} (ids look like "
                         f"{instructions[0].id!r}).")
    first = next(int(i) for i in split.heldout if labels[i] == 1)
    return instructions[first]


def _cached_token_states(session: _Model, prompt: RenderedPrompt, first: int, path: Path
                         ) -> np.ndarray:
    key = prompts_key({**session.identity(), "first": first}, [prompt.ids])
    if path.is_file() and not session.settings.refresh:
        with np.load(path) as cached:
            if str(cached["key"]) == key:
                return cached["states"]
    from ping_inspect.probes.collect import token_states

    states = token_states(session.model, prompt.ids, first)
    np.savez(path, states=states, key=key)
    return states


def _sweep(result: ProbeResult, session: _Model, none_states: np.ndarray,
           prefix_states: np.ndarray) -> None:
    """Shift per prefix on the held-out split, and its correlation with behaviour."""
    settings = result.settings
    measured = read_behaviour(settings.behaviour, settings.benchmark) if settings.behaviour \
        else []
    by_prefix: dict[str | None, Measured | None] = {m.prefix: m for m in measured}
    for prefix in settings.sweep_prefixes:
        by_prefix.setdefault(prefix, None)
    held = result.split.heldout
    held_instructions = [result.instructions[i] for i in held]
    probe = result.probes[result.layer]
    none_logits = probe.logits(none_states[held, result.layer])
    sweep_dir = settings.out / "sweep"
    sweep_dir.mkdir(exist_ok=True)
    for prefix, measure in by_prefix.items():
        if prefix is None:
            shifted = none_logits
        elif prefix == settings.prefix:
            shifted = probe.logits(prefix_states[held, result.layer])
        else:
            ids = [render_condition(session.tokenizer, i, "prefix", prefix).ids
                   for i in held_instructions]
            name = hashlib.sha256(prefix.encode()).hexdigest()[:12]
            states = _cached_states(session, ids, sweep_dir / f"{name}.npz",
                                    f"prefix {prefix[:40]!r}")
            shifted = probe.logits(states[:, result.layer])
        shift = {cat: paired_interval(shifted[_local(result.labels[held], cat)],
                                      none_logits[_local(result.labels[held], cat)])
                 for cat in CATEGORIES}
        result.sweep.append(SweepRow(prefix, shift, measure))
    result.sweep.sort(key=lambda row: row.prefix is not None)  # no prefix first
    points = [row for row in result.sweep if row.measured is not None]
    if points:
        result.correlations = {
            "harmful_refusal": correlation(
                np.array([r.shift["harmful"].mean for r in points]),
                np.array([r.measured.harmful_refusal for r in points])),  # type: ignore[union-attr]
            "benign_refusal": correlation(
                np.array([r.shift["benign"].mean for r in points]),
                np.array([r.measured.benign_refusal for r in points])),  # type: ignore[union-attr]
        }


def _local(labels: np.ndarray, category: str) -> np.ndarray:
    if category == "all":
        return np.arange(len(labels))
    return np.flatnonzero(labels == int(category == "harmful"))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(done: int, total: int) -> None:
    print(f"  {done}/{total}", file=sys.stderr, end="\r" if done < total else "\n", flush=True)
