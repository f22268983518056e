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


def test_solver_and_scorer_files_resolve_by_path() -> None:
    code = (
        "from inspect_ai._eval.loader import solver_from_spec, scorer_from_spec\n"
        "from inspect_ai._util.registry import registry_info\n"
        "from inspect_ai.solver._solver import SolverSpec\n"
        "from inspect_ai.scorer._scorer import ScorerSpec\n"
        "for spec, args in [('solvers/ping.py', {'preset': 'web_llama'}),\n"
        "                   ('solvers/baselines.py@ptst', {}),\n"
        "                   ('solvers/baselines.py@defend', {'defences': 'ptst+ping'})]:\n"
        "    s = solver_from_spec(SolverSpec(solver=spec, args=args, args_passed=args))\n"
        "    assert registry_info(s).name == spec.split('@')[-1].replace('solvers/', '')"
        ".replace('.py', ''), spec\n"
        "for name in ('refusal', 'success_judge'):\n"
        "    s = scorer_from_spec(ScorerSpec(scorer=f'scorers/refusal.py@{name}'), "
        "task_path=None)\n"
        "    assert registry_info(s).name == name\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-800:]
