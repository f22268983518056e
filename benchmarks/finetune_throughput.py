"""Cost of ``ping-inspect finetune`` against a plain torch training loop on the same data.

For each mode (full, LoRA) and sequence length (512, 1024 tokens) it trains the same model
on the same tokenised conversation, once through ``finetune``'s TRL ``SFTTrainer`` and once
through a bare loop (forward, loss on the assistant tokens, backward, AdamW step), each in
its own process so that peak memory is that run's (``--trl-metrics`` adds TRL's fused loss
head, which also logs entropy and token accuracy every step). Reported: trained tokens per second
(median over the timed steps, after warm-up steps) and peak resident memory (peak CUDA
memory on a GPU), and the ratio TRL / plain (the target is at least 0.9).

    python benchmarks/finetune_throughput.py --model smollm2 --threads 1
    python benchmarks/finetune_throughput.py --model smollm2 --lengths 512 --modes lora
    python benchmarks/finetune_throughput.py --ddp --lengths 512   # 2 x 1 thread vs 1 x 2

``--ddp`` instead compares data parallelism on this machine's 2 cores: ``finetune`` as
2 DDP processes (the shipped ``ddp_cpu`` config's launcher, gloo) of 1 thread
and batch 1 each, against 1 process of 2 threads and batch 2, so both train the same
global batch. Reported: tokens/s and peak memory (per process, and summed for DDP).

Run it on a machine without other load: the figures are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def conversation(tokens: int) -> dict:
    """A CodeAct-shaped conversation longer than ``tokens``; the trainer cuts it to length.

    The assistant's turn comes early and is long, so that after truncation most trained
    tokens are the assistant's (compute is the same for masked and unmasked tokens).
    """
    code = "\n".join(f"def helper_{i}(x):\n    return x * {i} + {i % 7}" for i in range(tokens))
    return {"messages": [
        {"role": "system", "content": "You are a helpful assistant who can run Python code."},
        {"role": "user", "content": "Write helpers and test them."},
        {"role": "assistant", "content": f"Here they are.\n<execute>\n{code}\n</execute>"},
    ]}


def write_data(folder: Path, tokens: int, examples: int) -> Path:
    path = folder / f"data-{tokens}.jsonl"
    record = json.dumps(conversation(tokens))
    path.write_text("\n".join([record] * examples) + "\n", encoding="utf-8")
    return path


def peak_memory_mb(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_trl(args: argparse.Namespace) -> dict:
    """One configuration through ``finetune`` (TRL): step times from a callback."""
    from transformers import TrainerCallback

    from ping_inspect.finetune import train

    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.start)

    built = train.build_trainer

    def with_timer(*a, **k):
        trainer = built(*a, **k)
        trainer.add_callback(Timer())
        return trainer

    train.build_trainer = with_timer
    with tempfile.TemporaryDirectory() as out:
        settings = train.FinetuneSettings(
            model=args.model, data=args.data, out=out, lora=args.mode == "lora",
            learning_rate=1e-5, batch_size=args.batch, grad_accum=1,
            max_steps=args.warmup + args.steps,
            max_length=args.tokens, threads=args.threads, device=args.device,
            save_steps=10_000, warmup_ratio=0.0, trl_metrics=args.runner == "trl_metrics",
        )
        train.finetune(settings, progress=False)
    return {"step_s": statistics.median(times[args.warmup:]), "peak_mb": peak_memory_mb(
        args.device)}


def run_plain(args: argparse.Namespace) -> dict:
    """The same configuration as a bare torch loop on the trainer's own tokenisation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ping_inspect.finetune.records import read_jsonl
    from ping_inspect.finetune.template import training_template
    from ping_inspect.models.loading import resolve_model_source

    torch.set_num_threads(args.threads)
    source = resolve_model_source(args.model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    rendered = tokenizer.apply_chat_template(
        read_jsonl(args.data)[0]["messages"], chat_template=training_template(tokenizer),
        return_dict=True, return_assistant_tokens_mask=True,
    )
    ids = torch.tensor([rendered["input_ids"][: args.tokens]], device=args.device)
    mask = torch.tensor([rendered["assistant_masks"][: args.tokens]], device=args.device)
    labels = ids.masked_fill(mask == 0, -100)
    dtype = torch.float32 if args.device == "cpu" else torch.bfloat16
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype).to(args.device)
    if args.mode == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05,
                                                 target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    times = []
    for _ in range(args.warmup + args.steps):
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return {"step_s": statistics.median(times[args.warmup:]), "peak_mb": peak_memory_mb(
        args.device)}


def child(args: argparse.Namespace) -> None:
    result = run_plain(args) if args.runner == "plain" else run_trl(args)
    print("RESULT " + json.dumps(result), flush=True)


def child_command(args: argparse.Namespace, data: Path, mode: str, tokens: int,
                  threads: int, batch: int = 1, runner: str = "trl") -> list[str]:
    return [__file__, "--runner", runner, "--data", str(data), "--mode", mode,
            "--tokens", str(tokens), "--model", args.model, "--steps", str(args.steps),
            "--warmup", str(args.warmup), "--threads", str(threads), "--device", args.device,
            "--batch", str(batch)]


def results(command: list[str], threads: int, what: str) -> list[dict]:
    """Run a child (or a launch of several) and read every process's RESULT line."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"{what} failed:\n{done.stderr[-3000:]}")
    return [json.loads(x.removeprefix("RESULT ")) for x in lines]


def compare_ddp(args: argparse.Namespace) -> None:
    """2 DDP processes x 1 thread x batch 1 against 1 process x 2 threads x batch 2."""
    from ping_inspect.finetune.distributed import config_path, launcher

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for mode in args.modes.split(","):
            for tokens in (int(t) for t in args.lengths.split(",")):
                data = write_data(Path(folder), tokens, 2 * (args.warmup + args.steps))
                one = results([sys.executable, *child_command(args, data, mode, tokens, 2, 2)],
                              2, f"1 process {mode} {tokens}")[0]
                # The launcher finetune --accelerate-config ddp_cpu uses (torchrun here).
                launch = [*launcher(config_path("ddp_cpu"), 2),
                          *child_command(args, data, mode, tokens, 1, 1)]
                ddp = results(launch, 1, f"DDP {mode} {tokens}")
                rows.append((mode, tokens, one, ddp))
                print(f"{mode} {tokens}: 1 process {one}, DDP {ddp}", file=sys.stderr, flush=True)
    load = os.getloadavg()
    print(f"\nModel {args.model}, CPU, global batch 2, median of {args.steps} steps after "
          f"{args.warmup} warm-up; load average at the end {load[0]:.1f}.\n")
    print("| mode | tokens/sequence | run | tokens/s | step s | peak MB per process | "
          "peak MB in all | DDP / 1 process |")
    print("| --- " * 8 + "|")
    for mode, tokens, one, ddp in rows:
        ddp_step = max(r["step_s"] for r in ddp)
        print(f"| {mode} | {tokens} | 1 process x 2 threads, batch 2 | "
              f"{2 * tokens / one['step_s']:.0f} | {one['step_s']:.2f} | {one['peak_mb']:.0f} | "
              f"{one['peak_mb']:.0f} | 1.00 |")
        print(f"| {mode} | {tokens} | DDP 2 processes x 1 thread, batch 1 each | "
              f"{2 * tokens / ddp_step:.0f} | {ddp_step:.2f} | "
              f"{max(r['peak_mb'] for r in ddp):.0f} | {sum(r['peak_mb'] for r in ddp):.0f} | "
              f"{one['step_s'] / ddp_step:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--modes", default="full,lora")
    parser.add_argument("--lengths", default="512,1024")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--trl-metrics", action="store_true",
                        help="also time finetune --trl-metrics (TRL's fused loss and metrics)")
    parser.add_argument("--runner", choices=["trl", "trl_metrics", "plain"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--ddp", action="store_true",
                        help="2 DDP processes x 1 thread against 1 process x 2 threads")
    args = parser.parse_args()
    if args.runner:
        child(args)
        return
    if args.ddp:
        compare_ddp(args)
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for mode in args.modes.split(","):
            for tokens in (int(t) for t in args.lengths.split(",")):
                data = write_data(Path(folder), tokens, args.warmup + args.steps)
                result = {}
                runners = ["trl", "plain"] + (["trl_metrics"] if args.trl_metrics else [])
                for runner in runners:
                    command = child_command(args, data, mode, tokens, args.threads,
                                            runner=runner)
                    result[runner] = results([sys.executable, *command], args.threads,
                                             f"{runner} {mode} {tokens}")[0]
                rows.append((mode, tokens, result))
                print(f"{mode} {tokens}: {result}", file=sys.stderr, flush=True)
    load = os.getloadavg()
    print(f"\nModel {args.model}, {args.device}, {args.threads} thread(s), batch 1, "
          f"median of {args.steps} steps after {args.warmup} warm-up; load average at the end "
          f"{load[0]:.1f}.\n")
    extra = " finetune --trl-metrics tokens/s (ratio) |" if args.trl_metrics else ""
    print("| mode | tokens/step | finetune tokens/s | plain loop tokens/s | ratio | "
          f"finetune step s | plain step s | finetune peak MB | plain peak MB |{extra}")
    print("| --- " * (9 + bool(extra)) + "|")
    for mode, tokens, r in rows:
        trl, plain = r["trl"], r["plain"]
        line = (f"| {mode} | {tokens} | {tokens / trl['step_s']:.0f} | "
                f"{tokens / plain['step_s']:.0f} | {plain['step_s'] / trl['step_s']:.2f} | "
                f"{trl['step_s']:.2f} | {plain['step_s']:.2f} | {trl['peak_mb']:.0f} | "
                f"{plain['peak_mb']:.0f} |")
        if "trl_metrics" in r:
            fused = r["trl_metrics"]["step_s"]
            line += f" {tokens / fused:.0f} ({plain['step_s'] / fused:.2f}) |"
        print(line)


if __name__ == "__main__":
    main()
