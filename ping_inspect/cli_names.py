"""Bare solver names and task files for the Inspect CLI (``--solver ping``, ``tasks/x.py``).

Inspect registers a solver defined in an installed package as ``package/name``, and a bare
``--solver ping`` only finds solvers registered by a module outside any installed package,
such as the task file being run. Each file in ``tasks/`` therefore calls
``expose_defences(globals())``, which registers thin aliases of the package's defence
solvers under their bare names in that file's module.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from inspect_ai.solver import Solver, solver

from ping_inspect.defence_registry import DEFENCES
from ping_inspect.defences.solvers import defend


def exposed_solvers() -> dict[str, Callable[..., Solver]]:
    """The bare solver names a task file gets: each registered defence's solver, ``defend``."""
    factories = [d.solver_factory() for d in DEFENCES.values()] + [defend]
    return {f.__name__: f for f in factories}


def expose_defences(namespace: dict[str, Any]) -> None:
    """Register the defence solvers under bare names in the calling module.

    Args:
        namespace: The calling module's ``globals()``.
    """
    for name, factory in exposed_solvers().items():
        namespace[name] = _alias(factory, name, namespace["__name__"])


def _alias(target: Any, name: str, module: str) -> Any:
    def factory(*args: Any, **kwargs: Any) -> Solver:
        return target(*args, **kwargs)

    functools.update_wrapper(factory, target)
    # The registry derives the package prefix from the defining module: use the caller's.
    factory.__module__ = module
    return solver(name=name)(factory)


def forward_to(target: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a task (or solver) file's ``@task`` a thin alias of the package's ``target``.

    ``inspect eval tasks/x.py`` finds tasks by parsing the file for ``@task``, so the file
    must define one; this gives it ``target``'s signature (what ``-T`` is checked against
    and what the log records) and docstring, so the file copies neither::

        @task
        @forward_to(redcode_task)
        def redcode() -> Task:
            ...  # the file's own docstring, if any, is replaced by the target's

    Args:
        target: The package's task function.
    """

    def decorate(alias: Callable[..., Any]) -> Callable[..., Any]:
        def forwarded(**task_args: Any) -> Any:
            return target(**task_args)

        forwarded.__name__ = forwarded.__qualname__ = alias.__name__
        forwarded.__module__ = alias.__module__
        forwarded.__doc__ = target.__doc__ or alias.__doc__
        forwarded.__signature__ = inspect.signature(target)  # type: ignore[attr-defined]
        return forwarded

    return decorate
