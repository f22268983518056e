"""Defences: PING and the baselines it is compared with (see ``ping_inspect.defence_registry``)."""

from ping_inspect.defence_registry import DEFENCES, Defence, register_defence
from ping_inspect.defences.catalog.fewshot import fewshot
from ping_inspect.defences.catalog.guard import guard
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.defences.catalog.ping import ping
from ping_inspect.defences.catalog.ptst import ptst
from ping_inspect.defences.catalog.suffix import suffix
from ping_inspect.defences.presets import PRESETS
from ping_inspect.defences.solvers import defend, load_prefix

__all__ = ["DEFENCES", "PRESETS", "Defence", "defend", "fewshot", "guard", "load_prefix",
           "no_defence", "ping", "ptst", "register_defence", "suffix"]
