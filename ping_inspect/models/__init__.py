"""Local models: the ``transformers/`` provider with true prefill and the embedded SmolLM2.

Importing this package is light; torch and transformers load only when a model does.
"""
