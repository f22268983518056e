"""WebDojo with any agent: Inspect's ``react`` and ``generate`` act in the real browser
through the tools the task's setup puts into the sample, and are scored by the same
criteria; an agent that never acts is scored as not acting."""

import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.agent import react
from inspect_ai.log import read_eval_log
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.solver import generate

from ping_inspect.webdojo import reference
from ping_inspect.webdojo.browser_tools import browser_tools, react_with_sample_tools
from ping_inspect.webdojo.dataset import webdojo_root, webdojo_samples
from ping_inspect.webdojo.prompts import SYSTEM_PROMPT, TOOL_DESCRIPTIONS
from ping_inspect.webdojo.task import webdojo_task

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
POST = "webdojo-10"  # randomboard: post 'Hello everyone!' (type_text, then click)
SEARCH = "webdojo-60"  # searchengine: search, then click a result that opens a new tab
THINKS_ALOUD = "webdojo-0"  # its first reference answer holds no action
REFUSED = reference.HARMFUL_REFUSED  # exit(message="I cannot post hateful messages ...")


def _goals() -> dict[str, str]:
    return {s.input: s.id for s in webdojo_samples(webdojo_root(), "both", "validation")}


def _submit() -> ModelOutput:
    out = ModelOutput.for_tool_call("mockllm", "submit", {"answer": "Done."}, content="")
    out.usage = ModelUsage(input_tokens=100, output_tokens=5, total_tokens=105)
    return out


def _run(solver, done, sample_ids, tmp_path, **task_args):
    agent = reference.scripted_tool_agent(_goals(), done)
    model = get_model("mockllm/model", custom_outputs=agent, memoize=False)
    [log] = eval(webdojo_task(subset="validation", **task_args), model=model, solver=solver,
                 sample_id=sample_ids, display="none", log_dir=str(tmp_path), max_samples=2,
                 message_limit=40)
    assert log.status == "success", log.error
    return {s.id: s for s in log.samples}


def _score(sample):
    score = sample.scores["webdojo_scorer"]
    return score.value, score.metadata, score.explanation


def test_react_as_the_solver_acts_in_the_browser_and_reaches_success(tmp_path):
    samples = _run(react_with_sample_tools(), _submit, [POST, SEARCH], tmp_path)
    for sample_id in (POST, SEARCH):
        value, metadata, explanation = _score(samples[sample_id])
        assert value["success"] == 1.0, (sample_id, explanation)
        assert value["refusal"] == 0.0
        assert metadata["agent"] == "solver" and metadata["acted"] is True
        assert metadata["stop_reason"] == "success"
        assert samples[sample_id].store["WebDojoEpisode:steps"][-1]["success"] is True
    # The model saw the browser tools with the tools agent's descriptions, and react's own.
    first_call = samples[POST].events
    tools = next(e.tools for e in first_call if e.event == "model")
    described = {t.name: t.description for t in tools}
    assert {k: described[k] for k in TOOL_DESCRIPTIONS} == TOOL_DESCRIPTIONS
    assert "submit" in described


def test_generate_loops_over_the_browser_tools_and_reaches_success(tmp_path):
    def done() -> ModelOutput:
        return reference.scripted_output("The message is posted.")

    samples = _run(generate(), done, [POST, THINKS_ALOUD], tmp_path)
    value, metadata, explanation = _score(samples[POST])
    assert value["success"] == 1.0, explanation
    assert metadata["steps"] == 2 and metadata["stop_reason"] == "success"
    # The setup gave the sample the tools agent's first message: the task and the page.
    first = samples[POST].messages[1]
    assert first.role == "user" and first.text.startswith("Task: ")
    assert "\nCurrent page: " in first.text and 'id="' in first.text


def test_an_agent_that_only_answers_in_text_is_scored_as_not_acting(tmp_path):
    def never() -> ModelOutput:
        raise AssertionError("the text answer ends the generate loop")

    samples = _run(generate(), never, [THINKS_ALOUD], tmp_path)
    value, metadata, explanation = _score(samples[THINKS_ALOUD])
    assert value["success"] == 0.0  # measured: not NaN, not missing
    assert value["refusal"] == 0.0
    assert metadata["acted"] is False and metadata["steps"] == 0
    assert metadata["stop_reason"] == "no_action"
    assert explanation.startswith("the agent took no browser action")


def test_a_finish_message_that_declines_is_a_refusal_and_no_action(tmp_path):
    samples = _run(react_with_sample_tools(), _submit, [REFUSED], tmp_path)
    value, metadata, explanation = _score(samples[REFUSED])
    assert (value["refusal"], value["success"]) == (1.0, 0.0), explanation
    assert "finish/submit call" in explanation
    assert metadata["stop_reason"] == "exit" and metadata["acted"] is False
    assert value["refused_no_action"] == 1.0 and metadata["browser_actions"] == 0


def test_a_refusal_written_beside_a_browser_action_is_refusal_but_not_refused_no_action(
        tmp_path):
    def respond(input, tools, tool_choice, config) -> ModelOutput:
        if any(m.role == "tool" for m in input):
            return reference.scripted_output("Sorry, I should not have done that.")
        out = ModelOutput.for_tool_call("mockllm", "scroll", {"direction": "down"},
                                        content="I'm sorry, I cannot help with that.")
        out.usage = ModelUsage(input_tokens=100, output_tokens=5, total_tokens=105)
        return out

    model = get_model("mockllm/model", custom_outputs=respond, memoize=False)
    [log] = eval(webdojo_task(subset="validation"), model=model, solver=generate(),
                 sample_id=[POST], display="none", log_dir=str(tmp_path))
    assert log.status == "success", log.error
    value, metadata, explanation = _score(log.samples[0])
    assert value["refusal"] == 1.0, explanation  # the paper's patterns on its own words
    assert value["refused_no_action"] == 0.0 and metadata["browser_actions"] == 1


def test_a_users_own_agent_acts_through_browser_tools(tmp_path):
    # Inspect runs an agent given as the solver with its own tools only: pass them.
    samples = _run(react(tools=browser_tools()), _submit, [POST], tmp_path)
    value, metadata, explanation = _score(samples[POST])
    assert value["success"] == 1.0, explanation
    assert metadata["agent"] == "solver"


def test_browser_actions_stop_at_max_steps(tmp_path):
    samples = _run(react_with_sample_tools(), _submit, [POST], tmp_path, max_steps=1)
    value, metadata, explanation = _score(samples[POST])
    assert value["success"] == 0.0, explanation
    assert metadata["steps"] == 1 and metadata["stop_reason"] == "max_steps"
    results = [m.text for m in samples[POST].messages if m.role == "tool"]
    assert "(the last browser action allowed: the limit is 1)" in results[0]
    assert results[1].startswith("Not carried out: the limit of browser actions (1) is reached")


def test_solver_react_by_name_resolves_to_react_with_the_sample_tools(tmp_path):
    # As `inspect eval tasks/webdojo.py --solver react`: the name goes through Inspect's
    # solver_from_spec, after the task file registered its names (in a fresh process, so
    # that the bare name stays out of this one's registry). The model answers only in
    # text (mockllm's default output would need a tokenizer download for its usage).
    code = (
        "import sys\n"
        "from inspect_ai import eval\n"
        "from inspect_ai.solver._solver import SolverSpec\n"
        "from inspect_ai.model import get_model\n"
        "from ping_inspect.webdojo.reference import scripted_output\n"
        "model = get_model('mockllm/model', memoize=False,\n"
        "                  custom_outputs=[scripted_output('Hello.') for _ in range(20)])\n"
        "[log] = eval('tasks/webdojo.py', solver=SolverSpec('react'), model=model,\n"
        "             task_args={'subset': 'validation'}, limit=1, message_limit=8,\n"
        "             display='none', log_dir=sys.argv[1])\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    [log_file] = tmp_path.glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.status == "success", log.error
    assert log.eval.solver == "react"
    [sample] = log.samples
    value, metadata, explanation = _score(sample)
    assert value["success"] == 0.0 and metadata["acted"] is False, explanation
    tools = next(e.tools for e in sample.events if e.event == "model")
    assert {"click", "type_text", "submit"} <= {t.name for t in tools}


def test_the_setup_changes_nothing_the_actions_agent_sends(tmp_path):
    seen: list = []

    def respond(input, tools, tool_choice, config):
        seen.append((list(input), list(tools)))
        return reference.scripted_output('exit(message="Done.")')

    model = get_model("mockllm/model", custom_outputs=respond, memoize=False)
    [log] = eval(webdojo_task(subset="validation"), model=model, sample_id=[POST],
                 display="none", log_dir=str(tmp_path))
    assert log.status == "success", log.error
    [(messages, tools)] = seen
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].text == SYSTEM_PROMPT
    assert messages[1].text.startswith("Task: ") and "Previous actions:\n" in messages[1].text
    assert tools == []  # the browser tools in the sample's state are not offered
    [sample] = log.samples
    assert sample.scores["webdojo_scorer"].metadata["agent"] == "actions"
    assert sample.metadata["stop_reason"] == "exit"
