"""Fetching one Common Crawl record by range (issue 14 point 2) against a local server that
plays Common Crawl: real members byte for byte, retries on 503 honouring Retry-After, truncated
bodies, wrong offsets, the egress policy and the request rate."""

from __future__ import annotations

import pytest

from corpus.crawl.cc_config import RangeFetchConfig
from corpus.crawl.cc_fetch import RangeFetcher, verify_member
from tests.corpus.crawl.conftest import ROOT, SEGMENT

CRAWL0 = SEGMENT + "crawl-00000.warc.gz"


def _cfg(server, **kw) -> RangeFetchConfig:
    base = {"base_url": server.base_url, "allow_addresses": ("127.0.0.1",), "backoff_s": 0.01,
            "backoff_max_s": 2.0, "retries": 3, "max_requests_per_second": 1000.0,
            "connect_timeout_s": 2.0, "read_timeout_s": 2.0, "total_timeout_s": 5.0}
    return RangeFetchConfig(**{**base, **kw})


def _html_rows(local_cc, warc=CRAWL0) -> list[dict]:
    return [r for r in local_cc.rows if r["warc_filename"] == warc and r["crawl"] == "CC-MAIN-2024-10"
            and r["content_mime_detected"] == "text/html"]


def test_verify_member_accepts_the_record_and_names_every_kind_of_mismatch(local_cc):
    a, b = _html_rows(local_cc)[:2]
    ma = local_cc.source_bytes(CRAWL0, a["warc_record_offset"], a["warc_record_length"])
    mb = local_cc.source_bytes(CRAWL0, b["warc_record_offset"], b["warc_record_length"])
    assert verify_member(ma, a["url"]) is None
    assert "WARC-Target-URI is " in verify_member(mb, a["url"])
    assert "not a gzip member" in verify_member(ma[7:], a["url"])
    assert "does not end" in verify_member(ma[:-20], a["url"])
    assert "more than one" in verify_member(ma + mb, a["url"])
    # Common Crawl's own capture: its request and metadata records carry the page's URI too
    whirl = (ROOT / "tests/fixtures/warc/commoncrawl_whirlwind.warc.gz").read_bytes()
    uri = "https://an.wikipedia.org/wiki/Escopete"
    assert verify_member(whirl[1023:18374], uri) is None
    assert verify_member(whirl[516:1023], uri) == "a request record, not the response the index points at"
    assert verify_member(whirl[18374:], uri) == "a metadata record, not the response the index points at"


def test_fetched_members_are_the_source_bytes(local_cc, cc_server):
    fetcher = RangeFetcher(_cfg(cc_server))
    rows = _html_rows(local_cc)
    for r in rows:
        res = fetcher.fetch(r["warc_filename"], r["warc_record_offset"], r["warc_record_length"],
                            r["url"])
        assert (res.status, res.http_status, res.attempts) == ("ok", 206, 1), res.detail
        assert res.body == local_cc.source_bytes(CRAWL0, r["warc_record_offset"],
                                                 r["warc_record_length"])
    ranges = [rng for _, _, rng, _ in cc_server.requests]
    assert ranges == [f"bytes={r['warc_record_offset']}-"
                      f"{r['warc_record_offset'] + r['warc_record_length'] - 1}" for r in rows]
    assert {ua for *_, ua in cc_server.requests} == {RangeFetchConfig().user_agent}


def test_503_is_retried_after_retry_after_and_a_cut_body_is_retried(local_cc, cc_server):
    r, s = _html_rows(local_cc)[:2]
    path = "/" + CRAWL0
    cc_server.busy[(path, r["warc_record_offset"])] = 1
    cc_server.cut[(path, s["warc_record_offset"])] = 1
    fetcher = RangeFetcher(_cfg(cc_server))
    res = fetcher.fetch(CRAWL0, r["warc_record_offset"], r["warc_record_length"], r["url"])
    assert (res.status, res.attempts) == ("ok", 2)
    (t1, *_), (t2, *_) = cc_server.requests
    assert t2 - t1 >= 1.0  # Retry-After: 1 beats the 0.01 s backoff
    res = fetcher.fetch(CRAWL0, s["warc_record_offset"], s["warc_record_length"], s["url"])
    assert (res.status, res.attempts) == ("ok", 2)
    assert res.body == local_cc.source_bytes(CRAWL0, s["warc_record_offset"],
                                             s["warc_record_length"])


def test_failures_keep_their_class(local_cc, cc_server):
    r, s = _html_rows(local_cc)[:2]
    cc_server.cut[("/" + CRAWL0, r["warc_record_offset"])] = 99
    cc_server.busy[("/" + CRAWL0, s["warc_record_offset"])] = 99
    fetcher = RangeFetcher(_cfg(cc_server, retries=2, backoff_max_s=0.05))
    cc_server.retry_after = 0
    res = fetcher.fetch(CRAWL0, r["warc_record_offset"], r["warc_record_length"], r["url"])
    assert (res.status, res.attempts) == ("truncated_body", 3)
    res = fetcher.fetch(CRAWL0, s["warc_record_offset"], s["warc_record_length"], s["url"])
    assert (res.status, res.http_status, res.attempts) == ("http_503", 503, 3)
    # a wrong offset: the next record's bytes, or bytes from inside a member
    res = fetcher.fetch(CRAWL0, s["warc_record_offset"], s["warc_record_length"], r["url"])
    assert res.status == "http_503"
    t = _html_rows(local_cc)[2]
    res = fetcher.fetch(CRAWL0, t["warc_record_offset"], t["warc_record_length"], r["url"])
    assert res.status == "range_mismatch" and "WARC-Target-URI" in res.detail
    res = fetcher.fetch(CRAWL0, t["warc_record_offset"] + 3, t["warc_record_length"], t["url"])
    assert (res.status, res.attempts) == ("range_mismatch", 1)
    assert "not a gzip member" in res.detail
    res = fetcher.fetch("crawl-data/missing.warc.gz", 0, 100, t["url"])
    assert (res.status, res.http_status, res.attempts) == ("http_404", 404, 1)


def test_requests_go_through_the_egress_policy(local_cc, cc_server):
    r = _html_rows(local_cc)[0]
    closed = RangeFetcher(_cfg(cc_server, allow_addresses=()))
    res = closed.fetch(CRAWL0, r["warc_record_offset"], r["warc_record_length"], r["url"])
    assert (res.status, res.attempts) == ("blocked_address", 1)
    assert cc_server.requests == []


def test_warc_file_names_that_leave_the_base_are_refused_unrequested(local_cc, tmp_path):
    r = _html_rows(local_cc)[0]
    secret = tmp_path / "secret.warc.gz"
    secret.write_bytes(local_cc.source_bytes(CRAWL0, r["warc_record_offset"],
                                             r["warc_record_length"]))
    fetcher = RangeFetcher(RangeFetchConfig(base_url=str(local_cc.data)))
    for name in ("../" * 6 + str(secret).lstrip("/"), str(secret), "file://" + str(secret),
                 "crawl-data/./x.warc.gz", "crawl-data/x.warc.gz?a=1", "crawl-data/%2e%2e/x",
                 "crawl-data/x\n.warc.gz", ""):
        res = fetcher.fetch(name, 0, r["warc_record_length"], r["url"])
        assert (res.status, res.attempts, res.body) == ("bad_warc_filename", 0, None), name


def test_a_local_folder_is_a_base_url_too(local_cc):
    r = _html_rows(local_cc)[0]
    fetcher = RangeFetcher(RangeFetchConfig(base_url=str(local_cc.data)))
    res = fetcher.fetch(CRAWL0, r["warc_record_offset"], r["warc_record_length"], r["url"])
    assert res.status == "ok"
    assert res.body == local_cc.source_bytes(CRAWL0, r["warc_record_offset"],
                                             r["warc_record_length"])
    res = fetcher.fetch(SEGMENT + "nope.warc.gz", 0, 10, r["url"])
    assert res.status == "not_found"


def test_the_request_rate_is_the_workers_share_of_the_job_cap(local_cc, cc_server):
    rows = _html_rows(local_cc)[:6]
    # 40 requests/s for the job, 2 workers: this worker sends at most 20/s
    fetcher = RangeFetcher(_cfg(cc_server, max_requests_per_second=40.0, workers=2))
    for r in rows:
        assert fetcher.fetch(CRAWL0, r["warc_record_offset"], r["warc_record_length"],
                             r["url"]).ok
    times = [t for t, *_ in cc_server.requests]
    # the gate spaces the sends 0.05 s apart from the first (the first arrival may lag its
    # slot by a connection set-up); unpaced, six local requests take about 0.02 s
    assert times[-1] - times[0] >= 5 * 0.05 - 0.03
    with pytest.raises(ValueError, match="max_requests_per_second"):
        RangeFetchConfig(max_requests_per_second=0)
