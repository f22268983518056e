import os
from pathlib import Path

# Tests read the benchmark data from PING_INSPECT_DATA (CI sets it); next to a developer's
# checkout it usually sits in ../shared/data.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "PING_INSPECT_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["PING_INSPECT_DATA"] = str(_SHARED)

# The tests are offline by contract: a Hugging Face hub lookup (Inspect's hf provider asks
# for a tokenizer) fails at once instead of retrying the network for most of a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
