"""Checks of task and solver arguments, made where the arguments are given.

Every ``@task`` and defence ``@solver`` factory checks its arguments with these helpers
before it builds anything, so that ``-T max_steps=-1`` or ``-T scenarios=5-2`` is an
error that names the argument and its valid values, not a run that measures something
else. The errors are Inspect's ``PrerequisiteError`` (printed by the CLI as the message
alone, without a traceback) and also ``ValueError`` (what Python callers catch).

Values arrive the way the Inspect CLI reads ``-T`` / ``-S``: YAML scalars (``5``,
``true``, ``abc``), and strings with commas split into lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from rich.markup import escape

from ping_inspect.inspect_compat import PrerequisiteError

P = ParamSpec("P")
R = TypeVar("R")


class ShortError(PrerequisiteError):
    """An error the Inspect CLI prints as its message alone (no traceback).

    The CLI prints ``message`` with rich markup, so the text is escaped there; ``str()``
    of the error stays the plain text.
    """

    def __init__(self, text: str) -> None:
        super().__init__(escape(text))
        self.args = (text,)


class ArgumentError(ShortError, ValueError):
    """A task or solver argument with a value the user cannot have meant."""


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def integer(name: str, value: Any, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """Return ``value`` as an int within ``[minimum, maximum]``, else raise ``ArgumentError``.

    Args:
        name: The argument's name, as the user typed it.
        value: The value given (an int; YAML reads ``5`` as one).
        minimum: Smallest valid value, if any.
        maximum: Largest valid value, if any.
    """
    valid = (f"an integer from {minimum} to {maximum}" if minimum is not None and
             maximum is not None else f"an integer >= {minimum}" if minimum is not None
             else f"an integer <= {maximum}" if maximum is not None else "an integer")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"Argument {name}={_show(value)} is invalid: use {valid}.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ArgumentError(f"Argument {name}={value} is out of range: use {valid}.")
    return value


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 1, else raise ``ArgumentError``."""
    return integer(name, value, minimum=1)


def optional_positive_int(name: str, value: Any) -> int | None:
    """Return None, or ``value`` if it is an int >= 1."""
    return None if value is None else positive_int(name, value)


def boolean(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (``true``/``false`` on the CLI), else raise."""
    if not isinstance(value, bool):
        raise ArgumentError(f"Argument {name}={_show(value)} is invalid: use true or false.")
    return value


def choice(name: str, value: Any, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise ``ArgumentError``."""
    if not isinstance(value, str) or value not in options:
        raise ArgumentError(
            f"Argument {name}={_show(value)} is invalid: use one of {', '.join(options)}."
        )
    return value


def some_of(name: str, value: Any, options: Sequence[str], example: str) -> list[str]:
    """``"all"``, ``"a,b"`` or a list (the CLI splits on commas) into options, in their order.

    Raises:
        ArgumentError: no name, or a name not in ``options`` (``example`` shows a good value).
    """
    items = [value] if isinstance(value, str) else list(value)
    names = [n.strip() for item in items for n in str(item).split(",") if n.strip()]
    if names == ["all"]:
        return list(options)
    if not names or any(n not in options for n in names):
        raise ArgumentError(f"Argument {name}={_show(value)} is invalid: use all or any of "
                            f"{', '.join(options)} ({example}).")
    return [o for o in options if o in names]


def optional_text(name: str, value: Any) -> str | None:
    """Return None, or ``value`` if it is a non-empty string (a path, a role name)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(f"Argument {name}={_show(value)} is invalid: use a non-empty text.")
    return value


def int_ranges(name: str, spec: Any, valid: Iterable[int], example: str = "1-3,8",
               strip: str = "") -> list[int] | None:
    """Parse ``None`` (all), ``5``, ``"1-3,8"`` or a list of those into sorted numbers.

    Args:
        name: The argument's name.
        spec: The value given (the CLI splits ``1-3,8`` into ``["1-3", 8]``).
        valid: The numbers that exist (e.g. scenarios 1..27).
        example: An example shown in the error message.
        strip: A prefix each part may carry (``HumanEval/``).

    Raises:
        ArgumentError: a part that is not a number or a range ``low-high`` with
            ``low <= high``, or a number that does not exist.
    """
    if spec is None:
        return None
    known = sorted(set(valid))
    bounds = f"{known[0]}..{known[-1]}" if known else "none"
    parts = [spec] if isinstance(spec, int | str) else list(spec) if isinstance(
        spec, list | tuple) else [spec]
    numbers: set[int] = set()
    for part in (p.strip() for item in parts for p in str(item).split(",")):
        low, dash, high = part.removeprefix(strip).partition("-")
        try:
            if isinstance(spec, bool) or not part:
                raise ValueError
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise ArgumentError(
                f"Argument {name}={_show(spec)} is invalid: {part!r} is not a number or a "
                f"range; use numbers and ranges from {bounds}, e.g. {name}={example}."
            ) from None
        if first > last:
            raise ArgumentError(
                f"Argument {name}={_show(spec)} is invalid: the range {part!r} is empty "
                f"(write the lower number first, e.g. {last}-{first})."
            )
        numbers |= set(range(first, last + 1))
    unknown = sorted(numbers - set(known))
    if unknown:
        raise ArgumentError(
            f"Argument {name}={_show(spec)} is invalid: {unknown} do not exist; valid: {bounds}."
        )
    return sorted(numbers)


def short_errors(factory: Callable[P, R]) -> Callable[P, R]:
    """Let a factory's ``ValueError`` read as a short message on the Inspect CLI.

    For factories whose own checks raise plain ``ValueError`` (the prefix search's task
    entry): the error is re-raised as an ``ArgumentError`` with the same text.
    """

    @wraps(factory)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return factory(*args, **kwargs)
        except ShortError:
            raise
        except ValueError as err:
            raise ArgumentError(str(err)) from err

    return checked
