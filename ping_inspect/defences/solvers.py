"""``defend``: the sample's agent under any combination of defences, and the prefix's checks.

The defences themselves are in the registry (``ping_inspect.defence_registry``), one
module each under ``catalog/``, with their named solvers (``ping``, ``suffix``, ``ptst``,
``fewshot``, ``guard``, ``no_defence``), each a ``defend`` of its own name. ``defend``
composes any of them (``defences="ptst+ping"``) through their hooks: the prefix (``ping``
at the start of every model turn, ``suffix`` appended to the last message), blocks added
to the system prompt (``ptst``, ``fewshot``), a step before the agent (``guard``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from inspect_ai.model import ModelName, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import store_as

from ping_inspect import arguments as check
from ping_inspect.agents import run_agent
from ping_inspect.arguments import ArgumentError
from ping_inspect.benchmarks import BENCHMARKS
from ping_inspect.contracts import (
    DEFENCE,
    PREFILL_MODE,
    PREFIX,
    REQUESTED_MODES,
    AgentSpec,
    DefenceSettings,
    PrefillMode,
)
from ping_inspect.defence_registry import (
    DefenceRun,
    DefenceSet,
    defence_names,
    solver_names,
    spoken_list,
)
from ping_inspect.defences.presets import DEFAULT_PRESET, PRESETS
from ping_inspect.prefill import probe_continuation, resolve_mode


class PrefixError(ArgumentError):
    """A prefix argument, file or preset that cannot be used (printed short by the CLI)."""


MAX_PREFIX_CHARS = 4000
"""Most characters a prefix may have (the paper's are under 300): a longer one is an error."""
MAX_PREFIX_FILE_BYTES = 1_000_000
"""Largest prefix file read (a ``ping_optimize`` YAML with its provenance is a few KB)."""

_HOW_TO_PASS = (
    "Pass the prefix as text with --solver-config ping.yaml (a YAML file holding "
    "prefix: \"# As a responsible AI, ...\"), or -S prefix_file=prefix.txt, or quoted for "
    "YAML: -S 'prefix=\"# ...\"' (only for text without commas: Inspect splits -S values "
    "at commas, even inside quotes). Leave the argument out for the default preset."
)


class NotGiven:
    """The default of a prefix argument the caller left out.

    It tells "not given" apart from an explicit None: ``-S prefix=# As a ...`` reaches
    the solver as None (YAML reads ``#`` as a comment) and must not quietly become the
    default preset.
    """

    def __repr__(self) -> str:
        return "<not given>"

    def _repr_params_(self) -> None:
        """Inspect records the argument as null in the log's plan."""
        return None


NOT_GIVEN: Any = NotGiven()
"""Default of ``prefix``, ``prefix_file`` and ``preset`` in the defence solvers."""


def solver_prefix_arguments(
    prefix: Any, prefix_file: Any, preset: Any
) -> tuple[str | None, str | None, str | None]:
    """Check a defence solver's prefix arguments: each is left out or the text typed.

    Returns:
        The three arguments, None for those left out.

    Raises:
        PrefixError: an argument given as None (on the CLI: ``-S prefix=# ...`` or an
            empty value), or as a number, bool, list or mapping (what YAML made of
            ``3.10``, ``yes``, text with commas or colons).
    """
    named = {"prefix": prefix, "prefix_file": prefix_file, "preset": preset}
    checked: dict[str, str | None] = {}
    for name, value in named.items():
        if isinstance(value, NotGiven):
            checked[name] = None
        elif value is None:
            raise PrefixError(
                f"{name} reached the solver as None. On the Inspect CLI, -S values are read "
                f"as YAML, where '#' starts a comment: -S {name}=# As a responsible AI ... "
                f"(or an empty -S {name}=) passes nothing, not your text. " + _HOW_TO_PASS
            )
        elif not isinstance(value, str):
            raise PrefixError(_not_text(name, value))
        elif not value.strip():
            raise PrefixError(f"{name} is empty: give the text, or leave {name} out.")
        else:
            checked[name] = value
    return checked["prefix"], checked["prefix_file"], checked["preset"]


def _not_text(name: str, value: Any) -> str:
    return (
        f"{name} reached the solver as a {type(value).__name__} ({value!r}), not the text "
        "you typed: Inspect reads -S values as YAML (3.10 becomes 3.1, yes becomes True) and "
        "splits them at commas (a list) and 'key: value' (a mapping). " + _HOW_TO_PASS
    )


def load_prefix(
    prefix: Any = None,
    prefix_file: str | None = None,
    preset: str | None = None,
    benchmark: str | None = None,
) -> tuple[str, str]:
    """Return the prefix and where it came from; the default preset if none is given.

    A prefix has at most ``MAX_PREFIX_CHARS`` (4,000) characters; a prefix file is a
    UTF-8 text file of at most ``MAX_PREFIX_FILE_BYTES`` (1 MB).

    Args:
        prefix: The prefix text (None: not given).
        prefix_file: A ``.txt`` file holding the prefix, or a ``.yaml``/``.json`` file
            with a ``prefix`` key (what ``ping_optimize`` writes).
        preset: The name of a published prefix (see ``PRESETS``).
        benchmark: The task's benchmark, which picks the default preset (a web prefix
            for WebDojo, a code prefix for RedCode and HumanEval).

    Raises:
        PrefixError: more than one source, a prefix that is not text (what the CLI made
            of it), empty or too long, an unknown preset, or a missing, empty, binary,
            too large or malformed file.
    """
    given = [name for name, v in (("prefix", prefix), ("prefix_file", prefix_file),
                                  ("preset", preset)) if v is not None]
    if len(given) > 1:
        raise PrefixError(f"Give one of prefix, prefix_file or preset, not {' and '.join(given)}.")
    if prefix is not None:
        return _bounded(_prefix_argument(prefix), "The prefix"), "argument"
    if prefix_file is not None:
        if not isinstance(prefix_file, str):
            raise PrefixError(_not_text("prefix_file", prefix_file))
        text = _prefix_from_file(Path(prefix_file))
        return _bounded(text, f"The prefix in {prefix_file}"), f"file:{prefix_file}"
    if preset is not None and not isinstance(preset, str):
        raise PrefixError(_not_text("preset", preset))
    known = BENCHMARKS.get(benchmark or "")
    name = preset or (known and known.preset) or DEFAULT_PRESET
    if name not in PRESETS:
        raise PrefixError(f"Unknown preset '{name}'. Presets: {', '.join(PRESETS)}.")
    return PRESETS[name].text, f"preset:{name}"


def _prefix_argument(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise PrefixError(_not_text("prefix", prefix))
    if not prefix.strip():
        raise PrefixError("The prefix is empty; use no_defence to run without one.")
    return prefix


def _bounded(text: str, what: str) -> str:
    if len(text) > MAX_PREFIX_CHARS:
        raise PrefixError(
            f"{what} has {len(text):,} characters; a prefix may have at most "
            f"{MAX_PREFIX_CHARS:,} (MAX_PREFIX_CHARS). Is it the right file?"
        )
    return text


def _prefix_from_file(path: Path) -> str:
    if not path.is_file():
        raise PrefixError(f"Prefix file {path} does not exist.")
    size = path.stat().st_size
    if size > MAX_PREFIX_FILE_BYTES:
        raise PrefixError(
            f"Prefix file {path} has {size:,} bytes; a prefix file may have at most "
            f"{MAX_PREFIX_FILE_BYTES:,} (MAX_PREFIX_FILE_BYTES)."
        )
    data = path.read_bytes()
    if b"\x00" in data:
        raise PrefixError(f"Prefix file {path} is binary (it holds NUL bytes), not text.")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PrefixError(
            f"Prefix file {path} is not UTF-8 text (a binary file?): byte {err.start}."
        ) from err
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            doc = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
        except (yaml.YAMLError, json.JSONDecodeError) as err:
            raise PrefixError(f"Prefix file {path} is not valid {path.suffix[1:]}: {err}") from err
        if not isinstance(doc, dict) or not isinstance(doc.get("prefix"), str):
            raise PrefixError(f"Prefix file {path} must hold a mapping with a string 'prefix' key.")
        raw = doc["prefix"]
    text = raw.rstrip("\n")
    if not text.strip():
        raise PrefixError(f"Prefix file {path} is empty: it holds no prefix.")
    return text


def parse_defences(defences: str | list[str]) -> DefenceSet:
    """Parse ``"ptst+ping"`` (or a list) into a ``DefenceSet``, checking each name.

    Raises:
        ArgumentError: an unknown name, none at all, or two defences that inject the
            prefix (``ping`` with ``suffix``).
    """
    if not defences or (isinstance(defences, str) and not defences.strip("+ ")):
        raise ArgumentError(f"Argument defences={defences!r} names no defence: use "
                            f"{spoken_list(defence_names())}, joined with + (e.g. ptst+ping).")
    try:
        names = DefenceSet.parse(defences)
    except ValueError as err:
        raise ArgumentError(str(err)) from err
    prefixed = names.prefix_defences
    if len(prefixed) > 1:
        raise ArgumentError(f"Argument defences: {' and '.join(prefixed)} place the same "
                            "prefix two ways; choose one.")
    return names


@solver
def defend(
    defences: str | list[str] = "none",
    prefix: str = NOT_GIVEN,
    prefix_file: str = NOT_GIVEN,
    preset: str = NOT_GIVEN,
    mode: str = "auto",
    fewshot_benign: int = 5,
    fewshot_harmful: int = 5,
    guard_role: str = "guard",
) -> Solver:
    """Run the sample's agent under any combination of defences.

    Args:
        defences: Defence names joined with ``+`` (or a list): ``none``, ``ping``,
            ``suffix``, ``ptst``, ``fewshot``, ``guard``.
        prefix: Prefix text for ``ping``/``suffix`` (use ``--solver-config`` on the CLI);
            leave it out for the default. None, a number, bool, list or mapping is an
            error (what the CLI's YAML made of ``# ...``, ``3.10``, ``yes``, commas).
        prefix_file: File holding the prefix (``.txt``, or ``.yaml``/``.json`` with
            ``prefix``; UTF-8, at most 1 MB, a prefix of at most 4,000 characters).
        preset: Name of a published prefix (default: per benchmark, see ``ping``).
        mode: How ``ping`` delivers the prefix: ``auto``, ``native`` or ``user_suffix``.
        fewshot_benign: Benign validation examples shown by ``fewshot``.
        fewshot_harmful: Harmful validation examples shown by ``fewshot``.
        guard_role: Model role asked by ``guard``.
    """
    names = parse_defences(defences)
    check.choice("mode", mode, REQUESTED_MODES)
    check.integer("fewshot_benign", fewshot_benign, minimum=0)
    check.integer("fewshot_harmful", fewshot_harmful, minimum=0)
    check.optional_text("guard_role", guard_role)
    options = {"mode": mode, "fewshot_benign": fewshot_benign,
               "fewshot_harmful": fewshot_harmful, "guard_role": guard_role}
    chosen = names.descriptors()
    for defence in chosen:
        if (check_options := defence.hook("check")) is not None:
            check_options(options)
    uses_prefix = names.uses_prefix
    prefix, prefix_file, preset = solver_prefix_arguments(prefix, prefix_file, preset)
    given = prefix is not None or prefix_file is not None or preset is not None
    # Check an explicit prefix now; the default preset depends on the sample's benchmark.
    explicit = load_prefix(prefix, prefix_file, preset) if uses_prefix and given else None
    mode = names.forced_mode or mode
    addenda_hooks = [h for d in chosen if (h := d.hook("system_addendum")) is not None]
    before_hooks = [h for d in chosen if (h := d.hook("before_agent")) is not None]

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        spec = store_as(AgentSpec)
        text, source = explicit or (
            load_prefix(benchmark=spec.benchmark) if uses_prefix else (None, None)
        )
        settings = store_as(DefenceSettings)
        settings.defences, settings.prefix = list(names), text
        settings.prefix_source, settings.prefix_mode = source, str(mode)
        if text is not None:
            _check_not_prefixed_twice(names)
            # Fail before any work when native delivery is impossible for this model.
            if mode == PrefillMode.NATIVE:
                await probe_continuation(get_model())  # a server the user says continues
            state.metadata[PREFILL_MODE] = str(resolve_mode(get_model(), mode))
        state.metadata.update({DEFENCE: names.label, PREFIX: text})
        run = DefenceRun(state=state, spec=spec, options=options)
        settings.system_addenda = [addendum(run) for addendum in addenda_hooks]
        for before_agent in before_hooks:
            if (finished := await before_agent(run)) is not None:
                return finished  # type: ignore[no-any-return]
        return await run_agent(state, generate)

    return solve


def _check_not_prefixed_twice(names: DefenceSet) -> None:
    """A ``ping/`` model already injects a prefix: a second one would stack on it."""
    model = get_model()
    if ModelName(model).api == "ping":
        prefixed = "+".join(names.prefix_defences)
        raise PrefixError(
            f"The model {model} already puts a PING prefix on every call, and --solver "
            f"{prefixed} would add a second one. Use one of the two: --solver ping with "
            f"--model {model.name}, or --model {model} with no prefix defence "
            f"({spoken_list(solver_names(uses_prefix=False))} combine with it)."
        )
