"""``ping-inspect compare``: the grid's command line (the grid itself is ``compare.grid``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ping_inspect.compare.grid import (
    PREFILL_MODES,
    GridError,
    cell_task,
    grid_benchmarks,
    parse_assignments,
    plan_cells,
    run_grid,
)
from ping_inspect.contracts import ENGINE_CHOICES
from ping_inspect.defence_registry import DEFENCES, defence_names


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``compare`` arguments."""
    parser.description = (
        "Run models x defences x benchmarks with Inspect's eval_set. Run the same command "
        "again to resume: finished cells are skipped, missing or failed ones run again."
    )
    parser.add_argument("--models", required=True,
                        help="comma-separated models, e.g. smollm2,openai/gpt-4o (a local "
                             "model named without a provider, smollm2 or a transformers "
                             "folder, runs on --engine)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                        help="engine of the local models named without a provider: llamacpp "
                             "(llama.cpp's server; a folder is converted to GGUF once) or "
                             "transformers; default auto: llamacpp on CPU where it is "
                             "installed, else transformers")
    parser.add_argument("--defences", default="none,ping",
                        help=f"comma-separated defences ({', '.join(defence_names())}); "
                             "combine with +, e.g. none,ptst,ping,ping+guard (default: "
                             "none,ping)")
    parser.add_argument("--benchmarks", required=True,
                        help="comma-separated benchmarks, each optionally with task arguments "
                             f"after a colon ({', '.join(grid_benchmarks())}; e.g. "
                             "webdojo,redcode:subset=ping). Use ';' between benchmarks when "
                             "one has several arguments: 'webdojo;redcode:subset=ping,x=1'")
    parser.add_argument("--log-dir", required=True, help="the grid's log directory")
    prefix = parser.add_argument_group("PING prefix (default: each benchmark's preset)")
    prefix.add_argument("--preset", action="append",
                        help="a published prefix: NAME for every benchmark or BENCH=NAME "
                             "(repeatable), e.g. webdojo=web_glm,redcode=code_llama")
    prefix.add_argument("--prefix-file", action="append",
                        help="a prefix file (.txt, or .yaml/.json with 'prefix'): PATH or "
                             "BENCH=PATH (repeatable)")
    prefix.add_argument("--prefill-mode", choices=PREFILL_MODES, default="auto",
                        help="how ping delivers the prefix (default: auto, per provider)")
    roles = parser.add_argument_group("models and tasks")
    roles.add_argument("--guard-model",
                       help="model for the guard role (needed by guard defences)")
    roles.add_argument("--model-role", action="append", default=[], metavar="ROLE=MODEL",
                       help="bind a model role for every cell, e.g. grader=openai/gpt-4o")
    roles.add_argument("-T", dest="task_args", action="append", default=[], metavar="KEY=VALUE",
                       help="task argument for every benchmark")
    roles.add_argument("-M", dest="model_args", action="append", default=[], metavar="KEY=VALUE",
                       help="model argument for every model")
    run_opts = parser.add_argument_group("run")
    run_opts.add_argument("--limit", type=int, help="samples per cell (the first ones)")
    run_opts.add_argument("--sample-shuffle", type=int, metavar="SEED",
                          help="shuffle each dataset with this seed first (with --limit: a "
                               "mix of benign and harmful samples)")
    run_opts.add_argument("--epochs", type=int)
    run_opts.add_argument("--max-connections", type=int)
    run_opts.add_argument("--max-samples", type=int)
    run_opts.add_argument("--max-tasks", type=int)
    run_opts.add_argument("--temperature", type=float)
    run_opts.add_argument("--max-tokens", type=int)
    run_opts.add_argument("--seed", type=int)
    run_opts.add_argument("--fail-on-error", type=float,
                          help="fail a cell on this many sample errors (>=1) or this "
                               "proportion (<1); default: Inspect's (first error)")
    run_opts.add_argument("--retry-on-error", type=int, help="retries of an errored sample")
    run_opts.add_argument("--retry-attempts", type=int, default=2,
                          help="retries of a failed cell within this run (default 2)")
    many = parser.add_argument_group("many workers (cells claimed on the shared log folder)")
    many.add_argument("--workers", type=int, default=1,
                      help="run the grid on N processes of this machine (default 1)")
    many.add_argument("--shard", metavar="I/N",
                      help="be worker I (0-based) of N sharing --log-dir (N machines or "
                           "processes, each started with its own I); a dead worker's cells "
                           "are taken again")
    run_opts.add_argument("--display", default=None, help="Inspect's display (full, plain, none)")
    run_opts.add_argument("--list", action="store_true",
                          help="create the grid's tasks, print the cells and exit without "
                               "running")


def on_engine(models: list[str], engine: str) -> list[str]:
    """The models with each local one named without a provider put on ``engine``.

    A local model is ``smollm2`` (the embedded model; on llamacpp its own GGUF) or an
    existing transformers folder (on llamacpp, its GGUF converted once). Names with a
    provider (``transformers/...``, ``llamacpp/...``, ``openai/...``) stay as given.

    Raises:
        GridError: a folder that cannot be converted.
    """
    local = [m for m in models if m.lower() == "smollm2" or Path(m).expanduser().is_dir()]
    if not local:
        return models
    from ping_inspect.models.engines import local_model_name, resolve_engine
    from ping_inspect.models.llama_server import LlamaServerError

    chosen = resolve_engine(engine, _local_device())

    def named(model: str) -> str:
        if model.lower() == "smollm2":
            return f"{chosen}/smollm2"
        return local_model_name(Path(model).expanduser(), chosen)

    try:
        return [named(m) if m in local else m for m in models]
    except LlamaServerError as err:
        raise GridError(str(err)) from err


def _local_device() -> str:
    try:
        import torch
    except ImportError:  # llama.cpp alone needs no torch
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _split_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def split_benchmarks(text: str) -> list[str]:
    """Split benchmarks at ';', or at commas that do not continue a ``key=value`` list."""
    if ";" in text:
        return [t.strip() for t in text.split(";") if t.strip()]
    specs: list[str] = []
    for item in _split_list(text):
        if "=" in item and ":" not in item and specs and ":" in specs[-1]:
            specs[-1] += f",{item}"  # another argument of the benchmark before
        else:
            specs.append(item)
    return specs


def _eval_set_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("limit", "sample_shuffle", "epochs", "max_connections", "max_samples",
                     "max_tasks", "temperature", "max_tokens", "seed", "retry_on_error",
                     "display")
        if getattr(args, name) is not None
    }
    if args.fail_on_error is not None:
        value = args.fail_on_error
        options["fail_on_error"] = int(value) if value >= 1 else value
    roles = parse_assignments(args.model_role, "--model-role")
    if any(d.model_role in roles for d in DEFENCES.values() if d.model_role):
        raise GridError("Bind the guard model with --guard-model: it is bound only in the "
                        "guard cells, so that the other cells keep their identity.")
    if roles:
        options["model_roles"] = {k: str(v) for k, v in roles.items()}
    if args.model_args:
        options["model_args"] = parse_assignments(args.model_args, "-M")
    return options


def _many_workers(args: argparse.Namespace) -> dict[str, Any]:
    from ping_inspect.compare.workers import Shard

    if args.workers < 1:
        raise GridError(f"--workers {args.workers}: give 1 or more.")
    if args.workers > 1 and args.shard:
        raise GridError("Give --workers (processes of this machine) or --shard (one worker "
                        "of several), not both.")
    if args.shard:
        try:
            return {"shard": Shard.parse(args.shard)}
        except ValueError as err:
            raise GridError(str(err)) from err
    return {"workers": args.workers}


def run(args: argparse.Namespace) -> int:
    """Run or resume the grid; print where the logs are and how to report on them."""
    try:
        benchmarks = split_benchmarks(args.benchmarks)
        options = _eval_set_options(args)
        grid = dict(
            benchmarks=benchmarks,
            defences=_split_list(args.defences),
            presets=args.preset,
            prefix_files=args.prefix_file,
            prefill_mode=args.prefill_mode,
            guard_model=args.guard_model,
            task_args=parse_assignments(args.task_args, "-T"),
        )
        models = on_engine(_split_list(args.models), args.engine)
        many = _many_workers(args)
        if args.list:
            for cell in plan_cells(**grid):
                samples = len(cell_task(cell).dataset)  # creating it checks data and arguments
                if args.limit is not None:  # what will run, not what the task holds
                    samples = min(samples, args.limit)
                source = f"  prefix: {cell.prefix_source}" if cell.prefix_source else ""
                print(f"{cell.benchmark:28} {cell.defence:14} {samples:4} samples "
                      f"x {len(models)} model(s){source}")
            return 0
        success, _ = run_grid(models, log_dir=args.log_dir,
                              retry_attempts=args.retry_attempts, **many, **grid, **options)
    except GridError as err:
        print(f"error: {err}")
        return 2
    print(f"Logs: {args.log_dir}  (transcripts: inspect view --log-dir {args.log_dir})")
    print(f"Report: ping-inspect report {args.log_dir}")
    if not success:
        print("Some cells did not finish; run the same command again to resume them.")
    return 0 if success else 1
