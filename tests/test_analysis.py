"""Scores as numeric columns, and the analysis helper's table against the report's.

A scripted grid (the synthetic benchmark, two defences) with one failed sample and one
unknown verdict: the helper must give the numbers ``ping-inspect report`` writes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.analysis import samples_df
from test_compare_synthetic import BENCHMARK_TABLE, scripted_model

from ping_inspect.analysis import SAMPLE_COLUMNS, TABLE_COLUMNS, paper_table
from ping_inspect.compare import run_grid
from ping_inspect.report import build_report

SCRIPT = {"none": {"b4": "REFUSE", "h4": "UNSURE"},
          "ping": {"b3": "ERROR", "h1": "REFUSE", "h2": "REFUSE"}}


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    log_dir = tmp_path_factory.mktemp("grid")
    ok, _ = run_grid([scripted_model("alpha", SCRIPT)], ["none", "ping"], ["synthetic"],
                     str(log_dir), table=BENCHMARK_TABLE, fail_on_error=False,
                     display="none")
    assert ok
    return log_dir


def test_samples_df_has_a_numeric_column_per_score_key(grid: Path) -> None:
    frame = samples_df(str(grid), columns=SAMPLE_COLUMNS, quiet=True)
    for key in ("success", "refusal"):
        assert frame[f"score_{key}"].dtype.kind == "f", frame[f"score_{key}"]
    assert not [c for c in frame.columns if c.startswith("score_synthetic")]
    # the unknown verdict is NaN, never 0
    h4 = frame[(frame["id"] == "h4") & (frame["cell_defence"] == "none")]
    assert pd.isna(h4["score_refusal"].iloc[0])


def test_the_paper_table_agrees_with_the_report(grid: Path, tmp_path: Path) -> None:
    build_report(grid, tmp_path)
    with (tmp_path / "summary.csv").open(encoding="utf-8") as handle:
        report = {(r["benchmark"], r["model"], r["defence"]): r
                  for r in csv.DictReader(handle)}
    table = paper_table(grid)
    assert set(table.index) == set(report)
    for cell, row in report.items():
        for name in ("benign_success", "benign_refusal", "harmful_success",
                     "harmful_refusal"):
            assert name in TABLE_COLUMNS
            assert table.loc[cell, f"{name}_n"] == int(row[f"{name}_n"]), (cell, name)
            assert table.loc[cell, name] == pytest.approx(float(row[name])), (cell, name)
    # hand count: ping lost b3 (an error); none's h4 refusal is unknown
    assert table.loc[("synthetic", "mockllm/alpha", "ping"), "benign_success_n"] == 3
    assert table.loc[("synthetic", "mockllm/alpha", "none"), "harmful_refusal_n"] == 3
    assert table.loc[("synthetic", "mockllm/alpha", "ping"), "harmful_refusal"] == 0.5
