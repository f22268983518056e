"""PING for the Inspect CLI: ``--solver solvers/ping.py`` (or ``--solver ping`` with a task file).

The solver is ``ping_inspect.defences.ping``; this file only exposes it by path (Inspect
finds a file's solvers by parsing it for ``@solver``; the alias takes the package
solver's signature and docstring).
"""

from inspect_ai.solver import Solver, solver

from ping_inspect import defences
from ping_inspect.cli_names import forward_to


@solver
@forward_to(defences.ping)
def ping() -> Solver:
    """The arguments are those of ``ping_inspect.defences.ping``."""
