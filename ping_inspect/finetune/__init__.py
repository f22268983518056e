"""Agentic fine-tuning: trajectories in the agents' runtime format, and supervised fine-tuning.

``ping-inspect trajectories`` (``trajectories.py``) writes checked training records from
this package's own agents driven by a scripted expert (``code.py``, ``web.py``) or from
any Inspect log (``export.py``); ``ping-inspect finetune`` (``cli.py``, ``train.py``)
fine-tunes a local model on them with TRL. Heavy libraries load inside the functions.
"""

# Its public modules (kept unimported here, so that importing the package stays light).
__all__ = ["cli", "code", "code_problems", "expert", "export", "records", "template", "train",
           "trajectories", "web", "web_goals"]
