"""``ping-inspect finetune`` on many processes: accelerate's launcher and shipped configs.

The training itself is TRL's ``SFTTrainer``, which runs unchanged under ``accelerate
launch`` or ``torchrun`` (DDP, FSDP, DeepSpeed): this module only names the configs
shipped in ``finetune/accelerate/`` and builds the launch command.

    ping-inspect finetune ... --accelerate-config ddp_cpu --processes 2
    accelerate launch --config_file zero3.yaml -m ping_inspect.finetune --model ... --out ...
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

CONFIG_FOLDER = Path(__file__).parent / "accelerate"
OWN_OPTIONS = ("--accelerate-config", "--processes")


def accelerate_configs() -> list[str]:
    """The names of the shipped accelerate configs (``ddp_cpu``, ``fsdp``, ``zero3``...)."""
    return sorted(p.stem for p in CONFIG_FOLDER.glob("*.yaml"))


def config_path(name_or_path: str) -> Path:
    """A shipped config by name, or a config file.

    Raises:
        ValueError: neither a shipped name nor an existing file.
    """
    shipped = CONFIG_FOLDER / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    path = Path(name_or_path)
    if path.is_file():
        return path
    raise ValueError(f"--accelerate-config {name_or_path}: not a file nor one of "
                     f"{', '.join(accelerate_configs())}.")


def without_own_options(argv: Sequence[str]) -> list[str]:
    """``argv`` less ``--accelerate-config X`` and ``--processes N`` (in either form)."""
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item in OWN_OPTIONS:
            skip = True
        elif not item.startswith(tuple(f"{o}=" for o in OWN_OPTIONS)):
            kept.append(item)
    return kept


def launch_command(config: Path, processes: int | None, finetune_argv: Sequence[str]
                   ) -> list[str]:
    """The command that runs ``finetune_argv`` on every process of ``config``."""
    return [*launcher(config, processes), "-m", "ping_inspect.finetune", *finetune_argv]


def launcher(config: Path, processes: int | None) -> list[str]:
    """The launcher that starts every process of ``config`` (a script or ``-m`` follows).

    ``accelerate launch`` for every config but one: DDP on the CPUs of one machine
    (``distributed_type: MULTI_CPU``, one machine), which accelerate 1.x runs as a single
    process unless it is given an MPI hostfile. That one goes through torch's own launcher
    (``torchrun --standalone``); accelerate's state then finds the processes from the
    environment and joins them with gloo, as the config asks.
    """
    fields = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    if fields.get("distributed_type") == "MULTI_CPU" and int(fields.get("num_machines", 1)) == 1:
        count = processes if processes is not None else int(fields.get("num_processes", 1))
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc_per_node", str(count)]
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                   str(config)]
        if processes is not None:
            command += ["--num_processes", str(processes)]
    return command


def world_size() -> int:
    """Processes of this run (``WORLD_SIZE`` set by accelerate launch / torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))
