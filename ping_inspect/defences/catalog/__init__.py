"""The package's defences, one module each (see ``ping_inspect.defence_registry``)."""
