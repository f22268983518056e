"""The trade-off plot: benign success (x) against harmful refusal (y), per domain.

The paper's picture of a defence: up is safer, right is more useful. One panel per
domain: a benchmark with both kinds of task (WebDojo) is its own domain; the benchmarks whose
descriptors share ``plot_group="code"`` pair benign success (HumanEval) with harmful refusal
(RedCode-Exec), as the paper does
(one panel per harmful code benchmark).
One colour per model, one marker per defence, 95% Wilson intervals as error bars.
Models are spread apart by up to 1.5 points along x so that equal values stay visible,
and later defences are drawn smaller on top of earlier ones. Cells without a value on
either axis (missing, or no known verdicts) are left out of the plot and listed under it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from ping_inspect.benchmarks import BENCHMARKS, Benchmark
from ping_inspect.report.tables import Row

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")


def tradeoff_plot(rows: Sequence[Row], out_dir: Path, stem: str = "tradeoff") -> list[Path]:
    """Draw the plot and write it as PNG and SVG; return the two paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    panels = _panels(rows)
    models = list(dict.fromkeys(r.cell.model for r in rows))
    defences = list(dict.fromkeys(r.cell.defence for r in rows))
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, max(1, len(panels)), squeeze=False,
                             figsize=(4.6 * max(1, len(panels)), 4.8))
    for ax, (title, cells) in zip(axes[0], panels.items(), strict=False):
        left_out = []
        for (model, defence), (benign, harmful) in cells.items():
            point = _point(benign, harmful)
            if point is None:
                left_out.append(f"{model}/{defence}")
                continue
            (x, x_low, x_high), (y, y_low, y_high) = point
            index = defences.index(defence)
            ax.errorbar(
                100 * x + _dodge(models.index(model), len(models)), 100 * y,
                xerr=_error_bars(x, x_low, x_high),
                yerr=_error_bars(y, y_low, y_high),
                marker=MARKERS[index % len(MARKERS)],
                color=colours(models.index(model) % 10),
                markersize=max(4.0, 10.0 - 1.2 * index), capsize=3, linestyle="none",
                alpha=0.85,
            )
        ax.set(title=title.replace(" + ", " +\n"), xlim=(-4, 104), ylim=(-4, 104),
               xlabel="benign success (%)", ylabel="harmful refusal (%)")
        ax.grid(alpha=0.3)
        if left_out:
            ax.text(0.01, -0.2, "not plotted (no value): " + ", ".join(left_out),
                    transform=ax.transAxes, fontsize=7, va="top", wrap=True)
    handles = [Line2D([], [], color=colours(i % 10), marker="o", linestyle="none", label=m)
               for i, m in enumerate(models)]
    handles += [Line2D([], [], color="black", marker=MARKERS[i % len(MARKERS)],
                       linestyle="none", label=d) for i, d in enumerate(defences)]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
               title="models (colour), defences (marker)")
    fig.suptitle("Benign success against harmful refusal (95% Wilson intervals)")
    fig.tight_layout()
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths


def _error_bars(value: float, low: float, high: float) -> list[list[float]]:
    """Bar lengths in percent; never negative (matplotlib rejects a bound past the value)."""
    return [[100 * max(0.0, value - low)], [100 * max(0.0, high - value)]]


def _dodge(index: int, count: int) -> float:
    """Horizontal offset in points of the ``index``-th of ``count`` models."""
    return 0.0 if count < 2 else 1.5 * (2 * index / (count - 1) - 1)


CODE_GROUP = "code"
"""The descriptors' ``plot_group`` of benchmarks that hold one kind of task each and are
plotted together (benign success of one against harmful refusal of the other)."""


def _descriptor(row: Row) -> Benchmark | None:
    return BENCHMARKS.get(row.cell.benchmark.split(":")[0])

Pair = tuple[Row | None, Row | None]


def _panels(rows: Sequence[Row]) -> dict[str, dict[tuple[str, str], Pair]]:
    """Group rows into panels; per model and defence, the rows giving x and y.

    The code domain has one panel per harmful code benchmark (RedCode-Exec's optimisation
    and evaluation items are two), each with the benign code benchmarks' success as x: one
    point per model and defence must not stand for two harmful benchmarks.
    """
    code_rows = [r for r in rows if _is_code(r)]
    order = list(dict.fromkeys(r.cell.benchmark for r in code_rows))
    harmful = [b for b in order
               if any(_known(r, "harmful_refusal") for r in code_rows if r.cell.benchmark == b)]

    def code_title(spec: str | None) -> str:
        return "code: " + " + ".join(b for b in order if b not in harmful or b == spec)

    panels: dict[str, dict[tuple[str, str], Pair]] = {}
    for row in rows:
        descriptor = _descriptor(row)
        if descriptor is not None and not descriptor.plotted:
            continue
        if not _is_code(row):
            titles = [row.cell.benchmark]
        elif row.cell.benchmark in harmful:
            titles = [code_title(row.cell.benchmark)]
        else:
            titles = [code_title(spec) for spec in harmful] or [code_title(None)]
        for title in titles:
            cells = panels.setdefault(title, {})
            key = (row.cell.model, row.cell.defence)
            benign, harm = cells.get(key, (None, None))
            cells[key] = (row if _known(row, "benign_success") else benign,
                          row if _known(row, "harmful_refusal") else harm)
    return panels


def _is_code(row: Row) -> bool:
    descriptor = _descriptor(row)
    return descriptor is not None and descriptor.plot_group == CODE_GROUP


def _known(row: Row, metric: str) -> bool:
    if row.missing:
        return False
    estimate = row.rates[metric].estimate
    return estimate.n > 0 and not math.isnan(estimate.value)


def _point(benign: Row | None, harmful: Row | None):
    if benign is None or harmful is None:
        return None
    x = benign.rates["benign_success"].estimate
    y = harmful.rates["harmful_refusal"].estimate

    def bounds(e):
        low = e.value if math.isnan(e.low) else e.low
        high = e.value if math.isnan(e.high) else e.high
        return e.value, low, high

    return bounds(x), bounds(y)
