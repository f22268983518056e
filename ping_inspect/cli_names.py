"""Bare solver names for the Inspect CLI (``--solver ping``).

Inspect registers a solver defined in an installed package as ``package/name``, and a bare
``--solver ping`` only finds solvers registered by a module outside any installed package,
such as the task file being run. Each file in ``tasks/`` therefore calls
``expose_defences(globals())``, which registers thin aliases of the package's defence
solvers under their bare names in that file's module.
"""

from __future__ import annotations

import functools
from typing import Any

from inspect_ai.solver import Solver, solver

from ping_inspect.defences import solvers as defence_solvers

EXPOSED = ("ping", "suffix", "ptst", "fewshot", "guard", "no_defence", "defend")


def expose_defences(namespace: dict[str, Any]) -> None:
    """Register the defence solvers under bare names in the calling module.

    Args:
        namespace: The calling module's ``globals()``.
    """
    for name in EXPOSED:
        namespace[name] = _alias(getattr(defence_solvers, name), name, namespace["__name__"])


def _alias(target: Any, name: str, module: str) -> Any:
    def factory(*args: Any, **kwargs: Any) -> Solver:
        return target(*args, **kwargs)

    functools.update_wrapper(factory, target)
    # The registry derives the package prefix from the defining module: use the caller's.
    factory.__module__ = module
    return solver(name=name)(factory)
