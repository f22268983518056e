"""RedCode-Exec (Python): risky code execution by a CodeAct agent, judged per scenario."""

from ping_inspect.redcode.scorer import redcode_scorer
from ping_inspect.redcode.task import redcode_task

__all__ = ["redcode_scorer", "redcode_task"]
