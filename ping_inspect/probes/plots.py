"""The probe figures as PNG: accuracy per layer, logits per token, shifts, correlation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ping_inspect.report.stats import wilson_interval

if TYPE_CHECKING:
    from ping_inspect.probes.run import ProbeResult

COLOURS = {"none": "#555555", "prefix": "#1f77b4", "suffix": "#d62728"}
SEGMENT_SHADES = {"suffix": "#fbe3e3", "template": "#eeeeee", "prefix": "#e1ecf7"}
DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def layer_accuracy_plot(result: ProbeResult, path: Path) -> Path:
    """Held-out (and training) accuracy of each layer's probe, the chosen layer marked."""
    plt = _pyplot()
    layers = [p.layer for p in result.probes]
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.plot(layers, [p.heldout_accuracy for p in result.probes], "o-", ms=3,
            label="held-out", color="#1f77b4")
    ax.plot(layers, [p.train_accuracy for p in result.probes], "-", lw=1, alpha=0.6,
            label="train", color="#999999")
    ax.axhline(0.5, color="black", lw=0.6, ls=":")
    ax.axvline(result.layer, color="#d62728", lw=0.8, ls="--", label=f"layer {result.layer}")
    ax.set(xlabel="layer (0 = embeddings)", ylabel="accuracy", ylim=(0.4, 1.02),
           title=f"Harmful vs benign probe per layer ({_n_text(result)})")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def token_logits_plot(result: ProbeResult, path: Path) -> Path:
    """The chosen layer's logit at each token of one harmful instruction, per condition."""
    plt = _pyplot()
    figure = result.tokens
    alignment = figure.alignment
    width = max(7.0, 0.12 * len(alignment.labels) + 1.5)
    fig, ax = plt.subplots(figsize=(min(width, 16.0), 4.2))
    _shade_segments(ax, alignment.segments)
    # Instruction tokens read the same in every condition (causal attention): draw the
    # no-defence line last and wider so that it stays visible; gaps break the lines.
    for condition in ("prefix", "suffix", "none"):
        series = np.full(len(alignment.labels), np.nan)
        series[alignment.columns[condition]] = figure.logits[condition]
        wide = condition == "none"
        ax.plot(series, "o-", ms=3.5 if wide else 2.5, lw=1.6 if wide else 1,
                color=COLOURS[condition], label=condition, zorder=3 if wide else 2,
                mfc="none" if wide else None)
    ax.axhline(0, color="black", lw=0.6, ls=":")
    ax.set_xticks(range(len(alignment.labels)))
    ax.set_xticklabels([_visible(t) for t in alignment.labels], rotation=90, fontsize=5.5)
    ax.set_xlim(-0.7, len(alignment.labels) - 0.3)
    ax.set_ylabel(f"probe logit, layer {result.layer} (> 0: harmful)")
    ax.set_title(f"Per-token probe logit: {figure.sample} (shaded: suffix / template / prefix)",
                 fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def shift_plot(result: ProbeResult, path: Path) -> Path:
    """Mean final-token logit shift against no defence, with 95% intervals, per category."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.0))
    categories = ["harmful", "benign"]
    for k, condition in enumerate(("prefix", "suffix")):
        for j, category in enumerate(categories):
            interval = result.shifts[condition][category]
            x = j + (k - 0.5) * 0.3
            ax.bar(x, interval.mean, width=0.28, color=COLOURS[condition], alpha=0.8,
                   label=condition if j == 0 else None)
            ax.errorbar(x, interval.mean, yerr=[[interval.mean - interval.low],
                                                [interval.high - interval.mean]],
                        color="black", capsize=3, lw=1)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels([f"{c} (n={result.shifts['prefix'][c].n})" for c in categories])
    ax.set_ylabel(f"logit shift vs none (layer {result.layer})")
    ax.set_title("Final-token probe logit shift, held-out, 95% CI", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def layer_shift_plot(result: ProbeResult, path: Path) -> Path:
    """Each layer's mean held-out shift, in units of that layer's harmful-benign gap."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    layers = np.arange(len(result.probes))
    for condition, by_category in result.layer_shifts.items():
        for category, style in (("harmful", "-"), ("benign", "--")):
            ax.plot(layers, by_category[category], style, color=COLOURS[condition], lw=1.2,
                    label=f"{condition}, {category} tasks")
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(result.layer, color="#999999", lw=0.8, ls=":")
    # Weak early probes have tiny gaps and huge ratios: linear near 0, logarithmic beyond.
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set(xlabel="layer (each with its own probe)",
           ylabel="shift / (harmful - benign gap)")
    ax.set_title("Mean final-token logit shift vs none, per layer (held-out)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def correlation_plot(result: ProbeResult, path: Path) -> Path | None:
    """Measured refusal against the mean logit shift, one point per prefix."""
    points = [row for row in result.sweep if row.measured is not None]
    if not points:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4))
    panels = (("harmful", "harmful_refusal", "harmful refusal"),
              ("benign", "benign_refusal", "benign over-refusal"))
    for ax, (category, key, title) in zip(axes, panels, strict=True):
        x = np.array([row.shift[category].mean for row in points])
        y = np.array([getattr(row.measured, key) for row in points])
        baseline = np.array([row.prefix is None for row in points])
        counts = [getattr(row.measured, key.split("_")[0] + "_n") for row in points]
        if all(counts):  # Wilson 95% intervals of the measured rates
            bounds = np.array([wilson_interval(v * n, n) for v, n in zip(y, counts, strict=True)])
            spread = np.clip([y - bounds[:, 0], bounds[:, 1] - y], 0, None)
            ax.errorbar(x, y, yerr=spread, fmt="none",
                        ecolor="#bbbbbb", lw=0.8, zorder=1)
        ax.scatter(x[~baseline], y[~baseline], s=22, color="#1f77b4", label="prefix")
        ax.scatter(x[baseline], y[baseline], s=30, marker="s", color="#555555",
                   label="no prefix")
        stats = result.correlations.get(key)
        if stats is not None:
            title += f"\nPearson {stats.pearson:.2f}, Spearman {stats.spearman:.2f}, n={stats.n}"
        title += " (bars: Wilson 95%)" if all(counts) else ""
        ax.set(xlabel=f"mean logit shift on {category} tasks", ylabel=key.replace("_", " "),
               ylim=(-0.05, 1.05))
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def _shade_segments(ax, segments: list[str]) -> None:
    start = 0
    for end in range(1, len(segments) + 1):
        if end == len(segments) or segments[end] != segments[start]:
            shade = SEGMENT_SHADES.get(segments[start])
            if shade:
                ax.axvspan(start - 0.5, end - 0.5, color=shade, zorder=0)
            start = end


def _visible(token: str) -> str:
    """Show whitespace in a token label."""
    return token.replace("\n", "\u21b5").replace(" ", "\u00b7") or "\u2205"


def _n_text(result: ProbeResult) -> str:
    return (f"{result.settings.benchmark}, train {len(result.split.train)}, "
            f"held-out {len(result.split.heldout)}")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
