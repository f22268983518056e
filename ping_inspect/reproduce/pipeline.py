"""The stages of ``ping-inspect reproduce``, in order; each resumable (see ``stages.py``).

``DIR`` (``--out``) ends up holding::

    data/       safety.jsonl, trajectories.jsonl, mixed.jsonl
    models/     aligned/, agentic/ (+ steps/step-N), mixed/ (+ steps/step-N); the
                trainer's checkpoints/ exist only while a run is unfinished
    search/     the prefix search's state and best.yaml (with --search)
    logs/       grid-<hash>/ (every model x defence x benchmark), erosion-<hash>/
                (each checkpoint), trajectories/ and search/ logs
    report/     report.md, summary.csv, paired.csv, tradeoff.png, erosion.png/.csv,
                models.csv (paired differences between models)
    manifest.json, stages/   the stages' settings, hashes, outputs and timings
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ping_inspect.contracts import Engine
from ping_inspect.models.engines import local_model_name, resolve_engine
from ping_inspect.reproduce.settings import (
    MODEL_ROLES,
    EvalPart,
    ReproduceError,
    ReproduceSettings,
    check,
    default_benchmarks,
    default_curve_benchmarks,
    domain_lead,
    domain_presets,
    eval_parts,
    split_list,
)
from ping_inspect.reproduce.stages import (
    Pipeline,
    StageResult,
    folder_fingerprint,
    settings_hash,
)

RUNS = ("agentic", "mixed")
"""The fine-tuning runs whose checkpoints make the erosion curve."""

@dataclass
class Context:
    """What every stage reads."""

    settings: ReproduceSettings
    out: Path
    pipeline: Pipeline
    device: str
    model_args: dict[str, Any]
    known_benchmarks: Mapping[str, Any]
    engine: Engine = Engine.TRANSFORMERS
    """The engine every checkpoint is evaluated on (``--engine``)."""


def resolve_device(device: str) -> str:
    """``cuda`` or ``cpu`` (``auto``: cuda when a GPU is visible).

    Raises:
        ReproduceError: ``--device cuda`` with no GPU visible.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ReproduceError("--device cuda: no CUDA GPU is visible (use --device cpu or auto).")
    return device


def configure_threads(threads: int, device: str) -> None:
    """Set torch's threads on CPU, here and in the subprocesses (the search's inner evals)."""
    if device == "cpu":
        import torch

        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        os.environ["MKL_NUM_THREADS"] = str(threads)


def model_name(source: str, engine: Engine = Engine.TRANSFORMERS) -> str:
    """The ``--model`` of a local model on ``engine`` (llamacpp: its GGUF, converted once)."""
    return local_model_name(source, engine)


def engine_model_args(engine: Engine, device: str, settings: ReproduceSettings
                      ) -> dict[str, Any]:
    """The ``-M`` arguments of every evaluated model on ``engine``."""
    if engine == Engine.LLAMACPP:
        return {"threads": settings.threads}
    model_args: dict[str, Any] = {"device": device}
    if settings.bf16 is not None:
        model_args["dtype"] = "bf16" if settings.bf16 else "fp32"
    return model_args


def reproduce(settings: ReproduceSettings, command: list[str] | None = None,
              progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the whole experiment; return the manifest.

    Raises:
        ReproduceError: settings or inputs the run cannot start from.
    """
    from ping_inspect.benchmarks import BENCHMARKS
    from ping_inspect.models.loading import LocalModelError, resolve_model_source

    check(settings)
    out = Path(settings.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(settings.device)
    configure_threads(settings.threads, device)
    engine = resolve_engine(settings.engine, device)
    if engine == Engine.LLAMACPP and settings.bf16:
        raise ReproduceError("--bf16 is a transformers setting: with --engine llamacpp the "
                             "GGUF keeps the checkpoint's precision (use --engine transformers).")
    model_args = engine_model_args(engine, device, settings)
    pipeline = Pipeline(out, asdict(settings), command, exclusive=settings.shard is not None)
    ctx = Context(settings, out, pipeline, device, model_args, BENCHMARKS, engine)
    try:
        base = resolve_model_source(settings.model)
    except LocalModelError as err:
        raise ReproduceError(f"--model: {err}") from err
    # Check the benchmarks before any training (a typo must not cost an hour).
    main_parts, notes = main_eval_parts(ctx)
    curve_parts, _ = eval_parts(settings.curve_benchmarks or default_curve_benchmarks(settings),
                                settings, ctx.known_benchmarks)
    for note in notes:
        _say(f"note: {note}")
    ctx.pipeline.note("device", device)
    ctx.pipeline.note("engine", str(engine))
    ctx.pipeline.note("notes", notes)

    safety = stage_safety_data(ctx)
    trajectories = stage_trajectories(ctx)
    aligned = stage_train(ctx, "aligned", base, safety["path"], safety["sha256"],
                          settings.safety_lr, settings.safety_epochs, settings.safety_max_steps,
                          steps=False, progress=progress)
    agentic = stage_train(ctx, "agentic", aligned["model"], trajectories["path"],
                          trajectories["sha256"], settings.lr, settings.epochs,
                          settings.max_steps, steps=True, progress=progress)
    mixed_data = stage_mix(ctx, safety, trajectories)
    mixed = stage_train(ctx, "mixed", aligned["model"], mixed_data["path"],
                        mixed_data["sha256"], settings.lr, settings.epochs, settings.max_steps,
                        steps=True, progress=progress)
    models = {role: model_name(source, engine) for role, source in (
        ("base", base), ("aligned", aligned["model"]), ("agentic", agentic["model"]),
        ("mixed", mixed["model"]))}
    fingerprints = {"base": folder_fingerprint(base), "aligned": aligned["fingerprint"],
                    "agentic": agentic["fingerprint"], "mixed": mixed["fingerprint"]}
    ctx.pipeline.note("models", models)
    searched = stage_search(ctx, models["agentic"], fingerprints["agentic"]) \
        if settings.search else None
    grid = stage_evaluate(ctx, models, fingerprints, main_parts, searched)
    curve = stage_erosion(ctx, aligned, {"agentic": agentic, "mixed": mixed}, curve_parts,
                          grid, main_parts, models)
    report = stage_report(ctx, grid, curve, models)
    logs = out / "logs"
    ctx.pipeline.note("inspect_view", f"inspect view --log-dir {logs}")
    _say(f"report: {report['markdown']}")
    _say(f"transcripts: inspect view --log-dir {logs}")
    return ctx.pipeline.manifest


def main_eval_parts(ctx: Context) -> tuple[list[EvalPart], list[str]]:
    """The main grid's benchmarks (the user's or the domain's defaults), checked."""
    s = ctx.settings
    specs = list(s.benchmarks) or default_benchmarks(s, ctx.known_benchmarks)
    return eval_parts(specs, s, ctx.known_benchmarks)


# --- data ---------------------------------------------------------------------------------


def _data_outputs(path: Path, sha256: str | None = None) -> dict[str, Any]:
    from ping_inspect.finetune.records import file_sha256, read_jsonl

    try:
        count = len(read_jsonl(path))
    except (OSError, ValueError) as err:
        raise ReproduceError(f"{path}: {err}") from err
    if not count:
        raise ReproduceError(f"{path} holds no training example.")
    return {"path": str(path), "sha256": sha256 or file_sha256(path), "examples": count}


def stage_given_file(ctx: Context, name: str, option: str, value: str) -> dict[str, Any]:
    """A data stage fed by the user's file (``option``): checked, hashed once, counted."""
    from ping_inspect.finetune.records import file_sha256

    given = Path(value).resolve()
    if not given.is_file():
        raise ReproduceError(f"{option} {value}: no such file.")
    sha256 = file_sha256(given)
    return ctx.pipeline.run(name, {"given": str(given), "sha256": sha256},
                            lambda: StageResult(_data_outputs(given, sha256)))


def _file_exists(outputs: dict[str, Any]) -> bool:
    return Path(outputs["path"]).is_file()


def stage_safety_data(ctx: Context) -> dict[str, Any]:
    """Agentic safety data: the user's file, or ``ping_inspect.safety_data``'s builder."""
    s = ctx.settings
    if s.safety_data:
        return stage_given_file(ctx, "safety_data", "--safety-data", s.safety_data)
    path = ctx.out / "data" / "safety.jsonl"

    def build() -> StageResult:
        try:
            from ping_inspect.safety_data import write_safety_data
        except ImportError as err:
            raise ReproduceError(
                "The safety-data builder (ping_inspect.safety_data) is not part of this "
                f"installation ({err}); pass --safety-data FILE (a JSONL of "
                "{'messages': [...]} records)."
            ) from err
        path.parent.mkdir(parents=True, exist_ok=True)
        write_safety_data(path, s.domain, harmful=s.safety_harmful, benign=s.safety_benign,
                          seed=s.seed)
        return StageResult(_data_outputs(path))

    values = {"domain": s.domain, "harmful": s.safety_harmful, "benign": s.safety_benign,
              "seed": s.seed, "builder": "ping_inspect.safety_data.write_safety_data"}
    return ctx.pipeline.run("safety_data", values, build, clean=[path],
                            outputs_exist=_file_exists)


def stage_trajectories(ctx: Context) -> dict[str, Any]:
    """Benign agent trajectories: the user's file, or recorded by ``finetune``'s experts."""
    s = ctx.settings
    if s.trajectories:
        return stage_given_file(ctx, "trajectories", "--trajectories", s.trajectories)
    path = ctx.out / "data" / "trajectories.jsonl"
    log_dir = str(ctx.out / "logs" / "trajectories")

    def build() -> StageResult:
        from ping_inspect.finetune.records import write_jsonl
        from ping_inspect.finetune.trajectories import record_code, record_web

        if s.domain == "code":
            export = record_code(limit=s.trajectory_limit, seed=s.seed, log_dir=log_dir)
        else:
            export = record_web(sites=split_list(s.trajectory_sites) or None, log_dir=log_dir)
        write_jsonl(export.records, path)
        return StageResult({**_data_outputs(path), "summary": export.summary(),
                             "log_dir": log_dir})

    values = {"domain": s.domain, "limit": s.trajectory_limit, "sites": s.trajectory_sites,
              "seed": s.seed}
    return ctx.pipeline.run("trajectories", values, build, clean=[path],
                            outputs_exist=_file_exists)


def mix_records(safety: Sequence[dict], benign: Sequence[dict], ratio: float, seed: int
                ) -> list[dict]:
    """Benign records with safety records mixed in, ``ratio`` of the result being safety.

    Safety records are drawn without replacement while they last (then again), and the
    mixture is shuffled with ``seed``.
    """
    rng = random.Random(seed)
    wanted = max(1, round(ratio / (1 - ratio) * len(benign)))
    drawn: list[dict] = []
    while len(drawn) < wanted:
        pool = list(safety)
        rng.shuffle(pool)
        drawn.extend(pool[: wanted - len(drawn)])
    mixed = [*benign, *drawn]
    rng.shuffle(mixed)
    return mixed


def stage_mix(ctx: Context, safety: dict[str, Any], trajectories: dict[str, Any]
              ) -> dict[str, Any]:
    """The training data of the mixed run: trajectories with safety examples mixed in."""
    s = ctx.settings
    path = ctx.out / "data" / "mixed.jsonl"

    def build() -> StageResult:
        from ping_inspect.finetune.records import read_jsonl, write_jsonl

        write_jsonl(mix_records(read_jsonl(safety["path"]), read_jsonl(trajectories["path"]),
                                s.mix_ratio, s.seed), path)
        return StageResult(_data_outputs(path))

    values = {"safety": safety["sha256"], "trajectories": trajectories["sha256"],
              "ratio": s.mix_ratio, "seed": s.seed}
    return ctx.pipeline.run("mixed_data", values, build, clean=[path],
                            outputs_exist=_file_exists)


# --- training ----------------------------------------------------------------------------


def stage_train(ctx: Context, name: str, base: str, data: str, data_sha: str, lr: float,
                epochs: float, max_steps: int, steps: bool, progress: bool = True
                ) -> dict[str, Any]:
    """Fine-tune ``base`` on ``data`` into ``models/<name>``; export checkpoints if ``steps``."""
    from ping_inspect.finetune.train import CARD_FILE, CHECKPOINTS, FinetuneSettings, finetune
    from ping_inspect.reproduce.checkpoints import export_missing, exported_steps, step_exporter

    s = ctx.settings
    run_dir = ctx.out / "models" / name
    finetune_settings = FinetuneSettings(
        model=base, data=data, out=str(run_dir), epochs=epochs, learning_rate=lr,
        max_steps=max_steps, batch_size=s.batch_size, grad_accum=s.grad_accum,
        max_length=s.max_length, threads=s.threads, device=ctx.device,
        save_steps=s.eval_every if steps else None, seed=s.seed,
    )

    def train() -> StageResult:
        callbacks = []
        if steps:
            repaired = export_missing(run_dir, run_dir / CHECKPOINTS, base)
            if repaired:
                _say(f"{name}: exported checkpoints saved before the interruption: {repaired}")
            callbacks.append(step_exporter(run_dir, base))
        finetune(finetune_settings, progress=progress, callbacks=callbacks)
        card = json.loads((run_dir / CARD_FILE).read_text(encoding="utf-8"))
        # The trainer's checkpoints (weights and optimiser state, ~3x the model each, two
        # kept) only serve a resume; the step models are what the curve reads.
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
        return StageResult({
            "model": str(run_dir),
            "fingerprint": folder_fingerprint(run_dir),
            "global_step": card["global_step"],
            "steps": {str(k): str(v) for k, v in exported_steps(run_dir).items()},
            "step_fingerprints": {str(k): folder_fingerprint(v)
                                  for k, v in exported_steps(run_dir).items()},
            "losses": card["losses"],
            "resumed_from": card["resumed_from"],
            "train_seconds_last_run": card["train_seconds_this_run"],
        })

    values = {
        "base": base, "base_fingerprint": folder_fingerprint(base), "data_sha256": data_sha,
        "settings": {k: v for k, v in asdict(finetune_settings).items()
                     if k not in ("threads", "out", "model", "data")},
        "device_kind": "cuda" if ctx.device.startswith("cuda") else "cpu",
    }
    return ctx.pipeline.run(name, values, train, clean=[run_dir],
                            outputs_exist=lambda o: (Path(o["model"]) / CARD_FILE).is_file())


# --- defences ---------------------------------------------------------------------------


def stage_search(ctx: Context, agentic_model: str, fingerprint: str) -> dict[str, Any]:
    """The prefix search on the agentic model (``tasks/ping_optimize.py``)."""
    from ping_inspect.compare import parse_assignments

    s = ctx.settings
    folder = ctx.out / "search"
    best = folder / "best.yaml"
    try:
        extra = parse_assignments(list(s.search_args), "--search-arg")
    except ValueError as err:
        raise ReproduceError(str(err)) from err
    generator = s.search_generator or agentic_model
    args = {"benchmark": domain_lead(s.domain).name,
            "search": s.search_mode, "seed": s.seed, **extra,
            "state_dir": str(folder), "output": str(best)}

    def search() -> StageResult:
        from inspect_ai import eval as inspect_eval

        from ping_inspect.finetune.records import file_sha256
        from ping_inspect.optimize.task import ping_optimize

        task_args = {k: v for k, v in args.items()}
        logs = inspect_eval(ping_optimize(**task_args), model=agentic_model,
                            model_args=ctx.model_args,
                            model_roles={"generator": generator},
                            log_dir=str(ctx.out / "logs" / "search"), display="none")
        if logs[0].status != "success" or not best.is_file():
            raise RuntimeError(f"The prefix search did not finish ({logs[0].status}): run "
                               "the same command again to resume it.")
        return StageResult({"prefix_file": str(best), "sha256": file_sha256(best),
                            "log": logs[0].location})

    values = {"model": agentic_model, "fingerprint": fingerprint, "generator": generator,
              "args": args}
    return ctx.pipeline.run("search", values, search,
                            outputs_exist=lambda o: Path(o["prefix_file"]).is_file())


# --- evaluation --------------------------------------------------------------------------


def _run_part(ctx: Context, log_dir: Path, models: Sequence[str], defences: Sequence[str],
              part: EvalPart, presets: Sequence[str] | None = None,
              prefix_files: Sequence[str] | None = None) -> bool:
    """One ``compare`` grid call for one benchmark spec; whether every cell finished."""
    from ping_inspect.compare import GridError, run_grid

    options: dict[str, Any] = {"model_args": ctx.model_args, "display": "none",
                               "log_level": "warning"}
    if part.limit is not None:
        options["limit"] = part.limit
    if part.shuffle is not None:
        options["sample_shuffle"] = part.shuffle
    if part.sample_ids is not None:
        options["sample_id"] = list(part.sample_ids)
    if ctx.settings.max_samples is not None:
        options["max_samples"] = ctx.settings.max_samples
    options.update(_many_workers(ctx.settings))
    try:
        success, _ = run_grid(list(models), list(defences), [part.spec], str(log_dir),
                              presets=presets, prefix_files=prefix_files, **options)
    except GridError as err:
        raise ReproduceError(f"--benchmarks {part.spec}: {err}") from err
    return success


def _many_workers(settings: ReproduceSettings) -> dict[str, Any]:
    from ping_inspect.compare.workers import Shard

    if settings.shard is not None:
        return {"shard": Shard.parse(settings.shard)}
    return {"workers": settings.workers} if settings.workers > 1 else {}


def part_folder(part: EvalPart) -> str:
    """A benchmark part's subfolder of the grid: its name and the hash of its selection."""
    name = "".join(c if c.isalnum() else "-" for c in part.spec.partition(":")[0])
    return f"{name}-{settings_hash(part.describe())[:8]}"


def stage_evaluate(ctx: Context, models: Mapping[str, str], fingerprints: Mapping[str, str],
                   parts: Sequence[EvalPart], searched: dict[str, Any] | None
                   ) -> dict[str, Any]:
    """Every model without a defence and with each published prefix.

    The searched prefix runs on the agentic model only. The log directory is named by the
    settings hash of the models (their weights' fingerprints) and the prefixes: a retrained
    model (same folder, new weights) is never read from an older log. Each benchmark part
    has its own subfolder named by its spec and sample selection, so adding or dropping a
    benchmark, or narrowing ``--ping-models``, keeps the finished cells of the others.
    """
    presets = list(ctx.settings.presets or domain_presets(ctx.settings.domain))
    cells = {
        "models": dict(models), "fingerprints": dict(fingerprints), "presets": presets,
        "searched": searched and searched["sha256"], "model_args": ctx.model_args,
    }
    log_dir = ctx.out / "logs" / f"grid-{settings_hash(cells)[:8]}"
    defended = list(ctx.settings.ping_models or MODEL_ROLES)
    values = {**cells, "parts": [p.describe() for p in parts]}
    if ctx.settings.ping_models:
        values["ping_models"] = defended

    def evaluate() -> StageResult:
        finished = True
        names = list(models.values())
        with_ping = [models[role] for role in defended]
        for part in parts:
            folder = log_dir / part_folder(part)
            finished &= _run_part(ctx, folder, names, ["none"], part)
            for preset in presets:
                finished &= _run_part(ctx, folder, with_ping, ["ping"], part,
                                      presets=[preset])
            if searched:
                finished &= _run_part(ctx, folder, [models["agentic"]], ["ping"], part,
                                      prefix_files=[searched["prefix_file"]])
        if not finished:
            raise RuntimeError(f"Some evaluation cells in {log_dir} did not finish: run the "
                               "same command again to resume them.")
        return StageResult({"log_dir": str(log_dir)})

    return ctx.pipeline.run("evaluate", values, evaluate, shared=True,
                            outputs_exist=lambda o: Path(o["log_dir"]).is_dir())


def curve_points(aligned: dict[str, Any], runs: Mapping[str, dict[str, Any]],
                 engine: Engine = Engine.TRANSFORMERS) -> list[dict[str, Any]]:
    """The erosion curve's models: the aligned model at step 0, each exported step, the end."""
    points = [{"run": run, "step": 0, "model": model_name(aligned["model"], engine),
               "fingerprint": aligned["fingerprint"]} for run in runs]
    for run, trained in runs.items():
        for step, path in sorted(trained["steps"].items(), key=lambda kv: int(kv[0])):
            if int(step) < trained["global_step"]:
                points.append({"run": run, "step": int(step), "model": model_name(path, engine),
                               "fingerprint": trained["step_fingerprints"][step]})
        points.append({"run": run, "step": trained["global_step"],
                       "model": model_name(trained["model"], engine),
                       "fingerprint": trained["fingerprint"]})
    return points


def shared_parts(parts: Sequence[EvalPart], grid_parts: Sequence[EvalPart]) -> list[EvalPart]:
    """Curve parts the grid evaluates the same way (same spec, same samples).

    A grid cell's benchmark label is its part's spec, so the curve can read the grid's cell
    of a model on such a part instead of evaluating the model again.
    """
    described = [g.describe() for g in grid_parts]
    return [p for p in parts if p.describe() in described]


def stage_erosion(ctx: Context, aligned: dict[str, Any], runs: Mapping[str, dict[str, Any]],
                  parts: Sequence[EvalPart], grid: dict[str, Any],
                  grid_parts: Sequence[EvalPart], grid_models: Mapping[str, str]
                  ) -> dict[str, Any]:
    """Each checkpoint of the fine-tuning runs, without a defence: the erosion curve.

    The aligned model (step 0) and the runs' final models are in the main grid too: on the
    benchmarks the grid evaluates the same way, their cells there are read, not run again.
    """
    points = curve_points(aligned, runs, ctx.engine)
    names = list(dict.fromkeys(p["model"] for p in points))
    shared = shared_parts(parts, grid_parts)
    reused = [m for m in names if m in grid_models.values()] if shared else []
    values: dict[str, Any] = {"points": points, "parts": [p.describe() for p in parts],
                              "model_args": ctx.model_args}
    if reused:
        values["reused"] = {"log_dir": grid["log_dir"], "models": reused,
                            "parts": [p.describe() for p in shared]}
    log_dir = ctx.out / "logs" / f"erosion-{settings_hash(values)[:8]}"

    def evaluate() -> StageResult:
        log_dir.mkdir(parents=True, exist_ok=True)
        finished = True
        for part in parts:
            to_run = [m for m in names if part not in shared or m not in reused]
            if to_run:
                finished &= _run_part(ctx, log_dir, to_run, ["none"], part)
        if not finished:
            raise RuntimeError(f"Some checkpoint evaluations in {log_dir} did not finish: "
                               "run the same command again to resume them.")
        outputs: dict[str, Any] = {"log_dir": str(log_dir), "points": points}
        if reused:
            outputs["reused"] = {"log_dir": grid["log_dir"], "models": reused,
                                 "benchmarks": [p.spec for p in shared]}
        return StageResult(outputs)

    return ctx.pipeline.run("erosion", values, evaluate, shared=True,
                            outputs_exist=lambda o: Path(o["log_dir"]).is_dir())


# --- report ------------------------------------------------------------------------------


def stage_report(ctx: Context, grid: dict[str, Any], curve: dict[str, Any],
                 models: Mapping[str, str]) -> dict[str, Any]:
    """``ping-inspect report`` on the grid, plus the erosion curve and the model pairs."""
    from ping_inspect.reproduce.results import write_results

    out = ctx.out / "report"
    values = {"grid": grid["log_dir"], "erosion": curve["log_dir"], "models": dict(models),
              "stages": {n: ctx.pipeline.manifest["stages"][n]["hash"]
                         for n in ("evaluate", "erosion")}}

    def report() -> StageResult:
        return StageResult(write_results(Path(grid["log_dir"]), Path(curve["log_dir"]),
                                         curve["points"], models, out,
                                         reused=curve.get("reused")))

    return ctx.pipeline.run("report", values, report,
                            outputs_exist=lambda o: Path(o["markdown"]).is_file())


def _say(text: str) -> None:
    print(f"ping-inspect reproduce: {text}", file=sys.stderr, flush=True)
