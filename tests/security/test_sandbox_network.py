"""No network: not the host's loopback, not private or public addresses, no DNS.

Each non-loopback address gets one connection attempt, which must fail at once (the
sandbox has no route at all, so nothing leaves the machine).
"""

from __future__ import annotations

import socket
import threading

from sandbox_attacks import MARKS, fenced, run

pytestmark = MARKS


async def test_no_connection_leaves_the_sandbox():
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen()
    host.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(host.accept())
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = host.getsockname()[1]
    probe = f"""
import socket
for address in [("127.0.0.1", {port}), ("10.0.0.1", 80), ("192.168.0.1", 80),
                ("1.1.1.1", 53)]:
    try:
        socket.create_connection(address, timeout=2).close()
        print("connected", address)
    except OSError as err:
        print("blocked", address, err.errno)
try:
    socket.getaddrinfo("example.com", 80)
    print("resolved")
except OSError:
    print("no dns")
print(sorted(name for _, name in socket.if_nameindex()))
"""
    try:
        async with fenced() as sandbox:
            result = await run(sandbox, probe)
    finally:
        stop.set()
        thread.join()
        host.close()
    assert result.stdout.count("blocked") == 4 and "connected" not in result.stdout
    assert "no dns" in result.stdout and not accepted
    assert "['lo']" in result.stdout  # the sandbox's own loopback is its only interface
