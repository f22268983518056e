"""The trade-off plot: benign success (x) against harmful refusal (y), per benchmark.

The paper's picture of a defence: up is safer, right is more useful. One panel per
benchmark, one colour per model, one marker per defence, 95% Wilson intervals as error
bars. Models are spread apart by up to 1.5 points along x so that equal values stay
visible, and later defences are drawn smaller on top of earlier ones. Cells without a
value on either axis (missing, or no known verdicts) are left out of the plot and listed
under it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from ping_inspect.report.tables import Row

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")


def tradeoff_plot(rows: Sequence[Row], out_dir: Path, stem: str = "tradeoff") -> list[Path]:
    """Draw the plot and write it as PNG and SVG; return the two paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    benchmarks = list(dict.fromkeys(r.cell.benchmark for r in rows))
    models = list(dict.fromkeys(r.cell.model for r in rows))
    defences = list(dict.fromkeys(r.cell.defence for r in rows))
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, max(1, len(benchmarks)), squeeze=False,
                             figsize=(4.6 * max(1, len(benchmarks)), 4.8))
    for ax, benchmark in zip(axes[0], benchmarks, strict=False):
        left_out = []
        for row in (r for r in rows if r.cell.benchmark == benchmark):
            point = _point(row)
            if point is None:
                left_out.append(f"{row.cell.model}/{row.cell.defence}")
                continue
            (x, x_low, x_high), (y, y_low, y_high) = point
            index = defences.index(row.cell.defence)
            ax.errorbar(
                100 * x + _dodge(models.index(row.cell.model), len(models)), 100 * y,
                xerr=[[100 * (x - x_low)], [100 * (x_high - x)]],
                yerr=[[100 * (y - y_low)], [100 * (y_high - y)]],
                marker=MARKERS[index % len(MARKERS)],
                color=colours(models.index(row.cell.model) % 10),
                markersize=max(4.0, 10.0 - 1.2 * index), capsize=3, linestyle="none",
                alpha=0.85,
            )
        ax.set(title=benchmark, xlim=(-4, 104), ylim=(-4, 104),
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


def _dodge(index: int, count: int) -> float:
    """Horizontal offset in points of the ``index``-th of ``count`` models."""
    return 0.0 if count < 2 else 1.5 * (2 * index / (count - 1) - 1)


def _point(row: Row):
    if row.missing:
        return None
    x = row.rates["benign_success"].estimate
    y = row.rates["harmful_refusal"].estimate
    if x.n == 0 or y.n == 0 or math.isnan(x.value) or math.isnan(y.value):
        return None

    def bounds(e):
        low = e.value if math.isnan(e.low) else e.low
        high = e.value if math.isnan(e.high) else e.high
        return e.value, low, high

    return bounds(x), bounds(y)
