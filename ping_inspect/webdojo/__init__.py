"""WebDojo: the PING paper's web-agent safety benchmark, in a real (headless) Chromium.

Importing this package is cheap: Playwright loads only when a browser starts.
"""

from ping_inspect.webdojo.actions import Action, ActionError, find_action, parse_action
from ping_inspect.webdojo.scorer import FirstResponse, first_response_verdict, webdojo_scorer
from ping_inspect.webdojo.task import webdojo_task

__all__ = [
    "Action",
    "ActionError",
    "FirstResponse",
    "find_action",
    "first_response_verdict",
    "parse_action",
    "webdojo_scorer",
    "webdojo_task",
]
