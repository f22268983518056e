"""No UDP leaves the browser: WebRTC's STUN, at harness level or injected by the agent (N18, N19).

A UDP listener on the host's 127.0.0.1 counts every datagram. Pages try WebRTC with a
STUN server there (also through a fresh frame's own constructor, past the init script);
Chromium runs under a seccomp filter with no UDP socket, and each WebRTC attempt the init
script stops is counted in the sample's record.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from ping_inspect.webdojo import environment as webdojo_environment
from ping_inspect.webdojo.dataset import webdojo_root
from ping_inspect.webdojo.environment import current_environment, shutdown_environment

pytestmark = [pytest.mark.security, pytest.mark.browser]


class UdpListener:
    """Counts the datagrams that reach one UDP port of 127.0.0.1."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, _ = self.socket.recvfrom(65536)
            except OSError:
                return
            self.datagrams.append(data)

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def udp():
    listener = UdpListener()
    yield listener
    listener.close()


def webrtc_script(port: int, source: str = "window") -> str:
    """Open a peer connection with a STUN server on ``port``, a data channel, an offer."""
    return f"""async () => {{
        const scope = {source};
        const pc = new scope.RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.1:{port}'}}]}});
        pc.createDataChannel('x');
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((done) => setTimeout(done, 1500));
        return pc.localDescription && pc.localDescription.sdp.length;
    }}"""


FRESH_FRAME = ("(() => { const f = document.createElement('iframe'); "
               "document.body.appendChild(f); return f.contentWindow; })()")


async def test_webrtc_sends_nothing_and_is_counted(udp):
    environment = current_environment()
    try:
        async with environment.session(webdojo_root() / "websites", seed=1) as session:
            await session.open("mail/")
            with pytest.raises(Exception, match="RTCPeerConnection is blocked"):
                await session.page.evaluate(webrtc_script(udp.port))
            assert any(url.startswith("rtcpeerconnection:") for url in session.blocked)
            # Past the init script (a fresh frame's own constructor): still no UDP socket.
            try:
                await session.page.evaluate(webrtc_script(udp.port, FRESH_FRAME))
            except Exception as err:  # refused there too, or failed without a socket
                assert "blocked" in str(err) or "RTC" in str(err), err
            await asyncio.sleep(1)
    finally:
        await shutdown_environment()
    assert udp.datagrams == []


async def test_the_udp_filter_alone_stops_webrtc(udp, monkeypatch):
    """Without the init script's refusal, the page's WebRTC runs and still sends nothing.

    (Without the filter too, the same page sends STUN datagrams to the listener.)
    """
    full = webdojo_environment.init_script
    monkeypatch.setattr(webdojo_environment, "init_script", lambda seed: full(seed).replace(
        '"RTCPeerConnection", "webkitRTCPeerConnection"', '"NoSuchName"'))
    environment = current_environment()
    try:
        async with environment.session(webdojo_root() / "websites", seed=1) as session:
            await session.open("mail/")
            assert await session.page.evaluate(webrtc_script(udp.port)) > 0  # an offer made
    finally:
        await shutdown_environment()
    assert udp.datagrams == []


def test_the_browser_filter_refuses_udp_and_raw_sockets_and_keeps_tcp_and_unix():
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from ping_inspect.sandbox.seccomp import no_udp_launcher

    probe = ("import socket, sys\n"
             "for family, kind in [(2, 2), (10, 2), (2, 3), (2, 1), (10, 1), (1, 2), (1, 1)]:\n"
             "    try: socket.socket(family, kind).close(); print('ok', family, kind)\n"
             "    except OSError as e: print('refused', family, kind, e.errno)\n")
    with tempfile.TemporaryDirectory() as folder:
        launcher = no_udp_launcher(sys.executable, Path(folder))
        out = subprocess.run([str(launcher), "-c", probe], capture_output=True, text=True,
                             timeout=60)
    assert out.stdout.splitlines() == [
        "refused 2 2 1", "refused 10 2 1", "refused 2 3 1",
        "ok 2 1", "ok 10 1", "ok 1 2", "ok 1 1"], out.stderr
