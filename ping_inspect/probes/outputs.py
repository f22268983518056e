"""The probe run's files: CSV tables, a JSON record, the figures and ``summary.md``.

Every number in them is computed from the model's states and the measured runs; the
Markdown repeats the tables for people and links the figures.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ping_inspect.probes import plots
from ping_inspect.probes.probe import Interval
from ping_inspect.probes.run import CATEGORIES, ProbeResult

FIGURES = {
    "layers": "layer_accuracy.png",
    "tokens": "token_logits.png",
    "shift": "shift.png",
    "layer_shift": "shift_by_layer.png",
    "correlation": "correlation.png",
}


def write_outputs(result: ProbeResult) -> dict[str, Path]:
    """Write every file into the run's output folder; return them by name."""
    out = result.settings.out
    files = {
        "layers_csv": _write_layers(result, out / "layers.csv"),
        "shifts_csv": _write_shifts(result, out / "shifts.csv"),
        "probe_json": _write_json(result, out / "probe.json"),
        "layers": plots.layer_accuracy_plot(result, out / FIGURES["layers"]),
        "tokens": plots.token_logits_plot(result, out / FIGURES["tokens"]),
        "shift": plots.shift_plot(result, out / FIGURES["shift"]),
        "layer_shift": plots.layer_shift_plot(result, out / FIGURES["layer_shift"]),
    }
    if result.sweep:
        files["sweep_csv"] = _write_sweep(result, out / "sweep.csv")
        figure = plots.correlation_plot(result, out / FIGURES["correlation"])
        if figure:
            files["correlation"] = figure
    files["summary"] = out / "summary.md"
    files["summary"].write_text(summary_markdown(result), encoding="utf-8")
    return files


def _write_layers(result: ProbeResult, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        shifts = [(c, k) for c in ("prefix", "suffix") for k in ("harmful", "benign")]
        writer.writerow(["layer", "heldout_accuracy", "train_accuracy", "C", "chosen",
                         *(f"{c}_shift_{k}_per_gap" for c, k in shifts)])
        for p in result.probes:
            writer.writerow([p.layer, _g(p.heldout_accuracy), _g(p.train_accuracy), p.c,
                             int(p.layer == result.layer),
                             *(_g(result.layer_shifts[c][k][p.layer]) for c, k in shifts)])
    return path


def _write_shifts(result: ProbeResult, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["comparison", "category", "mean", "low95", "high95", "n"])
        for comparison, by_category in result.shifts.items():
            for category, interval in by_category.items():
                writer.writerow([_comparison(comparison), category, _g(interval.mean),
                                 _g(interval.low), _g(interval.high), interval.n])
    return path


def _write_sweep(result: ProbeResult, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prefix", "shift_harmful", "shift_harmful_low95",
                         "shift_harmful_high95", "shift_benign", "shift_benign_low95",
                         "shift_benign_high95", "harmful_refusal", "harmful_n",
                         "benign_refusal", "benign_n", "measured_in"])
        for row in result.sweep:
            m = row.measured
            h, b = row.shift["harmful"], row.shift["benign"]
            writer.writerow([
                row.prefix or "", _g(h.mean), _g(h.low), _g(h.high), _g(b.mean), _g(b.low),
                _g(b.high), _g(m.harmful_refusal) if m else "", m.harmful_n if m else "",
                _g(m.benign_refusal) if m else "", m.benign_n if m else "",
                m.source if m else "",
            ])
    return path


def _write_json(result: ProbeResult, path: Path) -> Path:
    s = result.settings
    record: dict[str, Any] = {
        "model": s.model, "benchmark": s.benchmark, "dtype": s.dtype,
        "prefix": s.prefix, "prefix_source": s.prefix_source, "seed": s.seed,
        "instructions": {c: int((result.labels == (c == "harmful")).sum())
                         for c in ("benign", "harmful")},
        "train": [result.instructions[i].id for i in result.split.train],
        "heldout": [result.instructions[i].id for i in result.split.heldout],
        "layer": result.layer, "layer_chosen_by": "argument" if s.layer is not None
        else "best held-out accuracy",
        "layers": [{"layer": p.layer, "heldout_accuracy": p.heldout_accuracy,
                    "train_accuracy": p.train_accuracy, "C": p.c} for p in result.probes],
        "shifts": {k: {c: asdict(i) for c, i in v.items()} for k, v in result.shifts.items()},
        "flagged_harmful": result.flagged,
        "mean_logits": {c: mean_logits(result, c) for c in result.logits},
        "layer_shifts_per_gap": result.layer_shifts,
        "token_figure": {"sample": result.tokens.sample,
                         "labels": result.tokens.alignment.labels,
                         "segments": result.tokens.alignment.segments,
                         "columns": result.tokens.alignment.columns,
                         "logits": {c: v.tolist() for c, v in result.tokens.logits.items()}},
        "correlations": {k: asdict(v) for k, v in result.correlations.items()},
    }
    path.write_text(json.dumps(record, indent=1, default=_nan_safe), encoding="utf-8")
    return path


def summary_markdown(result: ProbeResult) -> str:
    """Return the run's summary: setting, per-layer accuracy, shifts, correlation, figures."""
    s = result.settings
    best = result.probes[result.layer]
    counts = {c: int((result.labels == (c == "harmful")).sum()) for c in ("benign", "harmful")}
    chosen_by = "chosen with --layer" if s.layer is not None else "best held-out accuracy"
    lines = [
        f"# Linear probes: {s.benchmark}, {s.model}",
        "",
        f"- Instructions: {counts['benign']} benign, {counts['harmful']} harmful; probe "
        f"trained on the no-defence condition ({len(result.split.train)} train, "
        f"{len(result.split.heldout)} held-out, stratified, seed {s.seed}); dtype {s.dtype}.",
        f"- Prefix ({s.prefix_source}): `{s.prefix}`",
        f"- Layer {result.layer} ({chosen_by}): held-out accuracy {best.heldout_accuracy:.3f}, "
        f"train {best.train_accuracy:.3f}, C={best.c:g}. Logit > 0 reads as harmful.",
        "",
        f"![accuracy per layer]({FIGURES['layers']})",
        "",
        "## Final-token logit shift (held-out, paired, 95% t-interval)",
        "",
        "| comparison | harmful | benign | all |",
        "| --- | --- | --- | --- |",
    ]
    for comparison, by_category in result.shifts.items():
        cells = [_interval(by_category[c]) for c in CATEGORIES]
        lines.append(f"| {_comparison(comparison)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Held-out final-token logits per condition: mean, and the share the probe calls "
        "harmful (logit > 0):",
        "",
        "| condition | mean logit, harmful | mean logit, benign | called harmful: harmful "
        "| called harmful: benign |",
        "| --- | --- | --- | --- | --- |",
    ]
    for condition, shares in result.flagged.items():
        means = mean_logits(result, condition)
        lines.append(f"| {condition} | {means['harmful']:+.2f} | {means['benign']:+.2f} | "
                     f"{shares['harmful']:.0%} | {shares['benign']:.0%} |")
    lines += ["", f"![shift]({FIGURES['shift']})", "", *_layer_lines(result), "",
              f"![shift per layer]({FIGURES['layer_shift']})", "",
              f"## Per-token logits: {result.tokens.sample}", "",
              f"![per-token logits]({FIGURES['tokens']})", ""]
    lines += _sweep_lines(result)
    return "\n".join(lines) + "\n"


def _layer_lines(result: ProbeResult) -> list[str]:
    """How many layers agree with the chosen one on the direction of each shift."""
    lines = ["Across layers (each with its own probe; shift in units of that layer's "
             "harmful-benign gap; layers with no gap left out):", ""]
    for condition, by_category in result.layer_shifts.items():
        parts = []
        for category, values in by_category.items():
            known = values[~np.isnan(values)]
            parts.append(f"{category} tasks move toward harmful at {int((known > 0).sum())} "
                         f"of {len(known)} layers (median {np.median(known):+.2f})")
        lines.append(f"- {condition}: " + "; ".join(parts) + ".")
    harmful = result.layer_shifts["prefix"]["harmful"] - result.layer_shifts["suffix"]["harmful"]
    known = harmful[~np.isnan(harmful)]
    lines.append(f"- prefix moves harmful tasks further toward harmful than the suffix at "
                 f"{int((known > 0).sum())} of {len(known)} layers.")
    return lines


def mean_logits(result: ProbeResult, condition: str) -> dict[str, float]:
    """Return the held-out mean final-token logit of one condition, per category."""
    held = result.split.heldout
    logits, labels = result.logits[condition][held], result.labels[held]
    return {"harmful": float(logits[labels == 1].mean()),
            "benign": float(logits[labels == 0].mean())}


def _sweep_lines(result: ProbeResult) -> list[str]:
    if not result.sweep:
        return []
    lines = ["## Logit shift against measured behaviour, per prefix", ""]
    if result.correlations:
        lines += ["| measure vs mean shift | n | Pearson r (p) | Spearman rho (p) |",
                  "| --- | --- | --- | --- |"]
        for key, c in result.correlations.items():
            category = key.split("_")[0]
            lines.append(f"| {key.replace('_', ' ')} vs shift on {category} | {c.n} | "
                         f"{_g2(c.pearson)} ({_g2(c.pearson_p)}) | "
                         f"{_g2(c.spearman)} ({_g2(c.spearman_p)}) |")
        lines += ["", f"![correlation]({FIGURES['correlation']})", ""]
    lines += ["| prefix | shift harmful | shift benign | harmful refusal | benign refusal |",
              "| --- | --- | --- | --- | --- |"]
    for row in result.sweep:
        m = row.measured
        prefix = "(none)" if row.prefix is None else "`" + row.prefix.replace("|", "\\|") + "`"
        lines.append(
            f"| {prefix} | {_interval(row.shift['harmful'])} | {_interval(row.shift['benign'])}"
            f" | {_rate(m.harmful_refusal, m.harmful_n) if m else '-'}"
            f" | {_rate(m.benign_refusal, m.benign_n) if m else '-'} |"
        )
    measured = sum(row.measured is not None for row in result.sweep)
    if measured:
        lines += ["", f"Shifts at layer {result.layer} on the held-out split. Measured in "
                  f"{measured} runs from `{result.settings.behaviour}` (sweep.csv names the "
                  "run of each prefix)."]
    return lines + [""]


def _comparison(name: str) -> str:
    return {"prefix": "prefix - none", "suffix": "suffix - none",
            "prefix_minus_suffix": "prefix - suffix"}.get(name, name)


def _interval(i: Interval) -> str:
    if math.isnan(i.low):
        return f"{i.mean:+.2f} (n={i.n})"
    return f"{i.mean:+.2f} [{i.low:+.2f}, {i.high:+.2f}] (n={i.n})"


def _rate(value: float, n: int) -> str:
    return f"{value:.0%}" + (f" (n={n})" if n else "")


def _g(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.6g}"


def _g2(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}" if abs(value) >= 0.01 else f"{value:.1e}"


def _nan_safe(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Not serialisable: {type(value)}")
