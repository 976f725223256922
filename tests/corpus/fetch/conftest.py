"""A real HTTP server on 127.0.0.1 for the downloader's tests (``server`` fixture).

Routes: ``/img/<fixture>`` (Pillow's test images), ``/hold/<n>`` (an image after 0.2 s),
``/slow`` (no answer for 1.5 s), ``/drip`` (one byte every 0.05 s), ``/missing`` (404),
``/redirect``, ``/redirect-abs``, ``/loop-a`` <-> ``/loop-b``, ``/chain/<n>`` (n redirects),
``/big`` (declares 50 MB), ``/big-stream`` (2 MB without a length), ``/html``, ``/noai``
(``X-Robots-Tag: noai``), ``/flaky/<key>`` (503 twice, then the image), ``/down`` (always 503),
``/to/<host>`` (a redirect to the same port on another host or address), ``/to-file`` (a
redirect to ``file:///etc/passwd``), ``/range`` (honours a ``Range`` header with 206).
Every request is logged with its time and headers; the most requests open at once are counted.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"
FLOWER = (FIX / "flower.jpg").read_bytes()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes = b"", ctype: str = "image/jpeg",
              headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def do_GET(self) -> None:  # noqa: C901 - one route per branch
        srv = self.server
        with srv.lock:
            srv.log.append((self.path, time.monotonic(), dict(self.headers)))
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self.route()
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def route(self) -> None:
        path = self.path
        srv = self.server
        if path.startswith("/img/"):
            self._send(200, (FIX / path[5:].split("?")[0]).read_bytes())
        elif path.startswith("/hold/"):  # a normal image that takes 0.2 s (concurrency test)
            time.sleep(0.2)
            self._send(200, FLOWER)
        elif path == "/slow":  # no answer for 1.5 s: longer than the read timeout
            time.sleep(1.5)
            self._send(200, FLOWER)
        elif path == "/drip":  # one byte every 0.05 s: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for i in range(60):
                    self.wfile.write(FLOWER[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/missing":
            self._send(404, b"not found", "text/plain")
        elif path == "/redirect":
            self._send(302, headers={"Location": "/img/flower.jpg"})
        elif path == "/redirect-abs":
            self._send(301, headers={"Location": f"http://127.0.0.1:{srv.server_port}/redirect"})
        elif path == "/loop-a":
            self._send(302, headers={"Location": "/loop-b"})
        elif path == "/loop-b":
            self._send(302, headers={"Location": "/loop-a"})
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            self._send(302, headers={"Location": f"/chain/{n - 1}" if n else "/img/hopper.jpg"})
        elif path == "/big":  # declares 50 MB; the client must not read it
            self._send(200, b"\xff\xd8\xff", length=50_000_000)
        elif path == "/big-stream":  # no length, streams 2 MB
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(32):
                    self.wfile.write(b"\x00" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        elif path == "/html":
            self._send(200, b"<html><body>an error page</body></html>", "text/html")
        elif path == "/noai":
            self._send(200, FLOWER, headers={"X-Robots-Tag": "noai, noimageai"})
        elif path.startswith("/flaky/"):  # 503 twice per key, then the image
            with srv.lock:
                srv.calls[path] = srv.calls.get(path, 0) + 1
                n = srv.calls[path]
            if n <= 2:
                self._send(503, b"busy", "text/plain", headers={"Retry-After": "0"})
            else:
                self._send(200, FLOWER)
        elif path.startswith("/to/"):
            self._send(302, headers={"Location": f"http://{path[4:]}:{srv.server_port}"
                                                 "/img/flower.jpg"})
        elif path == "/to-file":
            self._send(302, headers={"Location": "file:///etc/passwd"})
        elif path == "/range":
            first, last = self.headers.get("Range", "bytes=0-").split("=")[1].split("-")
            part = FLOWER[int(first):int(last) + 1 if last else None]
            self._send(206, part, headers={
                "Content-Range": f"bytes {first}-{int(first) + len(part) - 1}/{len(FLOWER)}"})
        elif path == "/down":
            self._send(503, b"busy", "text/plain")
        else:
            self._send(404, b"", "text/plain")


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.log, srv.calls = [], {}
    srv.in_flight = srv.max_in_flight = 0
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)
