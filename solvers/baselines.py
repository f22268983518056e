"""The baseline defences for the Inspect CLI: ``--solver solvers/baselines.py@ptst``.

Each solver is the package's (``ping_inspect.defences``); this file only exposes them by
path (Inspect finds a file's solvers by parsing it for ``@solver``; each alias takes the
package solver's signature and docstring).
"""

from inspect_ai.solver import Solver, solver

from ping_inspect import defences as package
from ping_inspect.cli_names import forward_to


@solver
@forward_to(package.ptst)
def ptst() -> Solver:
    """The arguments are those of ``ping_inspect.defences.ptst``."""


@solver
@forward_to(package.fewshot)
def fewshot() -> Solver:
    """The arguments are those of ``ping_inspect.defences.fewshot``."""


@solver
@forward_to(package.suffix)
def suffix() -> Solver:
    """The arguments are those of ``ping_inspect.defences.suffix``."""


@solver
@forward_to(package.guard)
def guard() -> Solver:
    """The arguments are those of ``ping_inspect.defences.guard``."""


@solver
@forward_to(package.no_defence)
def no_defence() -> Solver:
    """The arguments are those of ``ping_inspect.defences.no_defence``."""


@solver
@forward_to(package.defend)
def defend() -> Solver:
    """The arguments are those of ``ping_inspect.defences.defend``."""
