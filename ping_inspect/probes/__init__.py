"""Linear probes on a local model's hidden states: why a prefix works better than a suffix.

``ping-inspect probe`` (``ping_inspect.probes.cli``) collects the final-token state of
every layer for a benchmark's benign and harmful instructions under three conditions (no
defence, the prefix at the start of the response, the same text as a user-turn suffix),
trains a harmful-vs-benign probe per layer, and shows how each condition moves the probe's
logit, token by token and over a held-out split, and how that shift relates to measured
refusal across prefixes. Importing this package is light: torch, transformers, sklearn and
matplotlib load inside the functions that use them.
"""

# Its public modules (kept unimported here, so that importing the package stays light).
__all__ = ["alignment", "behaviour", "cli", "collect", "conditions", "instructions", "outputs",
           "plots", "probe", "run"]
