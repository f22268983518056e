"""PING for the Inspect CLI: ``--solver solvers/ping.py`` (or ``--solver ping`` with a task file).

The solver is ``ping_inspect.defences.ping``; this file only exposes it by path.
"""

from inspect_ai.solver import Solver, solver

from ping_inspect import defences


@solver
def ping(
    prefix: str | None = None,
    prefix_file: str | None = None,
    preset: str | None = None,
    mode: str = "auto",
) -> Solver:
    """PING: start every model turn of the agent with a safety prefix (see the package)."""
    return defences.ping(prefix=prefix, prefix_file=prefix_file, preset=preset, mode=mode)
