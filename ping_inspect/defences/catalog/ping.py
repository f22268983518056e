"""PING: the safety prefix at the start of every model turn of the agent."""

from __future__ import annotations

from inspect_ai.solver import Solver, solver

from ping_inspect.defence_registry import Defence, SingleTurnPrompt
from ping_inspect.defences.solvers import NOT_GIVEN, defend


@solver
def ping(
    prefix: str = NOT_GIVEN,
    prefix_file: str = NOT_GIVEN,
    preset: str = NOT_GIVEN,
    mode: str = "auto",
) -> Solver:
    """PING: start every model turn of the agent with a safety prefix.

    The prefix is delivered as the start of the model's own turn where the provider can
    continue it (vLLM, SGLang, Anthropic before Claude 4.6, ``transformers/``), else
    appended to the last user turn, as the PING authors did for closed models. The
    mode used is recorded in the sample's metadata and transcript.

    Args:
        prefix: The prefix. On the CLI, ``-S`` values are YAML: pass text through
            ``--solver-config ping.yaml`` (``-S prefix=# ...`` arrives as None, a
            comment, and is an error, as are numbers, bools, lists and mappings).
        prefix_file: File holding the prefix (``.txt``, or ``.yaml``/``.json`` with a
            ``prefix`` key, as written by ``ping_optimize``; UTF-8, at most 1 MB,
            a prefix of at most 4,000 characters).
        preset: A published prefix: ``web_llama``, ``web_glm``, ``web_qwen``,
            ``web_default``, ``code_llama``. Default: ``web_glm`` on WebDojo (and tasks
            of no known benchmark), ``code_llama`` on RedCode and HumanEval.
        mode: ``auto`` (default), ``native`` (error if the provider cannot continue) or
            ``user_suffix``.
    """
    return defend("ping", prefix=prefix, prefix_file=prefix_file, preset=preset, mode=mode)


def as_answer_start(prompt: SingleTurnPrompt) -> SingleTurnPrompt:
    """The prefix as the start of the assistant's answer (lm-eval's ``gen_prefix``)."""
    return prompt.but(gen_prefix=prompt.prefix)


DEFENCE = Defence(
    "ping",
    solver=ping,
    summary="the PING prefix at the start of every model turn",
    uses_prefix=True,
    single_turn=as_answer_start,
)
