"""Tables, paired differences and trade-off plots from a log directory.

``build_report(log_dir, out_dir)`` writes ``report.md``, ``summary.csv``, ``paired.csv``
and ``tradeoff.png``/``.svg``. The submodules: ``logs`` (reading logs into cells),
``stats`` (Wilson and paired Newcombe intervals), ``tables``, ``writers``, ``plots``.
This package's top level stays light (the ``ping-inspect`` parser imports ``report.cli``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "load_cells"]


def __getattr__(name: str) -> Any:
    if name == "build_report":
        from ping_inspect.report.build import build_report

        return build_report
    if name == "load_cells":
        from ping_inspect.report.logs import load_cells

        return load_cells
    raise AttributeError(name)
