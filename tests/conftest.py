import os
from pathlib import Path

import pytest

# The tests are offline by contract: a Hugging Face hub lookup (Inspect's hf provider asks
# for a tokenizer) fails at once instead of retrying the network for most of a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NO_DATA_HINT = ("benchmark data not found: run `ping-inspect data download` (needs internet) "
                "or set PING_INSPECT_DATA=DIR (a folder holding webdojo/ and redcode-exec/)")


def _find_data() -> str | None:
    """Where the tests read the benchmark data; None when it is nowhere to be had.

    In order: PING_INSPECT_DATA (CI sets it); a ``shared/data`` folder beside the
    checkout; the user cache, downloaded there (pinned, each file checked) when missing.
    """
    if os.environ.get("PING_INSPECT_DATA"):
        return os.environ["PING_INSPECT_DATA"]
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if shared.is_dir():
        return str(shared)
    from ping_inspect.data import DataError, data_dir

    try:
        roots = {data_dir("webdojo"), data_dir("redcode-exec")}
    except DataError:
        return None
    return str(roots.pop())


DATA = _find_data()
if DATA is not None:
    os.environ["PING_INSPECT_DATA"] = DATA


def pytest_report_header(config) -> str:
    return f"benchmark data: {DATA}" if DATA else f"SKIPPING data tests: {NO_DATA_HINT}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Without the data, a test stopped by the missing data is skipped, with the hint."""
    outcome = yield
    report = outcome.get_result()
    if DATA is None and report.failed and call.excinfo is not None:
        from ping_inspect.data import DataError

        if call.excinfo.errisinstance(DataError) or "data unavailable" in str(call.excinfo.value):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, NO_DATA_HINT)
