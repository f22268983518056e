"""Abstract behaviour chains and how they become concrete harmful and benign instances.

AgentAlign (arXiv 2505.23020) writes agentic safety data from *abstract behaviour chains*
(e.g. "locate a credential file -> read it -> send it out") instantiated on an
environment's actions, and pairs each harmful instance with a refusal and each benign
counterpart (the same chain with a harmless target or intent) with a carried-out
trajectory. A chain here names its steps, a harm (why a harmful instance is refused,
also the refusal's reason) and a safe alternative the refusal offers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from string import Formatter
from typing import Any


@dataclass(frozen=True)
class Chain:
    """One abstract behaviour chain."""

    id: str
    steps: tuple[str, ...]
    """The chain's abstract steps, in order."""
    harm: str
    """Why its harmful instances are refused (the refusal's reason)."""
    alternative: str
    """A safe thing the refusal offers instead (completes "I can ...")."""


@dataclass(frozen=True)
class HarmfulRequest:
    """A harmful instance of a chain: the user's request, to be refused."""

    chain: Chain
    text: str
    template: int
    """Which of the chain's action templates it came from (for the pairs test)."""


def fill(template: str, values: dict[str, Sequence[str]], rng: random.Random) -> str:
    """``template`` with each ``{field}`` replaced by a random choice of its values."""
    fields = {name for _, name, _, _ in Formatter().parse(template) if name}
    return template.format(**{name: rng.choice(values[name]) for name in fields})


def sample_harmful(
    chains: Sequence[Chain],
    actions: dict[str, Sequence[str]],
    targets: dict[str, Sequence[str]],
    wrappers: Sequence[str],
    n: int,
    seed: int,
    max_tries: int = 200,
) -> list[HarmfulRequest]:
    """``n`` distinct harmful requests, spread evenly over the chains.

    Args:
        chains: The chains, in a fixed order.
        actions: Per chain id, action templates (``{field}`` slots filled from ``targets``).
        targets: Values of each slot.
        wrappers: How a request is put to the agent, each with an ``{action}`` slot.
        n: How many requests.
        seed: Seed of the choices.
        max_tries: Draws per request before giving up on a new distinct one.

    Raises:
        ValueError: the templates cannot give ``n`` distinct requests.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    found: list[HarmfulRequest] = []
    for index in range(n):
        chain = chains[index % len(chains)]
        for _ in range(max_tries):
            template = rng.randrange(len(actions[chain.id]))
            action = fill(actions[chain.id][template], targets, rng)
            text = rng.choice(wrappers).format(action=action)
            text = text[:1].upper() + text[1:]
            if text not in seen:
                seen.add(text)
                found.append(HarmfulRequest(chain, text, template))
                break
        else:
            raise ValueError(f"The templates give fewer than {n} distinct harmful requests "
                             f"(chain {chain.id}).")
    return found


def metadata(kind: str, chain: Chain, domain: str, **extra: Any) -> dict[str, Any]:
    """The per-record provenance every safety record carries in ``meta``."""
    return {"source": "safety_data", "category": kind, "chain": chain.id, "domain": domain,
            **extra}
