"""``ping-inspect finetune`` under accelerate launch: DDP on CPU (gloo) with 2 processes.

Marked ``distributed`` (two processes of a tiny model, about a minute on a busy 2-core
machine): ``.ci/run`` runs it after the default suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_finetune import _short_records
from tiny_models import save_tiny_llama

from ping_inspect.finetune.distributed import config_path, without_own_options
from ping_inspect.finetune.records import write_jsonl
from ping_inspect.finetune.train import CARD_FILE

ROOT = Path(__file__).parent.parent
LOSS_TOLERANCE = 1e-4
"""Relative: the gradient all-reduce sums in another order than one process's batch."""


def _finetune(tmp: Path, out: str, *extra: str) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "ping_inspect.finetune", "--model", str(tmp / "tiny"),
            "--data", str(tmp / "d.jsonl"), "--out", str(tmp / out), "--lr", "5e-3",
            "--scheduler", "constant", "--warmup-ratio", "0", "--threads", "1",
            "--device", "cpu", "--no-progress", "--max-length", "512", *extra]
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]


def _card(folder: Path) -> dict:
    return json.loads((folder / CARD_FILE).read_text())


def _losses(folder: Path) -> list[float]:
    return [e["loss"] for e in _card(folder)["log_history"] if "loss" in e]


def test_the_launch_options_are_not_passed_on_and_configs_are_shipped() -> None:
    argv = ["--model", "m", "--accelerate-config", "ddp_cpu", "--processes=2", "--lora"]
    assert without_own_options(argv) == ["--model", "m", "--lora"]
    assert all(config_path(n).is_file() for n in ("ddp_cpu", "ddp", "fsdp", "zero2", "zero3"))
    with pytest.raises(ValueError, match="not a file nor one of"):
        config_path("zero4")


@pytest.mark.distributed
def test_ddp_on_two_processes_follows_one_process_and_its_checkpoint_resumes_alone(
        tmp_path: Path) -> None:
    save_tiny_llama(tmp_path / "tiny")
    write_jsonl(_short_records(4), tmp_path / "d.jsonl")
    _finetune(tmp_path, "single", "--batch-size", "2", "--max-steps", "4")
    _finetune(tmp_path, "ddp", "--batch-size", "1", "--max-steps", "4",
              "--accelerate-config", "ddp_cpu", "--processes", "2")
    single, ddp = _losses(tmp_path / "single"), _losses(tmp_path / "ddp")
    assert len(single) == len(ddp) == 4
    assert ddp == pytest.approx(single, rel=LOSS_TOLERANCE)
    assert _card(tmp_path / "ddp")["settings"]["batch_size"] == 1
    # Two processes really trained (accelerate alone ran one: the losses of a random tiny
    # model barely depend on the batch, so they could not tell).
    assert _card(tmp_path / "ddp")["processes"] == 2
    assert _card(tmp_path / "single")["processes"] == 1
    # One process resumes the run from the checkpoint the two processes wrote.
    _finetune(tmp_path, "ddp", "--batch-size", "2", "--max-steps", "6")
    card = _card(tmp_path / "ddp")
    assert card["resumed_from"].endswith("checkpoint-4") and card["global_step"] == 6
