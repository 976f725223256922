"""Range-fetch records/s and MB/s of ``m6 crawl cc`` against a local server, next to a plain
sequential ``urllib`` range-GET loop over the same ranges (issue 14 point 9).

The workload is every response record of the sample crawl and the WARC fixtures (real gzip
members, 0.3 to 80 KB), found by inflating the files member by member as Common Crawl's indexer
does, requested 3 times over, from a ``ThreadingHTTPServer`` on 127.0.0.1 that honours ``Range``,
in its own process (in this one it would fight the client's threads for the GIL).
Run twice: with no added latency (what the client itself costs), and with 20 ms per answer, a
stand-in for the round trip to Common Crawl's endpoint, where connections in parallel are what
count.

* **m6**: ``RangeFetcher.fetch`` over a thread pool of ``--concurrency 8``, the exact code a Beam
  worker runs per batch: the rate gate (set far above the load), the shared HTTP client and its
  egress check (127.0.0.1 allowed), the Range request, and the verification of every member
  (inflate, one WARC record, its ``WARC-Target-URI``);
* **baseline**: ``urllib.request`` with a ``Range`` header, one request after the other, the
  bytes kept unverified: the loop one writes first.

Prints records/s and MB/s for m6 (8 connections, the default, and 1, to see the client's own
cost per request) and the baseline, and the ratios m6 / baseline.
Run: ``.venv/bin/python bench/bench_cc_fetch.py``.
"""

from __future__ import annotations

import multiprocessing
import re
import sys
import time
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.crawl.cc_config import RangeFetchConfig  # noqa: E402
from corpus.crawl.cc_fetch import RangeFetcher  # noqa: E402

FILES = [ROOT / "data/sample/crawl/crawl-00000.warc.gz",
         ROOT / "data/sample/crawl/crawl-00001.warc.gz",
         *sorted((ROOT / "tests/fixtures/warc").glob("*.warc.gz"))]
REPEAT = 3
CONCURRENCY = 8


def responses(data: bytes) -> list[tuple[int, int, str]]:
    """(offset, length, url) of every response member of a record-gzipped WARC file."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        head = d.decompress(data[pos:], 4096)
        while not d.eof:
            d.decompress(d.unconsumed_tail, 1 << 20)
        length = len(data) - pos - len(d.unused_data)
        uri = re.search(rb"WARC-Target-URI: <?([^\r\n>]+)", head)
        if b"WARC-Type: response" in head and uri:
            out.append((pos, length, uri.group(1).decode()))
        pos += length
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    files: dict[str, bytes] = {}
    delay_s = 0.0

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.delay_s:
            time.sleep(self.delay_s)
        data = self.files[self.path]
        start, end = map(int, re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers["Range"]).groups())
        body = data[start:end + 1]
        self.send_response(206)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        self.wfile.write(body)


def m6(base: str, jobs: list[tuple[str, int, int, str]], concurrency: int = CONCURRENCY) -> int:
    cfg = RangeFetchConfig(base_url=base, concurrency=concurrency,
                           allow_addresses=("127.0.0.1",), max_requests_per_second=1e6)
    fetcher = RangeFetcher(cfg)
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda j: fetcher.fetch(*j), jobs))
    assert all(r.ok for r in results), {r.status for r in results}
    return sum(len(r.body) for r in results)


def m6_one(base: str, jobs: list[tuple[str, int, int, str]]) -> int:
    return m6(base, jobs, concurrency=1)


def baseline(base: str, jobs: list[tuple[str, int, int, str]]) -> int:
    total = 0
    for name, offset, length, _ in jobs:
        req = urllib.request.Request(base + name,
                                     headers={"Range": f"bytes={offset}-{offset + length - 1}"})
        with urllib.request.urlopen(req) as resp:
            total += len(resp.read())
    return total


def serve(delay_s: float, port) -> None:
    Handler.delay_s = delay_s
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.request_queue_size = 64
    port.value = srv.server_address[1]
    srv.serve_forever()


def main() -> None:
    jobs = []
    for path in FILES:
        data = path.read_bytes()
        Handler.files["/" + path.name] = data
        jobs += [(path.name, o, n, u) for o, n, u in responses(data)]
    jobs = jobs * REPEAT
    print(f"{len(jobs)} range requests over {len(FILES)} WARC files "
          f"({sum(j[2] for j in jobs) / 1e6:.1f} MB)")
    ctx = multiprocessing.get_context("fork")
    for delay in (0.0, 0.02):
        port = ctx.Value("i", 0)
        server = ctx.Process(target=serve, args=(delay, port), daemon=True)
        server.start()
        while not port.value:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port.value}/"
        figures = {}
        for name, fn in (("m6", m6), ("m6 x1", m6_one), ("baseline", baseline)):
            t0 = time.perf_counter()
            size = fn(base, jobs)
            dt = time.perf_counter() - t0
            figures[name] = len(jobs) / dt
            print(f"  latency {delay * 1000:>4.0f} ms  {name:<8}  {len(jobs) / dt:8.0f} records/s  "
                  f"{size / dt / 1e6:7.1f} MB/s")
        print(f"  latency {delay * 1000:>4.0f} ms  ratio m6/baseline "
              f"{figures['m6'] / figures['baseline']:.2f}x ({CONCURRENCY} connections), "
              f"{figures['m6 x1'] / figures['baseline']:.2f}x (1 connection); m6 verifies "
              "every member, the baseline does not")
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
