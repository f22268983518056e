"""Run the security suite and print, per area, the attacks tried, held, failed and skipped.

An area is a test file of ``tests/security`` (``test_sandbox_network.py``: sandbox network;
``test_browser_fence.py``: browser fence); an attack is one test (one parameter case).
Exits non-zero when any attack failed (or the suite could not run).

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


def area_of(classname: str, file: str | None) -> str:
    """``tests/security/test_sandbox_network.py`` -> ``sandbox network``."""
    stem = Path(file).stem if file else classname.rsplit(".", 1)[-1]
    return stem.removeprefix("test_").replace("_", " ")


def tally(junit: Path) -> dict[str, Counter[str]]:
    """Per area: tests tried (not skipped), held (passed), failed (failures and errors)."""
    areas: dict[str, Counter[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
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
    lines = ["| area | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 1) + "|"]
    for area in sorted(areas):
        total.update(areas[area])
        lines.append(f"| {area} | " + " | ".join(str(areas[area][o]) for o in OUTCOMES) + " |")
    lines.append("| **all** | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |")
    return "\n".join(lines)


def main(extra: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "security.xml"
        command = [sys.executable, "-m", "pytest", "-m", "security", "tests/security", "-q",
                   "-p", "no:cacheprovider", f"--junitxml={junit}",
                   "-o", "junit_family=xunit1", *extra]
        done = subprocess.run(command, cwd=ROOT)
        if not junit.exists():
            print("The security suite did not run.", file=sys.stderr)
            return done.returncode or 1
        areas = tally(junit)
    print(table(areas))
    failed = sum(c["failed"] for c in areas.values())
    return 1 if failed or done.returncode not in (0, 5) else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[1:] if args[:1] == ["--"] else args))
