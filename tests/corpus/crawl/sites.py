"""Local web sites for the crawler's tests and benchmark: real HTTP servers on 127.0.0.1, one
port per site (each port is its own origin, as a host is on the web), every request logged with
its site, path and arrival time so tests can check what was and was not requested.

``shop`` (robots.txt with Disallow/Allow and ``Crawl-delay``) links to its pages, a disallowed
page, a page allowed inside a disallowed folder, a redirect chain, a redirect loop, a redirect to
``127.0.0.2`` (an address the tests do not allow), a redirect to ``blog``, 404, 500, a slow drip,
a huge page and JSON, and serves ``/sitemap.xml.gz``. ``blog`` has no robots.txt (404). ``down`` answers 500 to robots.txt.
Any other name is a plain site whose ``/`` links ``pages`` pages ``/p/<n>``.
Pages hold real Chinese text from the sample (``PAGE_TEXT``) so ``m6 corpus`` keeps them.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE_TEXT = "".join(
    f"<p>第{i}段：长江流域气候温暖湿润，降水丰富，支流众多，是重要的粮食产区，沿岸城市众多，"
    f"交通便利，经济发达。</p>" for i in range(6))


def html(title: str, body: str = "") -> bytes:
    return (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}"
            f"</h1>{PAGE_TEXT}{body}</body></html>").encode()


class Sites:
    """Start named sites; ``url(site, path)``; ``log`` is ``[(site, path, time, headers)]``."""

    def __init__(self, names: tuple[str, ...] = ("shop", "blog", "down"),
                 crawl_delay: float | None = 0.3, drip_s: float = 0.05, pages: int = 8):
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, float, dict]] = []
        self.crawl_delay = crawl_delay
        self.drip_s = drip_s
        self.pages = pages
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self.threads = []
        for name in names:
            srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            srv.daemon_threads = True
            srv.site, srv.sites = name, self
            self.servers[name] = srv
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def port(self, site: str) -> int:
        return self.servers[site].server_port

    def url(self, site: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port(site)}{path}"

    def requested(self, site: str | None = None) -> list[str]:
        with self.lock:
            return [p for s, p, _, _ in self.log if site is None or s == site]

    def times(self, site: str) -> list[float]:
        with self.lock:
            return [t for s, _, t, _ in self.log if s == site]

    def close(self) -> None:
        for srv in self.servers.values():
            srv.shutdown()
            srv.server_close()
        for t in self.threads:
            t.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.sites.lock:
            srv.sites.log.append((srv.site, self.path, time.monotonic(), dict(self.headers)))
        getattr(self, "_" + srv.site, self._generic)(self.path)

    def _redirect(self, to: str, code: int = 302) -> None:
        self._send(code, b"", headers={"Location": to})

    def _generic(self, path: str) -> None:  # other sites: no robots.txt, "/" links /p/<n>
        if path == "/robots.txt":
            self._send(404, b"")
        elif path == "/":
            n = self.server.sites.pages
            self._send(200, html("首页", "".join(f'<a href="/p/{i}">{i}</a>' for i in range(n))))
        else:
            self._send(200, html(f"页面 {path}"))

    def _blog(self, path: str) -> None:
        if path == "/robots.txt":
            self._send(404, b"no robots here", "text/plain")
        elif path in ("/landing", "/post/1"):
            self._send(200, html(f"博客文章 {path}"))
        else:
            self._send(404, b"")

    def _down(self, path: str) -> None:
        self._send(500, b"robots broken" if path == "/robots.txt" else html("不该抓到"),
                   "text/plain")

    def _shop(self, path: str) -> None:  # noqa: C901 - one route per branch
        sites = self.server.sites
        blog = f"http://127.0.0.1:{sites.port('blog')}" if "blog" in sites.servers else ""
        if path == "/robots.txt":
            delay = f"Crawl-delay: {sites.crawl_delay}\n" if sites.crawl_delay else ""
            self._send(200, ("User-agent: *\nDisallow: /private\nAllow: /private/ok\n"
                             f"{delay}\nUser-agent: otherbot\nDisallow: /\n").encode(),
                       "text/plain")
        elif path == "/":
            links = ["/p1", "/p2?b=2&a=1", "/p2?a=1&b=2#top", "/private/secret", "/private/ok",
                     "/chain/3", "/loop-a", "/to-forbidden", "/to-blog", "/missing", "/error",
                     "/drip", "/huge", "/data.json", f"{blog}/post/1", "http://other.example/x"]
            self._send(200, html("商店首页", "".join(f'<a href="{h}">{h}</a>' for h in links)))
        elif path == "/sitemap.xml.gz":
            import gzip

            locs = "".join(f"<url><loc>{sites.url('shop', p)}</loc></url>"
                           for p in ("/p1", "/final"))
            self._send(200, gzip.compress(f'<?xml version="1.0"?><urlset>{locs}</urlset>'
                                          .encode()), "application/gzip")
        elif path in ("/p1", "/p2?a=1&b=2", "/private/ok", "/final"):
            self._send(200, html(f"商品 {path}", '<a href="/deep">更深</a>'))
        elif path == "/deep":
            self._send(200, html("更深一层的页面"))
        elif path.startswith("/private"):
            self._send(200, html("不许抓取的页面"))
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            self._redirect(f"/chain/{n - 1}" if n else "/final", 301)
        elif path == "/loop-a":
            self._redirect("/loop-b")
        elif path == "/loop-b":
            self._redirect("/loop-a")
        elif path == "/to-forbidden":
            self._redirect(f"http://127.0.0.2:{self.server.server_port}/p1")
        elif path == "/to-blog":
            self._redirect(f"{blog}/landing")
        elif path == "/error":
            self._send(500, b"oops", "text/plain")
        elif path == "/drip":  # a page that never ends in time
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"<p>")
                    self.wfile.flush()
                    time.sleep(sites.drip_s)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/huge":
            self._send(200, b"<html>" + b"x" * 3_000_000)
        elif path == "/data.json":
            self._send(200, b'{"a": 1}', "application/json")
        else:
            self._send(404, b"not here", "text/plain")
