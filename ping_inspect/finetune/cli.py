"""``ping-inspect finetune``: supervised fine-tuning of a local model on trajectories.

    ping-inspect finetune --model smollm2 --data code.jsonl --out out/smollm2-code
    ping-inspect finetune --model /path/to/model --data web.jsonl --out out/m --lora
    inspect eval tasks/humaneval.py --model transformers//abs/path/out/smollm2-code

The defaults are the PING paper's (1 epoch, lr 1e-5, cosine, warm-up 0.1); run the same
command again after an interruption to resume from the last checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from ping_inspect.finetune.train import FinetuneSettings

SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts",
              "polynomial")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``finetune`` arguments."""
    defaults = {f.name: f.default for f in fields(FinetuneSettings)}
    parser.add_argument("--model", required=True,
                        help="smollm2 (the embedded model), a local folder or a cached id")
    parser.add_argument("--data", required=True, help="JSONL of {'messages': [...]} records")
    parser.add_argument("--out", required=True, help="output folder (a transformers model)")
    parser.add_argument("--lora", action="store_true", help="train a LoRA adapter (PEFT), "
                        "merged into the saved weights; the adapter is kept in OUT/adapter")
    parser.add_argument("--epochs", type=float, default=defaults["epochs"])
    parser.add_argument("--lr", type=float, default=defaults["learning_rate"],
                        dest="learning_rate", help="learning rate (default 1e-5, the paper's)")
    parser.add_argument("--scheduler", default=defaults["scheduler"], choices=SCHEDULERS)
    parser.add_argument("--warmup-ratio", type=float, default=defaults["warmup_ratio"],
                        help="warm-up as a fraction of the steps, in [0, 1) (default 0.1)")
    parser.add_argument("--batch-size", type=int, default=defaults["batch_size"])
    parser.add_argument("--grad-accum", type=int, default=defaults["grad_accum"],
                        help="gradient accumulation steps (effective batch = batch x this; "
                             "the paper's effective batch was 128)")
    parser.add_argument("--max-length", type=int, default=defaults["max_length"],
                        help="tokens per example; longer ones are truncated")
    parser.add_argument("--max-steps", type=int, default=defaults["max_steps"],
                        help="stop after this many optimiser steps (default: the epochs)")
    parser.add_argument("--weight-decay", type=float, default=defaults["weight_decay"])
    parser.add_argument("--lora-r", type=int, default=defaults["lora_r"])
    parser.add_argument("--lora-alpha", type=int, default=defaults["lora_alpha"])
    parser.add_argument("--lora-dropout", type=float, default=defaults["lora_dropout"])
    parser.add_argument("--activation-checkpointing", action="store_true",
                        help="recompute activations in the backward pass (less memory, "
                             "about a third more compute)")
    parser.add_argument("--trl-metrics", action="store_true",
                        help="TRL's fused loss with per-step entropy and token accuracy "
                             "(about a tenth slower on CPU)")
    parser.add_argument("--all-tokens", action="store_true",
                        help="compute the loss on every token, not only the assistant's")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads on CPU (default: half the cores, at least 1)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda "
                        "when available)")
    parser.add_argument("--save-steps", type=int, default=None,
                        help="checkpoint every N steps (default: about ten per run)")
    parser.add_argument("--seed", type=int, default=defaults["seed"])
    parser.add_argument("--accelerate-config", metavar="NAME|PATH",
                        help="run under `accelerate launch` with this config: a shipped one "
                             "(ddp_cpu, ddp, fsdp, zero2, zero3) or a file")
    parser.add_argument("--processes", type=int,
                        help="with --accelerate-config: processes to launch (default: the "
                             "config's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from(args: argparse.Namespace) -> FinetuneSettings:
    """The run's settings from parsed arguments, checked.

    Raises:
        ValueError: a value out of its range (the message names the argument).
    """
    names = {f.name for f in fields(FinetuneSettings)}
    settings = FinetuneSettings(**{k: v for k, v in vars(args).items() if k in names})
    if not 0 <= settings.warmup_ratio < 1:
        raise ValueError(f"--warmup-ratio must be in [0, 1), not {settings.warmup_ratio}.")
    for name in ("epochs", "learning_rate", "batch_size", "grad_accum", "max_length"):
        if getattr(settings, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive.")
    if settings.threads is not None and settings.threads < 1:
        raise ValueError("--threads must be at least 1.")
    return settings


def _launch(args: argparse.Namespace) -> int:
    """Run this same command on every process of ``accelerate launch``."""
    import subprocess

    from ping_inspect.finetune.distributed import config_path, launch_command, without_own_options

    if args.processes is not None and args.processes < 1:
        raise ValueError("--processes must be at least 1.")
    config = config_path(args.accelerate_config)
    given = sys.argv[1:]  # `ping-inspect finetune ...` or `python -m ping_inspect.finetune ...`
    argv = given[given.index("finetune") + 1:] if "finetune" in given else given
    return subprocess.run(launch_command(config, args.processes, without_own_options(argv)),
                          check=False).returncode


def run(args: argparse.Namespace) -> int:
    """Fine-tune and report where the model is."""
    from ping_inspect.finetune.train import finetune

    try:
        settings = settings_from(args)
        if args.accelerate_config:
            return _launch(args)
        if args.processes is not None:
            raise ValueError("--processes needs --accelerate-config.")
    except ValueError as err:
        print(f"ping-inspect finetune: {err}", file=sys.stderr)
        return 2
    out = finetune(settings, progress=not args.no_progress)
    print(f"ping-inspect finetune: saved to {out.resolve()}; run it with "
          f"--model transformers/{out.resolve()}", file=sys.stderr)
    return 0
