"""Run the security suite and print, per kind of attack, the tests tried, held, failed, skipped.

The kinds are those of ATTACKS.md: sandbox, browser, bad input, judges and resume. A test
file of ``tests/security`` belongs to the kind its name starts with
(``test_sandbox_network.py``: sandbox); the resume attacks (``kill -9`` of a grid, a
search, a fine-tuning run, a reproduction, then a rerun) are the resume tests of the main
suite, run here too (``RESUME_TESTS``). An attack is one test (one parameter case). Exits
non-zero when any attack failed (or the suite could not run).

    python benchmarks/security_report.py [-- extra pytest arguments]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("tried", "held", "failed", "skipped")
KINDS = {"sandbox": "sandbox", "browser": "browser", "bad_input": "bad input",
         "judges": "judges", "resume": "resume"}
"""File name prefix (after ``test_``) -> kind."""
RESUME_TESTS = [
    "tests/test_compare.py::test_interrupted_grid_resumes_only_missing_and_failed_cells",
    "tests/test_compare.py::test_a_crashed_grid_resumes_where_it_stopped",
    "tests/test_optimize_inner.py::"
    "test_search_killed_mid_round_resumes_and_its_logs_tell_the_story",
    "tests/test_finetune.py::test_a_killed_run_resumes_from_its_last_checkpoint",
    "tests/test_reproduce.py::"
    "test_an_interrupted_run_resumes_training_and_exports_the_checkpoint_it_missed",
]
"""The resume attacks (E1-E3): these tests of the main suite, counted as kind ``resume``."""


def area_of(classname: str, file: str | None) -> str:
    """The kind of a test: ``tests/security/test_sandbox_network.py`` -> ``sandbox``."""
    path = Path(file) if file else Path(*classname.split("."))
    if "security" not in path.parts:
        return "resume"  # RESUME_TESTS, from the main suite
    name = (path.stem if file else path.name).removeprefix("test_")
    for prefix, kind in KINDS.items():
        if name.startswith(prefix):
            return kind
    return name.replace("_", " ")


def tally(*junits: Path) -> dict[str, Counter[str]]:
    """Per kind: tests tried (not skipped), held (passed), failed (failures and errors)."""
    areas: dict[str, Counter[str]] = {}
    cases = [c for junit in junits if junit.exists()
             for c in ET.parse(junit).getroot().iter("testcase")]
    for case in cases:
        area = area_of(case.get("classname", ""), case.get("file"))
        counts = areas.setdefault(area, Counter())
        if case.find("skipped") is not None:
            counts["skipped"] += 1
            continue
        counts["tried"] += 1
        failed = case.find("failure") is not None or case.find("error") is not None
        counts["failed" if failed else "held"] += 1
    return areas


def table(areas: dict[str, Counter[str]]) -> str:
    """A Markdown table of the tallies, with a total row."""
    total: Counter[str] = Counter()
    lines = ["| kind | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 1) + "|"]
    for area in sorted(areas):
        total.update(areas[area])
        lines.append(f"| {area} | " + " | ".join(str(areas[area][o]) for o in OUTCOMES) + " |")
    lines.append("| **all** | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |")
    return "\n".join(lines)


def main(extra: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        junit, resume = Path(tmp) / "security.xml", Path(tmp) / "resume.xml"
        common = ["-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1", *extra]
        done = subprocess.run([sys.executable, "-m", "pytest", "-m", "security",
                               "tests/security", f"--junitxml={junit}", *common], cwd=ROOT)
        resumed = subprocess.run([sys.executable, "-m", "pytest", *RESUME_TESTS,
                                  f"--junitxml={resume}", *common], cwd=ROOT)
        if not junit.exists():
            print("The security suite did not run.", file=sys.stderr)
            return done.returncode or 1
        areas = tally(junit, resume)
    print(table(areas))
    failed = sum(c["failed"] for c in areas.values())
    codes = (done.returncode, resumed.returncode)
    return 1 if failed or any(code not in (0, 5) for code in codes) else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[1:] if args[:1] == ["--"] else args))
