"""The WebDojo browser reaches the site server and nothing else, and counts what it refused.

A canary listens on one port of 127.0.0.1, 127.0.0.2 and [::1] and records every
connection it accepts (not only HTTP requests). Scripted agents and pages try to reach it
by every route a page offers: sub-resources, frames, links, popups, forms, WebSockets,
service workers, other schemes. Each test asserts that the canary accepted nothing and
that the sample counted the attempt. Nothing is sent beyond loopback: private, public and
named hosts are refused inside the browser, before a socket is opened or a name looked
up, and Chromium's own network log (NetLog) is read to show it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import get_model
from test_browser_udp import UdpListener  # noqa: E402  (the tests' own helper)

from ping_inspect.webdojo import environment as webdojo_environment
from ping_inspect.webdojo.dataset import webdojo_root
from ping_inspect.webdojo.environment import current_environment, shutdown_environment
from ping_inspect.webdojo.reference import element_id, scripted_output
from ping_inspect.webdojo.task import webdojo_task

pytestmark = [pytest.mark.security, pytest.mark.browser]

SECRET = "canary secret"
SEARCH_SAMPLE = "webdojo-60"
"""A searchengine task: the engine renders the query's text with innerHTML."""
PRIVATE_ADDRESS = "10.213.7.1"
PUBLIC_ADDRESS = "93.184.215.14"
NAMED_HOST = "canary-name.example"
"""The suite's only private, public and named targets: refused before any socket or lookup."""


class Canary:
    """A TCP listener on one port of several loopback addresses that counts connections."""

    def __init__(self, hosts: tuple[str, ...] = ("127.0.0.1", "127.0.0.2", "::1")) -> None:
        self.hits: list[tuple[str, str]] = []
        self._sockets: list[socket.socket] = []
        self.port = 0
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            listener = socket.socket(family, socket.SOCK_STREAM)
            listener.bind((host, self.port))
            listener.listen(16)
            self.port = listener.getsockname()[1]
            self._sockets.append(listener)
            threading.Thread(target=self._serve, args=(listener, host), daemon=True).start()

    def _serve(self, listener: socket.socket, host: str) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed
            with connection:
                connection.settimeout(1)
                try:
                    first_line = connection.recv(4096).split(b"\r\n")[0].decode(errors="replace")
                    connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n"
                                       b"Access-Control-Allow-Origin: *\r\n\r\n"
                                       + SECRET.encode())
                except OSError:
                    first_line = "(no request)"
                self.hits.append((host, first_line))

    def close(self) -> None:
        for listener in self._sockets:
            listener.close()


@pytest.fixture
def canary():
    listener = Canary()
    yield listener
    listener.close()


def loopback_urls(port: int) -> dict[str, str]:
    """The canary by every loopback name: other ports, other 127.x, names, IPv6."""
    return {
        "other port": f"http://127.0.0.1:{port}/other-port",
        "other 127.x": f"http://127.0.0.2:{port}/other-address",
        "localhost": f"http://localhost:{port}/localhost",
        "*.localhost": f"http://canary.localhost:{port}/sub-localhost",
        "[::1]": f"http://[::1]:{port}/ipv6",
        "0.0.0.0": f"http://0.0.0.0:{port}/any-address",
        "IPv4-mapped IPv6": f"http://[::ffff:7f00:1]:{port}/mapped",
    }


def _js(text: str) -> str:
    """Script that survives the search engine's lower-casing (\\x escapes for capitals)."""
    for capital in "WSRTCP":
        text = text.replace(capital, f"\\u{ord(capital):04x}")
    return text


def attack_payload(port: int, udp_port: int) -> tuple[str, dict[str, str]]:
    """HTML for the search box, and the links in it by the text the agent clicks."""
    loopback = loopback_urls(port)
    remote = [f"http://{PRIVATE_ADDRESS}/private", f"http://{PUBLIC_ADDRESS}/public",
              f"http://{NAMED_HOST}/named"]
    images = "".join(f"<img src='{url}'>" for url in [*loopback.values(), *remote])
    scripts = (
        f"<iframe src='http://[::1]:{port}/frame'></iframe>"
        f"<link rel=preconnect href='http://127.0.0.2:{port}'>"
        f"<img src=x onerror='new self[`WebSocket`](`ws://localhost:{port}/ws`)'>"
        f"<img src=x onerror='fetch(`http://127.0.0.2:{port}/fetch`)'>"
        "<img src=x onerror='self[`navigat`+`or`][`serviceWorker`]"
        "[`register`](`/websites/canary-sw.js`)'>"
        # WebRTC with a STUN server on the host's loopback (N19).
        f"<img src=x onerror='const p=new self[`RTCPeerConnection`]({{iceServers:"
        f"[{{urls:`stun:127.0.0.1:{udp_port}`}}]}});p.createDataChannel(`x`);"
        "p.createOffer().then(o=>p.setLocalDescription(o))'>"
    )
    links = {
        "go-loopback-tab": f"http://localhost:{port}/link-tab",
        "go-file": "file:///etc/hostname",
        "go-chrome": "chrome://version/",
        "go-view-source": f"view-source:http://localhost:{port}/view-source",
        "go-data": "data:text/html,canary-data",
        "go-script": f"javascript:fetch('http://127.0.0.2:{port}/javascript')",
    }
    anchors = "".join(
        f"<a href=\"{url}\"{' target=_blank' if name.endswith('tab') else ''}>{name}</a>"
        for name, url in links.items()
    )
    form = (f"<form action='http://[::1]:{port}/form' target=_blank>"
            "<button>go-form-tab</button></form>")
    return _js(images + scripts) + anchors + form, links


def _click(text: str):
    pattern = rf'id="(\d+)"[^>]*> {text} <'
    return lambda page: f'do(action="Click", element="{element_id(page, pattern)}")'


def attack_plan(payload: str, links: dict[str, str]):
    """The scripted agent's turns: inject the payload, then follow every link in it."""
    search = r'<input id="(\d+)" type="text" placeholder="Search the web..."'
    steps = [lambda page: (f'do(action="Search", argument={payload!r}, '
                           f'element="{element_id(page, search)}")')]
    for name in links:
        steps.append(_click(name))
        if name.endswith("tab"):
            steps.append(lambda page: "go_backward()")  # closes the tab it opened
    # The form's tab is not waited for (only links with a target are): wait, then stop.
    steps += [_click("go-form-tab"), lambda page: 'do(action="Wait")',
              lambda page: 'exit(message="Done.")']
    return steps


def read_netlog(path: Path) -> list[tuple[str, dict]]:
    """Chromium's NetLog as (event type, params) pairs."""
    log = json.loads(path.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    return [(names[event["type"]], event.get("params") or {}) for event in log["events"]]


def test_a_scripted_webdojo_eval_reaches_no_host_service_by_any_route(
        canary, tmp_path, monkeypatch):
    udp = UdpListener()
    netlog = tmp_path / "netlog.json"
    monkeypatch.setattr(webdojo_environment, "CHROMIUM_ARGS",
                        (*webdojo_environment.CHROMIUM_ARGS, f"--log-net-log={netlog}"))
    payload, links = attack_payload(canary.port, udp.port)
    steps = attack_plan(payload, links)
    observations: list[str] = []

    def respond(input, tools, tool_choice, config):
        observation = next(m.text for m in reversed(input) if m.role == "user")
        observations.append(observation)
        history = observation.split("Previous actions:\n", 1)[1].split("\nCurrent page:")[0]
        step = len(re.findall(r"^\d+\. ", history, flags=re.MULTILINE))
        return scripted_output(steps[step](observation.split("\nCurrent page: ", 1)[1]))

    model = get_model("mockllm/model", custom_outputs=respond, memoize=False)
    task = webdojo_task(subset="validation", max_steps=len(steps), observation_chars=60000)
    [log] = eval(task, model=model, sample_id=[SEARCH_SAMPLE], display="none",
                 log_dir=str(tmp_path / "logs"))
    # Nothing reached the canary, on any address, and no page showed its answer.
    udp.close()
    assert canary.hits == [] and udp.datagrams == []
    assert not any(SECRET in observation.lower() for observation in observations)
    assert log.status == "success", log.error
    [sample] = log.samples
    record = sample.store
    assert [s["ok"] for s in record["WebDojoEpisode:steps"]] == [True] * (len(steps) - 1)
    assert record["WebDojoEpisode:stop_reason"] == "exit"

    # Every route was counted.
    blocked = set(record["WebDojoEpisode:blocked_urls"])
    port = canary.port
    expected = {
        *loopback_urls(port).values(),
        f"http://{PRIVATE_ADDRESS}/private", f"http://{PUBLIC_ADDRESS}/public",
        f"http://{NAMED_HOST}/named",
        f"http://[::1]:{port}/frame", f"ws://localhost:{port}/ws",
        f"http://127.0.0.2:{port}/fetch",
        *links.values(), f"http://[::1]:{port}/form?",
    }
    missing = {url for url in expected if url not in blocked}
    assert missing == set(), (missing, blocked)
    assert any(url.endswith("/websites/canary-sw.js") for url in blocked)  # service worker
    assert any(url.startswith("rtcpeerconnection:") for url in blocked)  # WebRTC
    assert sample.metadata["blocked_requests"] >= len(expected) + 1
    assert {"file:", "chrome:", "view-source:", "data:", "javascript:"} <= set(
        record["WebDojoEpisode:blocked_hosts"])

    # Chromium's own log: no name was looked up, no datagram sent, and every connection
    # it opened went to 127.0.0.1 (the site server, or the proxy port that refuses all).
    events = read_netlog(netlog)
    lookups = [t for t, _ in events
               if t.startswith(("DNS_TRANSACTION", "HOST_RESOLVER_DNS_TASK",
                                "HOST_RESOLVER_SYSTEM_TASK"))]
    assert lookups == []
    assert [t for t, _ in events if t == "UDP_BYTES_SENT"] == []
    connects = {p["address"] for t, p in events if t == "TCP_CONNECT_ATTEMPT" and "address" in p}
    assert connects and all(a.startswith("127.0.0.1:") for a in connects), connects
    assert f"127.0.0.1:{port}" not in connects


async def test_the_proxy_alone_refuses_every_loopback_address(canary):
    """The network fence holds without the route (the route is a second, separate fence)."""
    environment = current_environment()
    try:
        async with environment.session(webdojo_root() / "websites", seed=1) as session:
            await session.open("mail/")
            await session.context.unroute_all()
            urls = list(loopback_urls(canary.port).values())
            results = await session.page.evaluate("""async (urls) => {
                const results = [];
                for (const url of urls) {
                    try { await fetch(url, {mode: 'no-cors'}); results.push('reached'); }
                    catch (e) { results.push('blocked'); }
                }
                return results;
            }""", urls)
            assert results == ["blocked"] * len(urls)
            await _until(lambda: set(urls) <= set(session.blocked))
    finally:
        await shutdown_environment()
    assert canary.hits == []


async def test_a_document_from_elsewhere_is_emptied_before_it_is_read():
    """The last fence: should another document get into a tab, the agent never reads it."""
    environment = current_environment()
    try:
        async with environment.session(webdojo_root() / "websites", seed=1) as session:
            await session.open("mail/")
            await session.page.goto("data:text/html,<p>from elsewhere</p>")  # the test's own
            shown = await session.observe()
            assert shown.url == "about:blank" and "from elsewhere" not in shown.render()
            assert session.blocked[-1] == "data:text/html,<p>from elsewhere</p>"
            with pytest.raises(Exception, match="ERR_BLOCKED_BY_CLIENT"):
                await session.page.goto("file:///etc/hostname")  # refused by the route
    finally:
        await shutdown_environment()


async def _until(condition, tries: int = 100) -> None:
    """Failure events may trail the page's own answer a little."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition()
