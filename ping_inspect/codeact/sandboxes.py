"""Which sandbox a code task runs in: ``bwrap`` (no Docker needed) or ``docker``."""

from __future__ import annotations

from pathlib import Path

from inspect_ai.util import SandboxEnvironmentSpec

from ping_inspect.sandbox.environment import BwrapConfig

SANDBOXES = ("bwrap", "docker")


def code_sandbox(kind: str, image: str, compose: Path) -> SandboxEnvironmentSpec:
    """Return the sandbox spec of a code task.

    Args:
        kind: ``bwrap`` (the Docker-free sandbox, with ``image``) or ``docker`` (Inspect's
            Docker provider with ``compose``).
        image: The bwrap image name.
        compose: The compose file of the Docker variant.

    Raises:
        ValueError: any other kind; ``local`` above all, since benchmark code must never
            run on the host.
    """
    if kind == "bwrap":
        return SandboxEnvironmentSpec("bwrap", BwrapConfig(image=image))
    if kind == "docker":
        return SandboxEnvironmentSpec("docker", str(compose))
    raise ValueError(
        f"Unknown sandbox '{kind}' for a code task: use bwrap (no Docker needed) or docker. "
        "Code from these benchmarks must never run outside a sandbox."
    )
