"""Scores as numeric DataFrame columns, and the paper's table from a log folder.

Every benchmark scorer of this package returns one dict-valued ``Score.value``
(``{"success": 1.0, "refusal": 0.0, "refusal_no_echo": 0.0, ...}``). Inspect's
``samples_df`` turns such a value into one JSON-string column per scorer
(``score_webdojo_scorer``). The columns spec here gives one numeric column per score
key instead, with short names that do not depend on the scorer's name
(``score_success``, ``score_refusal``, ``score_refusal_no_echo``,
``score_refused_no_action``, ...)::

    from inspect_ai.analysis import samples_df
    from ping_inspect.analysis import SAMPLE_COLUMNS, paper_table

    samples = samples_df("logs", columns=SAMPLE_COLUMNS)
    table = paper_table("logs")       # SR, benign refusal, ASR, RR per cell

``paper_table`` gives the figures ``ping-inspect report`` prints (the same samples, the
same rules: failed samples and unknown verdicts left out of each rate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from inspect_ai.analysis import (
    EvalColumn,
    EvalInfo,
    EvalModel,
    EvalTask,
    SampleColumn,
    SampleSummary,
    samples_df,
)

from ping_inspect.contracts import REFUSAL, REFUSAL_NO_ECHO, REFUSED_NO_ACTION, SUCCESS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SAMPLE_COLUMNS", "SCORE_COLUMNS", "TABLE_COLUMNS", "paper_table", "score_keys"]


def score_keys(scores: Any) -> dict[str, Any]:
    """One value per score key: a dict-valued score's keys, else the scorer's name.

    A key given by two scorers keeps the first scorer's value (the benchmark's scorer
    comes first, as ``ping-inspect report`` reads it).
    """
    flat: dict[str, Any] = {}
    for name, score in (scores or {}).items():
        value = score.get("value") if isinstance(score, dict) else None
        items = value.items() if isinstance(value, dict) else [(name, value)]
        for key, item in items:
            flat.setdefault(key, _number(item))
    return flat


def _number(value: Any) -> Any:
    """A verdict as a float (unreadable: NaN, never 0); text scores stay text."""
    if isinstance(value, bool | int | float):
        return float(value)
    if value is None:
        return math.nan
    return value


SCORE_COLUMNS: list[SampleColumn] = [SampleColumn("score_*", path="scores", value=score_keys)]
"""One numeric ``score_<key>`` column per score key (``score_success``, ...)."""

SAMPLE_COLUMNS: list[Any] = [
    *(c for c in SampleSummary if not c.name.startswith("score_")),
    *SCORE_COLUMNS,
    *EvalInfo, *EvalTask, *EvalModel,
    EvalColumn("cell_*", path="eval.metadata.ping_inspect"),
]
"""Inspect's sample summary columns with numeric scores, and each eval's task, model and
``compare`` cell (``cell_benchmark``, ``cell_defence``, ...)."""

TABLE_COLUMNS = {
    "benign_success": ("benign", SUCCESS),
    "benign_refusal": ("benign", REFUSAL),
    "benign_refusal_no_echo": ("benign", REFUSAL_NO_ECHO),
    "benign_refused_no_action": ("benign", REFUSED_NO_ACTION),
    "harmful_success": ("harmful", SUCCESS),
    "harmful_refusal": ("harmful", REFUSAL),
    "harmful_refusal_no_echo": ("harmful", REFUSAL_NO_ECHO),
    "harmful_refused_no_action": ("harmful", REFUSED_NO_ACTION),
}
"""The table's rates, as (category, score key): benign success is the paper's SR,
harmful success its ASR, harmful refusal its RR."""


def paper_table(logs: Any, quiet: bool = True) -> pd.DataFrame:
    """The paper's table from a log folder: one row per benchmark, model and defence.

    Args:
        logs: A log folder, log files, or anything ``samples_df`` reads.
        quiet: Hide ``samples_df``'s progress bar.

    Returns:
        A DataFrame indexed by (benchmark, model, defence) with, per rate of
        ``TABLE_COLUMNS``, its value (NaN when nothing was measured) and ``<rate>_n``
        (the known verdicts it is over). Only the latest log of each cell counts;
        samples that errored and unknown verdicts (NaN) are left out.
    """
    import pandas as pd

    frame = samples_df(logs, columns=SAMPLE_COLUMNS, quiet=quiet)
    frame = _with_cell(frame)
    latest = frame.groupby(["benchmark", "model", "defence"])["created"].transform("max")
    frame = frame[(frame["created"] == latest) & (frame["error"].fillna("") == "")]
    rows = {}
    for cell, samples in frame.groupby(["benchmark", "model", "defence"]):
        row: dict[str, float] = {}
        for name, (category, key) in TABLE_COLUMNS.items():
            column = f"score_{key}"
            values = (samples.loc[samples["metadata_category"] == category, column]
                      if column in samples else pd.Series(dtype=float))
            known = pd.to_numeric(values, errors="coerce").dropna()
            row[name] = known.mean() if len(known) else math.nan
            row[f"{name}_n"] = len(known)
        rows[cell] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = table.index.set_names(["benchmark", "model", "defence"])
    return table


def _with_cell(frame: pd.DataFrame) -> pd.DataFrame:
    """Each sample's benchmark and defence: the ``compare`` cell's, else the sample's."""
    frame = frame.copy()
    for name in ("benchmark", "defence"):
        sources: Sequence[str] = [c for c in (f"cell_{name}", f"metadata_{name}")
                                  if c in frame]
        value = frame["task_name"] if name == "benchmark" else "unknown"
        for column in reversed(sources):
            value = frame[column].where(frame[column].notna(), value)
        frame[name] = value
    return frame
