"""Agentic safety data, AgentAlign-style: harmful requests refused, benign near misses done.

``write_safety_data`` is the entry point (``ping-inspect safety-data`` and the
``reproduce`` pipeline call it); see ``chains`` for the behaviour chains, ``code`` and
``web`` for the two domains, ``overlap`` for the no-evaluation-item guarantee.
"""

from __future__ import annotations

import random
from pathlib import Path

DOMAINS = ("code", "web")


def write_safety_data(path: str | Path, domain: str, *, harmful: int | None = None,
                      benign: int | None = None, seed: int = 0) -> int:
    """Build a domain's safety records and write them as JSONL; return how many were written.

    The records are ``finetune.records``' ``{"messages": [...]}`` with ``meta`` holding
    ``category`` (``harmful`` / ``benign``), ``chain`` and ``domain``; they are shuffled
    with ``seed``. Benign code trajectories run in the bubblewrap sandbox; web ones in
    Chromium.

    Args:
        path: JSONL file to write.
        domain: ``code`` or ``web``.
        harmful: Harmful requests with refusals (default: the domain's default).
        benign: Benign counterparts carried out (default: the domain's default).
        seed: Seed of the instances and of the order.

    Raises:
        ValueError: an unknown domain or a negative count.
    """
    records = build_records(domain, harmful=harmful, benign=benign, seed=seed)
    from ping_inspect.finetune.records import write_jsonl

    return write_jsonl(records, path)


def build_records(domain: str, *, harmful: int | None = None, benign: int | None = None,
                  seed: int = 0, log_dir: str | None = None) -> list[dict]:
    """The records ``write_safety_data`` writes (see there), in their shuffled order."""
    if domain not in DOMAINS:
        raise ValueError(f"Unknown domain {domain!r}: use code or web.")
    for name, value in (("harmful", harmful), ("benign", benign)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be 0 or more, not {value}.")
    if domain == "code":
        from ping_inspect.safety_data import code as module
    else:
        from ping_inspect.safety_data import web as module  # type: ignore[no-redef]
    records = module.domain_records(
        module.DEFAULT_HARMFUL if harmful is None else harmful,
        module.DEFAULT_BENIGN if benign is None else benign,
        seed, log_dir,
    )
    random.Random(seed).shuffle(records)
    return records


__all__ = ["DOMAINS", "build_records", "write_safety_data"]
