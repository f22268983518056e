"""Programs that run inside the near-miss sandbox (standard library only)."""
