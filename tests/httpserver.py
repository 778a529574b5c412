"""A real HTTP server on 127.0.0.1 for download tests: serves files, truncates or fails on request."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        srv = self.server
        name = self.path.lstrip("/")
        srv.hits[name] = srv.hits.get(name, 0) + 1
        if name in srv.fail_first and srv.hits[name] <= srv.fail_first[name]:
            self.send_error(503, "try again")
            return
        path = srv.root / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if name in srv.truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)


class FileServer:
    """Serve ``root`` on 127.0.0.1 (random port) in a thread; use as a context manager.

    ``truncate``: names whose body is cut in half (Content-Length announces the whole file).
    ``fail_first``: name -> number of leading requests answered with 503.
    """

    def __init__(self, root: Path, truncate=(), fail_first=None):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.root = Path(root)
        self.httpd.truncate = set(truncate)
        self.httpd.fail_first = dict(fail_first or {})
        self.httpd.hits = {}
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def hits(self) -> dict:
        return self.httpd.hits

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
