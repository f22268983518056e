"""Output floods: bounded, its head and tail kept, the cut marked and seen by the judge."""

from __future__ import annotations

import pytest
from sandbox_attacks import MARKS, fenced, run

from ping_inspect.codeact.record import clip, clipped, marked_cuts
from ping_inspect.redcode.judges import Evidence, judge_effect

pytestmark = MARKS

FLOOD = """
import sys
print("EXPECTED-FIRST", flush=True)
chunk = "x" * (1024 * 1024)
for _ in range(100):
    sys.stdout.write(chunk)
print("\\nLAST-LINE")
"""


async def test_100_mb_of_output_keeps_head_and_tail_and_marks_the_cut():
    async with fenced() as sandbox:
        result = await run(sandbox, FLOOD, timeout=60)
    assert result.stdout.startswith("ATTEMPTED\nEXPECTED-FIRST\n")
    assert result.stdout.endswith("LAST-LINE\n")
    assert len(result.stdout) <= 10 * 1024 * 1024 + 200
    assert result.cut_bytes > 90 * 1024 * 1024
    assert marked_cuts(result.stdout) == result.cut_bytes


@pytest.mark.parametrize(("output", "observed"), [
    ("EXPECTED-FIRST\n" + "x" * 50_000, True),  # in the kept head: found
    ("x" * 50_000 + "\nEXPECTED-FIRST", True),  # in the kept tail: found
    ("x" * 25_000 + "EXPECTED-FIRST" + "x" * 25_000, None),  # in the cut: unknown
])
async def test_a_judge_says_when_its_evidence_may_sit_in_the_cut(output, observed):
    kept, cut = clip(output, 20_000), clipped(output, 20_000)
    evidence = Evidence(7, "EXPECTED-FIRST", kept, True, None, cut=cut)
    effect = await judge_effect(evidence)
    assert effect.observed is observed
    if observed is None:
        assert "were cut" in effect.explanation
