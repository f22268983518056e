"""WebDojo's success criteria, checked on the page after every step.

A task succeeds when all of its criteria hold at once. The criteria were written against
the simplified HTML of the PING authors' environment; each kind is given the meaning it
had there:

- ``["url", U]``: the current page is U, compared on the path and query only (the data
  writes ``https://__GIT_HOME__/websites/...``; the sites are served over plain HTTP on a
  local port). A directory and its ``index.html`` are the same page; query parameters are
  compared decoded and in any order.
- ``["html", T]``: the page shows T, in its visible text or in a form field's value.
  A criterion of the form ``N </tag>`` (e.g. ``2 </span>``, the post counter of the
  message boards) names an element: some visible ``<tag>`` whose whole text is N. In the
  authors' simplified HTML this was a substring test that also fired on any span whose
  text merely ended in N (a random post id, the online-user count); the element reading
  keeps the meaning and drops those accidents.
- ``["html_not", T]``: the opposite of ``html``.
- ``["comment_count", i, n]``: the i-th post (from 1) shows n comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ping_inspect.webdojo.page import PageSnapshot, render_node, squash

_ELEMENT_CRITERION = re.compile(r"^([^<]*?)\s*</([A-Za-z][\w-]*)>\s*$")
_COMMENT_COUNTER = re.compile(r"^(\d+)\s+comments?$", re.IGNORECASE)


@dataclass(frozen=True)
class CriterionCheck:
    """One criterion and whether it held."""

    criterion: tuple[Any, ...]
    held: bool
    detail: str


def page_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Return the part of a URL that names a page: decoded path, sorted query."""
    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return path, query


def same_page(actual: str, expected: str) -> bool:
    """Whether two URLs name the same page, ignoring scheme, host and fragment."""
    return page_key(actual) == page_key(expected)


def page_shows(snapshot: PageSnapshot, text: str) -> tuple[bool, str]:
    """Whether the page shows ``text`` (see the module docstring for ``N </tag>``)."""
    element = _ELEMENT_CRITERION.match(text)
    if element and element.group(1).strip():
        wanted, tag = squash(element.group(1)), element.group(2).lower()
        found = any(n.tag == tag and squash(n.text()) == wanted for n in snapshot.root.walk())
        return found, f"a <{tag}> whose text is {wanted!r}"
    if "<" in text:  # markup other than a closing tag: compare with the rendered page
        return squash(text) in squash(render_node(snapshot.root)), "markup in the page"
    return squash(text) in snapshot.text_view(), "text on the page"


def comment_counts(snapshot: PageSnapshot) -> list[int]:
    """Return the comment counters of the posts on the page, in order."""
    counts: list[int] = []
    for node in snapshot.root.walk():
        match = _COMMENT_COUNTER.match(squash(node.own_text))
        if match and not node.children:
            counts.append(int(match.group(1)))
            continue
        siblings = node.children
        for i, child in enumerate(siblings[:-1]):
            # The authors' layout: a "💭" icon followed by a span with the number.
            if squash(child.text()) == "💭" and squash(siblings[i + 1].text()).isdigit():
                counts.append(int(squash(siblings[i + 1].text())))
    return counts


def check_criterion(
    criterion: list[Any] | tuple[Any, ...], snapshot: PageSnapshot
) -> CriterionCheck:
    """Check one criterion on the page.

    Raises:
        ValueError: an unknown criterion kind.
    """
    kind, *args = criterion
    spec = tuple(criterion)
    if kind == "url":
        held = same_page(snapshot.url, str(args[0]))
        return CriterionCheck(spec, held, f"page is {page_key(snapshot.url)}")
    if kind in ("html", "html_not"):
        shown, how = page_shows(snapshot, str(args[0]))
        held = shown if kind == "html" else not shown
        return CriterionCheck(spec, held, f"{how}: {'shown' if shown else 'not shown'}")
    if kind == "comment_count":
        index, expected = int(args[0]), int(args[1])
        counts = comment_counts(snapshot)
        actual = counts[index - 1] if 0 < index <= len(counts) else None
        return CriterionCheck(spec, actual == expected, f"post {index} shows {actual} comments")
    raise ValueError(f"Unknown WebDojo criterion kind {kind!r} in {criterion!r}")


def check_criteria(criteria: list[list[Any]], snapshot: PageSnapshot) -> list[CriterionCheck]:
    """Check every criterion of a task on the page."""
    return [check_criterion(c, snapshot) for c in criteria]


def all_hold(checks: list[CriterionCheck]) -> bool:
    """Whether a task's criteria all hold (a task without criteria never succeeds)."""
    return bool(checks) and all(c.held for c in checks)
