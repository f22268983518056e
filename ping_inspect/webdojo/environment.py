"""The browser environment: one Chromium per eval run, a fresh context per sample.

Lifecycle (nothing outlives the run that started it):

- ``WebEnvironment`` holds the sites' HTTP server and a headless Chromium driven by
  Playwright. There is one per event loop, i.e. per eval run; it starts lazily, when the
  first sample asks for it.
- Each sample opens a ``BrowserSession`` with ``async with environment.session(...)``: a
  new browser context (no cookies, storage or pages shared with other samples) that is
  closed when the block ends, also on error or cancellation. The WebDojo task's setup
  opens it with ``open_session`` instead (``browser_tools.py``): the sample's scorer, or
  else the sample's end, closes it.
- The run's end closes the environment: an Inspect hook (``on_run_end``, which Inspect
  calls after success, error or cancellation, inside the run's event loop) calls
  ``shutdown_environment``. Should a process end without it, the Playwright driver exits
  with the process and takes Chromium with it.

Network: the browser reaches the site server's origin (``http://127.0.0.1:<port>``) and
nothing else. Four fences, each enough alone for what it covers:

1. A route in each context aborts every request Playwright sees whose URL is not on the
   origin (other ports, other loopback hosts, private, public and named hosts, ``file:``),
   inside the browser, before a socket is opened or a name looked up. The pattern is
   matched in the driver: the site's own requests never come to Python.
2. Chromium sends everything but the origin to a proxy address that refuses connections
   (a port this process holds bound but never listens on), loopback included: the bypass
   list starts with ``<-loopback>``, which removes Chromium's implicit bypass of
   ``localhost``, ``*.localhost``, ``[::1]`` and 127.0.0.0/8. This also covers what
   Playwright does not see (preconnects, favicons, the browser's own background requests).
3. Chromium's host resolver fails every host but 127.0.0.1, names and addresses alike
   (``--host-resolver-rules``): a request that went direct would reach nothing, and no
   DNS query leaves the browser.
4. WebSockets are refused by a route, service workers are blocked (by Playwright, and
   by the init script, which reports them), links and forms to ``javascript:`` URLs are
   not followed (init script); Chromium itself refuses pages' navigations to ``file:``,
   ``chrome:``, ``view-source:`` and top-level ``data:``. A tab that shows anything but
   the origin, an empty page or Chromium's error page is emptied before it is read.

Every refusal is counted per sample (``BrowserSession.blocked``): requests from their
failure, the rest from the console message Chromium or the init script writes.

Playwright is imported only when a browser is started, never at import time.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import tempfile
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from inspect_ai.hooks import Hooks, RunEnd, hooks

from ping_inspect.sandbox.seccomp import no_udp_launcher
from ping_inspect.webdojo.actions import Action, ActionError
from ping_inspect.webdojo.page import ID_ATTRIBUTE, PageSnapshot, page_script
from ping_inspect.webdojo.server import SiteServer

if TYPE_CHECKING:
    from playwright.async_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Locator,
        Page,
        Playwright,
        Request,
        Route,
        WebSocketRoute,
    )

CHROMIUM_ENV_VAR = "PING_INSPECT_CHROMIUM"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--dns-prefetch-disable",
    # Tabs left behind by a popup keep their timers at full speed (pages are read there).
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-extensions",
    "--mute-audio",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # No mDNS candidates, no prefetch or preconnect to anything the page names.
    "--disable-features=WebRtcHideLocalIpsWithMdns,NetworkPrediction,MediaRouter,"
    "DialMediaRouteProvider,WebTransport",
)
NO_BYPASS = "<-loopback>"
"""Proxy bypass rule that removes Chromium's implicit one: without it ``localhost``,
``*.localhost``, ``[::1]`` and all of 127.0.0.0/8 would never go through the proxy."""
HOST_RESOLVER_RULES = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
"""Every host but 127.0.0.1 (names and IP addresses) fails to resolve inside Chromium,
before any DNS query is sent; the proxy and the site server are on 127.0.0.1."""
VIEWPORT = {"width": 1280, "height": 720}
ACTION_TIMEOUT_MS = 5000
NAVIGATION_TIMEOUT_MS = 30000
"""Generous: a local model generating on every core can starve the renderer for seconds."""
OPEN_ATTEMPTS = 2
PAGE_LOADS_AT_ONCE = 2
"""Samples opening their start page at the same time; the rest wait their turn (an eval
starts dozens of samples at once, and their loads, all at once, starve each other)."""
SETTLE_QUIET_MS = 30
SETTLE_MAX_MS = 2000
READ_TIMEOUT_S = 30
"""Longest wait for a page to be read (a page whose scripts never yield is an error)."""
_BLOCKED_FAILURES = ("net::ERR_PROXY_CONNECTION_FAILED", "net::ERR_BLOCKED_BY_CLIENT")
"""How a request the environment refused fails (at the proxy, or by the route)."""
REFUSED_MESSAGE = "ping-inspect refused: "
"""What the init script writes on the console when it stops a javascript: link or a
service worker's registration."""
_REFUSED_NAVIGATIONS = (
    "Not allowed to load local resource: ",  # file:, chrome:, view-source:, ...
    "Not allowed to navigate top frame to data URL: ",
    REFUSED_MESSAGE,
)
"""Console errors that report a navigation refused inside the page (no request made)."""
FIXED_TIME = "2025-06-02T10:00:00Z"
"""The pages' clock (``Date``): fixed, so that a task looks the same on every run."""


class BrowserUnavailable(RuntimeError):
    """Playwright or Chromium is missing."""


def chromium_executable() -> str | None:
    """Return the Chromium to launch.

    ``$PING_INSPECT_CHROMIUM``, else a system Chromium, else None (Playwright's own
    download, from ``playwright install chromium``).
    """
    explicit = os.environ.get(CHROMIUM_ENV_VAR)
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@cache
def _init_script_template() -> str:
    return resources.files("ping_inspect.webdojo").joinpath("init.js").read_text()


def init_script(seed: int) -> str:
    """Return the script added to every page of a sample.

    It seeds randomness, stops the clock and tracks when the page has settled.
    """
    script = _init_script_template().replace("__FIXED_TIME__", FIXED_TIME)
    script = script.replace("__REFUSED_MESSAGE__", REFUSED_MESSAGE)
    return script.replace("__SEED__", str(seed & 0xFFFFFFFF))


def off_site_pattern(origin: str) -> re.Pattern[str]:
    """Match every URL a page may request that is not on the site server's ``origin``.

    ``data:`` URLs carry their content and need no network; ``blob:`` URLs of the origin
    are the page's own objects.
    """
    origin = re.escape(origin)
    return re.compile(rf"^(?!{origin}/|blob:{origin}/|data:)")


class WebEnvironment:
    """The site servers and the browser of one eval run."""

    def __init__(self) -> None:
        self._servers: dict[Path, SiteServer] = {}
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._dead_port: socket.socket | None = None
        self._lock = asyncio.Lock()
        self._page_loads = asyncio.Semaphore(PAGE_LOADS_AT_ONCE)

    def server(self, websites: Path) -> SiteServer:
        """Return the HTTP server for a ``websites/`` folder (started on first use)."""
        key = websites.resolve()
        if key not in self._servers:
            self._servers[key] = SiteServer(key)
        return self._servers[key]

    async def browser(self) -> Browser:
        """Return the run's Chromium (launched on first use)."""
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        try:
            from playwright.async_api import Error, async_playwright
        except ImportError as err:
            raise BrowserUnavailable(
                "WebDojo needs Playwright: pip install 'ping-inspect[web]'"
            ) from err
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        # Chromium runs under a seccomp filter with no UDP socket (WebRTC, QUIC, mDNS).
        executable = str(no_udp_launcher(
            chromium_executable() or self._playwright.chromium.executable_path,
            Path(tempfile.gettempdir()) / "ping-inspect-browser",
        ))
        if self._dead_port is None:
            # Bound, never listening: connections to it are refused, and no one else can
            # take the port while we hold it.
            self._dead_port = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._dead_port.bind(("127.0.0.1", 0))
        try:
            # Nothing goes direct: "<-loopback>" removes Chromium's implicit bypass of
            # loopback hosts. Each context lets its own site server through (``session``).
            return await self._playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=[*CHROMIUM_ARGS, HOST_RESOLVER_RULES],
                proxy={"server": self._nowhere, "bypass": NO_BYPASS},
            )
        except Error as err:
            raise BrowserUnavailable(
                f"Chromium did not start ({executable or 'Playwright download'}): "
                f"{str(err).splitlines()[0]}. Install it (Debian: apt-get install chromium; "
                f"or: playwright install chromium) or point {CHROMIUM_ENV_VAR} at it."
            ) from err

    @property
    def _nowhere(self) -> str:
        """The proxy address: a port this process holds bound but never listens on."""
        assert self._dead_port is not None, "the browser has not been launched"
        return f"http://127.0.0.1:{self._dead_port.getsockname()[1]}"

    @asynccontextmanager
    async def session(self, websites: Path, seed: int = 0) -> AsyncIterator[BrowserSession]:
        """Open a fresh browser context for one sample, closed when the block ends.

        Args:
            websites: The ``websites/`` folder to serve.
            seed: Seed for the pages' ``Math.random``.
        """
        session = await self.open_session(websites, seed)
        try:
            yield session
        finally:
            await session.close()

    async def open_session(self, websites: Path, seed: int = 0) -> BrowserSession:
        """Open a fresh browser context for one sample; the caller must ``close()`` it.

        For a session that outlives one block (the task's setup opens it, the scorer or
        the sample's end closes it); ``session`` is the block form.

        Args:
            websites: The ``websites/`` folder to serve.
            seed: Seed for the pages' ``Math.random``.
        """
        server = self.server(websites)
        browser = await self.browser()
        context = await browser.new_context(
            # Only the site server goes direct. "<-loopback>" must come first: after the
            # server's rule it sent the server, too, to the proxy (Chromium 156).
            proxy={"server": self._nowhere, "bypass": f"{NO_BYPASS},{server.host_port}"},
            viewport=VIEWPORT,
            service_workers="block",
            accept_downloads=False,
            locale="en-US",
            timezone_id="UTC",
        )
        session = BrowserSession(context, server, self._page_loads)
        try:
            await session.start(seed)
        except BaseException:
            await session.close()
            raise
        return session

    async def close(self) -> None:
        """Close the browser, stop Playwright and the servers (safe to call twice)."""
        with anyio.CancelScope(shield=True):
            if self._browser is not None:
                await _quietly(self._browser.close())
                self._browser = None
            if self._playwright is not None:
                await _quietly(self._playwright.stop())
                self._playwright = None
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        if self._dead_port is not None:
            self._dead_port.close()
            self._dead_port = None


_ENVIRONMENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WebEnvironment] = (
    weakref.WeakKeyDictionary()
)


def current_environment() -> WebEnvironment:
    """Return the running eval's environment (one per event loop), made on first use."""
    loop = asyncio.get_running_loop()
    if loop not in _ENVIRONMENTS:
        _ENVIRONMENTS[loop] = WebEnvironment()
    return _ENVIRONMENTS[loop]


async def shutdown_environment() -> None:
    """Close the running eval's environment, if it has one."""
    environment = _ENVIRONMENTS.pop(asyncio.get_running_loop(), None)
    if environment is not None:
        await environment.close()


@hooks(
    name="webdojo_environment",
    description="Closes the WebDojo browser and site server when an eval run ends.",
)
class CloseWebEnvironment(Hooks):
    """Closes the run's browser and site server when the run ends (also on error)."""

    async def on_run_end(self, data: RunEnd) -> None:
        """Close the environment of the run that just ended."""
        await shutdown_environment()


class BrowserSession:
    """One sample's browser context: observe the page and act on it."""

    def __init__(self, context: BrowserContext, server: SiteServer,
                 page_loads: asyncio.Semaphore) -> None:
        self.context = context
        self.server = server
        self._page_loads = page_loads
        """Shared by the run's sessions: how many start pages may load at once."""
        self.blocked: list[str] = []
        """URLs of the requests that were refused (not for the local server)."""
        self.dialogs: list[str] = []
        """Messages of alerts and confirmations the page showed (all accepted)."""
        self._tabs_opened = 0
        """Tabs that have reached us (context "page" events)."""
        self._reads: dict[Page, tuple[Any, int, int]] = {}
        """Per tab, when last read: its document, the tabs it had opened, ``_tabs_opened``."""

    async def start(self, seed: int) -> None:
        """Install the fences, the clock and the init script."""
        self.context.set_default_timeout(ACTION_TIMEOUT_MS)
        self.context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        # Every request Playwright sees that is not for the site server is aborted before
        # the network stack opens a socket or looks up a name. The pattern is matched
        # inside the driver: the site's own requests never come to Python.
        await self.context.route(off_site_pattern(self.server.origin), self._abort)
        self.context.on("requestfailed", self._count_blocked)
        # The sites use no WebSockets; none is let through to anything.
        await self.context.route_web_socket(re.compile(".*"), self._refuse_socket)
        # Navigations Chromium itself refuses (file:, chrome:, view-source:, top-level
        # data:), links to javascript: URLs and service workers (both refused by the init
        # script) make no request: they are reported on the page's console only.
        self.context.on("console", self._count_refused_navigation)
        await self.context.add_init_script(init_script(seed))
        self.context.on("page", self._watch)

    async def close(self) -> None:
        """Close the context, its tabs and everything in them (safe to call twice)."""
        with anyio.CancelScope(shield=True):
            await _quietly(self.context.close())

    async def _abort(self, route: Route) -> None:
        await route.abort("blockedbyclient")

    async def _refuse_socket(self, socket_route: WebSocketRoute) -> None:
        self.blocked.append(socket_route.url)
        await socket_route.close()

    def _count_blocked(self, request: Request) -> None:
        if (request.failure or "").startswith(_BLOCKED_FAILURES):
            self.blocked.append(request.url)

    def _count_refused_navigation(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        for prefix in _REFUSED_NAVIGATIONS:
            if message.text.startswith(prefix):
                self.blocked.append(message.text[len(prefix):].strip())
                return

    def may_read(self, url: str) -> bool:
        """Whether a tab showing ``url`` may be read.

        Only the site server's pages, an empty tab, and Chromium's error page (shown for
        a navigation that was refused) are.
        """
        origin = self.server.origin
        return (url.startswith((f"{origin}/", f"blob:{origin}/", "chrome-error://"))
                or url == "about:blank")

    def _watch(self, page: Page) -> None:
        self._tabs_opened += 1
        self._reads[page] = (None, 0, self._tabs_opened)
        page.on("dialog", self._accept_dialog)

    def _tab_pending(self, page: Page, result: dict[str, Any]) -> bool:
        """Whether the page opened more tabs since it was last read than have reached us."""
        document, popups = result.get("document"), int(result.get("popups") or 0)
        last_document, last_popups, last_tabs = self._reads.get(page, (None, 0, 0))
        opened = popups - (last_popups if last_document == document else 0)
        self._reads[page] = (document, popups, self._tabs_opened)
        return opened > self._tabs_opened - last_tabs

    async def _accept_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await _quietly(dialog.accept())

    @property
    def page(self) -> Page:
        """The page the agent acts on: the newest open tab (links may open new tabs)."""
        pages = [p for p in self.context.pages if not p.is_closed()]
        if not pages:
            raise RuntimeError("the browser context has no open page")
        return pages[-1]

    async def open(self, site_path: str) -> PageSnapshot:
        """Open a page of the sites (a path below ``websites/``) and observe it."""
        from playwright.async_api import TimeoutError as PlaywrightTimeoutError

        url = self.server.url(site_path)
        async with self._page_loads:
            for attempt in range(1, OPEN_ATTEMPTS + 1):
                page = await self.context.new_page()
                try:
                    await page.goto(url, wait_until="load")
                    break
                except PlaywrightTimeoutError:
                    # A starved renderer, not a broken site: a fresh tab tries once more
                    # before the sample errors (an error in one sample stops the eval).
                    await _quietly(page.close())
                    if attempt == OPEN_ATTEMPTS:
                        raise
            return await self.observe()

    async def observe(self) -> PageSnapshot:
        """Wait until the current page settles, number its elements and read it.

        When the page has opened a tab that has not reached us yet (``window.open``, a
        link with a target), wait for it and read the new tab instead.
        """
        for attempt in range(4):
            page = self.page
            try:
                # A page that never finishes loading is read as it stands.
                await _quietly(page.wait_for_load_state("load"))
                await self._leave_if_off_site(page)
                result = await asyncio.wait_for(
                    page.evaluate(page_script(), [SETTLE_QUIET_MS, SETTLE_MAX_MS]),
                    timeout=READ_TIMEOUT_S,
                )
            except TimeoutError as err:
                raise RuntimeError(f"the page did not answer within {READ_TIMEOUT_S} s") from err
            except Exception as err:  # a navigation replaced the page while reading it
                if attempt == 3 or not _navigated_away(err):
                    raise
                continue
            if self._tab_pending(page, result) and self.page is page and attempt < 3:
                await _quietly(self.context.wait_for_event("page", timeout=ACTION_TIMEOUT_MS))
            if self.page is page:
                return PageSnapshot.from_script(result)
        raise RuntimeError("the page kept changing while it was read")

    async def _leave_if_off_site(self, page: Page) -> None:
        """The last fence: a tab showing anything but the sites is emptied, never read.

        The network fences keep other documents out; should one have come in all the
        same, the agent never sees it, and it counts as blocked.
        """
        if not self.may_read(page.url):
            self.blocked.append(page.url)
            await page.goto("about:blank")

    async def execute(self, action: Action) -> str:
        """Carry out an action on the current page.

        Returns:
            What happened, in a few words, for the agent's history.

        Raises:
            ActionError: the action names no element of the page, or the element cannot
                take it (e.g. typing into a button).
        """
        from playwright.async_api import Error

        try:
            return await self._execute(action)
        except ActionError:
            raise
        except Error as err:
            message = str(err).splitlines()[0]
            raise ActionError(f"{action.describe()} failed in the browser: {message}") from err

    async def _execute(self, action: Action) -> str:
        page = self.page
        if action.kind == "exit":
            return "stopped"
        if action.kind in ("go_backward", "go_forward"):
            move = page.go_back if action.kind == "go_backward" else page.go_forward
            response = await move(wait_until="load")
            if response is None and action.kind == "go_backward" and page.opener is not None:
                await page.close()  # a tab opened by a link: going back returns to its opener
                return "closed the tab and returned to the previous page"
            return "moved" if response is not None else "there was no page to move to"
        name = action.name
        if name in ("Scroll Up", "Scroll Down"):
            sign = -1 if name == "Scroll Up" else 1
            await page.evaluate(f"window.scrollBy(0, {sign} * window.innerHeight * 2 / 3)")
            return "scrolled"
        if name == "Press Enter":
            await page.keyboard.press("Enter")
            return "pressed Enter"
        if name == "Wait":
            await asyncio.sleep(1.0)
            return "waited"
        return await self._on_element(page, action)

    async def _click(self, page: Page, element: Locator, right: bool) -> None:
        url = page.url
        try:
            await element.click(button="right" if right else "left", timeout=ACTION_TIMEOUT_MS)
            return
        except Exception:
            if page.is_closed() or page.url != url:
                return  # the click went through and the page moved on while we waited
            if right:
                raise
        try:
            # Covered or moving elements: deliver the click the page's scripts listen to.
            await element.evaluate("el => el.click()", timeout=ACTION_TIMEOUT_MS)
        except Exception:
            if page.is_closed() or page.url != url:
                return
            raise

    async def _on_element(self, page: Page, action: Action) -> str:
        locator = page.locator(f'[{ID_ATTRIBUTE}="{action.element}"]')
        if await locator.count() == 0:
            raise ActionError(
                f"there is no element with id {action.element} on the current page; "
                "use an id from the page shown"
            )
        element = locator.first
        name, text = action.name, action.argument or ""
        if name in ("Click", "Right Click"):
            await self._click(page, element, right=name == "Right Click")
            return f"clicked element {action.element}"
        if name == "Hover":
            await element.hover()
            return f"hovered over element {action.element}"
        if name == "Select Dropdown Option":
            tag = await element.evaluate("el => el.tagName.toLowerCase()")
            if tag == "select":
                try:
                    await element.select_option(label=text)
                except Exception:
                    await element.select_option(value=text)
                return f"selected {text!r} in element {action.element}"
            await element.click()
            return f"clicked element {action.element}"
        editable = await element.evaluate(
            "el => el.isContentEditable || ['INPUT', 'TEXTAREA'].includes(el.tagName)"
        )
        if not editable:
            raise ActionError(f"element {action.element} is not a text field; cannot type into it")
        await element.fill(text)
        if name == "Search":
            await element.press("Enter")
            return f"typed {text!r} into element {action.element} and pressed Enter"
        return f"typed {text!r} into element {action.element}"


def _navigated_away(err: Exception) -> bool:
    text = str(err)
    return any(
        marker in text
        for marker in ("Execution context was destroyed", "navigation", "Target page, context")
    )


async def _quietly(awaitable: Any) -> None:
    """Await a clean-up call, ignoring a browser that is already gone."""
    try:
        await awaitable
    except Exception:
        pass
