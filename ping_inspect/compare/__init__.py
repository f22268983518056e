"""The models x defences x benchmarks grid (``grid``) and its command (``cli``).

``ping-inspect compare`` is ``compare.cli``; ``run_grid``, ``plan_cells``, ``cell_task``
and ``create_task`` (a task from its spec, as ``inspect eval`` makes it) are the grid's.
"""

from ping_inspect.compare.cli import configure, run
from ping_inspect.compare.grid import (
    CELL_METADATA_KEY,
    GRID_FILE,
    Cell,
    GridError,
    cell_task,
    create_task,
    defence_solver,
    parse_assignments,
    plan_cells,
    run_grid,
)

__all__ = [
    "CELL_METADATA_KEY",
    "GRID_FILE",
    "Cell",
    "GridError",
    "cell_task",
    "configure",
    "create_task",
    "defence_solver",
    "parse_assignments",
    "plan_cells",
    "run",
    "run_grid",
]
