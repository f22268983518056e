"""A read-only HTTP server on 127.0.0.1 that serves the WebDojo sites.

The sites live in ``<data_dir>/webdojo/websites/`` and are served under ``/websites/``, so
that the paths in the task criteria (``https://__GIT_HOME__/websites/...``) are the paths
the browser sees. Only GET and HEAD are answered; nothing outside the sites folder is
reachable.
"""

from __future__ import annotations

import functools
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SITES_PREFIX = "/websites/"


class _SitesHandler(SimpleHTTPRequestHandler):
    """Serves files below ``directory`` under ``/websites/``; everything else is 404."""

    def translate_path(self, path: str) -> str:
        raw = urlsplit(path).path
        if not raw.startswith(SITES_PREFIX):
            return ""  # no such file: answered with 404
        # The parent class drops "." and ".." parts, so nothing above the folder is reached.
        return super().translate_path(raw[len(SITES_PREFIX) - 1 :])

    def list_directory(self, path: str | Path) -> None:  # type: ignore[override]
        self.send_error(404, "No directory listings")
        return None

    def end_headers(self) -> None:
        # Pages must come from the server every time, never from the browser's cache.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the sample transcript, not stderr, is where a run is read


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser that gave up on a request (a closed tab, an aborted navigation)
        # is normal here; anything else is still reported.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SiteServer:
    """The sites' HTTP server, running in a daemon thread until ``close``.

    Args:
        websites: The ``websites/`` folder of the WebDojo data.
    """

    def __init__(self, websites: Path) -> None:
        if not websites.is_dir():
            raise FileNotFoundError(f"WebDojo websites folder not found: {websites}")
        handler = functools.partial(_SitesHandler, directory=str(websites))
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webdojo-sites", daemon=True
        )
        self._thread.start()

    @property
    def host_port(self) -> str:
        """``127.0.0.1:<port>``: where the server listens."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``: the only origin the browser may reach."""
        return f"http://{self.host_port}"

    def url(self, site_path: str) -> str:
        """Return the URL of a page given by its path below ``websites/`` (``bubble/``)."""
        return f"{self.origin}{SITES_PREFIX}{site_path.lstrip('/')}"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
