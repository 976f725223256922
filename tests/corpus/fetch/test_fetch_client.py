"""The downloader (corpus/fetch/client.py) against a real HTTP server on 127.0.0.1.

The server (``http.server`` in a thread, ``conftest.py``) serves Pillow's real test images, slow and dripping
responses, 404s, 503s that recover, redirects, a redirect loop, oversized bodies (declared and
streamed), HTML where an image should be and an opted-out image. Every wait is bounded by small
timeouts, so the module runs in a few seconds.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from corpus.fetch.client import Fetcher, request_target
from corpus.fetch.config import FetchConfig
from corpus.fetch.politeness import HostGate

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"
FLOWER = (FIX / "flower.jpg").read_bytes()


def base(srv) -> str:
    return f"http://127.0.0.1:{srv.server_port}"



FAST = FetchConfig(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=3.0, retries=2,
                   backoff_s=0.01, backoff_max_s=0.05, max_bytes=1_000_000, per_host_delay_s=0.0,
                   threads=4, user_agent="m6-test/1.0", allow_addresses=("127.0.0.1",))
LOCAL = ("127.0.0.1",)  # the test server's address, opened in the egress policy


def fetch(srv, path: str, cfg: FetchConfig = FAST):
    return Fetcher(cfg).fetch(base(srv) + path)


def test_real_image_is_fetched_with_the_user_agent(server):
    r = fetch(server, "/img/flower.jpg")
    assert (r.status, r.http_status, r.body, r.attempts) == ("ok", 200, FLOWER, 1)
    assert r.content_type == "image/jpeg"
    sent = [h for p, _, h in server.log if p == "/img/flower.jpg"][-1]
    assert sent["User-Agent"] == "m6-test/1.0"


def test_404_is_final_without_retries(server):
    r = fetch(server, "/missing")
    assert (r.status, r.http_status, r.attempts, r.body) == ("http_404", 404, 1, None)


def test_relative_and_absolute_redirects_are_followed(server):
    r = fetch(server, "/redirect-abs")
    assert (r.status, r.body) == ("ok", FLOWER)
    assert r.final_url.endswith("/img/flower.jpg")


def test_redirect_loop(server):
    r = fetch(server, "/loop-a")
    assert r.status == "redirect_loop"
    assert r.attempts == 1  # not retried


def test_too_many_redirects(server):
    assert fetch(server, "/chain/3").status == "ok"
    r = fetch(server, "/chain/9")
    assert r.status == "too_many_redirects" and "more than 5" in r.detail


def test_slow_response_is_a_read_timeout_and_is_retried(server):
    cfg = FetchConfig(connect_timeout_s=1.0, read_timeout_s=0.2, total_timeout_s=3.0,
                      retries=1, backoff_s=0.01, per_host_delay_s=0.0, allow_addresses=LOCAL)
    r = fetch(server, "/slow", cfg)
    assert (r.status, r.detail, r.attempts) == ("timeout", "read timeout", 2)


def test_dripping_body_hits_the_total_deadline(server):
    cfg = FetchConfig(connect_timeout_s=1.0, read_timeout_s=0.5, total_timeout_s=0.6,
                      retries=0, per_host_delay_s=0.0, allow_addresses=LOCAL)
    start = time.monotonic()
    r = fetch(server, "/drip", cfg)
    assert (r.status, r.detail) == ("timeout", "total deadline")
    assert time.monotonic() - start < 2.5  # bounded by the deadline, not by the 3 s drip


def test_declared_oversize_is_not_read(server):
    r = fetch(server, "/big")
    assert r.status == "too_large" and "Content-Length 50000000" in r.detail


def test_streamed_oversize_stops_at_max_bytes(server):
    cfg = FetchConfig(max_bytes=100_000, retries=0, per_host_delay_s=0.0, read_timeout_s=1.0,
                      allow_addresses=LOCAL)
    r = fetch(server, "/big-stream", cfg)
    assert r.status == "too_large" and r.body is None and "100000" in r.detail


def test_html_is_not_an_image(server):
    r = fetch(server, "/html")
    assert r.status == "not_image" and r.content_type == "text/html"


def test_noai_opt_out_is_honoured(server):
    assert fetch(server, "/noai").status == "opted_out"
    off = FetchConfig(honour_noai=False, per_host_delay_s=0.0, allow_addresses=LOCAL)
    assert fetch(server, "/noai", off).status == "ok"


def test_503_then_ok_after_retries(server):
    r = fetch(server, "/flaky/a")
    assert (r.status, r.attempts, r.body) == ("ok", 3, FLOWER)


def test_persistent_503_gives_up(server):
    r = fetch(server, "/down")
    assert (r.status, r.attempts) == ("http_503", 3)


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    r = Fetcher(FAST).fetch(f"http://127.0.0.1:{port}/x.jpg")
    assert r.status == "connection_error" and r.attempts == 3


@pytest.mark.parametrize("url", ["http:///nohost.jpg", "http://x.cn:99999/a.jpg"])
def test_invalid_urls(url):
    r = Fetcher(FAST).fetch(url)
    assert r.status == "invalid_url" and r.attempts == 1


@pytest.mark.parametrize("url", ["ftp://example.com/a.jpg", "data:image/png;base64,AAAA",
                                 "file:///etc/passwd", "gopher://127.0.0.1:70/x"])
def test_other_schemes_are_blocked(url):
    r = Fetcher(FAST).fetch(url)
    assert r.status == "blocked_scheme" and r.attempts == 1 and r.body is None


def test_request_target_encodes_non_ascii():
    assert request_target("http://例子.cn/图片/一.jpg?q=猫") == (
        "http", "xn--fsqu00a.cn", 80,
        "/%E5%9B%BE%E7%89%87/%E4%B8%80.jpg?q=%E7%8C%AB")
    assert request_target("https://x.cn/a%20b.jpg")[3] == "/a%20b.jpg"  # no double escaping


def test_fetch_many_keeps_order_and_runs_concurrently(server):
    urls = [base(server) + p for p in ("/hold/1", "/missing", "/hold/2", "/hold/3",
                                       "/img/hopper.jpg")]
    server.max_in_flight = 0
    results = list(Fetcher(FAST).fetch_many(urls))
    assert [r.url for r in results] == urls
    assert [r.status for r in results] == ["ok", "http_404", "ok", "ok", "ok"]
    assert server.max_in_flight >= 2  # several requests were open at once


def test_per_host_delay_spaces_requests(server):
    cfg = FetchConfig(per_host_delay_s=0.2, threads=4, retries=0, allow_addresses=LOCAL)
    paths = [f"/img/hopper.jpg?polite={i}" for i in range(3)]
    list(Fetcher(cfg).fetch_many(base(server) + p for p in paths))
    times = sorted(t for p, t, _ in server.log if p in paths)
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.18  # at least the delay apart, although 4 threads were free


def test_host_gate_reserves_distinct_slots():
    now = [100.0]
    gate = HostGate(0.5, clock=lambda: now[0], sleep=lambda s: None)
    assert [gate.reserve("a.cn") for _ in range(3)] == [0.0, 0.5, 1.0]
    assert gate.reserve("b.cn") == 0.0  # other hosts are not held up
    assert gate.reserve("A.CN") == 1.5  # host names are case-insensitive
    assert gate.wait("a.cn", deadline=101.0) is False  # its slot (at +2.0) is past the deadline


def test_host_gate_counts_the_delay_from_the_end_of_a_request_and_takes_a_new_delay():
    now = [100.0]
    gate = HostGate(0.5, clock=lambda: now[0], sleep=lambda s: None)
    assert gate.reserve("a.cn") == 0.0  # request starts at 100.0
    now[0] = 100.3
    gate.done("a.cn")  # and ends at 100.3: the next waits until 100.8, not 100.5
    assert gate.reserve("a.cn") == pytest.approx(0.5)
    gate.set_delay("a.cn", 2.0)  # robots.txt said Crawl-delay: 2
    assert gate.reserve("a.cn") == pytest.approx(2.5)  # 100.8 + 2.0 = 102.8, from now (100.3)
    gate.not_before("b.cn", 5.0)  # an earlier run's last request
    assert gate.reserve("b.cn") == pytest.approx(5.0)
