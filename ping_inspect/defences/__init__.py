"""Defences: PING and the baselines it is compared with."""

from ping_inspect.defences.presets import PRESETS
from ping_inspect.defences.solvers import (
    defend,
    fewshot,
    guard,
    load_prefix,
    no_defence,
    ping,
    ptst,
    suffix,
)

__all__ = ["PRESETS", "defend", "fewshot", "guard", "load_prefix", "no_defence", "ping",
           "ptst", "suffix"]
