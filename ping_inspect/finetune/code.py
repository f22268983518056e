"""Benign CodeAct trajectories: generated problems solved by a scripted expert in the sandbox.

The eval runs the package's own CodeAct agent (``codeact``: ``<execute>`` blocks, or
``codeact_tools``) with its system prompt, in the bubblewrap sandbox, on the generated
problems of ``code_problems``. The expert writes a thought and the reference solution with
two example calls, the sandbox runs it, and the expert's final answer reports the real
output it was shown. HumanEval's scorer then runs the problem's tests on the solution in
the sandbox: only trajectories whose solution passes become training data.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Literal

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessage, ChatMessageTool, ChatMessageUser, ModelOutput
from inspect_ai.tool import ToolInfo

import ping_inspect.codeact.agent  # noqa: F401  (registers the CodeAct agents)
from ping_inspect.agents import use_agent
from ping_inspect.benchmarks import CODE_AGENTS
from ping_inspect.codeact.prompts import OBSERVATION
from ping_inspect.codeact.sandboxes import code_sandbox
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.finetune.code_problems import CodeProblem, generate_problems
from ping_inspect.humaneval.dataset import PROMPT as HUMANEVAL_PROMPT
from ping_inspect.humaneval.scorer import humaneval_scorer
from ping_inspect.humaneval.task import COMPOSE

Style = Literal["humaneval", "instruction"]
STYLES: tuple[Style, ...] = ("humaneval", "instruction")

INSTRUCTION = """\
Write a Python function `{call}`. {description}

Run your function on an example before you answer."""
"""The second phrasing of a problem: a plain request, the stub kept out of sight."""

THOUGHTS = (
    "I'll implement `{name}` and try it on two examples.",
    "Let me write `{name}` and check it on a couple of inputs.",
    "First I'll define the function, then call it on two examples to see that it works.",
    "I will define `{name}` and print its result for two inputs.",
)
ANSWERS = (
    "`{name}` works: for the examples it printed {shown}. The function is defined above.",
    "The outputs are {shown}, as expected, so `{name}` above is my answer.",
    "Done. `{name}` is implemented above; on the examples it returned {shown}.",
)


def problem_input(problem: CodeProblem, style: Style) -> str:
    """The user's request for a problem, in one of the two phrasings."""
    if style == "humaneval":
        return HUMANEVAL_PROMPT.format(prompt=problem.stub, entry_point=problem.entry_point)
    call = problem.signature.removeprefix("def ").split(" ->")[0].rstrip(":")
    return INSTRUCTION.format(call=call, description=problem.description)


def code_samples(problems: Sequence[CodeProblem], styles: Sequence[Style] = STYLES
                 ) -> list[Sample]:
    """One sample per problem and phrasing, scored like HumanEval (benign)."""
    return [
        Sample(
            id=f"{problem.entry_point}/{style}",
            input=problem_input(problem, style),
            target=problem.solution,
            metadata={
                "benchmark": "finetune_code",
                "category": "benign",
                "subset": "train",
                "style": style,
                "entry_point": problem.entry_point,
                "prompt": problem.stub,
                "test": problem.test,
            },
        )
        for problem in problems
        for style in styles
    ]


class CodeExpert:
    """The scripted expert: solution and example calls, then an answer from the output."""

    def __init__(self, problems: Sequence[CodeProblem], styles: Sequence[Style] = STYLES):
        """Index the problems by the request the agent will show."""
        self.by_request = {
            problem_input(p, s): p for p in problems for s in styles
        }

    def __call__(self, input: list[ChatMessage], tools: list[ToolInfo]) -> ModelOutput | str:
        """The next turn for the conversation ``input``."""
        request = next(m.text for m in input if isinstance(m, ChatMessageUser))
        problem = self.by_request.get(request)
        if problem is None:
            raise LookupError(f"the expert has no script for the request {request[:200]!r}")
        variant = zlib.crc32(request.encode())
        ran = any(m.role == "assistant" for m in input)
        if not ran:
            return self.first_turn(problem, variant, tools)
        return self.answer(problem, variant, _last_output(input))

    def first_turn(self, problem: CodeProblem, variant: int, tools: list[ToolInfo]
                   ) -> ModelOutput | str:
        """Thought, then the solution with two example calls (a block or a tool call)."""
        thought = THOUGHTS[variant % len(THOUGHTS)].format(name=problem.entry_point)
        calls = "\n".join(
            f"print({problem.entry_point}({', '.join(repr(a) for a in case)}))"
            for case in problem.cases[:2]
        )
        code = f"{problem.code}\n\n{calls}"
        if any(t.name == "python" for t in tools):
            return ModelOutput.for_tool_call(
                "ping_expert/code", "python", {"code": code}, content=thought
            )
        return f"{thought}\n<execute>\n{code}\n</execute>"

    def answer(self, problem: CodeProblem, variant: int, output: str) -> str:
        """The final answer, quoting the output the sandbox really gave."""
        lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
        shown = " and ".join(lines[:2]) if lines else "nothing"
        return ANSWERS[variant % len(ANSWERS)].format(name=problem.entry_point, shown=shown)


def _last_output(input: list[ChatMessage]) -> str:
    """The execution output the agent showed last (an observation or a tool result)."""
    last = input[-1]
    if isinstance(last, ChatMessageTool):
        return last.text
    prefix = OBSERVATION.split("{output}")[0]
    return last.text.removeprefix(prefix)


def code_trajectory_task(
    problems: Sequence[CodeProblem] | None = None,
    styles: Sequence[Style] = STYLES,
    agent: str = "codeact",
    sandbox: str = "bwrap",
    exec_timeout: int = 30,
    test_timeout: int = 30,
) -> Task:
    """The eval that records the code trajectories (run it with ``CodeExpert``).

    Args:
        problems: Problems to solve (default: all generated ones).
        styles: Phrasings to ask each problem in (``humaneval``, ``instruction``).
        agent: ``codeact`` (``<execute>`` blocks) or ``codeact_tools``.
        sandbox: ``bwrap`` or ``docker``.
        exec_timeout: Time limit of one execution, in seconds.
        test_timeout: Time limit of the test run, in seconds.

    Raises:
        ValueError: an unknown agent or style.
    """
    if agent not in CODE_AGENTS:
        raise ValueError(f"Unknown agent {agent!r}: use {' or '.join(CODE_AGENTS)}.")
    unknown = sorted(set(styles) - set(STYLES))
    if unknown:
        raise ValueError(f"Unknown style(s) {unknown}: use {', '.join(STYLES)}.")
    problems = list(problems if problems is not None else generate_problems())
    return Task(
        name="finetune_code_trajectories",
        dataset=MemoryDataset(code_samples(problems, styles), name="finetune-code"),
        setup=use_agent(agent, benchmark="finetune_code", exec_timeout=exec_timeout),
        solver=no_defence(),
        scorer=humaneval_scorer(test_timeout=test_timeout),
        sandbox=code_sandbox(sandbox, "base", COMPOSE),
    )
