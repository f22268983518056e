"""Throughput of the transformers/ provider against a plain transformers generate loop.

Both sides use the same loaded model, the same prompts (rendered with the same chat
template), the same batch size and the same number of new tokens, with greedy decoding.
The provider is driven the way an eval drives it: N concurrent ``Model.generate`` calls
through Inspect, which its batcher groups into batches. The plain loop calls
``model.generate`` on left-padded batches of the same size, one after another.

    python benchmarks/local_throughput.py                      # embedded SmolLM2, CPU
    python benchmarks/local_throughput.py --requests 64 --batch-size 32 --max-tokens 128
    python benchmarks/local_throughput.py --page-tokens 1100 --batch-size 4   # WebDojo-like

    python benchmarks/local_throughput.py --engines --page-tokens 1100   # llamacpp vs transformers

With ``--engines`` it compares the two local engines instead, in one run on the same
prompts: ``transformers/`` and ``llamacpp/`` (llama-server on the same model's GGUF), on
cold single-turn prompts (each with its own page) and on the agent workload (episodes of
``--turns`` turns, each turn re-sending the episode's history plus a new observation).

Prints a table (tokens/s over --repeats runs of each side, alternating which goes first)
and the ratio provider / plain (target: at least 0.9): the median of the per-repeat
ratios, which holds up best on a machine shared with other work, and best against best.
Set OMP_NUM_THREADS to pin torch's threads (it applies to the provider's worker thread too).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from inspect_ai.model import GenerateConfig, Model, get_model

from ping_inspect.models.generation import BatchGenerator, GenerationSettings
from ping_inspect.models.loading import encode_prompt, render_chat

TOPICS = [
    "the water cycle",
    "how a web browser loads a page",
    "the history of the bicycle",
    "why the sky is blue",
    "how vaccines train the immune system",
    "the rules of chess",
    "what a compiler does",
    "how bees make honey",
    "the causes of the seasons",
    "how a refrigerator works",
    "the life of a star",
    "why bread rises",
]


PAGE_LINE = '<li id="{i}"><a href="/item/{i}.html">Item {i}: fresh fruit and cheese</a></li>\n'
"""Filler shaped like a simplified web page (about 20 tokens a line)."""


def prompts(n: int, page_tokens: int = 0) -> list[str]:
    """Distinct prompts of varied length (so batches need padding, as in real use).

    With ``page_tokens``, each prompt carries a page of about that many tokens first, like
    a WebDojo observation.
    """
    page = "".join(PAGE_LINE.format(i=i) for i in range(page_tokens // 20))
    return [
        (f"Page:\n{page}\n" if page else "")
        + f"Explain {TOPICS[i % len(TOPICS)]} to a curious student"
        + (" in a few friendly paragraphs, with one example" * (i % 3))
        + f". (request {i})"
        for i in range(n)
    ]


class TimedGenerator:
    """Wraps the provider's batch generator to add up the time spent generating."""

    def __init__(self, generator: BatchGenerator) -> None:
        self.generator = generator
        self.context_length = generator.context_length
        self.seconds = 0.0

    def __call__(self, settings: GenerationSettings, prompts: list[list[int]]) -> list:
        started = time.perf_counter()
        try:
            return self.generator(settings, prompts)
        finally:
            self.seconds += time.perf_counter() - started


async def provider_run(model: Model, texts: list[str], max_tokens: int) -> tuple[int, float]:
    config = GenerateConfig(max_tokens=max_tokens, temperature=0)
    started = time.perf_counter()
    outputs = await asyncio.gather(*(model.generate(t, config=config) for t in texts))
    elapsed = time.perf_counter() - started
    return sum(o.usage.output_tokens for o in outputs if o.usage), elapsed


def plain_run(model: Model, texts: list[str], batch: int, max_tokens: int) -> tuple[int, float]:
    import torch

    hf_model, tokenizer = model.api.model, model.api.tokenizer  # type: ignore[attr-defined]
    eos = {hf_model.generation_config.eos_token_id, tokenizer.eos_token_id} - {None}
    rendered = [render_chat(tokenizer, [{"role": "user", "content": t}], False) for t in texts]
    tokens, started = 0, time.perf_counter()
    for start in range(0, len(rendered), batch):
        chunk = rendered[start : start + batch]
        enc = tokenizer(chunk, add_special_tokens=False, padding=True, return_tensors="pt")
        enc = enc.to(hf_model.device)
        with torch.inference_mode():
            out = hf_model.generate(**enc, max_new_tokens=max_tokens, do_sample=False)
        for row in out[:, enc["input_ids"].shape[1] :].tolist():
            ended = next((i for i, t in enumerate(row) if t in eos), None)
            tokens += len(row) if ended is None else ended + 1
    return tokens, time.perf_counter() - started


def cold_prompts(n: int, page_tokens: int) -> list[str]:
    """Single-turn prompts, each with a page of its own (no prefix shared between them)."""
    lines = max(page_tokens // 20, 1)
    return [
        "Page:\n" + "".join(PAGE_LINE.format(i=1000 * r + i) for i in range(lines))
        + f"\nWhich item would you click to buy fruit? (request {r})"
        for r in range(n)
    ]


async def single_turns(model: Model, texts: list[str], max_tokens: int) -> tuple[int, float]:
    return await provider_run(model, texts, max_tokens)


async def agent_episodes(
    model: Model, pages: list[str], turns: int, max_tokens: int
) -> tuple[int, float]:
    """Concurrent episodes; each turn sends the whole history and a new observation."""
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser

    config = GenerateConfig(max_tokens=max_tokens, temperature=0)
    system = ChatMessageSystem(content="You are a web agent. Answer with one action.")

    async def episode(page: str) -> int:
        history: list = [system, ChatMessageUser(content=page)]
        tokens = 0
        for turn in range(turns):
            output = await model.generate(history, config=config)
            tokens += output.usage.output_tokens if output.usage else 0
            history += [output.message, ChatMessageUser(content=f"Step {turn + 1}: the "
                        "page changed; item list as before. Next action?")]
        return tokens

    started = time.perf_counter()
    counts = await asyncio.gather(*(episode(p) for p in pages))
    return sum(counts), time.perf_counter() - started


def compare_engines(args: argparse.Namespace) -> None:
    """Time transformers/ and llamacpp/ on the same prompts, in one run."""
    engines = {
        "transformers": get_model(f"transformers/{args.model}", batch_size=args.batch_size),
        "llamacpp": get_model(f"llamacpp/{args.model}", slots=args.batch_size,
                              threads=args.threads),
    }
    cold = cold_prompts(args.requests, args.page_tokens)
    pages = cold_prompts(args.episodes, args.page_tokens)
    rows: dict[tuple[str, str], tuple[int, float]] = {}
    for name, model in engines.items():
        asyncio.run(single_turns(model, ["Say hi."] * 2, 4))  # warm up (no shared prefix)
        rows[(name, "cold single-turn")] = asyncio.run(
            single_turns(model, cold, args.max_tokens))
        rows[(name, "agent multi-turn")] = asyncio.run(
            agent_episodes(model, pages, args.turns, args.max_tokens))
        model.api.close()
    print(f"model={args.model} requests={args.requests} episodes={args.episodes}x"
          f"{args.turns} turns page_tokens~{args.page_tokens} max_new_tokens={args.max_tokens}"
          f" slots/batch={args.batch_size}")
    print("| engine | workload | tokens | wall s | tokens/s | llamacpp/transformers |")
    print("| --- | --- | --- | --- | --- | --- |")
    for workload in ("cold single-turn", "agent multi-turn"):
        base = rows[("transformers", workload)]
        for name in engines:
            tokens, seconds = rows[(name, workload)]
            ratio = (tokens / seconds) / (base[0] / base[1])
            print(f"| {name} | {workload} | {tokens} | {seconds:.1f} | "
                  f"{tokens / seconds:.1f} | {ratio:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2", help="smollm2, a folder or a cached id")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--dtype", default=None, help="fp32 (CPU default), bf16, fp16")
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--page-tokens", type=int, default=0,
                        help="prepend a page of about this many tokens to every prompt")
    parser.add_argument("--engines", action="store_true",
                        help="compare llamacpp/ and transformers/ instead")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="llama-server threads")
    args = parser.parse_args()
    if args.engines:
        compare_engines(args)
        return
    import torch

    model_args = {"batch_size": args.batch_size, "dtype": args.dtype, "device": args.device}
    model = get_model(
        f"transformers/{args.model}", **{k: v for k, v in model_args.items() if v is not None}
    )
    texts = prompts(args.requests, args.page_tokens)
    tokenizer = model.api.tokenizer  # type: ignore[attr-defined]
    prompt_tokens = [
        len(
            encode_prompt(
                tokenizer, render_chat(tokenizer, [{"role": "user", "content": t}], False)
            )
        )
        for t in texts
    ]
    # warm up both paths (first calls allocate and pick kernels)
    asyncio.run(provider_run(model, texts[: args.batch_size], 4))
    plain_run(model, texts[: args.batch_size], args.batch_size, 4)

    timed = TimedGenerator(model.api.generator)  # type: ignore[attr-defined]
    model.api.generator = timed  # type: ignore[attr-defined]
    results: dict[str, list[tuple[int, float]]] = {"provider": [], "plain": []}
    for repeat in range(args.repeats):
        # alternate which side goes first, so that load changes hit both alike
        order = ["provider", "plain"] if repeat % 2 == 0 else ["plain", "provider"]
        for side in order:
            if side == "provider":
                run = asyncio.run(provider_run(model, texts, args.max_tokens))
            else:
                run = plain_run(model, texts, args.batch_size, args.max_tokens)
            results[side].append(run)

    hf_model = model.api.model  # type: ignore[attr-defined]
    print(
        f"model={args.model} device={hf_model.device} dtype={hf_model.dtype} "
        f"requests={args.requests} batch={args.batch_size} max_new_tokens={args.max_tokens} "
        f"prompt_tokens={min(prompt_tokens)}-{max(prompt_tokens)} repeats={args.repeats} "
        f"torch_threads={torch.get_num_threads()}"
    )
    print(f"{'path':<10}{'tokens':>8}{'best s':>9}{'best tok/s':>12}{'median tok/s':>14}")
    rates = {side: [tokens / seconds for tokens, seconds in runs] for side, runs in results.items()}
    for side, runs in results.items():
        best = max(rates[side])
        tokens, seconds = runs[rates[side].index(best)]
        print(
            f"{side:<10}{tokens:>8}{seconds:>9.2f}{best:>12.1f}"
            f"{statistics.median(rates[side]):>14.1f}"
        )
    paired = [a / b for a, b in zip(rates["provider"], rates["plain"], strict=True)]
    print(f"ratio provider/plain per repeat: {', '.join(f'{r:.2f}' for r in paired)}")
    provider_wall = sum(seconds for _, seconds in results["provider"])
    print(
        f"provider: {100 * timed.seconds / provider_wall:.1f}% of its wall time inside "
        "model.generate (the rest is batching, rendering and Inspect)"
    )
    print(
        f"ratio provider/plain: median of pairs {statistics.median(paired):.3f}, "
        f"best vs best {max(rates['provider']) / max(rates['plain']):.3f} (target >= 0.9)"
    )


if __name__ == "__main__":
    main()
