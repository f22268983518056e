"""A table of descriptors collected from modules: the shape benchmarks and defences share.

Each descriptor lives in its own module as one module-level constant (``BENCHMARK``,
``DEFENCE``); the registry is the list of those modules, imported on first read, so the
module that defines the registry imports none of them (a descriptor's module imports the
registry's module for the type).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

Ref = str | Callable[..., Any]
"""A callable, or its ``module:function`` name (loaded on first use)."""


def resolve(ref: Ref) -> Callable[..., Any]:
    """Load a ``module:function`` reference (a callable is returned as it is)."""
    if callable(ref):
        return ref
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class Named(Protocol):
    """A descriptor: it has a name."""

    @property
    def name(self) -> str:
        """Its name in the registry."""
        ...


T = TypeVar("T", bound=Named)


class Registry(MutableMapping[str, T], Generic[T]):
    """Descriptors by name; the listed modules are imported on first read, in order.

    Args:
        modules: The modules that each define one descriptor.
        attribute: The name of the descriptor in each module (``BENCHMARK``).
    """

    def __init__(self, modules: Sequence[str], attribute: str) -> None:
        self._modules = tuple(modules)
        self._attribute = attribute
        self._table: dict[str, T] = {}
        self._loaded = False

    def _load(self) -> dict[str, T]:
        if not self._loaded:
            self._loaded = True
            for module in self._modules:
                descriptor = getattr(importlib.import_module(module), self._attribute)
                self._table.setdefault(descriptor.name, descriptor)
        return self._table

    def __getitem__(self, name: str) -> T:
        return self._load()[name]

    def __setitem__(self, name: str, descriptor: T) -> None:
        self._load()[name] = descriptor

    def __delitem__(self, name: str) -> None:
        del self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """`` Did you mean 'x'?`` for the nearest known name, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""
