"""The page as the agent sees it: a simplified HTML with numbered interactive elements.

``page.js`` (run in the browser) returns the visible DOM as a tree and numbers every
interactive element; this module turns the tree into the observation text (bounded in
length) and into the views that the success criteria are checked on. Keeping the tree in
Python makes both testable without a browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Union

ID_ATTRIBUTE = "data-ping-id"
"""The attribute ``page.js`` sets on each numbered element (the executor looks it up)."""

# Containers that say nothing by themselves: shown only when they carry text of their own.
_PLAIN_CONTAINERS = frozenset(
    {"div", "span", "section", "article", "main", "header", "footer", "nav", "aside",
     "body", "figure", "center", "font", "tbody", "thead"}
)
_TEXT_LIMIT_SHORT = 80
"""Per-text limit used when the full rendering does not fit."""


@cache
def page_script() -> str:
    """Return the JavaScript that numbers elements and returns the page tree."""
    return resources.files("ping_inspect.webdojo").joinpath("page.js").read_text()


@dataclass
class Node:
    """An element of the visible page."""

    tag: str
    id: int | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)

    @property
    def own_text(self) -> str:
        """The element's own text (not its children's), joined with spaces."""
        return " ".join(i for i in self.items if isinstance(i, str))

    @property
    def children(self) -> list[Node]:
        """Child elements."""
        return [i for i in self.items if isinstance(i, Node)]

    def walk(self) -> list[Node]:
        """Return this element and all its descendants, in document order."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

    def text(self) -> str:
        """All the text in this subtree, in document order, joined with spaces."""
        parts = [i if isinstance(i, str) else i.text() for i in self.items]
        return " ".join(p for p in parts if p)


Item = Union[str, Node]  # noqa: UP007 (a forward reference inside a union)


def node_from_json(raw: list[Any]) -> Node:
    """Build a ``Node`` tree from ``page.js``'s ``[tag, id, attrs, items]`` lists."""
    tag, element_id, attrs, items = raw
    return Node(
        tag=tag,
        id=element_id,
        attrs={k: str(v) for k, v in (attrs or {}).items()},
        items=[i if isinstance(i, str) else node_from_json(i) for i in items],
    )


@dataclass
class PageSnapshot:
    """What the page showed after a step."""

    url: str
    title: str
    root: Node
    scroll_y: float = 0.0
    page_height: float = 0.0
    viewport_height: float = 0.0

    @classmethod
    def from_script(cls, result: dict[str, Any]) -> PageSnapshot:
        """Build a snapshot from the value ``page.js`` returns."""
        scroll = result.get("scroll") or [0, 0, 0]
        return cls(
            url=result["url"],
            title=result.get("title") or "",
            root=node_from_json(result["tree"]),
            scroll_y=float(scroll[0]),
            page_height=float(scroll[1]),
            viewport_height=float(scroll[2]),
        )

    @property
    def element_ids(self) -> set[int]:
        """The numbers of the interactive elements on the page."""
        return {n.id for n in self.root.walk() if n.id is not None}

    def element(self, element_id: int) -> Node | None:
        """Return the interactive element with this number, if any."""
        return next((n for n in self.root.walk() if n.id == element_id), None)

    def render(self, max_chars: int = 8000) -> str:
        """Render the simplified HTML the agent sees, at most ``max_chars`` long.

        Interactive elements carry ``id="N"``. When the page does not fit, long texts are
        shortened first; what still does not fit is cut off with a marker.
        """
        full = render_node(self.root)
        if len(full) <= max_chars:
            return full
        short = render_node(self.root, text_limit=_TEXT_LIMIT_SHORT)
        if len(short) <= max_chars:
            return short
        marker = " ... [the rest of the page is cut off; scroll or act on what is shown]"
        return short[: max(0, max_chars - len(marker))] + marker

    def text_view(self) -> str:
        """Return the page's visible text and form values, for plain-text criteria."""
        values = [
            v
            for n in self.root.walk()
            for k, v in n.attrs.items()
            if k in ("value", "title", "alt", "aria-label") and v
        ]
        return squash(" ".join([self.root.text(), *values]))


def squash(text: str) -> str:
    """Collapse runs of whitespace into one space."""
    return re.sub(r"\s+", " ", text).strip()


def render_node(node: Node, text_limit: int | None = None) -> str:
    """Render a subtree as compact HTML: ``<tag id="N" attr="v"> text children </tag>``."""
    inner = " ".join(
        part
        for part in (
            _clip(i, text_limit) if isinstance(i, str) else render_node(i, text_limit)
            for i in node.items
        )
        if part
    )
    attrs = _shown_attrs(node, text_limit)
    if node.id is None and not attrs:
        if not inner:
            return ""
        has_own_text = any(isinstance(i, str) for i in node.items)
        if node.tag in _PLAIN_CONTAINERS and not has_own_text:
            return inner  # a wrapper around other elements: show only what it holds
    head = f'<{node.tag}{f" id={_quote(str(node.id))}" if node.id is not None else ""}{attrs}>'
    return f"{head} {inner} </{node.tag}>" if inner else f"{head} </{node.tag}>"


def _shown_attrs(node: Node, text_limit: int | None) -> str:
    keep = dict(node.attrs)
    if node.tag != "a" or node.id is None:
        keep.pop("href", None)  # a link's target matters only where it can be clicked
    if "value" in keep and node.tag not in ("input", "textarea", "select"):
        keep.pop("value")
    return "".join(f" {k}={_quote(_clip(squash(v), text_limit))}" for k, v in keep.items())


def _clip(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def _quote(value: str) -> str:
    return '"' + value.replace('"', "&quot;") + '"'
