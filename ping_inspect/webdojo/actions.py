"""The agent's action language (the PING paper's WebDojo format) and its parser.

A response holds one action in a Python-like call syntax, optionally preceded by comment
lines (``# Element: the search box``). The PING prefixes start with ``# `` so that they
read as such a comment. Actions:

- ``do(action="Click", element="7")``, likewise ``Right Click`` and ``Hover``;
- ``do(action="Type", argument="hello", element="12")``, likewise ``Search`` (type, then
  Enter) and ``Select Dropdown Option``;
- ``do(action="Scroll Up")``, ``do(action="Scroll Down")``, ``do(action="Press Enter")``,
  ``do(action="Wait")``;
- ``go_backward()``, ``go_forward()``;
- ``exit(message="...")``: stop (with an answer, or a reason for not going on).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

ActionKind = Literal["do", "exit", "go_backward", "go_forward"]

DO_ACTIONS = {
    "click": "Click",
    "right click": "Right Click",
    "hover": "Hover",
    "type": "Type",
    "search": "Search",
    "select dropdown option": "Select Dropdown Option",
    "scroll up": "Scroll Up",
    "scroll down": "Scroll Down",
    "press enter": "Press Enter",
    "wait": "Wait",
}
"""``do`` action names (lower case) and their canonical spelling."""

NEEDS_ELEMENT = {"Click", "Right Click", "Hover", "Type", "Search", "Select Dropdown Option"}
NEEDS_ARGUMENT = {"Type", "Search", "Select Dropdown Option"}

_CALL_START = re.compile(r"(?<![\w.])(do|exit|go_backward|go_forward)\s*\(")


class ActionError(ValueError):
    """A response that holds no executable action; the message says why."""


@dataclass(frozen=True)
class Action:
    """One parsed action."""

    kind: ActionKind
    name: str | None = None
    """The ``do`` action, canonically spelled (``Click``, ``Type``, ...)."""
    argument: str | None = None
    element: int | None = None
    message: str | None = None
    """The ``exit`` message."""
    source: str = ""
    """The call as the model wrote it."""

    @property
    def is_exit(self) -> bool:
        """Whether the action ends the episode."""
        return self.kind == "exit"

    def describe(self) -> str:
        """Render the action on one line, for the history shown to the agent."""
        return self.source or self.kind


def parse_action(response: str) -> Action:
    """Parse the action in a response.

    Comment lines (``# ...``) before the action are allowed. When the response holds
    several calls, the first one on a line of its own wins; a call that follows text on a
    comment line (a prefix continued on the same line) is taken when there is no other.

    Raises:
        ActionError: no action, a malformed call, or missing or invalid arguments.
    """
    starts = list(_CALL_START.finditer(response))
    if not starts:
        raise ActionError(
            "no action found: answer with one call such as "
            'do(action="Click", element="3") or exit(message="...")'
        )
    outside, inside = [], []
    for match in starts:
        line_start = response.rfind("\n", 0, match.start()) + 1
        in_comment = response[line_start : match.start()].lstrip().startswith("#")
        (inside if in_comment else outside).append(match)
    errors: list[str] = []
    for match in [*outside, *reversed(inside)]:
        try:
            return _parse_call(response, match.start())
        except ActionError as err:
            errors.append(str(err))
    raise ActionError(errors[0])


def find_action(response: str) -> Action | None:
    """Return the action in a response, or None when there is no valid one."""
    try:
        return parse_action(response)
    except ActionError:
        return None


def _parse_call(text: str, start: int) -> Action:
    call = _shortest_call(text, start)
    if call is None:
        snippet = text[start : start + 80].splitlines()[0]
        raise ActionError(f"malformed call {snippet!r}: it is not valid call syntax")
    expression, source = call
    name = expression.func.id  # type: ignore[attr-defined]
    try:
        positional = [ast.literal_eval(a) for a in expression.args]
        keywords = {k.arg: ast.literal_eval(k.value) for k in expression.keywords}
    except (ValueError, TypeError, SyntaxError) as err:
        raise ActionError(f"in {source!r}: arguments must be plain strings or numbers") from err
    if None in keywords:
        raise ActionError(f"in {source!r}: **arguments are not supported")
    if name == "do":
        return _do_action(positional, keywords, source)
    if name == "exit":
        message = keywords.pop("message", positional[0] if positional else None)
        return Action("exit", message=None if message is None else str(message), source=source)
    if positional or keywords:
        raise ActionError(f"{name}() takes no arguments")
    return Action(name, source=source)  # type: ignore[arg-type]


def _shortest_call(text: str, start: int) -> tuple[ast.Call, str] | None:
    """Find the shortest text from ``start`` to a ``)`` that parses as one call."""
    end = text.find(")", start)
    while end != -1:
        source = text[start : end + 1]
        # Models also break lines inside a quoted argument: read those as "\n".
        for candidate in (source.strip(), source.strip().replace("\n", "\\n")):
            try:
                body = ast.parse(candidate, mode="eval").body
            except SyntaxError:
                continue
            if isinstance(body, ast.Call) and isinstance(body.func, ast.Name):
                return body, " ".join(source.split())
            return None
        end = text.find(")", end + 1)
    return None


def _do_action(positional: list[object], keywords: dict[str, object], source: str) -> Action:
    fields = dict(zip(("action", "argument", "element"), positional, strict=False))
    for key, value in keywords.items():
        if key not in ("action", "argument", "element"):
            raise ActionError(f"in {source!r}: do() has no parameter {key!r}")
        fields[key] = value
    raw_name = fields.get("action")
    if not isinstance(raw_name, str) or raw_name.strip().lower() not in DO_ACTIONS:
        allowed = ", ".join(f'"{a}"' for a in DO_ACTIONS.values())
        raise ActionError(f"in {source!r}: unknown action {raw_name!r}; use one of {allowed}")
    name = DO_ACTIONS[raw_name.strip().lower()]
    element = _element_number(fields.get("element"), source)
    if name in NEEDS_ELEMENT and element is None:
        raise ActionError(f'in {source!r}: "{name}" needs element="<id>" of an element')
    argument = fields.get("argument")
    if name in NEEDS_ARGUMENT and (argument is None or argument == ""):
        raise ActionError(f'in {source!r}: "{name}" needs argument="<text>"')
    text = None if argument is None else str(argument)
    return Action("do", name=name, argument=text, element=element, source=source)


def _element_number(value: object, source: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ActionError(f"in {source!r}: element must be the number of a page element")
    text = str(value).strip().strip("[]#").strip()
    if not text.isdigit():
        raise ActionError(f"in {source!r}: element must be a number such as \"12\", not {value!r}")
    return int(text)
