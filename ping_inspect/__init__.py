"""ping-inspect: PING (Prefix INjection Guard) and agent-safety benchmarks for Inspect AI."""

__version__ = "0.1.0"
