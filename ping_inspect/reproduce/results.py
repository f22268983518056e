"""The experiment's report: ``ping-inspect report`` on the grid, the erosion curve, model pairs.

The erosion curve is each checkpoint's refusal (95% Wilson intervals) against its training
step, one line per fine-tuning run. The model pairs are the fine-tuning effects, paired on
the samples both models answered (Newcombe's interval): aligned - base (the safety SFT),
agentic - aligned (the erosion), mixed - aligned and mixed - agentic (the training-time
alternative), per benchmark and defence.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CURVE_METRICS = ("harmful_refusal", "harmful_refusal_no_echo", "benign_refusal")
NO_DEFENCE = "none"
PAIRS = (("aligned", "base"), ("agentic", "aligned"), ("mixed", "aligned"),
         ("mixed", "agentic"))
PAIR_METRICS = ("benign_success", "benign_refusal", "harmful_success", "harmful_refusal")


def write_results(grid_dir: Path, erosion_dir: Path, points: Sequence[Mapping[str, Any]],
                  models: Mapping[str, str], out: Path,
                  reused: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write the report, the curve and the pairs into ``out``; return their paths.

    ``reused`` names the grid cells the curve reads instead of evaluating again: their log
    folder, models and benchmarks (their cells without a defence).
    """
    from ping_inspect.report.build import build_report

    files = build_report(grid_dir, out)
    curve = erosion_rows(erosion_dir, points, reused)
    curve_csv = out / "erosion.csv"
    _write_csv(curve_csv, curve)
    plots = erosion_plot(curve, out) if any(_finite(r["value"]) for r in curve) else []
    pairs = model_pairs(grid_dir, models)
    pairs_csv = out / "models.csv"
    _write_csv(pairs_csv, pairs)
    text = files.markdown.read_text(encoding="utf-8")
    text += "\n" + markdown_sections(curve, pairs, plots, models)
    files.markdown.write_text(text, encoding="utf-8")
    return {"markdown": str(files.markdown), "summary_csv": str(files.summary_csv),
            "paired_csv": str(files.paired_csv), "tradeoff": [str(p) for p in files.plots],
            "erosion_csv": str(curve_csv), "erosion_plot": [str(p) for p in plots],
            "models_csv": str(pairs_csv)}


def _finite(value: float) -> bool:
    return not math.isnan(value)


def erosion_rows(log_dir: Path, points: Sequence[Mapping[str, Any]],
                 reused: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per run, step, benchmark and refusal metric (rate, interval, n).

    Raises:
        ValueError: a reused model has no cell without a defence in the grid's folder.
    """
    from ping_inspect.report.logs import read_log_dir
    from ping_inspect.report.tables import summarise

    rows_by_model: dict[str, list[Any]] = {}
    for cell in read_log_dir(log_dir).cells:
        rows_by_model.setdefault(cell.model, []).append(summarise(cell))
    if reused:
        models, benchmarks = set(reused["models"]), set(reused["benchmarks"])
        for cell in read_log_dir(reused["log_dir"]).cells:
            if cell.model in models and cell.defence == NO_DEFENCE \
                    and cell.benchmark in benchmarks:
                rows_by_model.setdefault(cell.model, []).append(summarise(cell))
        lacking = sorted(models - rows_by_model.keys())
        if lacking:
            raise ValueError(f"The erosion curve reads {', '.join(lacking)} from "
                             f"{reused['log_dir']}, which holds no such cell without a "
                             "defence.")
    rows = []
    for point in points:
        for row in rows_by_model.get(point["model"], []):
            if row.missing:
                continue
            for metric in CURVE_METRICS:
                estimate = row.rates[metric].estimate
                if estimate.n == 0:
                    continue
                rows.append({"run": point["run"], "step": point["step"],
                             "benchmark": row.cell.benchmark, "metric": metric,
                             "value": estimate.value, "low": estimate.low,
                             "high": estimate.high, "n": estimate.n,
                             "model": point["model"]})
    return rows


def erosion_plot(rows: Sequence[Mapping[str, Any]], out: Path) -> list[Path]:
    """Refusal against training step, one panel per benchmark and metric, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys((r["benchmark"], r["metric"]) for r in rows
                                if r["metric"] != "harmful_refusal_no_echo"))
    fig, axes = plt.subplots(1, len(panels), squeeze=False, figsize=(5 * len(panels), 4))
    for ax, (benchmark, metric) in zip(axes[0], panels, strict=True):
        for run in dict.fromkeys(r["run"] for r in rows):
            line = sorted((r for r in rows if (r["run"], r["benchmark"], r["metric"])
                           == (run, benchmark, metric)), key=lambda r: r["step"])
            if not line:
                continue
            x = [r["step"] for r in line]
            y = [100 * r["value"] for r in line]
            low = [100 * max(0.0, r["value"] - r["low"]) for r in line]
            high = [100 * max(0.0, r["high"] - r["value"]) for r in line]
            ax.errorbar(x, y, yerr=[low, high], marker="o", capsize=3, label=run)
        ax.set(title=f"{benchmark}: {metric.replace('_', ' ')}", xlabel="training step",
               ylabel="refusal (%)", ylim=(-4, 104))
        ax.grid(alpha=0.3)
        ax.legend(title="run (step 0: aligned)")
    fig.suptitle("Refusal during agentic fine-tuning (95% Wilson intervals)")
    fig.tight_layout()
    paths = [out / "erosion.png", out / "erosion.svg"]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths


def model_pairs(grid_dir: Path, models: Mapping[str, str]) -> list[dict[str, Any]]:
    """Paired differences between models on the samples both answered."""
    from ping_inspect.report.logs import read_log_dir
    from ping_inspect.report.stats import paired_difference
    from ping_inspect.report.tables import METRICS, verdicts

    cells = {c.key: c for c in read_log_dir(grid_dir).cells if c.status != "missing"}
    specs = {m.key: m for m in METRICS}
    rows = []
    for (benchmark, model, defence), cell in cells.items():
        for treated, control in PAIRS:
            if model != models.get(treated):
                continue
            base = cells.get((benchmark, models.get(control, ""), defence))
            if base is None:
                continue
            for key in PAIR_METRICS:
                spec = specs[key]
                a, _ = verdicts(cell.samples, spec.category, spec.verdict)
                b, _ = verdicts(base.samples, spec.category, spec.verdict)
                shared = [k for k in a if k in b]
                if not shared:
                    continue
                d = paired_difference([(a[k], b[k]) for k in shared])
                rows.append({"benchmark": benchmark, "defence": defence,
                             "pair": f"{treated} - {control}", "metric": key,
                             "difference": d.value, "low": d.low, "high": d.high, "n": d.n})
    return rows


def markdown_sections(curve: Sequence[Mapping[str, Any]], pairs: Sequence[Mapping[str, Any]],
                      plots: Sequence[Path], models: Mapping[str, str]) -> str:
    """The report's sections on the models, the erosion curve and the fine-tuning effects."""
    lines = ["## Models", "", "| label | model |", "| --- | --- |"]
    lines += [f"| {label} | `{name}` |" for label, name in models.items()]
    lines += ["", "## Erosion during agentic fine-tuning", ""]
    if plots:
        lines += [f"![erosion]({plots[0].name})", ""]
    lines += ["| run | step | benchmark | metric | rate [95% CI] | n |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in sorted(curve, key=lambda r: (r["run"], r["benchmark"], r["metric"], r["step"])):
        lines.append(f"| {r['run']} | {r['step']} | {r['benchmark']} | {r['metric']} | "
                     f"{_pct(r['value'])} [{_pct(r['low'])}, {_pct(r['high'])}] | {r['n']} |")
    lines += ["", "## Fine-tuning effects (paired on shared samples, percentage points)", "",
              "| benchmark | defence | pair | metric | difference [95% CI] | n |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in pairs:
        lines.append(f"| {r['benchmark']} | {r['defence']} | {r['pair']} | {r['metric']} | "
                     f"{_points(r['difference'])} [{_points(r['low'])}, {_points(r['high'])}] "
                     f"| {r['n']} |")
    return "\n".join(lines) + "\n"


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def _points(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:+.1f}"


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        if not rows:
            out.write("")
            return
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
