"""Supervised fine-tuning on agent trajectories: TRL's ``SFTTrainer``, loss on the agent's turns.

Defaults are the PING paper's (1 epoch, learning rate 1e-5, cosine schedule, warm-up 0.1
of the steps); every one can be changed. Full fine-tuning or LoRA (PEFT; merged into the
weights at the end, the adapter kept beside them). On CPU the number of torch threads is
set explicitly (on a busy 2-core machine 2 threads ran 7x slower than 1). Checkpoints go
to ``OUT/checkpoints``; running the same command again after a kill resumes from the last
one. ``OUT`` ends as a transformers folder that ``--model transformers//OUT`` loads, with a
card (``README.md``, ``finetune.json``) recording the base model, the data's hash and the
settings.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ping_inspect.finetune.records import file_sha256, read_jsonl

CARD_FILE = "finetune.json"
CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"


@dataclass
class FinetuneSettings:
    """Everything a fine-tuning run depends on (recorded in the output's card)."""

    model: str
    data: str
    out: str
    lora: bool = False
    epochs: float = 1.0
    learning_rate: float = 1e-5
    scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    batch_size: int = 1
    grad_accum: int = 8
    max_length: int = 2048
    max_steps: int = -1
    weight_decay: float = 0.0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    activation_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about a third more compute
    (TRL turns it on by default; off here, since a small model's activations fit)."""
    trl_metrics: bool = False
    """Use TRL's fused loss head, which also logs per-token entropy and accuracy each step
    (it recomputes the output layer in the backward pass: about a tenth slower on CPU).
    Off: the model's own cross-entropy on the same labels, as a plain torch loop computes it."""
    all_tokens: bool = False
    """Train on every token, not only the assistant's (no generation markers needed)."""
    threads: int | None = None
    """Torch threads on CPU (None: half the cores, at least one)."""
    device: str | None = None
    save_steps: int | None = None
    """Checkpoint every N optimiser steps (None: about ten per run, at least every step
    for short runs)."""
    seed: int = 42
    logging_steps: int = 1


def default_threads() -> int:
    """Half the machine's cores, at least one (leaves room for the rest of the machine)."""
    return max(1, (os.cpu_count() or 2) // 2)


def finetune(settings: FinetuneSettings, progress: bool = True,
             callbacks: Sequence[Any] = ()) -> Path:
    """Fine-tune ``settings.model`` on ``settings.data`` and save it to ``settings.out``.

    Args:
        settings: The run's settings.
        progress: Show a progress bar.
        callbacks: ``transformers.TrainerCallback`` objects added to the trainer (e.g.
            ``ping-inspect reproduce`` exports each checkpoint as a model to evaluate).

    Returns:
        The output folder.
    """
    import torch

    from ping_inspect.models.loading import default_device, resolve_model_source

    device = settings.device or default_device()
    if not device.startswith("cuda"):
        threads = settings.threads or default_threads()
        torch.set_num_threads(threads)
        settings.threads = threads
    out = Path(settings.out)
    checkpoints = out / CHECKPOINTS
    source = resolve_model_source(settings.model)
    model, tokenizer, original_template = _load(source, settings, device)
    dataset = training_dataset(settings.data)
    trainer = build_trainer(model, tokenizer, dataset, settings, checkpoints, device, progress)
    for callback in callbacks:
        trainer.add_callback(callback)
    last = last_complete_checkpoint(checkpoints)
    started = time.time()
    result = trainer.train(resume_from_checkpoint=last)
    elapsed = time.time() - started
    _save(trainer, tokenizer, original_template, settings, out)
    if trainer.is_world_process_zero():
        write_card(out, settings, source, len(dataset), trainer, result, elapsed,
                   resumed_from=last)
    return out


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint that was written to the end (its trainer state is saved last).

    A run killed while saving leaves a checkpoint without its state; resuming skips it.
    """
    if not folder.is_dir():
        return None
    complete = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()
                and p.name.split("-")[-1].isdigit()]
    if not complete:
        return None
    return str(max(complete, key=lambda p: int(p.name.split("-")[-1])))


def _load(source: str, settings: FinetuneSettings, device: str) -> tuple[Any, Any, str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ping_inspect.finetune.template import training_template

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    original = tokenizer.chat_template
    if not settings.all_tokens:
        tokenizer.chat_template = training_template(tokenizer)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    # Training in fp32 on CPU (bf16 matmuls are slow there and lose precision); the
    # accelerator's own dtype elsewhere.
    dtype = torch.bfloat16 if bf16_available(device) else torch.float32
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=True)
    if settings.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=settings.lora_r, lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout, target_modules="all-linear",
            task_type="CAUSAL_LM",
        ))
    return model, tokenizer, original


def training_dataset(path: str) -> Any:
    """The JSONL records as a ``datasets.Dataset`` of conversations (and tool schemas)."""
    from datasets import Dataset

    rows = []
    for record in read_jsonl(path):
        row: dict[str, Any] = {"messages": [_plain(m) for m in record["messages"]]}
        if record.get("tools"):
            row["tools"] = json.dumps(record["tools"])
        rows.append(row)
    if any("tools" in row for row in rows):
        for row in rows:
            row.setdefault("tools", None)
    return Dataset.from_list(rows)


def _plain(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the chat template reads it (tool-call arguments as JSON text)."""
    plain = dict(message)
    if plain.get("tool_calls"):
        plain["tool_calls"] = [
            {**call, "function": {**call["function"],
                                  "arguments": json.dumps(call["function"]["arguments"])}}
            for call in plain["tool_calls"]
        ]
    return plain


def build_trainer(
    model: Any, tokenizer: Any, dataset: Any, settings: FinetuneSettings, checkpoints: Path,
    device: str, progress: bool = True,
) -> Any:
    """The ``SFTTrainer`` for a run (assistant-only loss unless ``all_tokens``)."""
    from trl import SFTConfig, SFTTrainer

    trainer_class = SFTTrainer if settings.trl_metrics else lean_trainer_class()
    steps_per_epoch = max(1, -(-len(dataset) // (settings.batch_size * settings.grad_accum)))
    total = settings.max_steps if settings.max_steps > 0 else int(
        steps_per_epoch * settings.epochs + 0.999)
    save_steps = settings.save_steps or max(1, total // 10)
    config = SFTConfig(
        output_dir=str(checkpoints),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.scheduler,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a ratio of the steps
        weight_decay=settings.weight_decay,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        max_length=settings.max_length,
        assistant_only_loss=not settings.all_tokens,
        packing=False,
        activation_checkpointing=settings.activation_checkpointing,
        logging_steps=settings.logging_steps,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=2,
        seed=settings.seed,
        report_to="none",
        disable_tqdm=not progress,
        use_cpu=not device.startswith("cuda"),
        bf16=bf16_available(device),
        dataloader_num_workers=0,
        dataset_num_proc=None,
    )
    return trainer_class(model=model, args=config, train_dataset=dataset,
                         processing_class=tokenizer)


def bf16_available(device: str) -> bool:
    """Whether to train in bf16: on a CUDA device that has it."""
    import torch

    return device.startswith("cuda") and torch.cuda.is_available() and (
        torch.cuda.is_bf16_supported())


def lean_trainer_class() -> type:
    """``SFTTrainer`` with the loss the model computes itself.

    TRL's data processing, assistant masks, schedule and checkpoints are kept; TRL's fused
    loss head and its per-step entropy and accuracy metrics are not.
    """
    from transformers import Trainer
    from trl import SFTTrainer

    class LeanSFTTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            return Trainer.compute_loss(self, model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)

    return LeanSFTTrainer


def _save(trainer: Any, tokenizer: Any, original_template: str, settings: FinetuneSettings,
          out: Path) -> None:
    """Save a plain transformers folder (LoRA merged, adapter kept in ``adapter/``).

    Every process takes part in gathering the weights (FSDP and ZeRO-3 shard them); only
    the first process writes.
    """
    accelerator = trainer.accelerator
    accelerator.wait_for_everyone()
    sharded = accelerator.distributed_type.value in ("FSDP", "DEEPSPEED")
    state_dict = accelerator.get_state_dict(trainer.model) if sharded else None
    if not trainer.is_world_process_zero():
        accelerator.wait_for_everyone()
        return
    model = accelerator.unwrap_model(trainer.model)
    if settings.lora:
        model.save_pretrained(out / ADAPTER, state_dict=state_dict)
        if state_dict is not None:  # the merge needs the full weights in this process
            model.load_state_dict(state_dict, strict=False)
        model = model.merge_and_unload()
        state_dict = None
    tokenizer.chat_template = original_template
    tokenizer.padding_side = "left"
    model.save_pretrained(out, state_dict=state_dict)
    tokenizer.save_pretrained(out)
    accelerator.wait_for_everyone()


def write_card(
    out: Path, settings: FinetuneSettings, source: str, examples: int, trainer: Any,
    result: Any, elapsed: float, resumed_from: str | None,
) -> dict[str, Any]:
    """Write ``finetune.json`` and ``README.md`` (base model, data hash, settings, losses)."""
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    card = {
        "base_model": settings.model,
        "base_model_source": source,
        "data": str(Path(settings.data).resolve()),
        "data_sha256": file_sha256(settings.data),
        "examples": examples,
        "examples_trained": len(trainer.train_dataset),
        "method": "lora (merged)" if settings.lora else "full",
        "settings": asdict(settings),
        "global_step": trainer.state.global_step,
        "processes": trainer.args.world_size,
        "resumed_from": resumed_from,
        "train_seconds_this_run": round(elapsed, 1),
        "train_loss": getattr(result, "training_loss", None),
        "losses": losses,
        "log_history": trainer.state.log_history,
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    s = settings
    lines = [
        "---", f"base_model: {settings.model}", "library_name: transformers",
        "tags: [ping-inspect, sft, agent-trajectories]", "---", "",
        f"# Fine-tuned {Path(settings.model).name} (ping-inspect finetune)", "",
        f"- Base model: `{settings.model}` (`{source}`)",
        f"- Data: `{card['data']}`, sha256 `{card['data_sha256']}`, {examples} examples "
        f"({card['examples_trained']} trained: the others lost every assistant token to "
        f"the length limit)",
        f"- Method: {card['method']}; loss on assistant turns only: {not s.all_tokens}",
        f"- Epochs {s.epochs}, learning rate {s.learning_rate}, {s.scheduler} schedule, "
        f"warm-up ratio {s.warmup_ratio}, batch {s.batch_size} x {s.grad_accum} accumulation, "
        f"max length {s.max_length}, seed {s.seed}",
        f"- Steps: {trainer.state.global_step}; first/last logged loss: "
        + (f"{losses[0]:.4f} / {losses[-1]:.4f}" if losses else "none logged"),
        "", "Run it with `inspect eval ... --model transformers//<this folder>`.", "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    return card
