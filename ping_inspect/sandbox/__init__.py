"""A Docker-free Inspect sandbox: bubblewrap with a per-sample overlay layer.

The sandbox provider itself lives in ``ping_inspect.sandbox.environment`` (registered as
``bwrap`` by the package's entry point); this package's ``__init__`` imports nothing, so
that ``ping_inspect.sandbox.image`` also runs without Inspect (inside a container build).
"""

# Its public modules (kept unimported here, so that importing the package stays light).
__all__ = ["bwrap", "environment", "fence", "image", "reads"]
