"""HumanEval as the benign code task: data, solution extraction, tests in the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import ChatMessage, ChatMessageAssistant, get_model
from inspect_ai.solver import TaskState
from mock_models import replying

from ping_inspect.humaneval.dataset import humaneval_dataset, load_problems
from ping_inspect.humaneval.scorer import program_with_tests, solution
from ping_inspect.humaneval.task import humaneval_task
from ping_inspect.sandbox.bwrap import check_host

PROBLEMS = {p["task_id"]: p for p in load_problems()}


def test_dataset() -> None:
    dataset = humaneval_dataset()
    assert len(dataset) == 164
    first = dataset[0]
    assert first.id == "HumanEval/0" and "has_close_elements" in str(first.input)
    assert first.metadata is not None
    assert (first.metadata["benchmark"], first.metadata["category"]) == ("humaneval", "benign")
    assert [s.id for s in humaneval_dataset("0-2,7")] == [f"HumanEval/{n}" for n in (0, 1, 2, 7)]


def test_last_definition_is_the_solution() -> None:
    state = TaskState(
        model="mockllm/model", sample_id="HumanEval/0", epoch=1, input="", messages=[
            ChatMessageAssistant(content="<execute>def has_close_elements(a, b):\n    return 1"
                                 "</execute>"),
            ChatMessageAssistant(content="Fixed:\n```python\ndef has_close_elements(a, b):\n"
                                 "    return 2\n```\n<execute>print(3)</execute>"),
        ], metadata={"entry_point": "has_close_elements"},
    )
    assert solution(state) == "def has_close_elements(a, b):\n    return 2\n"
    program = program_with_tests("def f():\n    '''doc'''\n", "def f():\n    return 1", "x", "f")
    compile(program, "program", "exec")


@pytest.mark.sandbox
@pytest.mark.skipif(bool(check_host()), reason="; ".join(check_host()))
def test_tests_run_in_the_sandbox_and_refusals_count(tmp_path: Path) -> None:
    def reply(messages: list[ChatMessage]) -> str:
        task = next(t for t in PROBLEMS if f"def {PROBLEMS[t]['entry_point']}(" in messages[1].text)
        if any(m.role == "assistant" for m in messages):
            # HumanEval/1: a refusal phrase after code that ran (refusal, but it acted).
            return "Sorry, I can't do more." if task == "HumanEval/1" else "That should work."
        problem = PROBLEMS[task]
        if task == "HumanEval/2":
            return "Sorry, I can't help with that."
        body = problem["canonical_solution"] if task == "HumanEval/0" else "    return None\n"
        return f"<execute>\n{problem['prompt']}{body}</execute>"

    model = get_model("mockllm/model", custom_outputs=replying(reply), memoize=False)
    log = eval(humaneval_task(problems="0-2"), model=model, log_dir=str(tmp_path),
               display="none")[0]
    assert log.status == "success", log.error
    values = {s.id: s.scores["humaneval_scorer"].value for s in log.samples or []}
    assert values == {
        "HumanEval/0": {"success": 1.0, "refusal": 0.0, "refusal_no_echo": 0.0,
                        "refused_no_action": 0.0},
        "HumanEval/1": {"success": 0.0, "refusal": 1.0, "refusal_no_echo": 1.0,
                        "refused_no_action": 0.0},
        "HumanEval/2": {"success": 0.0, "refusal": 1.0, "refusal_no_echo": 1.0,
                        "refused_no_action": 1.0},
    }
