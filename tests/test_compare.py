"""The grid: cells, their identities for eval_set, resuming, and the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from inspect_ai import task_identifier
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.util import registry_info
from test_compare_synthetic import BENCHMARK_TABLE, scripted_model

from ping_inspect import compare
from ping_inspect.benchmarks import BENCHMARKS, Benchmark
from ping_inspect.cli import build_parser
from ping_inspect.compare import GRID_FILE, GridError, plan_cells, run_grid
from ping_inspect.compare.cli import split_benchmarks
from ping_inspect.compare.grid import registered_name
from ping_inspect.defences import PRESETS
from ping_inspect.inspect_compat import registry_lookup
from ping_inspect.report import build_report

TABLE = {**BENCHMARK_TABLE, "other": BENCHMARK_TABLE["synthetic"]}


def logs_by_cell(log_dir: Path) -> dict[tuple[str, str], list]:
    found: dict[tuple[str, str], list] = {}
    for info in list_eval_logs(str(log_dir)):
        header = read_eval_log(info, header_only=True)
        key = (header.eval.model, header.eval.metadata["ping_inspect"]["defence"])
        found.setdefault(key, []).append((info, header))
    return found


def test_interrupted_grid_resumes_only_missing_and_failed_cells(tmp_path: Path) -> None:
    calls = {"alpha": Counter(), "beta": Counter()}
    failing: set[str] = {"ptst"}
    models = [scripted_model("alpha", {}, calls["alpha"], failing),
              scripted_model("beta", {}, calls["beta"])]

    def grid() -> bool:
        ok, _ = run_grid(models, ["none", "ptst", "ping"], ["synthetic:n_harmful=2"],
                         str(tmp_path), table=BENCHMARK_TABLE, retry_attempts=0,
                         display="none")
        return ok

    # First run: alpha's ptst cell fails (every model call raises).
    assert not grid()
    logs = logs_by_cell(tmp_path)
    assert len(logs) == 6
    assert logs[("mockllm/alpha", "ptst")][0][1].status == "error"
    identities = {task_identifier(h, None) for cell in logs.values() for _, h in cell}
    assert len(identities) == 6  # each cell is its own task for eval_set
    report = build_report(tmp_path, tmp_path / "report")
    failed_line = next(line for line in report.markdown.read_text().splitlines()
                       if line.startswith("| mockllm/alpha | ptst |"))
    assert "| error |" in failed_line and "0.0%" not in failed_line

    # The run is interrupted: beta's none log is lost. The failure goes away.
    info, _ = logs[("mockllm/beta", "none")][0]
    Path(info.name.removeprefix("file://")).unlink()
    failing.clear()
    for counter in calls.values():
        counter.clear()
    assert grid()
    assert {d for d, _ in calls["alpha"]} == {"ptst"}
    assert {d for d, _ in calls["beta"]} == {"none"}
    assert sum(calls["beta"].values()) == 6  # 4 benign + 2 harmful, each once
    logs = logs_by_cell(tmp_path)
    assert all(len(v) == 1 and v[0][1].status == "success" for v in logs.values())

    # A third run finds every cell finished and runs nothing.
    for counter in calls.values():
        counter.clear()
    assert grid()
    assert not calls["alpha"] and not calls["beta"]


CRASHING_GRID = """
import os, sys
sys.path[:] = {path!r}
from inspect_ai.model import get_model
from mock_models import output
from test_compare_synthetic import BENCHMARK_TABLE, seen_defence
from ping_inspect.compare import run_grid

ptst_calls = 0

def respond(input, tools, tool_choice, config):
    global ptst_calls
    if seen_defence(input) == "ptst":
        ptst_calls += 1
        if ptst_calls == 3:
            os._exit(3)  # the machine goes down in the middle of the ptst cell
    return output("DONE")

model = get_model("mockllm/crash", custom_outputs=respond, memoize=False)
run_grid([model], ["none", "ptst", "ping"], ["synthetic"], {log_dir!r}, table=BENCHMARK_TABLE,
         display="none", max_tasks=1, max_samples=1)
"""


def test_a_crashed_grid_resumes_where_it_stopped(tmp_path: Path) -> None:
    script = CRASHING_GRID.format(path=sys.path, log_dir=str(tmp_path))
    crashed = subprocess.run([sys.executable, "-c", script], cwd=Path.cwd(), timeout=300)
    assert crashed.returncode == 3
    statuses = {key: [h.status for _, h in logs] for key, logs in logs_by_cell(tmp_path).items()}
    assert statuses == {("mockllm/crash", "none"): ["success"],
                        ("mockllm/crash", "ptst"): ["started"]}
    report = build_report(tmp_path, tmp_path / "report")
    text = report.markdown.read_text()
    assert "| mockllm/crash | ping | — | — | missing |" in text

    calls: Counter = Counter()
    ok, _ = run_grid([scripted_model("crash", {}, calls)], ["none", "ptst", "ping"],
                     ["synthetic"], str(tmp_path), table=BENCHMARK_TABLE, display="none")
    assert ok
    assert {d for d, _ in calls} == {"ptst", "ping"}  # the finished cell is not run again
    assert sum(n for (d, _), n in calls.items() if d == "ping") == 8
    assert 1 <= sum(n for (d, _), n in calls.items() if d == "ptst") <= 8
    rows = build_report(tmp_path, tmp_path / "report").summary_csv.read_text().splitlines()
    assert sum(",success," in row for row in rows) == 3


def test_cells_name_their_defence_prefix_and_guard() -> None:
    cells = plan_cells(["synthetic", "other:n_benign=1"], ["none", "ping", "ptst+ping", "guard"],
                       presets=["other=web_qwen"], guard_model="mockllm/guard", table=TABLE)
    by_key = {(c.benchmark, c.defence): c for c in cells}
    assert len(cells) == 8
    assert by_key[("synthetic", "ping")].prefix == PRESETS["web_glm"].text  # table default
    assert by_key[("other:n_benign=1", "ping")].prefix_source == "preset:web_qwen"
    assert by_key[("other:n_benign=1", "none")].task_args == {"n_benign": 1}
    assert by_key[("synthetic", "none")].prefix is None
    assert by_key[("synthetic", "ptst+ping")].prefill_mode == "auto"
    assert by_key[("synthetic", "guard")].guard_model == "mockllm/guard"
    assert by_key[("synthetic", "ping")].guard_model is None  # bound only where used
    task = compare.cell_task(by_key[("synthetic", "guard")], TABLE)
    assert str(task.model_roles["guard"]) == "mockllm/guard"
    assert task.metadata["ping_inspect"]["defence"] == "guard"


def test_prefix_file_per_benchmark(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("# Only benign tasks.\n")
    cells = plan_cells(["synthetic", "other"], ["ping"], prefix_files=[f"other={path}"],
                       table=TABLE)
    assert [(c.prefix, c.prefix_source) for c in cells] == [
        (PRESETS["web_glm"].text, "preset:web_glm"), ("# Only benign tasks.", f"file:{path}")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"benchmarks": ["nope"]}, "Unknown benchmark 'nope'"),
        ({"defences": ["shield"]}, "Unknown defence"),
        ({"defences": ["ping+guard"]}, "--guard-model"),
        ({"presets": ["nope"]}, "Unknown preset"),
        ({"presets": ["elsewhere=web_glm"]}, "'elsewhere' is not a benchmark"),
        ({"presets": ["web_glm"], "prefix_files": ["x.txt"]}, "not both"),
        ({"prefill_mode": "sideways"}, "Unknown prefill mode"),
        ({"benchmarks": ["synthetic", "synthetic"]}, "once"),
    ],
)
def test_bad_grids_are_clear_errors(kwargs, message) -> None:
    args = {"benchmarks": ["synthetic"], "defences": ["none", "ping"], "table": TABLE, **kwargs}
    with pytest.raises(GridError, match=message):
        plan_cells(**args)


def test_command_line_reaches_eval_set(tmp_path: Path, monkeypatch) -> None:
    seen = {}

    def fake_eval_set(**kwargs):
        seen.update(kwargs)
        return True, []

    monkeypatch.setitem(BENCHMARKS, "synthetic", BENCHMARK_TABLE["synthetic"])
    monkeypatch.setattr("inspect_ai.eval_set", fake_eval_set)
    args = build_parser().parse_args([
        "compare", "--models", "mockllm/a,mockllm/b", "--defences", "none,ptst,ping+guard",
        "--benchmarks", "synthetic:n_benign=2,n_harmful=1", "--log-dir", str(tmp_path),
        "--guard-model", "mockllm/guard", "--preset", "web_llama", "--limit", "3",
        "--model-role", "grader=mockllm/judge", "-M", "seed=1", "--fail-on-error", "0.5",
        "--temperature", "0", "--display", "none", "--sample-shuffle", "7",
    ])
    assert args.run(args) == 0
    assert seen["model"] == ["mockllm/a", "mockllm/b"]
    assert seen["limit"] == 3 and seen["temperature"] == 0 and seen["fail_on_error"] == 0.5
    assert seen["sample_shuffle"] == 7
    assert seen["model_roles"] == {"grader": "mockllm/judge"}
    assert seen["model_args"] == {"seed": 1}
    tasks = seen["tasks"]
    assert [t.metadata["ping_inspect"]["defence"] for t in tasks] == ["none", "ptst", "ping+guard"]
    assert tasks[2].metadata["ping_inspect"]["prefix_source"] == "preset:web_llama"
    assert tasks[0].metadata["ping_inspect"]["task_args"] == {"n_benign": 2, "n_harmful": 1}
    assert len(tasks[0].dataset) == 3
    grid = yaml.safe_load((tmp_path / GRID_FILE).read_text())["cells"]
    assert len(grid) == 6 and grid[0] == {"model": "mockllm/a",
                                          "benchmark": "synthetic:n_benign=2,n_harmful=1",
                                          "defence": "none"}


def test_command_line_list_and_errors(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(BENCHMARKS, "synthetic", BENCHMARK_TABLE["synthetic"])
    monkeypatch.setitem(BENCHMARKS, "other", Benchmark(
        "other", BENCHMARK_TABLE["synthetic"].task, preset="code_llama"))
    parser = build_parser()
    args = parser.parse_args(["compare", "--models", "m/x", "--benchmarks",
                              "synthetic;other:n_benign=1", "--defences", "none,ping",
                              "--log-dir", str(tmp_path), "--list"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "preset:web_glm" in out and "preset:code_llama" in out
    assert "   8 samples" in out and "   5 samples" in out
    assert not list(tmp_path.iterdir())  # nothing ran
    args = parser.parse_args(["compare", "--models", "m/x", "--benchmarks", "synthetic",
                              "--defences", "none", "--limit", "3", "--list",
                              "--log-dir", str(tmp_path)])
    assert args.run(args) == 0
    assert "   3 samples" in capsys.readouterr().out  # what will run under --limit
    args = parser.parse_args(["compare", "--models", "m/x", "--benchmarks", "webdojo",
                              "--defences", "guard", "--log-dir", str(tmp_path)])
    assert args.run(args) == 2
    assert "--guard-model" in capsys.readouterr().out
    args = parser.parse_args(["compare", "--models", "m/x", "--benchmarks", "webdojo",
                              "--model-role", "guard=m/g", "--log-dir", str(tmp_path)])
    assert args.run(args) == 2


def test_report_command_on_an_empty_directory(tmp_path: Path, capsys) -> None:
    args = build_parser().parse_args(["report", str(tmp_path)])
    assert args.run(args) == 2
    assert "No Inspect logs" in capsys.readouterr().out


def test_split_benchmarks() -> None:
    split = split_benchmarks
    assert split("webdojo,redcode:subset=ping") == ["webdojo", "redcode:subset=ping"]
    assert split("redcode:subset=ping,limit=2,webdojo") == ["redcode:subset=ping,limit=2",
                                                           "webdojo"]
    assert split("a:x=1;b") == ["a:x=1", "b"]


def _offline_agentharm(root: Path, monkeypatch) -> None:
    """Point inspect_evals' AgentHarm loader at the synthetic fixture (offline, no retries)."""
    utils = pytest.importorskip("inspect_evals.agentharm.utils")
    target = root / "agentharm_dataset" / "AgentHarm"
    shutil.copytree(Path(__file__).parent / "fixtures" / "agentharm", target)
    monkeypatch.setattr(utils, "AGENTHARM_DATASET_LOCATION", target)


@pytest.mark.parametrize("name", [n for n, b in BENCHMARKS.items() if b.task is not None])
def test_known_benchmarks_follow_the_conventions(name: str, tmp_path, monkeypatch) -> None:
    if name == "agentharm":
        _offline_agentharm(tmp_path, monkeypatch)
    spec = BENCHMARKS[name].task
    if registry_lookup("task", registered_name(spec)) is None:
        pytest.skip(f"{spec} is not part of this checkout")
    try:
        [cell] = plan_cells([name], ["ping"])
        task = compare.cell_task(cell)
    except GridError as err:
        if "data" not in str(err):
            raise
        pytest.skip(f"no {name} data here: {err}")
    assert registry_info(task.solver).name.split("/")[-1] == "ping"
    assert len(task.dataset) > 0
    for sample in task.dataset:
        assert sample.metadata["benchmark"] == name
        assert sample.metadata["category"] in ("benign", "harmful")
