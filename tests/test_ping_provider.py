"""The ping/ model provider: PING on any Inspect task, solver or agent."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.agent import react
from inspect_ai.dataset import Sample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Model,
    ModelOutput,
    ModelUsage,
    get_model,
)
from inspect_ai.scorer import Score, Target, mean, scorer
from inspect_ai.solver import TaskState, generate, system_message
from inspect_ai.tool import ToolInfo, tool
from mock_models import output

from ping_inspect.agents import use_agent
from ping_inspect.contracts import TURN_METADATA_KEY
from ping_inspect.defences import no_defence, ping
from ping_inspect.models.ping_provider import PingModelError
from ping_inspect.prefill import own_words

REPO = Path(__file__).resolve().parents[1]
LOGS = tempfile.mkdtemp(prefix="ping-inspect-tests-")
PREFIX = "# I refuse anything harmful, unethical or illegal."
SYSTEM = "You are a careful research assistant. Use the tools."


Call = tuple[list[ChatMessage], list[ToolInfo], GenerateConfig]


def _with_usage(out: ModelOutput) -> ModelOutput:
    out.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
    return out


def _script(outputs: list[ModelOutput], calls: list[Call]):
    """A mockllm custom_outputs callable: records each call, answers from the script."""

    def respond(input, tools, tool_choice, config):
        calls.append((list(input), list(tools), config))
        return outputs[min(len(calls), len(outputs)) - 1]

    return respond


def _ping_model(outputs: list[ModelOutput], calls: list[Call], **args) -> Model:
    args = args or {"prefix": PREFIX}
    return get_model("ping/mockllm/model", custom_outputs=_script(outputs, calls),
                     memoize=False, **args)


@tool
def lookup():
    async def execute(query: str) -> str:
        """Look a topic up.

        Args:
            query: The topic.
        """
        return f"notes on {query}"

    return execute


@tool
def save_note():
    async def execute(text: str) -> str:
        """Save a note.

        Args:
            text: The note.
        """
        return "saved"

    return execute


SEEN_BY_SCORER: list[list[str]] = []


@scorer(metrics=[mean()])
def words_seen():
    """Records what a scorer reads of the assistant turns."""

    async def score(state: TaskState, target: Target) -> Score:
        texts = [m.text for m in state.messages if isinstance(m, ChatMessageAssistant)]
        SEEN_BY_SCORER.append(texts)
        return Score(value=float(not any(PREFIX in t for t in texts)))

    return score


REACT_SCRIPT = [
    ("Looking it up.", "lookup", {"query": "tides"}),
    ("Saving a note.", "save_note", {"text": "tides follow the moon"}),
    ("Done.", "submit", {"answer": "Tides follow the moon."}),
]


def _react_outputs() -> list[ModelOutput]:
    return [
        _with_usage(ModelOutput.for_tool_call("mockllm/model", name, args, content=words))
        for words, name, args in REACT_SCRIPT
    ]


def test_a_react_agent_under_a_ping_model_keeps_its_system_prompt_tools_and_loop() -> None:
    calls: list[Call] = []
    SEEN_BY_SCORER.clear()
    task = Task(
        dataset=[Sample(input="Find out why tides happen.")],
        solver=react(prompt=SYSTEM, tools=[lookup(), save_note()]),
        scorer=words_seen(),
    )
    [log] = eval(task, model=_ping_model(_react_outputs(), calls), display="none",
                 log_dir=LOGS)
    assert log.status == "success", log.error

    assert len(calls) == 3  # the agent's own loop: two tools, then submit
    for i, (messages, tools, config) in enumerate(calls):
        assert messages[0].role == "system" and SYSTEM in messages[0].text
        assert {"lookup", "save_note"} <= {t.name for t in tools}
        assert messages[-1].role == "assistant" and messages[-1].text == PREFIX  # native
        assert config.temperature == 0.0  # greedy: no temperature was chosen
        # Earlier turns reach the model as it wrote them: prefix, then its own words.
        past = [m for m in messages[:-1] if isinstance(m, ChatMessageAssistant)]
        assert [m.text for m in past] == [PREFIX + w for w, _, _ in REACT_SCRIPT[:i]]

    sample = log.samples[0]
    # The scorer read the model's own words only (react adds the submitted answer).
    (seen,) = SEEN_BY_SCORER
    assert seen[:2] == ["Looking it up.", "Saving a note."]
    assert seen[2] == "Done.\n\nTides follow the moon."
    assert sample.scores["words_seen"].value == 1.0
    # The log shows prefix, continuation and mode for every call ...
    turns = [m for m in sample.messages if isinstance(m, ChatMessageAssistant)]
    records = [m.metadata[TURN_METADATA_KEY] for m in turns]
    assert [(r["prefix"], r["continuation"], r["mode"]) for r in records] == [
        (PREFIX, w, "native") for w, _, _ in REACT_SCRIPT
    ]
    infos = [e.data for e in sample.events if e.event == "info" and e.source == "ping_inspect"]
    assert [(d["prefix"], d["continuation"], d["mode"]) for d in infos] == [
        (PREFIX, w, "native") for w, _, _ in REACT_SCRIPT
    ]
    models = [e for e in sample.events if e.event == "model"]
    assert len(models) == 3 and all(e.model == "ping/mockllm/model" for e in models)
    assert all(e.output.metadata[TURN_METADATA_KEY]["mode"] == "native" for e in models)
    # ... and the tool calls of the continuation ran.
    assert [m.function for m in sample.messages if m.role == "tool"] == ["lookup", "save_note"]
    assert sample.output.completion.endswith("Tides follow the moon.")  # react's submit
    assert log.eval.model == "ping/mockllm/model"
    # Usage counted once, under the model that was evaluated.
    assert list(log.stats.model_usage) == ["ping/mockllm/model"]


def test_a_bundled_inspect_evals_task_runs_under_a_ping_model() -> None:
    calls: list[Call] = []

    def respond(input, tools, tool_choice, config):
        calls.append((list(input), list(tools), config))
        if not any(m.role == "tool" for m in input):
            return _with_usage(ModelOutput.for_tool_call(
                "mockllm/model", "memory_read", {"key": "policy"}, content="Checking memory."))
        return output("The knowledge base says the answer.")

    model = get_model("ping/mockllm/model", custom_outputs=respond, memoize=False,
                      preset="web_default")
    [log] = eval("inspect_evals/agent_threat_bench_memory_poison", model=model, limit=2,
                 display="none", log_dir=LOGS)
    assert log.status == "success", log.error
    assert calls and len(calls) == 4  # two samples, each: a tool call, then an answer
    for messages, tools, _ in calls:
        assert "research assistant" in messages[0].text  # the task's own system prompt
        assert {t.name for t in tools} == {"memory_read", "memory_write"}
        assert messages[-1].role == "assistant" and messages[-1].text.startswith("# Engage")
    for sample in log.samples:
        turns = [m for m in sample.messages if isinstance(m, ChatMessageAssistant)]
        assert [own_words(m) for m in turns] == [m.text for m in turns]
        assert not any("# Engage" in m.text for m in turns)
        assert any(m.role == "tool" and m.function == "memory_read" for m in sample.messages)


def test_user_suffix_mode_appends_to_the_message_the_model_answers() -> None:
    calls: list[Call] = []
    model = _ping_model([output("Sure.")], calls, preset="web_glm", mode="user_suffix")
    task = Task(dataset=[Sample(input="Plan a picnic.")],
                solver=[system_message(SYSTEM), generate()])
    [log] = eval(task, model=model, display="none", log_dir=LOGS)
    (messages, _, _), = calls
    assert messages[-1].role == "user"
    assert messages[-1].text.startswith("Plan a picnic.\n\n# As a responsible AI")
    last = log.samples[0].messages[-1]
    assert last.text == "Sure."
    assert last.metadata[TURN_METADATA_KEY]["placement"] == "end_of_user_message"
    assert log.samples[0].messages[1].text == "Plan a picnic."  # the conversation is intact


def test_a_ping_model_asks_for_a_prefix_given_as_text() -> None:
    with pytest.raises(PingModelError, match="needs a prefix"):
        get_model("ping/mockllm/model", memoize=False)
    with pytest.raises(PingModelError, match="as None"):
        get_model("ping/mockllm/model", prefix=None, memoize=False)  # "-M prefix=# ..."
    with pytest.raises(PingModelError, match="one of prefix, prefix_file or preset"):
        get_model("ping/mockllm/model", prefix="x", preset="web_glm", memoize=False)
    with pytest.raises(PingModelError, match="Unknown preset"):
        get_model("ping/mockllm/model", preset="nope", memoize=False)
    with pytest.raises(PingModelError, match="mode="):
        get_model("ping/mockllm/model", preset="web_glm", mode="prefill", memoize=False)
    with pytest.raises(PingModelError, match="wraps another model"):
        get_model("ping/mockllm", preset="web_glm", memoize=False)
    with pytest.raises(PingModelError, match="cannot wrap another ping"):
        get_model("ping/ping/mockllm/model", preset="web_glm", memoize=False)


def test_model_roles_are_not_wrapped_unless_bound_to_ping() -> None:
    calls: list[Call] = []
    grader_calls: list[Call] = []
    plain_grader = get_model("mockllm/model", custom_outputs=_script([output("C")], grader_calls),
                             memoize=False)

    @scorer(metrics=[mean()])
    def graded():
        async def score(state: TaskState, target: Target) -> Score:
            reply = await get_model(role="grader").generate("Grade this.")
            return Score(value=1.0, answer=reply.completion)

        return score

    task = Task(dataset=[Sample(input="hi")], solver=generate(), scorer=graded())
    [log] = eval(task, model=_ping_model([output("Hello.")], calls), display="none",
                 log_dir=LOGS, model_roles={"grader": plain_grader})
    assert calls[0][0][-1].text == PREFIX
    assert [m.role for m in grader_calls[0][0]] == ["user"]  # no prefix for the grader

    wrapped_calls: list[Call] = []
    wrapped_grader = _ping_model([output("C")], wrapped_calls)  # bound to ping/ by name
    [log] = eval(task, model=_ping_model([output("Hello.")], []), display="none",
                 log_dir=LOGS, model_roles={"grader": wrapped_grader})
    assert log.status == "success", log.error
    assert wrapped_calls[0][0][-1].text == PREFIX


def test_a_prefix_defence_on_a_ping_model_is_an_error() -> None:
    task = Task(dataset=[Sample(input="hi")], setup=use_agent("single_turn"),
                solver=ping(prefix=PREFIX))
    [log] = eval(task, model=_ping_model([output("x")], []), display="none", log_dir=LOGS)
    assert log.status == "error"
    assert "already puts a PING prefix" in log.error.message


def test_this_package_s_agents_run_under_a_ping_model_like_under_solver_ping() -> None:
    under_model: list[Call] = []
    task = Task(dataset=[Sample(input="hi")], setup=use_agent("single_turn"),
                solver=no_defence())
    [log] = eval(task, model=_ping_model([output(" I will not.")], under_model), display="none",
                 log_dir=LOGS)
    last = log.samples[0].messages[-1]
    assert under_model[0][0][-1].text == PREFIX
    assert last.text == " I will not."  # the model's own words
    assert last.metadata[TURN_METADATA_KEY]["prefix"] == PREFIX  # the wrapper's record kept
    # Greedy by default, decided once, by the ping/ model for its inner model.
    assert under_model[0][2].temperature == 0.0
    assert last.metadata[TURN_METADATA_KEY]["temperature_source"] == "default"


def test_a_defence_solver_on_a_task_without_agent_points_to_the_ping_model() -> None:
    task = Task(dataset=[Sample(input="hi")], solver=ping(prefix=PREFIX))
    model = get_model("mockllm/model", custom_outputs=[output("x")], memoize=False)
    [log] = eval(task, model=model, display="none", log_dir=LOGS)
    assert log.status == "error"
    message = log.error.message
    assert "declares no agent" in message and "--model ping/mockllm/model" in message
    assert not [e for e in log.samples[0].events if e.event == "model"]  # nothing ran


def test_the_cli_resolves_a_ping_model_with_its_arguments(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text(
        "from inspect_ai import Task, task\n"
        "from inspect_ai.dataset import Sample\n"
        "from inspect_ai.solver import generate, system_message\n\n\n"
        "@task\n"
        "def plain():\n"
        "    return Task(dataset=[Sample(input='hi')],\n"
        "                solver=[system_message('SYS'), generate()])\n"
    )
    # mockllm counts tokens with a downloaded tokenizer when an output has no usage.
    launcher = (
        "import sys\n"
        "from inspect_ai.model import ModelUsage\n"
        "from inspect_ai.model._providers.mockllm import MockLLM\n"
        "async def usage(self, output, input, tools):\n"
        "    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)\n"
        "MockLLM._ensure_default_usage = usage\n"
        "from inspect_ai._cli.main import main\n"
        "sys.argv = ['inspect', *sys.argv[1:]]\n"
        "main()\n"
    )
    command = [sys.executable, "-c", launcher, "eval", "plain.py", "--model",
               "ping/mockllm/model", "-M", "preset=web_glm", "-M", "mode=native",
               "--log-dir", str(tmp_path / "logs"), "--display", "none"]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "INSPECT_LOG_LEVEL": "warning"}
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode == 0, result.stderr
    from inspect_ai.log import read_eval_log

    (path,) = (tmp_path / "logs").glob("*.eval")
    log = read_eval_log(str(path))
    assert log.eval.model == "ping/mockllm/model"
    (event,) = [e for e in log.samples[0].events if e.event == "model"]
    record = event.output.metadata[TURN_METADATA_KEY]
    assert record["mode"] == "native" and record["prefix"].startswith("# As a responsible AI")
    assert record["prefix_source"] == "preset:web_glm"
