"""PING for the Inspect CLI: ``--solver solvers/ping.py`` (or ``--solver ping`` with a task file).

The solver is ``ping_inspect.defences.ping``; this file only exposes it by path.
"""

from inspect_ai.solver import Solver, solver

from ping_inspect import defences
from ping_inspect.defences.solvers import NOT_GIVEN


@solver
def ping(
    prefix: str = NOT_GIVEN,
    prefix_file: str = NOT_GIVEN,
    preset: str = NOT_GIVEN,
    mode: str = "auto",
) -> Solver:
    """PING: start every model turn of the agent with a safety prefix (see the package)."""
    return defences.ping(prefix=prefix, prefix_file=prefix_file, preset=preset, mode=mode)
