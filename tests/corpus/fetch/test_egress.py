"""The egress policy (corpus/fetch/egress.py) through the real ``Fetcher`` and a real HTTP server
on 127.0.0.1: every spelling of a local address is refused before a byte is sent, an allowed
server's redirect to another local address is refused, a rebinding resolver gains nothing, and
IPv6 literals work."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import ThreadingHTTPServer

import pytest

from corpus.fetch.client import Fetcher, request_target
from corpus.fetch.config import FetchConfig
from corpus.fetch.egress import EgressBlocked, EgressPolicy, numeric_host, parse_allow
from tests.corpus.fetch.conftest import FLOWER, Handler

CFG = FetchConfig(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=3.0, retries=0,
                  per_host_delay_s=0.0)
LOCAL = FetchConfig(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=3.0, retries=0,
                    per_host_delay_s=0.0, allow_addresses=("127.0.0.1",))

SPELLINGS = ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.1",
             "0177.1", "127.0.0.1.", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]",
             "localhost", "LOCALHOST", "127.0.0.2", "0.0.0.0", "0", "[::]"]


def _requests(srv, marker: str) -> list[str]:
    return [p for p, _, _ in srv.log if marker in p]


@pytest.mark.parametrize("host", SPELLINGS)
def test_every_spelling_of_a_local_address_is_refused_unsent(server, host):
    marker = f"spelling-{abs(hash(host))}"
    r = Fetcher(CFG).fetch(f"http://{host}:{server.server_port}/img/flower.jpg?{marker}")
    assert (r.status, r.body, r.attempts) == ("blocked_address", None, 1)
    assert "--allow-address" in r.detail
    assert _requests(server, marker) == []  # the server never saw it


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
                                     "192.0.2.1", "::1", "fe80::1", "fc00::1", "ff02::1",
                                     "2001:db8::1", "::ffff:10.0.0.1", "2002:a00:1::",
                                     "::ffff:169.254.169.254"])
def test_non_public_addresses(address):
    assert EgressPolicy().allowed(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert EgressPolicy().allowed(ipaddress.ip_address(address)) is True


def test_numeric_spellings_parse_like_inet_aton():
    assert {str(numeric_host(h)) for h in ("2130706433", "0177.0.0.1", "0x7f.1", "127.1")} == {
        "127.0.0.1"}
    assert str(numeric_host("10.1")) == "10.0.0.1"
    assert numeric_host("example.cn") is None and numeric_host("0x7f.example.cn") is None
    with pytest.raises(ValueError):
        numeric_host("999.1.1.1")


def test_allowed_server_is_fetched_but_its_redirect_to_another_local_address_is_not(server):
    ok = Fetcher(LOCAL).fetch(f"http://127.0.0.1:{server.server_port}/img/flower.jpg?allowed")
    assert (ok.status, ok.body, ok.peer) == ("ok", FLOWER, "127.0.0.1")
    r = Fetcher(LOCAL).fetch(f"http://127.0.0.1:{server.server_port}/to/127.0.0.2")
    assert r.status == "blocked_address" and "127.0.0.2" in r.detail
    assert r.final_url == f"http://127.0.0.2:{server.server_port}/img/flower.jpg"
    r = Fetcher(LOCAL).fetch(f"http://127.0.0.1:{server.server_port}/to/0x7f.2")
    assert r.status == "blocked_address" and "127.0.0.2" in r.detail  # hex spelling, same answer
    r = Fetcher(LOCAL).fetch(f"http://127.0.0.1:{server.server_port}/to-file")
    assert (r.status, r.final_url) == ("blocked_scheme", "file:///etc/passwd")


def test_allow_a_network(server):
    cfg = FetchConfig(retries=0, per_host_delay_s=0.0, allow_addresses=("127.0.0.0/8", "::1"))
    r = Fetcher(cfg).fetch(f"http://127.0.0.1:{server.server_port}/to/127.0.0.2")
    # opened, so the connection was tried: nothing listens on 127.0.0.2 (the server is bound to
    # 127.0.0.1), which is a refused connection, not a policy refusal
    assert r.status == "connection_error" and "Refused" in r.detail


def test_a_rebinding_resolver_is_asked_once_per_connection_and_its_answer_is_used(server):
    """A name that answers a public address first and 127.0.0.1 next: there is no check-then-
    connect gap to exploit, because the checked answer is the one connected to."""
    answers = iter(["203.0.113.7", "127.0.0.1"])
    calls = []

    def rebinding(host: str, port: int):
        calls.append(host)
        return [(socket.AF_INET, (next(answers), port))]

    port = server.server_port
    fetcher = Fetcher(FetchConfig(connect_timeout_s=0.3, total_timeout_s=2.0, retries=0,
                                  per_host_delay_s=0.0, allow_addresses=("203.0.113.0/24",)),
                      policy=EgressPolicy(allow=("203.0.113.0/24",), resolver=rebinding))
    first = fetcher.fetch(f"http://rebind.example.cn:{port}/img/flower.jpg?rebind")
    assert first.status in ("timeout", "connection_error")  # 203.0.113.7 is a test-net void
    second = fetcher.fetch(f"http://rebind.example.cn:{port}/img/flower.jpg?rebind")
    assert second.status == "blocked_address" and "127.0.0.1" in second.detail
    assert calls == ["rebind.example.cn", "rebind.example.cn"]
    assert _requests(server, "rebind") == []


def test_a_name_with_one_internal_answer_is_refused_as_a_whole():
    policy = EgressPolicy(resolver=lambda h, p: [(socket.AF_INET, ("8.8.8.8", p)),
                                                 (socket.AF_INET, ("10.0.0.5", p))])
    with pytest.raises(EgressBlocked) as e:
        policy.resolve("mixed.example.cn", 80)
    assert e.value.status == "blocked_address" and "10.0.0.5" in e.value.detail


def test_ipv6_literals_work():
    assert request_target("http://[2001:db8::1]:8080/a.jpg") == (
        "http", "2001:db8::1", 8080, "/a.jpg")
    r = Fetcher(CFG).fetch("http://[2001:db8::1]:8080/a.jpg")
    assert r.status == "blocked_address" and "2001:db8::1" in r.detail
    srv = ThreadingHTTPServer(("::1", 0), Handler, bind_and_activate=False)
    srv.address_family = socket.AF_INET6
    srv.socket = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.server_bind()
    srv.server_activate()
    srv.daemon_threads = True
    srv.lock, srv.log, srv.calls, srv.in_flight, srv.max_in_flight = (
        threading.Lock(), [], {}, 0, 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        cfg = FetchConfig(retries=0, per_host_delay_s=0.0, allow_addresses=("::1",))
        r = Fetcher(cfg).fetch(f"http://[::1]:{srv.server_port}/img/flower.jpg")
        assert (r.status, r.body, r.peer) == ("ok", FLOWER, "::1")
        assert srv.log[0][2]["Host"] == f"[::1]:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_range_and_headers_for_a_crawler(server):
    cfg = FetchConfig(retries=0, per_host_delay_s=0.0, require_image_type=False,
                      allow_addresses=("127.0.0.1",))
    r = Fetcher(cfg).fetch(f"http://127.0.0.1:{server.server_port}/range",
                           headers={"Range": "bytes=10-19"})
    assert (r.status, r.http_status, r.body) == ("ok", 206, FLOWER[10:20])
    assert ("Content-Range", f"bytes 10-19/{len(FLOWER)}") in r.headers
    assert ("Range", "bytes=10-19") in r.request_headers and r.http_version == "HTTP/1.1"
    hop = Fetcher(cfg).fetch(f"http://127.0.0.1:{server.server_port}/redirect",
                             follow_redirects=False)
    assert (hop.status, hop.http_status, hop.location) == (
        "redirect", 302, f"http://127.0.0.1:{server.server_port}/img/flower.jpg")


def test_bad_allow_entries_name_themselves():
    assert [str(n) for n in parse_allow(["10.0.0.0/8", "[::1]", "127.0.0.1"])] == [
        "10.0.0.0/8", "::1/128", "127.0.0.1/32"]
    with pytest.raises(ValueError, match="'intranet'"):
        FetchConfig(allow_addresses=("intranet",))
