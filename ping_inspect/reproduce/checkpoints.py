"""Training checkpoints as models to evaluate: the erosion curve's points.

``finetune`` keeps only its last two checkpoints (to resume), and they carry the training
chat template. Each time the trainer saves, ``StepExporter`` writes the weights with the
model's own tokenizer and template to ``steps/step-N`` (a transformers folder that
``--model transformers//...`` loads), written to a temporary name and renamed, so a folder
that exists is complete. A run killed between a checkpoint and its export is repaired
before training resumes (``export_missing``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

STEPS = "steps"


def step_dir(run_dir: Path, step: int) -> Path:
    """Where the model of training step ``step`` is exported."""
    return run_dir / STEPS / f"step-{step}"


def exported_steps(run_dir: Path) -> dict[int, Path]:
    """The exported step models of a run, by step."""
    folder = run_dir / STEPS
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.glob("step-*"):
        number = path.name.split("-", 1)[1]
        if number.isdigit() and (path / "config.json").is_file():
            found[int(number)] = path
    return dict(sorted(found.items()))


def _save(model: Any, tokenizer: Any, target: Path) -> Path:
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def load_tokenizer(source: str) -> Any:
    """The model's own tokenizer and chat template, padded on the left for generation."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    tokenizer.padding_side = "left"
    return tokenizer


def step_exporter(run_dir: Path, tokenizer_source: str) -> Any:
    """A ``TrainerCallback`` that exports the model each time the trainer saves."""
    from transformers import TrainerCallback

    tokenizer = load_tokenizer(tokenizer_source)

    class StepExporter(TrainerCallback):
        def on_save(self, args, state, control, model=None, **kwargs):
            if model is not None and state.global_step > 0:
                target = step_dir(run_dir, state.global_step)
                target.parent.mkdir(parents=True, exist_ok=True)
                _save(model, tokenizer, target)
            return control

    return StepExporter()


def export_missing(run_dir: Path, checkpoints: Path, tokenizer_source: str) -> list[int]:
    """Export the saved checkpoints that have no step model yet; return their steps."""
    from transformers import AutoModelForCausalLM

    done = exported_steps(run_dir)
    repaired = []
    if not checkpoints.is_dir():
        return repaired
    complete = [p for p in checkpoints.glob("checkpoint-*")
                if (p / "trainer_state.json").is_file() and p.name.split("-")[-1].isdigit()]
    for path in complete:
        step = int(path.name.split("-")[-1])
        if step in done:
            continue
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        target = step_dir(run_dir, step)
        target.parent.mkdir(parents=True, exist_ok=True)
        _save(model, load_tokenizer(tokenizer_source), target)
        repaired.append(step)
    return sorted(repaired)
