"""`--solver ping` from a task file: the bare names resolve to the package's solvers."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_task_file_exposes_the_defences_under_bare_names() -> None:
    task_files = sorted((ROOT / "tasks").glob("*.py"))
    assert task_files, "no task files"
    for path in task_files:
        code = (
            "import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('taskfile', {str(path)!r})\n"
            "module = importlib.util.module_from_spec(spec); sys.modules['taskfile'] = module\n"
            "spec.loader.exec_module(module)\n"
            "from inspect_ai._util.registry import registry_lookup, registry_info\n"
            "for name in ('ping', 'ptst', 'fewshot', 'suffix', 'guard', 'no_defence', "
            "'defend'):\n"
            "    assert registry_lookup('solver', name) is not None, name\n"
            "solver = registry_lookup('solver', 'ping')(prefix='# p')\n"
            "assert registry_info(solver).name == 'ping'\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, f"{path.name}: {result.stderr[-800:]}"
