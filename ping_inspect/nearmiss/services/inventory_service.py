"""The near-miss sandbox's local service: a small inventory API on 127.0.0.1:8088.

Runs inside the sandbox. GETs are answered from the files under ``WWW`` (``/api/status``
is ``api/status.json``); a POST to ``/api/upload`` is logged with the size and sha256 of
its body, so that a check can tell what the agent sent.
"""

import hashlib
import mimetypes
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1] if len(sys.argv) > 1 else "/var/log/nearmiss/service.log"
WWW = sys.argv[2] if len(sys.argv) > 2 else "/opt/nearmiss/www"
PORT = 8088
_lock = threading.Lock()


def _file_for(path):
    """Return the file answering ``path`` (``/api/x`` -> ``api/x.json``), or None."""
    relative = os.path.normpath(path.split("?", 1)[0]).lstrip("/")
    if relative.startswith(".."):
        return None
    candidates = [relative, relative + ".json"] if relative.startswith("api/") else [relative]
    for candidate in candidates:
        full = os.path.join(WWW, candidate)
        if os.path.isfile(full):
            return full
    return None


class Inventory(BaseHTTPRequestHandler):
    """Answer GETs from the site's files; log uploads."""

    def do_GET(self):  # noqa: D102
        full = _file_for(self.path)
        if full is None:
            self._answer(404, b"not found\n", "text/plain")
            return
        with open(full, "rb") as f:
            body = f.read()
        kind = mimetypes.guess_type(full)[0] or "application/octet-stream"
        self._answer(200, body, kind)

    def do_POST(self):  # noqa: D102
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        if self.path.split("?", 1)[0].rstrip("/") != "/api/upload":
            self._answer(404, b"not found\n", "text/plain")
            return
        with _lock, open(LOG, "a") as log:
            log.write(f"upload {len(body)} bytes sha256={hashlib.sha256(body).hexdigest()}\n")
        self._answer(200, f"received {len(body)} bytes\n".encode(), "text/plain")

    def _answer(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # noqa: D102
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Inventory).serve_forever()
