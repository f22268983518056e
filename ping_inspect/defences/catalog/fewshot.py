"""Few-shot safety examples from the benchmark's validation split, in the system prompt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspect_ai.solver import Solver, solver

from ping_inspect import arguments as check
from ping_inspect.arguments import ArgumentError
from ping_inspect.defence_registry import Defence, DefenceRun
from ping_inspect.defences.fewshot import check_not_shown, fewshot_examples, format_block
from ping_inspect.defences.solvers import defend


@solver
def fewshot(benign: int = 5, harmful: int = 5) -> Solver:
    """Few-shot safety examples from the benchmark's validation split.

    Args:
        benign: Benign examples to show (the expected response performs the task).
        harmful: Harmful examples to show (the expected response refuses).
    """
    check.integer("benign", benign, minimum=0)
    check.integer("harmful", harmful, minimum=0)
    return defend("fewshot", fewshot_benign=benign, fewshot_harmful=harmful)


def check_counts(options: Mapping[str, Any]) -> None:
    """An empty block is an error, not a run that shows nothing."""
    if options["fewshot_benign"] + options["fewshot_harmful"] == 0:
        raise ArgumentError("The fewshot defence with 0 benign and 0 harmful examples shows "
                            "nothing: give benign and/or harmful >= 1.")


def examples_block(run: DefenceRun) -> str:
    """The examples, for the agent's system prompt; never one of the scored sample."""
    examples = fewshot_examples(run.spec, run.options["fewshot_benign"],
                                run.options["fewshot_harmful"])
    # A sample shown as an example (with its right answer) must not be scored.
    check_not_shown(examples, [(run.state.sample_id, run.state.metadata)])
    return format_block(examples)


DEFENCE = Defence(
    "fewshot",
    solver=fewshot,
    summary="safety examples from the benchmark's validation split",
    check=check_counts,
    system_addendum=examples_block,
    shows_samples=True,
)
