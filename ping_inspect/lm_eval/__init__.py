"""The lm-evaluation-harness front end: the benchmarks' single-turn forms as lm-eval tasks.

``python -m ping_inspect.lm_eval --out DIR`` writes one lm-eval task per benchmark, split
(benign, harmful) and defence variant (none, ping, ptst, suffix), generated from the
benchmark descriptors, and prints the ``--include_path`` to give ``lm_eval run``.
"""
