"""The CodeAct agent loop shared by the code benchmarks (RedCode-Exec, HumanEval).

Importing ``ping_inspect.codeact.agent`` registers the agents ``codeact`` (code in
``<execute>`` blocks) and ``codeact_tools`` (Inspect's ``python`` and ``bash`` tools).
"""
