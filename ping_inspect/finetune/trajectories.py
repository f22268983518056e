"""``ping-inspect trajectories``: training data in the agents' runtime format, checked.

    ping-inspect trajectories code --out data/code.jsonl            # generated problems
    ping-inspect trajectories web --out data/web.jsonl --sites mail,writely
    ping-inspect trajectories logs logs/strong-agent/*.eval --out data/distil.jsonl

``code`` and ``web`` run an eval of the package's own agent with a scripted expert (logs
in ``--log-dir``) and export it; ``logs`` exports any Inspect log of this package's
benchmarks. Only benign, undefended samples that succeeded are written (a web goal's
criteria held; a code solution passed its tests).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ping_inspect.finetune.export import Export

DEFAULT_LOG_DIR = "logs/trajectories"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``trajectories`` subcommands."""
    sources = parser.add_subparsers(dest="source", required=True)
    code = sources.add_parser("code", help="benign CodeAct trajectories on generated problems")
    code.add_argument("--agent", default="codeact", choices=["codeact", "codeact_tools"])
    code.add_argument("--styles", default="humaneval,instruction",
                      help="phrasings of each problem: humaneval, instruction (comma list)")
    code.add_argument("--limit", type=int, default=None,
                      help="at most this many problems (default: all generated)")
    code.add_argument("--seed", type=int, default=0, help="seed of the problems' test inputs")
    code.add_argument("--sandbox", default="bwrap", choices=["bwrap", "docker"])
    web = sources.add_parser("web", help="benign WebDojo trajectories on new goals, per step")
    web.add_argument("--sites", default=None,
                     help="comma list of sites to use (default all; leave some out to hold "
                          "them out)")
    web.add_argument("--agent", default="actions", choices=["actions"])
    web.add_argument("--data-dir", default=None, help="directory holding webdojo/")
    logs = sources.add_parser("logs", help="successful benign samples of Inspect logs")
    logs.add_argument("logs", nargs="+", help=".eval or .json log files")
    for sub in (code, web, logs):
        sub.add_argument("--out", required=True, help="JSONL file to write")
    for sub in (code, web):
        sub.add_argument("--log-dir", default=DEFAULT_LOG_DIR,
                         help=f"where the recording eval's log goes (default {DEFAULT_LOG_DIR})")
        sub.add_argument("--max-samples", type=int, default=4,
                         help="samples run at once (default 4)")


def run(args: argparse.Namespace) -> int:
    """Build the trajectories and write them."""
    from ping_inspect.finetune.export import export_logs
    from ping_inspect.finetune.records import write_jsonl

    if args.source == "logs":
        export = export_logs(args.logs)
    elif args.source == "code":
        export = record_code(
            styles=_comma_list(args.styles), agent=args.agent, limit=args.limit,
            seed=args.seed, sandbox=args.sandbox, log_dir=args.log_dir,
            max_samples=args.max_samples,
        )
    else:
        export = record_web(
            sites=_comma_list(args.sites) if args.sites else None, data_dir=args.data_dir,
            log_dir=args.log_dir, max_samples=args.max_samples,
        )
    for benchmark, count in export.from_test_splits.items():
        print(f"ping-inspect trajectories: warning: {count} samples come from the test split of "
              f"{benchmark}; a model trained on them can no longer be evaluated on it.",
              file=sys.stderr)
    written = write_jsonl(export.records, args.out)
    print(f"ping-inspect trajectories: {export.summary()}; wrote {written} to {args.out}",
          file=sys.stderr)
    return 0 if written else 1


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def record_code(
    styles: Sequence[str] = ("humaneval", "instruction"),
    agent: str = "codeact",
    limit: int | None = None,
    seed: int = 0,
    sandbox: str = "bwrap",
    log_dir: str = DEFAULT_LOG_DIR,
    max_samples: int = 4,
) -> Export:
    """Record and export the code trajectories (see ``ping_inspect.finetune.code``)."""
    from ping_inspect.finetune.code import CodeExpert, code_trajectory_task
    from ping_inspect.finetune.code_problems import generate_problems

    problems = generate_problems(seed)[:limit]
    task = code_trajectory_task(problems, styles=styles, agent=agent,  # type: ignore[arg-type]
                                sandbox=sandbox)
    expert = CodeExpert(problems, styles)  # type: ignore[arg-type]
    return record_with_expert(task, "code", expert, log_dir, max_samples)


def record_web(
    sites: Sequence[str] | None = None,
    data_dir: str | None = None,
    log_dir: str = DEFAULT_LOG_DIR,
    max_samples: int = 4,
) -> Export:
    """Record and export the web trajectories (see ``ping_inspect.finetune.web``)."""
    from ping_inspect.finetune.web import WebExpert, web_trajectory_task
    from ping_inspect.finetune.web_goals import web_goals

    goals = web_goals(sites)
    task = web_trajectory_task(goals, data_dir=data_dir)
    return record_with_expert(task, "web", WebExpert(goals), log_dir, max_samples)


def record_with_expert(
    task: object, name: str, policy: object, log_dir: str = DEFAULT_LOG_DIR, max_samples: int = 4
) -> Export:
    """Run a recording eval with a scripted expert as the model, then export its log.

    Raises:
        RuntimeError: the eval did not finish (a sample errored).
    """
    from inspect_ai import eval as inspect_eval

    from ping_inspect.finetune.expert import expert_model
    from ping_inspect.finetune.export import export_logs

    logs = inspect_eval(
        task,  # type: ignore[arg-type]
        model=expert_model(name, policy),  # type: ignore[arg-type]
        log_dir=log_dir,
        max_samples=max_samples,
        display="none",
        score=True,
    )
    log = logs[0]
    if log.status != "success":
        raise RuntimeError(f"The recording eval ended with status {log.status}: {log.error}")
    export = export_logs([log.location])
    print(f"ping-inspect trajectories: log {log.location}", file=sys.stderr)
    return export
