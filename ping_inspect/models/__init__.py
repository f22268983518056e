"""Local models: the ``transformers/`` provider with true prefill and the embedded SmolLM2.

Importing this package is light; torch and transformers load only when a model does.
"""

# Its public modules (kept unimported here, so that importing the package stays light).
__all__ = ["batching", "cli", "generation", "hidden_states", "llama_server", "llamacpp_api",
           "loading", "ping_provider",
           "provider", "smollm2", "transformers_api"]
