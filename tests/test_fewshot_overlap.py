"""Scored samples are never the ones the few-shot block shows (or the search tunes on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.model import get_model
from inspect_ai.util import Store
from mock_models import replying

from ping_inspect.agents import use_agent
from ping_inspect.compare import GridError, cell_task, plan_cells
from ping_inspect.contracts import AgentSpec
from ping_inspect.defences import fewshot
from ping_inspect.defences.fewshot import FewshotOverlapError, check_not_shown, fewshot_examples
from ping_inspect.humaneval.dataset import humaneval_dataset
from ping_inspect.humaneval.task import humaneval_task
from ping_inspect.redcode.dataset import redcode_dataset
from ping_inspect.redcode.task import redcode_task
from ping_inspect.webdojo.dataset import webdojo_root, webdojo_samples
from ping_inspect.webdojo.task import webdojo_task


def _spec(benchmark: str) -> AgentSpec:
    return AgentSpec(store=Store(), benchmark=benchmark)


def _pairs(samples) -> list[tuple[object, dict]]:
    return [(s.id, s.metadata or {}) for s in samples]


def test_webdojo_scores_the_papers_test_subset_by_default() -> None:
    dataset = webdojo_task().dataset
    assert len(dataset) == 126
    assert {s.metadata["subset"] for s in dataset} == {"test"}
    assert len(webdojo_task(subset="all").dataset) == 140


def test_no_default_run_scores_a_sample_its_fewshot_block_shows() -> None:
    # Every example each benchmark can show, against every sample of its default run.
    webdojo = fewshot_examples(_spec("webdojo"), 7, 7)
    check_not_shown(webdojo, _pairs(webdojo_task().dataset))
    redcode = fewshot_examples(_spec("redcode"), 6, 27)
    check_not_shown(redcode, _pairs(redcode_dataset("eval")))
    humaneval = fewshot_examples(_spec("humaneval"), 6, 27)
    check_not_shown(humaneval, _pairs(humaneval_task().dataset))
    assert len(humaneval_dataset()) == 164
    assert all(e.source for e in webdojo) and all(e.source for e in redcode if e.harmful)


def test_webdojo_validation_tasks_shown_as_examples_are_an_error_naming_them() -> None:
    examples = fewshot_examples(_spec("webdojo"), 5, 5)
    samples = webdojo_samples(webdojo_root(), "both", "all")
    with pytest.raises(FewshotOverlapError) as error:
        check_not_shown(examples, _pairs(samples))
    message = str(error.value)
    assert "webdojo-0, webdojo-10" in message and "webdojo-71" in message
    assert "webdojo-60" not in message  # the 6th and 7th benign examples are not shown
    assert "-T subset=test" in message


def test_fewshot_refuses_to_score_a_webdojo_sample_it_shows(tmp_path: Path) -> None:
    # The check runs before the agent: no browser is needed to see it fire.
    shown = next(s for s in webdojo_samples(webdojo_root(), "benign", "validation"))
    websites = str(webdojo_root() / "websites")
    task = Task(dataset=[shown], setup=use_agent("webdojo", benchmark="webdojo",
                                                 websites=websites))
    model = get_model("mockllm/model", custom_outputs=replying("exit()"), memoize=False)
    [log] = eval(task, model=model, solver=fewshot(), display="none", log_dir=str(tmp_path))
    assert log.status == "error"
    error = log.samples[0].error.message
    assert "shows webdojo-0 as few-shot example" in error and "-T subset=test" in error


def test_fewshot_refuses_to_score_redcode_items_it_shows(tmp_path: Path) -> None:
    model = get_model("mockllm/model", custom_outputs=replying("ok"), memoize=False)
    task = redcode_task(subset="ping", forms="code", scenarios="1-2", first_response=True)
    [log] = eval(task, model=model, solver=fewshot(), display="none", log_dir=str(tmp_path))
    assert log.status == "error"
    errors = [s.error.message for s in log.samples if s.error]
    assert any("1_22-code" in e and "-T subset=eval" in e for e in errors)


def test_the_grid_refuses_a_fewshot_cell_that_scores_its_examples_at_construction() -> None:
    [cell] = plan_cells(["webdojo:subset=validation"], ["fewshot"])
    with pytest.raises(GridError, match=r"webdojo:subset=validation \[fewshot\]: .*webdojo-0"):
        cell_task(cell)
    [cell] = plan_cells(["webdojo"], ["fewshot"])
    assert len(cell_task(cell).dataset) == 126
