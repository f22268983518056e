"""scripts/gpu_check.sh's CPU-runnable parts: the script parses, its dry run names every
step, and the probe and table code work on a CPU model."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
from pathlib import Path

from inspect_ai.model import get_model
from mock_models import replying

SCRIPTS = Path(__file__).parent.parent / "scripts"


def _check_module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPTS / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_parses_and_its_dry_run_names_every_step(tmp_path: Path) -> None:
    subprocess.run(["bash", "-n", str(SCRIPTS / "gpu_check.sh")], check=True)
    run = subprocess.run(["bash", str(SCRIPTS / "gpu_check.sh"), "--dry-run"], check=True,
                         capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "GPU_CHECK_DIR": str(tmp_path)})
    steps = [line.split(":")[0].removeprefix("[dry-run] ") for line in run.stdout.splitlines()]
    assert steps == ["install_vllm", "convert_smollm2", "vllm_serve", "probe", "trajectories",
                     "finetune_lora", "finetune_full", "table"]
    assert "vllm/smollm2 --model ping/vllm/smollm2" in run.stdout
    assert "--device cuda" in run.stdout and "--lora" in run.stdout


def test_a_continuation_passes_and_a_restart_or_nothing_fails() -> None:
    check = _check_module()
    assert check.continues("The capital of France is", " Paris.")
    assert not check.continues("The capital of France is", "The capital of France is Paris.")
    assert not check.continues("I'm sorry, but I", "  ")


def test_the_probe_and_table_run_on_a_cpu_model(tmp_path: Path) -> None:
    check = _check_module()
    model = get_model("mockllm/model", custom_outputs=replying(" Paris."), memoize=False)
    rows = asyncio.run(check.probe_model(model))
    assert [r["prefix"] for r in rows] == [p for _, p in check.PROBES]
    assert all(r["ok"] and r["reply"] == " Paris." for r in rows)
    rows.append({"step": "finetune_full", "detail": "log: x", "ok": False, "seconds": 12.5})
    text = check.table(rows)
    assert text.splitlines()[0] == "| step | detail | ok | seconds |"
    assert "| finetune_full | log: x | NO | 12.5 |" in text
    assert text.count("| yes |") == 2
