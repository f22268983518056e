"""``ping-inspect reproduce``: the paper's finding in miniature, one resumable command.

Stages (``pipeline.py``): safety SFT of the model (aligned), agentic fine-tuning of the
aligned model on benign trajectories with checkpoints every few steps (agentic), the same
with the safety data mixed in (mixed), an optional prefix search on the agentic model,
every model evaluated through ``ping-inspect compare``'s grid, the erosion curve from the
checkpoints, and ``ping-inspect report``'s tables and plot. ``stages.py`` skips a stage
whose output exists with the same settings hash; ``checkpoints.py`` turns training
checkpoints into models to evaluate; ``results.py`` draws the erosion curve and pairs the
models. Heavy libraries load inside the functions (the CLI parser imports ``cli.py``).
"""
