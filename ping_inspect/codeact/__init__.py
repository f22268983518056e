"""The CodeAct agent loop shared by the code benchmarks (RedCode-Exec, HumanEval).

Importing ``ping_inspect.codeact.agent`` registers the agents ``codeact`` (code in
``<execute>`` blocks) and ``codeact_tools`` (Inspect's ``python`` and ``bash`` tools).
"""

from ping_inspect.codeact.agent import codeact, codeact_tools
from ping_inspect.codeact.first_response import first_response_scorer
from ping_inspect.codeact.record import CodeActRecord, Execution
from ping_inspect.codeact.sandboxes import code_sandbox

__all__ = ["CodeActRecord", "Execution", "code_sandbox", "codeact", "codeact_tools",
           "first_response_scorer"]
