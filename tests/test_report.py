"""The report against a hand count of a scripted grid.

Two scripted models run the synthetic benchmark (4 benign, 4 harmful samples) under
none, ptst, ping and ping+guard. One sample errors (alpha, b3, whenever the prefix is
there), one judge verdict is unknown (alpha, ptst, h4), and beta's ptst log is deleted
after the run, so its cell is missing. Every figure below was counted by hand from the
scripts.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log
from test_compare_synthetic import BENCHMARK_TABLE, guard_model, scripted_model

from ping_inspect.compare import run_grid
from ping_inspect.report import build_report
from ping_inspect.report.logs import load_cells
from ping_inspect.report.stats import paired_difference, wilson_interval
from ping_inspect.report.tables import paired_rows

ALPHA = {
    "none": {"b4": "REFUSE", "h4": "REFUSE"},
    "ptst": {"b2": "REFUSE", "b4": "REFUSE", "h1": "REFUSE", "h2": "REFUSE", "h4": "UNSURE"},
    "ping": {"b3": "ERROR", "h1": "REFUSE", "h2": "REFUSE", "h3": "REFUSE", "h4": "REFUSE"},
}
BETA = {"ping": {"b4": "REFUSE", "h1": "REFUSE", "h2": "REFUSE", "h3": "REFUSE"}}
DEFENCES = ["none", "ptst", "ping", "ping+guard"]

# (benign success, benign refusal, harmful success, harmful refusal) as (k, n, unknown),
# then samples scored and errors. Under ping+guard the harmful tasks never reach the model.
HAND_COUNT = {
    ("mockllm/alpha", "none"): [(3, 4, 0), (1, 4, 0), (3, 4, 0), (1, 4, 0), 8, 0],
    ("mockllm/alpha", "ptst"): [(2, 4, 0), (2, 4, 0), (1, 4, 0), (2, 3, 1), 8, 0],
    ("mockllm/alpha", "ping"): [(3, 3, 0), (0, 3, 0), (0, 4, 0), (4, 4, 0), 7, 1],
    ("mockllm/alpha", "ping+guard"): [(3, 3, 0), (0, 3, 0), (0, 4, 0), (4, 4, 0), 7, 1],
    ("mockllm/beta", "none"): [(4, 4, 0), (0, 4, 0), (4, 4, 0), (0, 4, 0), 8, 0],
    ("mockllm/beta", "ping"): [(3, 4, 0), (1, 4, 0), (1, 4, 0), (3, 4, 0), 8, 0],
    ("mockllm/beta", "ping+guard"): [(3, 4, 0), (1, 4, 0), (0, 4, 0), (4, 4, 0), 8, 0],
}
METRICS = ["benign_success", "benign_refusal", "harmful_success", "harmful_refusal"]

# Defence minus none on shared samples: (difference, pairs) per metric, by hand.
PAIRED = {
    ("mockllm/alpha", "ptst"): [(-1 / 4, 4), (1 / 4, 4), (-2 / 4, 4), (2 / 3, 3)],
    ("mockllm/alpha", "ping"): [(1 / 3, 3), (-1 / 3, 3), (-3 / 4, 4), (3 / 4, 4)],
    ("mockllm/alpha", "ping+guard"): [(1 / 3, 3), (-1 / 3, 3), (-3 / 4, 4), (3 / 4, 4)],
    ("mockllm/beta", "ping"): [(-1 / 4, 4), (1 / 4, 4), (-3 / 4, 4), (3 / 4, 4)],
    ("mockllm/beta", "ping+guard"): [(-1 / 4, 4), (1 / 4, 4), (-1, 4), (1, 4)],
}


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval written out, to check the report's against."""
    z = 1.959963984540054
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    log_dir = tmp_path_factory.mktemp("grid")
    models = [scripted_model("alpha", ALPHA), scripted_model("beta", BETA)]
    ok, _ = run_grid(models, DEFENCES, ["synthetic"], str(log_dir), table=BENCHMARK_TABLE,
                     guard_model=guard_model(), fail_on_error=False, display="none")
    assert ok
    for info in list_eval_logs(str(log_dir)):
        header = read_eval_log(info, header_only=True)
        if (header.eval.model, header.eval.metadata["ping_inspect"]["defence"]) == (
                "mockllm/beta", "ptst"):
            Path(info.name.removeprefix("file://")).unlink()
    return log_dir


@pytest.fixture(scope="module")
def report(grid: Path):
    return build_report(grid, grid / "out")


def summary_rows(report) -> dict[tuple[str, str], dict[str, str]]:
    with report.summary_csv.open(encoding="utf-8") as handle:
        return {(r["model"], r["defence"]): r for r in csv.DictReader(handle)}


def test_every_rate_matches_the_hand_count(report) -> None:
    rows = summary_rows(report)
    assert set(rows) == {*HAND_COUNT, ("mockllm/beta", "ptst")}
    for key, (*rates, scored, errors) in HAND_COUNT.items():
        row = rows[key]
        assert (row["status"], int(row["samples_scored"]), int(row["errors"])) == (
            "success", scored, errors), key
        assert int(row["samples_expected"]) == 8
        for metric, (k, n, unknown) in zip(METRICS, rates, strict=True):
            low, high = wilson(k, n)
            assert float(row[metric]) == pytest.approx(k / n), (key, metric)
            assert float(row[f"{metric}_low"]) == pytest.approx(low, abs=1e-5), (key, metric)
            assert float(row[f"{metric}_high"]) == pytest.approx(high, abs=1e-5), (key, metric)
            assert (int(row[f"{metric}_n"]), int(row[f"{metric}_unknown"])) == (n, unknown)
            assert row[f"{metric}_interval"] == "wilson95"


def test_markdown_shows_the_same_figures(report) -> None:
    text = report.markdown.read_text(encoding="utf-8")
    table = text.split("Paired differences against")[0]  # the rates table comes first
    lines = {tuple(c.strip() for c in line.split("|")[1:3]): line
             for line in table.splitlines() if line.startswith("| mockllm/")}
    for key, (*rates, scored, errors) in HAND_COUNT.items():
        line = lines[key]
        for k, n, unknown in rates:
            low, high = wilson(k, n)
            expected = f"{100 * k / n:.1f}% [{100 * low:.1f}, {100 * high:.1f}] n={n}"
            assert expected + (f", {unknown} unknown" if unknown else "") in line, (key, line)
        assert f"| {scored}/8 |" in line
        assert f"| {errors} error{'' if errors == 1 else 's'} |" in line
    assert "Wilson score interval" in text and "Newcombe" in text
    assert "inspect view --log-dir" in text


def test_a_missing_cell_is_shown_as_missing_never_as_zero(report) -> None:
    row = summary_rows(report)[("mockllm/beta", "ptst")]
    assert row["status"] == "missing"
    assert all(row[m] == "" and row[f"{m}_n"] == "" for m in METRICS)
    line = next(line for line in report.markdown.read_text().splitlines()
                if line.startswith("| mockllm/beta | ptst |"))
    cells = [c.strip() for c in line.split("|")[1:-1]]
    assert cells[4:8] == ["missing"] * 4 and cells[-2] == "missing"  # rates, status
    assert "0.0%" not in line
    with report.paired_csv.open(encoding="utf-8") as handle:
        notes = {r["note"] for r in csv.DictReader(handle)
                 if (r["model"], r["defence"]) == ("mockllm/beta", "ptst")}
    assert notes == {"cell missing"}


def test_paired_differences_use_the_shared_samples(grid: Path, report) -> None:
    with report.paired_csv.open(encoding="utf-8") as handle:
        found = {(r["model"], r["defence"], r["metric"]): r for r in csv.DictReader(handle)}
    for (model, defence), figures in PAIRED.items():
        for metric, (difference, pairs) in zip(METRICS, figures, strict=True):
            row = found[(model, defence, metric)]
            assert float(row["difference"]) == pytest.approx(difference), (model, defence, metric)
            assert int(row["n_pairs"]) == pairs
            assert row["interval"] == "newcombe-paired95"
    # alpha, ptst against none, harmful refusal: h1, h2 refused only under ptst; h3 by
    # neither; h4 unknown under ptst and so left out. (treated, baseline) pairs:
    expected = paired_difference([(1, 0), (1, 0), (0, 0)])
    row = found[("mockllm/alpha", "ptst", "harmful_refusal")]
    assert (float(row["low"]), float(row["high"])) == pytest.approx(
        (expected.low, expected.high), abs=1e-5)
    # alpha, ping against none, benign success: b3 failed under ping and is left out.
    expected = paired_difference([(1, 1), (1, 1), (1, 0)])
    row = found[("mockllm/alpha", "ping", "benign_success")]
    assert (float(row["low"]), float(row["high"])) == pytest.approx(
        (expected.low, expected.high), abs=1e-5)
    text = report.markdown.read_text()
    assert "| mockllm/alpha | ptst | -25.0 [" in text


def test_prefix_mode_and_log_links_per_cell(grid: Path, report) -> None:
    rows = summary_rows(report)
    assert rows[("mockllm/alpha", "ping")]["prefix_source"] == "preset:web_glm"
    assert rows[("mockllm/alpha", "ping")]["prefix"].startswith("# As a responsible AI")
    assert rows[("mockllm/alpha", "ping")]["prefill_mode"] == "native"
    assert rows[("mockllm/alpha", "none")]["prefill_mode"] == ""
    for key in HAND_COUNT:
        link = rows[key]["log"]
        assert link.endswith(".eval") and not Path(link).is_absolute()
        assert (report.markdown.parent / link).is_file()
        assert f"[log]({link})" in report.markdown.read_text()


def test_plots_are_written(report) -> None:
    png, svg = report.plots
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "<svg" in svg.read_text(encoding="utf-8")[:2000]
    assert "mockllm/beta/ptst" in svg.read_text(encoding="utf-8")  # listed as not plotted


def test_cells_come_from_the_latest_log_of_each_identity(grid: Path) -> None:
    cells = load_cells(grid)
    assert sorted(c.key[1:] for c in cells) == sorted(
        [*HAND_COUNT, ("mockllm/beta", "ptst")])
    rows = paired_rows(cells)
    assert {(r.model, r.defence) for r in rows} == {*PAIRED, ("mockllm/beta", "ptst")}


def test_interval_functions_match_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857 (Wilson) and 17:2635 (paired,
    # method 10): examples from the papers, to 4 decimals.
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    published = {(36, 12, 2, 0): (0.0569, 0.3404), (18, 12, 2, 18): (0.0562, 0.3290),
                 (53, 0, 0, 1): (-0.0729, 0.0729), (0, 30, 0, 0): (0.8395, 1.0)}
    for (both, first, second, neither), bounds in published.items():
        pairs = [(1, 1)] * both + [(1, 0)] * first + [(0, 1)] * second + [(0, 0)] * neither
        result = paired_difference(pairs)
        assert result.value == pytest.approx((first - second) / len(pairs))
        assert (result.low, result.high) == pytest.approx(bounds, abs=1e-4)


def test_logs_of_plain_inspect_runs_are_read_from_sample_metadata(tmp_path: Path) -> None:
    from inspect_ai import eval
    from test_compare_synthetic import synthetic

    from ping_inspect.defences import PRESETS, ping

    model = scripted_model("gamma", {"ping": {"h1": "REFUSE"}})
    eval(synthetic(n_benign=1, n_harmful=1), solver=ping(preset="web_llama"), model=model,
         log_dir=str(tmp_path), display="none")
    [cell] = load_cells(tmp_path)
    assert cell.key == ("synthetic", "mockllm/gamma", "ping")
    assert cell.prefix == PRESETS["web_llama"].text  # read in full from a sample
    assert cell.prefill_modes == ["native"] and cell.expected == 2


def test_runs_sharing_a_label_are_told_apart() -> None:
    from ping_inspect.report.logs import CellResult, SampleOutcome, _disambiguate

    sample = SampleOutcome("h1", 1, "harmful", 0.0, 1.0)
    runs = (("preset:a", "x/1"), ("file:b", "x/2"))
    cells = [CellResult("web", "m", "ping", "success", prefix_source=source, identifier=ident,
                        samples=(sample,)) for source, ident in runs]
    assert sorted(c.defence for c in _disambiguate(cells)) == ["ping (file:b)", "ping (preset:a)"]
    same = [CellResult("web", "m", "none", "success", identifier=f"t/m/{h}")
            for h in ("abcdef1", "0123456")]
    assert sorted(c.defence for c in _disambiguate(same)) == ["none (#012345)", "none (#abcdef)"]


def test_unknown_and_non_binary_outcomes() -> None:
    from ping_inspect.report.logs import CellResult, SampleOutcome
    from ping_inspect.report.tables import summarise

    samples = (SampleOutcome("b1", 1, "benign", 0.5, math.nan),
               SampleOutcome("b2", 1, "benign", 1.0, 0.0),
               SampleOutcome("b3", 1, "benign", None, None, error="boom"))
    row = summarise(CellResult("web", "m", "none", "success", samples=samples))
    success, refusal = row.rates["benign_success"], row.rates["benign_refusal"]
    assert success.estimate.method == "normal" and success.estimate.value == 0.75
    assert (refusal.estimate.n, refusal.unknown, row.errors, row.scored) == (1, 1, 1, 2)
    assert math.isnan(row.rates["harmful_success"].estimate.value)  # no harmful samples


def test_bounds_at_none_and_all_are_exact_and_plot() -> None:
    from ping_inspect.report.plots import _error_bars

    for n in range(1, 200):  # rounding once left 0-of-3's lower bound above 0
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0
    assert _error_bars(0.0, 1e-17, 0.5) == [[0.0], [50.0]]


def test_the_code_panel_pairs_humaneval_success_with_redcode_refusal() -> None:
    from types import SimpleNamespace

    from ping_inspect.report.plots import _panels, _point

    def row(benchmark: str, defence: str, **known: float):
        rates = {metric: SimpleNamespace(estimate=SimpleNamespace(
            value=known.get(metric, math.nan), low=0.0, high=1.0,
            n=1 if metric in known else 0)) for metric in ("benign_success", "harmful_refusal")}
        cell = SimpleNamespace(benchmark=benchmark, model="m", defence=defence)
        return SimpleNamespace(cell=cell, missing=False, rates=rates)

    rows = [row("webdojo", "ping", benign_success=0.5, harmful_refusal=0.25),
            row("redcode:subset=ping", "ping", harmful_refusal=0.75),
            row("humaneval", "ping", benign_success=0.125),
            row("redcode:subset=ping", "none", harmful_refusal=0.0)]
    panels = _panels(rows)
    assert list(panels) == ["webdojo", "code: redcode:subset=ping + humaneval"]
    code = panels["code: redcode:subset=ping + humaneval"]
    assert _point(*code[("m", "ping")]) == ((0.125, 0.0, 1.0), (0.75, 0.0, 1.0))
    assert _point(*code[("m", "none")]) is None  # no HumanEval cell: listed, not drawn
    assert _point(*panels["webdojo"][("m", "ping")]) == ((0.5, 0.0, 1.0), (0.25, 0.0, 1.0))


def test_each_harmful_code_benchmark_has_its_own_panel_with_humaneval_success() -> None:
    from types import SimpleNamespace

    from ping_inspect.report.plots import _panels, _point

    def row(benchmark: str, **known: float):
        rates = {metric: SimpleNamespace(estimate=SimpleNamespace(
            value=known.get(metric, math.nan), low=0.0, high=1.0,
            n=1 if metric in known else 0)) for metric in ("benign_success", "harmful_refusal")}
        cell = SimpleNamespace(benchmark=benchmark, model="m", defence="none")
        return SimpleNamespace(cell=cell, missing=False, rates=rates)

    rows = [row("redcode:subset=ping", harmful_refusal=0.25),
            row("redcode:subset=eval", harmful_refusal=0.5),
            row("nearmiss", benign_success=0.9),
            row("humaneval", benign_success=0.125)]
    panels = _panels(rows)
    assert list(panels) == ["code: redcode:subset=ping + humaneval",
                            "code: redcode:subset=eval + humaneval"]
    assert _point(*panels["code: redcode:subset=ping + humaneval"][("m", "none")])[1][0] == 0.25
    assert _point(*panels["code: redcode:subset=eval + humaneval"][("m", "none")])[1][0] == 0.5


# --- bad logs, other tasks' logs, unmeasured rates, the echo-free refusal ---------------


def _copy_logs(grid: Path, dest: Path) -> None:
    import shutil

    for info in list_eval_logs(str(grid)):
        source = Path(info.name.removeprefix("file://"))
        shutil.copy(source, dest / source.name)


def test_a_corrupt_log_is_skipped_with_a_warning_that_names_it(grid: Path, tmp_path: Path,
                                                               capsys) -> None:
    from ping_inspect.cli import main

    _copy_logs(grid, tmp_path)
    corrupt = tmp_path / "2026-01-01T00-00-00+00-00_webdojo_broken.eval"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip archive")
    assert main(["report", str(tmp_path), "--no-plot"]) == 0
    captured = capsys.readouterr()
    assert f"warning: skipped unreadable log {corrupt}" in captured.err
    files = build_report(tmp_path, tmp_path / "out", plot=False)
    assert [path for path, _ in files.skipped] == [str(corrupt)]
    assert len(summary_rows(files)) == len(HAND_COUNT)  # the rest is reported
    text = files.markdown.read_text(encoding="utf-8")
    assert "## Unreadable logs (skipped)" in text and corrupt.name in text
    with pytest.warns(UserWarning, match=re.escape(corrupt.name)):
        load_cells(tmp_path)


def test_logs_of_other_tasks_are_listed_as_such_not_as_errors(tmp_path: Path) -> None:
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import get_model
    from inspect_ai.scorer import match
    from mock_models import output

    model = get_model("mockllm/model", custom_outputs=[output("4")], memoize=False)
    task = Task(dataset=[Sample(input="2+2?", target="4")], scorer=match(), name="arithmetic")
    eval(task, model=model, log_dir=str(tmp_path), display="none")
    files = build_report(tmp_path, tmp_path / "out", plot=False)
    assert [o.task for o in files.other] == ["arithmetic"]
    assert summary_rows(files) == {}
    text = files.markdown.read_text(encoding="utf-8")
    assert "## Other logs (not reported)" in text and "not a ping-inspect benchmark" in text
    assert "error" not in text.split("## Other logs")[1]


def test_a_rate_with_no_measured_verdict_reads_n_a_never_0() -> None:
    from ping_inspect.report.logs import CellResult, SampleOutcome
    from ping_inspect.report.tables import summarise
    from ping_inspect.report.writers import rate_text

    # First-response samples: success NaN (not measured) whether they refused or not.
    samples = (SampleOutcome("b1", 1, "benign", math.nan, 0.0),
               SampleOutcome("h1", 1, "harmful", math.nan, 1.0),
               SampleOutcome("h2", 1, "harmful", math.nan, 0.0))
    row = summarise(CellResult("webdojo", "m", "ping", "success", samples=samples))
    assert rate_text(row, "harmful_success") == "n/a (2 not measured)"
    assert rate_text(row, "benign_success") == "n/a (1 not measured)"
    assert rate_text(row, "harmful_refusal").startswith("50.0%")


def test_the_report_shows_the_papers_refusal_and_the_echo_free_one(tmp_path: Path) -> None:
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from mock_models import provider_model, replying

    from ping_inspect.agents import use_agent
    from ping_inspect.defences import PRESETS, ping
    from ping_inspect.webdojo.scorer import webdojo_scorer

    echo = PRESETS["web_glm"].text + '\ndo(action="Click", element="4")'
    samples = [Sample(id=f"{c[0]}1", input="task", metadata={"category": c,
                                                              "benchmark": "webdojo"})
               for c in ("benign", "harmful")]
    model = provider_model("vllm", "agent", replying("\n" + echo))
    eval(Task(dataset=samples, setup=use_agent("single_turn"), solver=ping(preset="web_glm"),
              scorer=webdojo_scorer()),
         model=model, log_dir=str(tmp_path), display="none")
    files = build_report(tmp_path, tmp_path / "out", plot=False)
    [row] = summary_rows(files).values()
    for category in ("benign", "harmful"):
        assert float(row[f"{category}_refusal"]) == 1.0  # the paper's patterns on the echo
        assert float(row[f"{category}_refusal_no_echo"]) == 0.0
        # single_turn takes no browser action: the (echoed) refusal did not act.
        assert float(row[f"{category}_refused_no_action"]) == 1.0
    text = files.markdown.read_text(encoding="utf-8")
    assert "harmful refusal, echo-free" in text and "benign refusal, echo-free" in text
    assert "harmful refused, no action" in text and "benign refused, no action" in text


def test_refused_no_action_is_its_own_rate_and_absent_in_older_logs() -> None:
    from ping_inspect.report.logs import CellResult, SampleOutcome
    from ping_inspect.report.tables import summarise
    from ping_inspect.report.writers import rate_text

    # h1 refused and acted anyway, h2 refused without acting, h3 unknown (a judge).
    samples = (SampleOutcome("h1", 1, "harmful", 0.0, 1.0, refused_no_action=0.0),
               SampleOutcome("h2", 1, "harmful", 0.0, 1.0, refused_no_action=1.0),
               SampleOutcome("h3", 1, "harmful", 0.0, math.nan, refused_no_action=math.nan),
               SampleOutcome("b1", 1, "benign", 1.0, 0.0))  # a log from before the key
    row = summarise(CellResult("redcode", "m", "ping", "success", samples=samples))
    assert rate_text(row, "harmful_refusal").startswith("100.0%") and "1 unknown" in \
        rate_text(row, "harmful_refusal")
    assert rate_text(row, "harmful_refused_no_action").startswith("50.0%")
    assert row.rates["harmful_refused_no_action"].estimate.n == 2
    assert rate_text(row, "benign_refused_no_action") == "no data (n=0)"  # absent, not unknown


def test_grid_files_in_subfolders_are_read_as_one_grid(tmp_path) -> None:
    from ping_inspect.compare import GRID_FILE
    from ping_inspect.report.logs import read_grid

    for folder, benchmark in (("a", "redcode"), ("b", "nearmiss")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / GRID_FILE).write_text(
            f"cells:\n- {{model: m, benchmark: {benchmark}, defence: none}}\n"
            f"- {{model: m, benchmark: {benchmark}, defence: ping}}\n", encoding="utf-8")
    assert read_grid(tmp_path) == [("redcode", "m", "none"), ("redcode", "m", "ping"),
                                   ("nearmiss", "m", "none"), ("nearmiss", "m", "ping")]
