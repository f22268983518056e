"""``ping-inspect reproduce``: the paper's finding in miniature, one resumable command.

    ping-inspect reproduce --domain code --model smollm2 --out runs/code
    ping-inspect reproduce --domain web --model smollm2 --out runs/web --sites mail,writely
    ping-inspect reproduce --domain code --model /models/Qwen2.5-1.5B-Instruct --device cuda
        --out runs/qwen --redcode-limit 300 --humaneval-problems 0-163 --search

Stages: safety SFT of the model (aligned), agentic fine-tuning of the aligned model on
benign trajectories with a checkpoint every --eval-every steps (agentic), the same with
the safety data mixed in (mixed), optionally a prefix search on the agentic model, every
model evaluated without a defence and with PING through ``ping-inspect compare``, each
checkpoint's refusal (the erosion curve), and the report. Run the same command again
after an interruption: finished stages are skipped, training resumes from its last
checkpoint and evaluation from its logs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import NoReturn

from ping_inspect.contracts import ENGINE_CHOICES
from ping_inspect.reproduce.settings import (
    DEVICES,
    DOMAINS,
    SEARCH_MODES,
    ReproduceError,
    ReproduceSettings,
    domain_benchmarks,
    domain_lead,
    domain_presets,
    split_list,
)

PROG = "ping-inspect reproduce"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``reproduce`` arguments."""
    d = {f.name: f.default for f in fields(ReproduceSettings)}
    by_domain = {
        "presets": "; ".join(f"{', '.join(domain_presets(x))} for {x}" for x in DOMAINS),
        "benchmarks": "; ".join(f"{x}: {', '.join(b.name for b in domain_benchmarks(x))}"
                                for x in DOMAINS),
        "curve": "; ".join(f"{x}: {domain_lead(x).reproduce_curve}" for x in DOMAINS),
    }
    parser.description = __doc__.split("\n\n")[2].replace("\n", " ")

    def error(message: str) -> NoReturn:  # one line, naming the argument
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(2)

    parser.error = error  # type: ignore[method-assign]
    parser.add_argument("--domain", required=True, choices=DOMAINS)
    parser.add_argument("--model", required=True,
                        help="smollm2 (the embedded model), a local transformers folder or a "
                             "cached Hugging Face id")
    parser.add_argument("--out", required=True, help="the experiment's folder (resumable)")
    data = parser.add_argument_group("data")
    data.add_argument("--safety-data", help="an existing safety JSONL of {'messages': [...]} "
                      "records (default: built by ping_inspect.safety_data)")
    data.add_argument("--safety-harmful", type=int, help="harmful safety examples to build")
    data.add_argument("--safety-benign", type=int, help="benign safety examples to build")
    data.add_argument("--trajectories", help="an existing trajectories JSONL (default: "
                      "recorded as `ping-inspect trajectories code|web` records them)")
    data.add_argument("--trajectory-limit", type=int,
                      help="code: at most this many generated problems (two phrasings each)")
    data.add_argument("--trajectory-sites", help="web: sites to record trajectories on")
    train = parser.add_argument_group("training (the paper's defaults)")
    train.add_argument("--safety-epochs", type=float, default=d["safety_epochs"])
    train.add_argument("--safety-lr", type=float, default=d["safety_lr"])
    train.add_argument("--safety-max-steps", type=int, default=d["safety_max_steps"])
    train.add_argument("--epochs", type=float, default=d["epochs"],
                       help="epochs of agentic fine-tuning (agentic and mixed runs)")
    train.add_argument("--lr", type=float, default=d["lr"])
    train.add_argument("--max-steps", type=int, default=d["max_steps"],
                       help="stop the agentic and mixed runs after this many steps")
    train.add_argument("--batch-size", type=int, default=d["batch_size"])
    train.add_argument("--grad-accum", type=int, default=d["grad_accum"])
    train.add_argument("--max-length", type=int, default=d["max_length"])
    train.add_argument("--eval-every", type=int, default=d["eval_every"],
                       help="checkpoint and evaluate the agentic and mixed runs every K steps "
                            f"(default {d['eval_every']})")
    train.add_argument("--mix-ratio", type=float, default=d["mix_ratio"],
                       help="share of safety examples in the mixed run's data, in (0, 1) "
                            f"(default {d['mix_ratio']})")
    defence = parser.add_argument_group("defences")
    defence.add_argument("--presets", help="published prefixes to evaluate with PING, comma "
                         f"list (default: the benchmarks' own, {by_domain['presets']})")
    defence.add_argument("--ping-models", help="the models evaluated with PING, comma list "
                         "of base, aligned, agentic, mixed (default: all four)")
    defence.add_argument("--search", action="store_true",
                         help="also search a prefix on the agentic model. The faithful "
                              "search (the paper's) scores ~110 candidates x 91 code first "
                              "responses (~10,000: ~5-6 h for SmolLM2 on llamacpp, 2 cores); "
                              "racing drops most candidates after 2-4 tasks a category (8 "
                              "rounds: 214 responses, 7.4 min)")
    defence.add_argument("--search-mode", choices=SEARCH_MODES, default=d["search_mode"])
    defence.add_argument("--search-generator",
                         help="model of the search's generator role (default: the agentic "
                              "model itself)")
    defence.add_argument("--search-arg", action="append", default=[], dest="search_args",
                         metavar="KEY=VALUE", help="a ping_optimize task argument, e.g. "
                         "rounds=2 (repeatable)")
    evaluation = parser.add_argument_group("evaluation")
    evaluation.add_argument("--benchmarks", help="benchmark specs separated by ';' (compare's "
                            "syntax; limit=N takes N samples). Default: the parts each "
                            "benchmark's descriptor gives the domain "
                            f"({by_domain['benchmarks']})")
    evaluation.add_argument("--curve-benchmarks", help="what each checkpoint is evaluated on "
                            f"(default: {by_domain['curve']})")
    evaluation.add_argument("--redcode-limit", type=int, default=d["redcode_limit"],
                            help="RedCode-Exec evaluation samples, a seeded draw of the 783x3 "
                                 f"(0: none; default {d['redcode_limit']})")
    evaluation.add_argument("--humaneval-problems", default=d["humaneval_problems"],
                            help=f"HumanEval problems (default {d['humaneval_problems']})")
    evaluation.add_argument("--sites", help="web: WebDojo sites to evaluate on (default all)")
    evaluation.add_argument("--eval-limit", type=int,
                            help="at most this many samples per benchmark (a smoke run)")
    evaluation.add_argument("--max-samples", type=int, help="samples run at once")
    machine = parser.add_argument_group("machine")
    machine.add_argument("--device", choices=DEVICES, default=d["device"])
    machine.add_argument("--engine", choices=ENGINE_CHOICES, default=d["engine"],
                         help="what evaluates the checkpoints: llamacpp (llama.cpp's server "
                              "on a GGUF converted from each checkpoint, cached in its folder) "
                              "or transformers (exact HF); default auto: llamacpp on CPU where "
                              "it is installed, else transformers")
    machine.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                         help="evaluate in bf16 (default: bf16 on CUDA, fp32 on CPU; training "
                              "is bf16 on CUDA and fp32 on CPU)")
    machine.add_argument("--threads", type=int, default=d["threads"],
                         help="torch threads on CPU (default 1: on a busy 2-core machine 2 "
                              "threads were 7x slower)")
    machine.add_argument("--seed", type=int, default=d["seed"])
    machine.add_argument("--workers", type=int, default=d["workers"],
                         help="evaluate the grid's cells on N processes of this machine")
    machine.add_argument("--shard", metavar="I/N",
                         help="be worker I (0-based) of N machines or processes sharing "
                              "--out: each training stage runs once (the others wait for "
                              "it), evaluation cells are shared out")
    machine.add_argument("--no-progress", action="store_true", help="no progress bars")


def settings_from(args: argparse.Namespace) -> ReproduceSettings:
    """The run's settings from parsed arguments (checked when the run starts)."""
    names = {f.name for f in fields(ReproduceSettings)}
    values = {k: v for k, v in vars(args).items() if k in names}
    values["benchmarks"] = _specs(args.benchmarks)
    values["curve_benchmarks"] = _specs(args.curve_benchmarks)
    values["search_args"] = tuple(args.search_args)
    values["presets"] = tuple(split_list(args.presets))
    values["ping_models"] = tuple(split_list(args.ping_models))
    return ReproduceSettings(**values)


def _specs(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (text or "").split(";") if t.strip())


def run(args: argparse.Namespace) -> int:
    """Run or resume the experiment; say where the report and the logs are."""
    from ping_inspect.reproduce.pipeline import reproduce
    from ping_inspect.reproduce.settings import check

    try:
        settings = check(settings_from(args))
        reproduce(settings, command=sys.argv, progress=not args.no_progress)
    except ReproduceError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    return 0
