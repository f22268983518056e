"""What a defence is, said once: the descriptor, its registry and ``DefenceSet``.

Each defence declares itself in its own module under ``ping_inspect/defences/catalog/``
(a ``DEFENCE``), next to its named solver and its hooks; ``DEFENCE_MODULES`` lists those
modules and the registry imports them on first read, so this module imports none. The
``defend`` solver runs a sample under any combination of them through the hooks, and
every other reader (the comparison grid, the CLI's bare solver names, the lm-eval
variants, argument checks) asks the registry, never a list of names; ``DefenceSet`` is
the parsed set of a run's defences (``"ptst+ping"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ping_inspect.registry import Ref, Registry, did_you_mean, resolve

if TYPE_CHECKING:
    from inspect_ai.solver import Solver, TaskState

    from ping_inspect.contracts import AgentSpec


@dataclass(frozen=True)
class SingleTurnPrompt:
    """A single-turn prompt as a defence sees it (the lm-eval tasks' documents).

    Attributes:
        system: The system prompt.
        user: The user's request.
        prefix: The run's PING prefix (given to every defence; None: none chosen).
        gen_prefix: The start of the assistant's answer, continued by the model.
    """

    system: str
    user: str
    prefix: str | None = None
    gen_prefix: str | None = None

    def but(self, **changes: Any) -> SingleTurnPrompt:
        """A copy with ``changes``."""
        return replace(self, **changes)


@dataclass
class DefenceRun:
    """What a defence's hooks see of one sample (built by ``defend`` per sample).

    Attributes:
        state: The sample's state.
        spec: The agent the task declared (its benchmark, arguments).
        options: ``defend``'s arguments (``fewshot_benign``, ``guard_role``, ...).
    """

    state: TaskState
    spec: AgentSpec
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Defence:
    """One defence, as every part of the package sees it.

    Attributes:
        name: Its name in ``defences="ptst+ping"``, in the logs (sample metadata
            ``defence``), in the grid's ``--defences`` and in the report.
        solver: Its named solver factory (``module:function``): what ``--solver NAME``
            runs, and what a grid cell of this defence alone uses.
        summary: One line saying what it does.
        uses_prefix: It injects the PING prefix (at most one such defence per run).
        prefill_mode: The prefix delivery it forces (``user_suffix``: the suffix
            ablation); None: ``defend``'s ``mode`` argument decides.
        check: ``(options) -> None``: checks ``defend``'s arguments when the solver is
            built, raising ``ArgumentError``.
        system_addendum: ``(DefenceRun) -> str``: a block appended to the agent's system
            prompt (the blocks follow the registry's order).
        before_agent: ``async (DefenceRun) -> TaskState | None``: runs after the
            addenda are set, before the agent; a state it returns ends the sample (the
            guard's refusal).
        model_role: A model role it asks (the grid binds ``--guard-model`` to it).
        shows_samples: It shows benchmark items in the prompt: the grid refuses a cell
            that would score one of them.
        single_turn: ``(SingleTurnPrompt) -> SingleTurnPrompt``: the defence on a
            single-turn prompt, the lm-eval task variant of this name. Its
            ``gen_prefix`` may depend on the prefix only (it is written into the task's
            YAML). None: no lm-eval variant.
    """

    name: str
    solver: Ref
    summary: str = ""
    uses_prefix: bool = False
    prefill_mode: str | None = None
    check: Ref | None = None
    system_addendum: Ref | None = None
    before_agent: Ref | None = None
    model_role: str | None = None
    shows_samples: bool = False
    single_turn: Ref | None = None

    def solver_factory(self) -> Callable[..., Solver]:
        """The named solver factory, loaded."""
        return resolve(self.solver)

    def hook(self, name: str) -> Callable[..., Any] | None:
        """The hook called ``name`` (``check``, ``system_addendum``, ...), loaded; or None."""
        ref = getattr(self, name)
        return resolve(ref) if ref is not None else None


NO_DEFENCE = "none"
"""The name of running without a defence (``none`` alone; left out of a combination)."""

DEFENCE_MODULES = (
    "ping_inspect.defences.catalog.none",
    "ping_inspect.defences.catalog.ping",
    "ping_inspect.defences.catalog.suffix",
    "ping_inspect.defences.catalog.ptst",
    "ping_inspect.defences.catalog.fewshot",
    "ping_inspect.defences.catalog.guard",
)
"""The modules that declare the package's defences (each a ``DEFENCE``), in the order
their system blocks and hooks apply: a new defence is its module and one line here."""

DEFENCES: MutableMapping[str, Defence] = Registry(DEFENCE_MODULES, "DEFENCE")
"""Every known defence by name (``register_defence`` adds one)."""


def register_defence(defence: Defence) -> Defence:
    """Make ``defence`` known by its name (a later one with that name replaces it).

    For defences outside the package (a plugin, a test's fixture); the package's own are
    listed in ``DEFENCE_MODULES``.
    """
    DEFENCES[defence.name] = defence
    return defence


def get_defence(name: str) -> Defence:
    """The defence called ``name``.

    Raises:
        ValueError: an unknown name (the message names the known ones and the nearest).
    """
    if name in DEFENCES:
        return DEFENCES[name]
    known = list(DEFENCES)
    raise ValueError(f"Unknown defence '{name}'.{did_you_mean(name, known)} "
                     f"Known defences: {', '.join(known)}.")


def defence_names() -> list[str]:
    """Every defence name, in the registry's order (``none`` first)."""
    return list(DEFENCES)


def single_turn_defences() -> list[Defence]:
    """The defences with a single-turn form (the lm-eval task variants)."""
    return [d for d in DEFENCES.values() if d.single_turn is not None]


def solver_names(uses_prefix: bool) -> list[str]:
    """The named solvers of the defences that inject the prefix, or of those that do not."""
    return [d.solver_factory().__name__ for d in DEFENCES.values()
            if d.uses_prefix == uses_prefix]


def spoken_list(names: list[str], last: str = "or") -> str:
    """``a, b or c``."""
    return f"{', '.join(names[:-1])} {last} {names[-1]}" if len(names) > 1 else "".join(names)


class DefenceSet(tuple[str, ...]):
    """The defences of a run, parsed from ``"ptst+ping"``: names in order, ``none`` left out.

    It answers the questions the parts ask of it (``"ping" in defences``,
    ``uses_prefix``, ``label``) in one place, from the registry. Parsing checks names,
    not combinations: ``ping_inspect.defences.solvers.parse_defences`` turns the
    problems into argument errors.
    """

    @classmethod
    def parse(cls, defences: str | Iterable[str]) -> DefenceSet:
        """Split ``"ptst+ping"`` (or take a list); raise ``ValueError`` on unknown names."""
        raw = defences.split("+") if isinstance(defences, str) else list(defences)
        names = [str(n).strip() for n in raw]
        names = [n for n in names if n and n != NO_DEFENCE]
        known = defence_names()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"Unknown defence(s) {unknown} in argument defences={defences!r}: "
                             f"combine {', '.join(known)} with '+'.")
        return cls(names)

    def descriptors(self) -> list[Defence]:
        """The registry's descriptors of these defences, in the registry's order."""
        return [d for name, d in DEFENCES.items() if name in self]

    @property
    def uses_prefix(self) -> bool:
        """Whether a prefix is injected (``ping`` or ``suffix``)."""
        return bool(self.prefix_defences)

    @property
    def prefix_defences(self) -> list[str]:
        """The names of those that inject the prefix (one at most in a valid set)."""
        return [d.name for d in self.descriptors() if d.uses_prefix]

    @property
    def forced_mode(self) -> str | None:
        """The prefix delivery one of them forces (``user_suffix`` for ``suffix``)."""
        return next((d.prefill_mode for d in self.descriptors() if d.prefill_mode), None)

    @property
    def model_roles(self) -> list[str]:
        """The model roles they ask (``guard``)."""
        return [d.model_role for d in self.descriptors() if d.model_role]

    @property
    def shows_samples(self) -> bool:
        """Whether one of them shows benchmark items in the prompt (``fewshot``)."""
        return any(d.shows_samples for d in self.descriptors())

    @property
    def label(self) -> str:
        """The set as the log and the report name it: ``ptst+ping``, or ``none``."""
        return "+".join(self) or "none"
