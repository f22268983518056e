"""The llamacpp/ provider: a real llama-server on the embedded SmolLM2 GGUF.

Two servers for the module: one that continues turns (2 slots, small context, few
tokens) serves every model test and is stopped by the last test; one started with
``--no-prefill-assistant`` (it closes the turn) fails the probe and is then killed, as a
server that dies mid-run. Bad paths and a port in use fail before a server starts.
Skipped where llama-server is not built (`bash scripts/install.sh` builds it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    Model,
    get_model,
)
from inspect_ai.tool import ToolInfo, ToolParam, ToolParams

from ping_inspect.defences.catalog.ping import ping
from ping_inspect.models.llama_server import (
    LlamaServerError,
    dequantized_copy,
    find_llama_server,
)
from ping_inspect.prefill import (
    PrefillError,
    PrefillMode,
    model_turn,
    prefill_capability,
    probe_continuation,
)
from ping_inspect.webdojo.task import webdojo_task

try:
    find_llama_server()
    from ping_inspect.models.smollm2 import smollm2_gguf

    smollm2_gguf()
except Exception as err:  # noqa: BLE001
    pytest.skip(f"llama-server or the embedded model is missing: {err}", allow_module_level=True)

SMALL = {"slots": 2, "ctx": 4096, "threads": 2}
GREEDY = GenerateConfig(temperature=0.0, max_tokens=8)
CAPITAL = [
    ChatMessageUser(content="What is the capital of France? Answer in one word."),
    ChatMessageAssistant(content="The capital of France is"),
]
ADD = ToolInfo(
    name="add",
    description="Add two integers and return the sum.",
    parameters=ToolParams(
        properties={"a": ToolParam(type="integer"), "b": ToolParam(type="integer")},
        required=["a", "b"],
    ),
)


ADD_REQUEST = [ChatMessageUser(content="Use the add tool to add 2 and 3.")]
ADD_CALL_PREFIX = '<tool_call>\n{"name": "add", "arguments": {'
TOOL_TURN = GenerateConfig(temperature=0.0, max_tokens=40)


def llamacpp(**args: object) -> Model:
    return get_model("llamacpp/smollm2", memoize=False, **{**SMALL, **args})


@pytest.fixture(scope="module")
def model() -> Iterator[Model]:
    served = llamacpp()
    yield served
    served.api.close()


@pytest.fixture(scope="module")
def closing() -> Iterator[Model]:
    """A server that closes the assistant turn (it is killed by a test)."""
    served = llamacpp(slots=1, ctx=1024, server_args="--no-prefill-assistant")
    yield served
    served.api.close()


def server_pid(model: Model) -> int:
    return model.api.server.process.pid  # type: ignore[attr-defined]


async def test_continues_a_prefilled_turn_and_returns_the_continuation_only(
    model: Model,
) -> None:
    output = await model.generate(CAPITAL, config=GREEDY)
    assert "paris" in output.completion.lower()
    assert not output.completion.startswith("The capital")


async def test_ping_turn_is_native_and_reads_on_from_the_prefix(model: Model) -> None:
    assert prefill_capability(model).continues
    turn, message = await model_turn(
        model, CAPITAL[:1], prefix="The capital of France is", config=GREEDY
    )
    assert turn.mode == PrefillMode.NATIVE
    assert message.text.startswith("The capital of France is")
    assert "paris" in turn.continuation.lower()


def test_tools_reach_the_model_in_the_shared_template(model: Model) -> None:
    # What llama-server renders for a request with tools (its /apply-template endpoint).
    root = str(model.api.base_url).removesuffix("/v1")  # type: ignore[attr-defined]
    body = {"messages": [{"role": "user", "content": "Add 2 and 3."}],
            "tools": [{"type": "function", "function": {
                "name": "add", "description": "Add two integers.",
                "parameters": ADD.parameters.model_dump(exclude_none=True)}}]}
    request = urllib.request.Request(f"{root}/apply-template", json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        prompt = json.load(response)["prompt"]
    assert "<tools>" in prompt and '"name": "add"' in prompt and "<tool_call>" in prompt


async def test_a_request_with_tools_is_answered(model: Model) -> None:
    output = await model.generate(
        [ChatMessageUser(content="Use the add tool to add 2 and 3.")],
        tools=[ADD],
        config=GenerateConfig(temperature=0.0, max_tokens=16),
    )
    assert output.error is None and output.message is not None


async def test_a_tool_call_opened_in_the_prefix_comes_back_as_a_tool_call(
    model: Model,
) -> None:
    # SmolLM2 writes no call of its own: the turn is prefilled up to the arguments, it
    # closes the block (llama-server's own parser answered HTTP 500 on this turn).
    turn, message = await model_turn(model, ADD_REQUEST, prefix=ADD_CALL_PREFIX,
                                     tools=[ADD], config=TOOL_TURN)
    assert turn.mode == PrefillMode.NATIVE
    assert [call.function for call in message.tool_calls or []] == ["add"]
    assert message.tool_calls[0].parse_error is None  # type: ignore[index]
    assert turn.output.stop_reason == "tool_calls"
    assert "<tool_call>" not in turn.continuation and "</tool_call>" not in turn.continuation


async def test_ping_on_a_running_llamacpp_server_returns_tool_calls(model: Model) -> None:
    # The AgentHarm route (ping/llamacpp/...), on the module's server: -M base_url, its
    # template read from /props.
    pinged = get_model("ping/llamacpp/smollm2", memoize=False, prefix=ADD_CALL_PREFIX,
                       base_url=str(model.api.base_url))  # type: ignore[attr-defined]
    output = await pinged.generate(ADD_REQUEST, tools=[ADD], config=TOOL_TURN)
    assert [call.function for call in output.message.tool_calls or []] == ["add"]
    assert output.metadata["ping_inspect"]["mode"] == "native"  # type: ignore[index]


def test_missing_and_non_gguf_paths_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LlamaServerError, match="No GGUF file"):
        get_model(f"llamacpp/{tmp_path / 'missing.gguf'}", memoize=False)
    text = tmp_path / "model.gguf"
    text.write_text("not a model")
    with pytest.raises(LlamaServerError, match="not a GGUF file"):
        get_model(f"llamacpp/{text}", memoize=False)


def test_the_embedded_model_is_served_as_its_cached_f32_copy(model: Model) -> None:
    from ping_inspect.models.smollm2 import smollm2_gguf

    command = model.api.server.command  # type: ignore[attr-defined]
    served = Path(command[command.index("-m") + 1])
    assert served.name.endswith(".F32.gguf")
    assert served.read_bytes()[:4] == b"GGUF"
    # f32 weights are about 5.9x the Q4_1 file (4 bytes against 5 bits a weight).
    assert served.stat().st_size > 5 * smollm2_gguf().stat().st_size
    made = served.stat().st_mtime_ns
    assert dequantized_copy(smollm2_gguf()) == served
    assert served.stat().st_mtime_ns == made


def test_a_gguf_llama_quantize_cannot_read_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(LlamaServerError, match="could not make an f32 copy"):
        dequantized_copy(broken)
    assert not list(find_llama_server().parent.glob("models/broken.*"))


def test_dequantize_takes_true_or_false_only() -> None:
    with pytest.raises(LlamaServerError, match="dequantize=maybe: give true or false"):
        llamacpp(dequantize="maybe")


def test_a_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LlamaServerError, match=f"Port {port} .* is in use"):
            llamacpp(port=port)


def test_a_missing_binary_names_the_install_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PING_INSPECT_LLAMA_SERVER", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(LlamaServerError, match="bash scripts/install.sh"):
        find_llama_server()


def openai_api(served: Model) -> Model:
    return get_model("openai-api/llamaserver/smollm2", memoize=False,
                     base_url=str(served.api.base_url), api_key="none")  # type: ignore[attr-defined]


async def test_an_openai_api_server_that_continues_passes_the_probe(model: Model) -> None:
    client = openai_api(model)
    assert not prefill_capability(client).continues  # by name it would get user_suffix
    capability = await probe_continuation(client)
    assert capability.continues and capability.echoes_prefix
    turn, _ = await model_turn(client, CAPITAL[:1], prefix="The capital of France is",
                               mode="native", config=GREEDY)
    assert turn.mode == PrefillMode.NATIVE
    assert "paris" in turn.continuation.lower()
    assert not turn.continuation.startswith("The capital")


@pytest.mark.slow
@pytest.mark.browser
def test_the_web_tool_agent_acts_on_a_tool_call_from_the_server(
    model: Model, tmp_path: Path
) -> None:
    # WebDojo's tool-calling agent on the module's server: a turn prefilled with a click
    # the model closes is read as a click, carried out in the browser, answered.
    prefix = tmp_path / "click.txt"
    prefix.write_text('<tool_call>\n{"name": "click", "arguments": {"element": 5}}\n')
    client = get_model("llamacpp/smollm2", memoize=False,
                       base_url=str(model.api.base_url))  # type: ignore[attr-defined]
    [log] = eval(webdojo_task(agent="tools", max_steps=2, max_tokens=24), model=client,
                 solver=ping(prefix_file=str(prefix)), sample_id=["webdojo-1"],
                 display="none", log_dir=str(tmp_path))
    assert log.status == "success", log.error
    [sample] = log.samples or []
    first = next(m for m in sample.messages if isinstance(m, ChatMessageAssistant))
    assert [call.function for call in first.tool_calls or []] == ["click"]
    assert first.metadata["ping_inspect"]["mode"] == "native"  # type: ignore[index]
    assert any(isinstance(m, ChatMessageTool) for m in sample.messages)
    assert sample.scores["webdojo_scorer"].metadata["browser_actions"] >= 1  # type: ignore[index]


def test_server_is_stopped_at_close(model: Model) -> None:
    # Last test of the module: it stops the shared server.
    pid = server_pid(model)
    os.kill(pid, 0)
    model.api.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# The second server starts only after the first has stopped.


async def test_a_server_that_closes_the_turn_fails_the_probe(closing: Model) -> None:
    with pytest.raises(PrefillError, match="closed the assistant turn"):
        await probe_continuation(openai_api(closing))


async def test_a_server_that_dies_mid_run_is_an_error_not_an_answer(closing: Model) -> None:
    os.kill(server_pid(closing), signal.SIGKILL)
    closing.api.server.process.wait()  # type: ignore[attr-defined]
    with pytest.raises(LlamaServerError, match="exited with code"):
        await closing.generate(CAPITAL, config=GREEDY)
