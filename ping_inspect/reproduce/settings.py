"""What a ``ping-inspect reproduce`` run depends on, checked, and the benchmarks it evaluates.

Each stage hashes the part of these settings it reads (``pipeline.py``), so that changing a
setting re-runs the stages it affects and no other.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ping_inspect.benchmarks import Benchmark

from ping_inspect.contracts import ENGINE_CHOICES

DOMAINS = ("code", "web")
"""The experiment's domains: a benchmark family (``Benchmark.family``) each."""
DEVICES = ("auto", "cpu", "cuda")
SEARCH_MODES = ("racing", "faithful")
MODEL_ROLES = ("base", "aligned", "agentic", "mixed")
"""The experiment's models, by their part in it."""

LIMIT_KEY = "limit"
"""In a benchmark spec, ``limit=N`` is reproduce's: N samples of that benchmark (the first N
after a shuffle seeded with ``--seed``), not a task argument."""


class ReproduceError(ValueError):
    """Settings or inputs a run cannot start from (the message names the argument)."""


@dataclass
class ReproduceSettings:
    """Everything a ``reproduce`` run depends on (recorded in its manifest)."""

    domain: str
    model: str
    out: str
    # data
    safety_data: str | None = None
    """An existing safety JSONL; None: built with ``ping_inspect.safety_data``."""
    safety_harmful: int | None = None
    safety_benign: int | None = None
    trajectories: str | None = None
    """An existing trajectories JSONL; None: recorded with ``ping-inspect trajectories``."""
    trajectory_limit: int | None = None
    """Code: at most this many generated problems (each in two phrasings)."""
    trajectory_sites: str | None = None
    """Web: sites the trajectories are recorded on (default all)."""
    # training
    safety_epochs: float = 1.0
    safety_lr: float = 1e-5
    safety_max_steps: int = -1
    epochs: float = 1.0
    lr: float = 1e-5
    max_steps: int = -1
    batch_size: int = 1
    grad_accum: int = 8
    max_length: int = 2048
    eval_every: int = 5
    mix_ratio: float = 0.1
    """Share of the mixed run's training examples that are safety examples."""
    # defences
    presets: tuple[str, ...] = ()
    """Published prefixes evaluated with PING (empty: the domain's, ``domain_presets``)."""
    ping_models: tuple[str, ...] = ()
    """The models evaluated with PING (empty: all of ``MODEL_ROLES``)."""
    search: bool = False
    search_mode: str = "racing"
    search_generator: str | None = None
    search_args: tuple[str, ...] = ()
    # evaluation
    benchmarks: tuple[str, ...] = ()
    """Benchmark specs of the main grid (empty: the domain's defaults)."""
    curve_benchmarks: tuple[str, ...] = ()
    """Benchmark specs of the erosion curve (empty: RedCode first responses / WebDojo)."""
    redcode_limit: int = 30
    humaneval_problems: str = "0-19"
    sites: str | None = None
    eval_limit: int | None = None
    """At most this many samples of every benchmark (a smoke run)."""
    max_samples: int | None = None
    # machine
    device: str = "auto"
    engine: str = "auto"
    """``llamacpp``, ``transformers`` or ``auto`` (llamacpp on CPU where it is installed)."""
    bf16: bool | None = None
    threads: int = 1
    seed: int = 0
    workers: int = 1
    """Evaluation cells on this many processes of this machine."""
    shard: str | None = None
    """``I/N``: one of N workers sharing ``out`` (see ``compare.workers``)."""
    extra: dict[str, Any] = field(default_factory=dict)


def _check_workers(s: ReproduceSettings) -> None:
    from ping_inspect.compare.workers import Shard

    if s.workers < 1:
        raise ReproduceError(f"--workers must be at least 1, not {s.workers}.")
    if s.shard is not None:
        if s.workers > 1:
            raise ReproduceError("Give --workers (processes of this machine) or --shard (one "
                                 "worker of several), not both.")
        try:
            Shard.parse(s.shard)
        except ValueError as err:
            raise ReproduceError(str(err)) from err


def check(settings: ReproduceSettings) -> ReproduceSettings:
    """Check every value; return the settings.

    Raises:
        ReproduceError: a value out of range, naming its argument and what it accepts.
    """
    s = settings
    _choice("--domain", s.domain, DOMAINS)
    _choice("--device", s.device, DEVICES)
    _choice("--engine", s.engine, ENGINE_CHOICES)
    _choice("--search-mode", s.search_mode, SEARCH_MODES)
    if not 0 < s.mix_ratio < 1 or math.isnan(s.mix_ratio):
        raise ReproduceError(f"--mix-ratio must be in (0, 1) (the share of safety examples "
                             f"in the mixed run), not {s.mix_ratio}.")
    for name in ("eval_every", "threads", "batch_size", "grad_accum", "max_length",
                 "redcode_limit"):
        if getattr(s, name) < (0 if name == "redcode_limit" else 1):
            raise ReproduceError(f"--{name.replace('_', '-')} must be at least "
                                 f"{0 if name == 'redcode_limit' else 1}, not "
                                 f"{getattr(s, name)}.")
    for name in ("safety_epochs", "safety_lr", "epochs", "lr"):
        if not getattr(s, name) > 0:
            raise ReproduceError(f"--{name.replace('_', '-')} must be positive.")
    for name in ("eval_limit", "max_samples", "trajectory_limit", "safety_harmful",
                 "safety_benign"):
        value = getattr(s, name)
        if value is not None and value < 1:
            raise ReproduceError(f"--{name.replace('_', '-')} must be at least 1, not {value}.")
    _check_workers(s)
    if s.domain == "web" and s.trajectory_limit is not None:
        raise ReproduceError("--trajectory-limit is for --domain code (web: --trajectory-sites).")
    if s.domain == "code" and (s.sites or s.trajectory_sites):
        raise ReproduceError("--sites and --trajectory-sites are for --domain web.")
    if s.sites:
        _sites("--sites", s.sites)
    if s.trajectory_sites:
        _sites("--trajectory-sites", s.trajectory_sites)
    from ping_inspect.defences.presets import PRESETS

    unknown = [p for p in s.presets if p not in PRESETS]
    if unknown:
        raise ReproduceError(f"--presets: unknown preset(s) {', '.join(unknown)}; the "
                             f"published prefixes are {', '.join(PRESETS)}.")
    unknown = [m for m in s.ping_models if m not in MODEL_ROLES]
    if unknown:
        raise ReproduceError(f"--ping-models: unknown model(s) {', '.join(unknown)}; the "
                             f"experiment's models are {', '.join(MODEL_ROLES)}.")
    if (s.search_generator or s.search_args) and not s.search:
        raise ReproduceError("--search-generator and --search-arg need --search.")
    return s


def _choice(option: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ReproduceError(f"{option} must be one of {', '.join(allowed)}, not '{value}'.")


def _sites(option: str, text: str) -> list[str]:
    from ping_inspect.finetune.web_goals import SITES

    sites = split_list(text)
    unknown = [s for s in sites if s not in SITES]
    if unknown or not sites:
        raise ReproduceError(f"{option}: unknown site(s) {', '.join(unknown) or '(none)'}; "
                             f"the WebDojo sites are {', '.join(SITES)}.")
    return sites


def split_list(text: str | None) -> list[str]:
    """Items of a comma list."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


@dataclass(frozen=True)
class EvalPart:
    """Benchmarks evaluated by one ``compare`` grid call (they share a sample selection)."""

    spec: str
    """The benchmark as ``compare`` reads it (``redcode:subset=ping,first_response=true``)."""
    limit: int | None = None
    sample_ids: tuple[str, ...] | None = None
    shuffle: int | None = None

    def describe(self) -> dict[str, Any]:
        """The part as recorded in the manifest and hashed."""
        return {"spec": self.spec, "limit": self.limit, "sample_ids": self.sample_ids,
                "shuffle": self.shuffle}


def domain_benchmarks(domain: str) -> list[Benchmark]:
    """The package's benchmarks in the domain's default grid (their ``reproduce`` parts)."""
    from ping_inspect.benchmarks import BENCHMARKS

    return [b for b in BENCHMARKS.values() if b.family == domain and b.reproduce is not None]


def domain_presets(domain: str) -> tuple[str, ...]:
    """The published prefixes evaluated by default: the domain's benchmarks' own presets."""
    return tuple(dict.fromkeys(b.preset for b in domain_benchmarks(domain) if b.preset))


def domain_lead(domain: str) -> Benchmark:
    """The domain's benchmark with an erosion-curve spec: the curve and the search use it."""
    return next(b for b in domain_benchmarks(domain) if b.reproduce_curve)


def default_benchmarks(settings: ReproduceSettings, known: Mapping[str, Any]) -> list[str]:
    """The domain's benchmark specs, from the descriptors (those ``compare`` knows)."""
    from ping_inspect.registry import resolve

    specs = []
    for benchmark in domain_benchmarks(settings.domain):
        if benchmark.name not in known:
            continue
        for spec, limit in resolve(benchmark.reproduce)(settings):  # type: ignore[arg-type]
            specs.append(spec if limit is None else f"{spec},{LIMIT_KEY}={limit}")
    return specs


def default_curve_benchmarks(settings: ReproduceSettings) -> list[str]:
    """What each checkpoint is evaluated on: the cheapest measure of refusal."""
    return [str(domain_lead(settings.domain).reproduce_curve)]


def eval_parts(specs: Sequence[str], settings: ReproduceSettings,
               known: Mapping[str, Any]) -> tuple[list[EvalPart], list[str]]:
    """Turn benchmark specs into grid calls; return them and notes on what was left out.

    A spec's ``limit=N`` becomes the part's limit; ``--eval-limit`` caps every part; on the
    web domain ``--sites`` selects WebDojo's samples by site.

    Raises:
        ReproduceError: an unknown benchmark or a limit that is not a positive number.
    """
    parts, notes = [], []
    for spec in specs:
        name, _, args = spec.partition(":")
        name = name.strip()
        if name not in known:
            if name in [b.name for b in domain_benchmarks(settings.domain)]:
                notes.append(f"{name} is not registered in ping-inspect compare in this "
                             "installation: left out.")
                continue
            raise ReproduceError(f"--benchmarks: unknown benchmark '{name}'; known: "
                                 f"{', '.join(known)}.")
        items = [a.strip() for a in args.split(",") if a.strip()]
        limits = [a for a in items if a.partition("=")[0].strip() == LIMIT_KEY]
        kept = [a for a in items if a not in limits]
        limit = None
        if limits:
            value = limits[-1].partition("=")[2].strip()
            if not value.isdigit() or int(value) < 1:
                raise ReproduceError(f"--benchmarks {spec}: limit must be a positive "
                                     f"number, not '{value}'.")
            limit = int(value)
        if settings.eval_limit is not None:
            limit = min(limit or settings.eval_limit, settings.eval_limit)
        sample_ids = None
        if name == "webdojo" and settings.sites:
            sample_ids = webdojo_sample_ids(spec_args(kept), _sites("--sites", settings.sites))
            if limit is not None:
                # Inspect takes sample ids or a limit, not both: draw the limit from the ids.
                ids = sorted(sample_ids)
                drawn = random.Random(settings.seed).sample(ids, min(limit, len(ids)))
                sample_ids, limit = tuple(sorted(drawn)), None
        parts.append(EvalPart(
            spec=name + (":" + ",".join(kept) if kept else ""),
            limit=limit,
            sample_ids=sample_ids,
            shuffle=settings.seed if limit is not None else None,
        ))
    return parts, notes


def spec_args(items: Sequence[str]) -> dict[str, Any]:
    """Task arguments of a spec's ``key=value`` items (YAML values, as compare reads them)."""
    from ping_inspect.compare import parse_assignments

    return parse_assignments(list(items), "Benchmark argument")


def webdojo_sample_ids(args: Mapping[str, Any], sites: Sequence[str]) -> tuple[str, ...]:
    """The WebDojo samples of the given sites, in the split and subset the spec asks."""
    from ping_inspect.webdojo.dataset import webdojo_root, webdojo_samples

    root = webdojo_root(args.get("data_dir"))
    samples = webdojo_samples(root, args.get("split", "both"), args.get("subset", "test"))
    return tuple(str(s.id) for s in samples if s.metadata and s.metadata["website"] in sites)
