"""Code-domain safety records: refusals of harmful requests, benign near misses carried out.

A harmful record is the CodeAct agent's first turn as the model sees it on a RedCode-Exec
task (the ``<execute>`` agent's system prompt, the request as the first user message) and
a refusal in the model's voice that runs nothing (no ``<execute>`` block). A benign record
is recorded as ``ping_inspect.finetune.code`` records its trajectories: the package's
CodeAct agent runs in the bubblewrap sandbox with a scripted expert as the model (thought
and ``<execute>`` block, the real execution output, an answer quoting it), and only
episodes whose final state passes the task's check become training data.
"""

from __future__ import annotations

import math
import tempfile
import zlib
from collections.abc import Sequence

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    ModelOutput,
)
from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState
from inspect_ai.tool import ToolInfo
from inspect_ai.util import sandbox, store_as

import ping_inspect.codeact.agent  # noqa: F401  (registers the CodeAct agents)
from ping_inspect.agents import use_agent
from ping_inspect.codeact.prompts import EXECUTE_SYSTEM_PROMPT, OBSERVATION
from ping_inspect.codeact.record import CodeActRecord
from ping_inspect.codeact.sandboxes import code_sandbox
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.finetune.records import Record, training_record
from ping_inspect.humaneval.task import COMPOSE
from ping_inspect.metrics import category_rates
from ping_inspect.safety_data.chains import metadata, sample_harmful
from ping_inspect.safety_data.code_chains import (
    CHAINS,
    CHAINS_BY_ID,
    HARMFUL_ACTIONS,
    HARMFUL_TARGETS,
    REQUEST_WRAPPERS,
    BenignTask,
    benign_tasks,
)
from ping_inspect.safety_data.refusals import code_refusal

DEFAULT_HARMFUL = 200
DEFAULT_BENIGN = 160

THOUGHTS = (
    "I'll take care of this in Python.",
    "Sure, I'll write the code and run it.",
    "I'll do this with a short Python script.",
    "Let me run this in Python and check the result.",
)
ANSWERS = (
    "Done. The script ran and printed: {shown}",
    "It worked; the output was: {shown}",
    "Finished. Here is what the code printed: {shown}",
)


def harmful_records(n: int, seed: int) -> list[Record]:
    """``n`` harmful requests, each with a refusal that runs nothing."""
    records = []
    for index, request in enumerate(
        sample_harmful(CHAINS, HARMFUL_ACTIONS, HARMFUL_TARGETS, REQUEST_WRAPPERS, n, seed)
    ):
        style = (index // len(CHAINS) + seed) % 5
        refusal = code_refusal(style, request.chain.harm, request.chain.alternative)
        messages = [
            ChatMessageSystem(content=EXECUTE_SYSTEM_PROMPT),
            ChatMessageUser(content=request.text),
            ChatMessageAssistant(content=refusal),
        ]
        records.append(training_record(
            messages, **metadata("harmful", request.chain, "code", refusal_style=style,
                                 template=request.template)))
    return records


def benign_samples(tasks: Sequence[BenignTask]) -> list[Sample]:
    """One sample per benign task: its request, its starting files, its check."""
    return [
        Sample(
            id=task.id,
            input=task.request,
            files=dict(task.files) or None,
            metadata={
                "benchmark": "safety_code",
                "category": "benign",
                "subset": "train",
                "chain": task.chain.id,
                "check": task.check,
                "expect": task.expect,
            },
        )
        for task in tasks
    ]


class SafetyCodeExpert:
    """The scripted expert: a thought and the task's code, then an answer from the output."""

    def __init__(self, tasks: Sequence[BenignTask]) -> None:
        """Index the tasks by the request the agent will show."""
        self.by_request = {task.request: task for task in tasks}

    def __call__(self, input: list[ChatMessage], tools: list[ToolInfo]) -> ModelOutput | str:
        """The next turn for the conversation ``input``."""
        request = next(m.text for m in input if isinstance(m, ChatMessageUser))
        task = self.by_request.get(request)
        if task is None:
            raise LookupError(f"the expert has no script for the request {request[:200]!r}")
        variant = zlib.crc32(request.encode())
        if not any(m.role == "assistant" for m in input):
            thought = THOUGHTS[variant % len(THOUGHTS)]
            return f"{thought}\n<execute>\n{task.code}\n</execute>"
        output = input[-1].text.removeprefix(OBSERVATION.split("{output}")[0])
        lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
        shown = "; ".join(lines[:4]) if lines else "(no output)"
        return ANSWERS[variant % len(ANSWERS)].format(shown=shown)


@scorer(metrics=[category_rates(["success"])])
def benign_check_scorer(check_timeout: int = 30) -> Scorer:
    """``success`` when the episode's last output shows ``expect`` and ``check`` passes.

    The check (Python, from the sample's metadata) runs in the sample's sandbox after the
    episode, so it sees the files the agent's code left behind.

    Args:
        check_timeout: Time limit of the check, in seconds.
    """

    async def score(state: TaskState, target: Target) -> Score:
        executions = store_as(CodeActRecord).executions
        output = executions[-1].output if executions else ""
        expect = str(state.metadata.get("expect") or "")
        if not executions:
            return Score(value={"success": 0.0}, explanation="nothing was executed")
        if expect not in output:
            return Score(value={"success": 0.0},
                         explanation=f"the last output does not show {expect!r}")
        try:
            result = await sandbox().exec(["python3", "-"], input=state.metadata["check"],
                                          timeout=check_timeout)
        except TimeoutError:
            return Score(value={"success": math.nan}, explanation="the check timed out")
        if result.returncode != 0:
            return Score(value={"success": 0.0},
                         explanation=f"the check failed: {result.stderr[-500:]}")
        return Score(value={"success": 1.0}, explanation="output shown and check passed")

    return score


def benign_task(tasks: Sequence[BenignTask], sandbox_kind: str = "bwrap",
                exec_timeout: int = 30) -> Task:
    """The eval that records the benign trajectories (run it with ``SafetyCodeExpert``)."""
    return Task(
        name="safety_code_trajectories",
        dataset=MemoryDataset(benign_samples(tasks), name="safety-code"),
        setup=use_agent("codeact", benchmark="safety_code", exec_timeout=exec_timeout),
        solver=no_defence(),
        scorer=benign_check_scorer(),
        sandbox=code_sandbox(sandbox_kind, "base", COMPOSE),
    )


def benign_records(n: int, seed: int, log_dir: str | None = None, max_samples: int = 4,
                   sandbox_kind: str = "bwrap") -> list[Record]:
    """Record ``n`` benign trajectories in the sandbox; those that pass their checks.

    Args:
        n: Benign tasks to run.
        seed: Seed of the tasks' targets and contents.
        log_dir: Where the recording eval's log goes (default: a temporary folder).
        max_samples: Samples run at once.
        sandbox_kind: ``bwrap`` or ``docker``.
    """
    from ping_inspect.finetune.trajectories import record_with_expert

    tasks = benign_tasks(n, seed)
    chain_of = {task.id: task.chain.id for task in tasks}
    with tempfile.TemporaryDirectory(prefix="safety-code-logs-") as temporary:
        export = record_with_expert(benign_task(tasks, sandbox_kind), "safety_code",
                                    SafetyCodeExpert(tasks), log_dir or temporary, max_samples)
    records = export.records
    for record in records:
        sample_id = str(record["meta"]["sample_id"])
        record["meta"] |= metadata("benign", CHAINS_BY_ID[chain_of[sample_id]], "code")
    return records


def domain_records(harmful: int = DEFAULT_HARMFUL, benign: int = DEFAULT_BENIGN, seed: int = 0,
                 log_dir: str | None = None) -> list[Record]:
    """The code domain's safety records: refusals first, then benign trajectories."""
    records = harmful_records(harmful, seed) if harmful else []
    if benign:
        records += benign_records(benign, seed, log_dir)
    return records
