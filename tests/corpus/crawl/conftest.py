"""A local Common Crawl for the tests of ``m6 crawl cc`` (issue 14 point 8): real WARC files, an
index built from them, and an HTTP server on 127.0.0.1 that serves them with Range support.

The WARC files are real: two of the sample crawl (Chinese pages, images, revisits) and two
third-party fixtures (Common Crawl's whirlwind capture, dolma's English pages). Each record's
offset and length are found by inflating the files member by member, as Common Crawl's indexer
does, and written as index Parquet files with Common Crawl's column names and types (its
``cc-index-schema-flat.json``), hive-partitioned by crawl and subset. Two crawls are played:
CC-MAIN-2024-10 holds every response; CC-MAIN-2024-18 captures a few of the same URLs again
(later ``fetch_time``), so a selection must take each URL once, from the later crawl. A
``robotstxt`` subset file is there too and must be ignored.

The server (``cc_server`` fixture) logs every request and can be told to misbehave per path and
range start: ``busy`` (answer 503 with ``Retry-After`` n times), ``cut`` (send half the bytes and
close, n times) and ``delay_s`` (before each answer).
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "data/sample/crawl/crawl-00000.warc.gz",
           ROOT / "data/sample/crawl/crawl-00001.warc.gz",
           ROOT / "tests/fixtures/warc/commoncrawl_whirlwind.warc.gz",
           ROOT / "tests/fixtures/warc/dolma_sample-0000.warc.gz"]
SEGMENT = "crawl-data/CC-MAIN-2024-10/segments/1708000000000.0/warc/"
CRAWLS = ("CC-MAIN-2024-10", "CC-MAIN-2024-18")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")


@dataclass
class Member:
    offset: int
    length: int
    type: str
    url: str | None
    status: int | None
    mime: str | None
    payload: bytes


def members(data: bytes) -> list[Member]:
    """Every gzip member of a record-gzipped WARC file, with its offset and length."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        plain = d.decompress(data[pos:])
        length = len(data) - pos - len(d.unused_data)
        head_end = plain.find(b"\r\n\r\n")
        head = plain[:head_end]
        typ = re.search(rb"WARC-Type: (\S+)", head).group(1).decode()
        uri = re.search(rb"WARC-Target-URI: <?([^\r\n>]+)", head)
        block = plain[head_end + 4:]
        status = mime = None
        payload = b""
        if typ == "response":
            http_end = block.find(b"\r\n\r\n")
            http_head = block[:http_end].decode("latin-1")
            status = int(http_head.split(None, 2)[1])
            ct = re.search(r"\r\nContent-Type:\s*([^;\r\n]+)", http_head, re.I)
            mime = ct.group(1).strip().lower() if ct else None
            payload = block[http_end + 4:]
        out.append(Member(pos, length, typ, uri.group(1).decode() if uri else None, status,
                          mime, payload))
        pos += length
    return out


def languages(payload: bytes) -> str:
    """A stand-in for Common Crawl's CLD2 languages: Chinese first when Han characters
    outnumber Latin letters in the page's text (tags, scripts and styles left out), English
    listed when there are many letters too."""
    text = payload.decode("utf-8", "replace")
    text = _TAG.sub(" ", _SCRIPT.sub(" ", text))
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if cjk > latin:
        return "zho,eng" if latin > cjk // 4 else "zho"
    return "eng,zho" if cjk > 50 else "eng"


def registered_domain(host: str) -> str:
    labels = host.split(".")
    n = 3 if len(labels) >= 3 and labels[-2] in ("com", "org", "net", "edu", "gov") and \
        len(labels[-1]) == 2 else 2
    return ".".join(labels[-n:])


@dataclass
class LocalCC:
    """Where the local Common Crawl lives: ``data`` (served), ``index`` (Parquet), ``rows``
    (every index row written, as dicts) and the source bytes of each WARC file."""

    data: Path
    index: Path
    rows: list[dict]
    warcs: dict[str, bytes]

    def source_bytes(self, warc_filename: str, offset: int, length: int) -> bytes:
        return self.warcs[warc_filename][offset:offset + length]


INDEX_SCHEMA = pa.schema([
    ("url_surtkey", pa.string()), ("url", pa.string()), ("url_host_name", pa.string()),
    ("url_host_registered_domain", pa.string()), ("url_protocol", pa.string()),
    ("fetch_time", pa.timestamp("us", tz="UTC")), ("fetch_status", pa.int16()),
    ("content_mime_type", pa.string()), ("content_mime_detected", pa.string()),
    ("content_languages", pa.string()), ("warc_filename", pa.string()),
    ("warc_record_offset", pa.int32()), ("warc_record_length", pa.int32()),
    ("warc_segment", pa.string()),
])


def _row(warc_filename: str, m: Member, when: datetime) -> dict:
    host = re.match(r"https?://([^/:]+)", m.url).group(1).lower()
    return {
        "url_surtkey": ",".join(reversed(host.split("."))) + ")" + m.url.split(host, 1)[1],
        "url": m.url, "url_host_name": host, "url_host_registered_domain": registered_domain(host),
        "url_protocol": m.url.split(":", 1)[0], "fetch_time": when, "fetch_status": m.status,
        "content_mime_type": m.mime, "content_mime_detected": m.mime,
        "content_languages": languages(m.payload) if (m.mime or "").startswith("text/") else None,
        "warc_filename": warc_filename, "warc_record_offset": m.offset,
        "warc_record_length": m.length, "warc_segment": "1708000000000.0",
    }


def build_local_cc(root: Path) -> LocalCC:
    data, index = root / "data", root / "index"
    warcs, rows = {}, []
    t0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
    by_crawl: dict[str, list[dict]] = {c: [] for c in CRAWLS}
    for src in SOURCES:
        name = SEGMENT + src.name
        raw = src.read_bytes()
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(raw)
        warcs[name] = raw
        for i, m in enumerate(members(raw)):
            if m.type != "response" or not m.url:
                continue
            row = _row(name, m, t0 + timedelta(minutes=i))
            by_crawl[CRAWLS[0]].append(row)
            if i % 5 == 1:  # captured again in the later crawl (same record, later time)
                by_crawl[CRAWLS[1]].append({**row, "fetch_time": row["fetch_time"]
                                            + timedelta(days=49)})
    for crawl, crawl_rows in by_crawl.items():
        part = index / f"crawl={crawl}" / "subset=warc" / "part-00000.c000.gz.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(crawl_rows, schema=INDEX_SCHEMA), part,
                       row_group_size=16)
        rows += [{**r, "crawl": crawl} for r in crawl_rows]
    # a robots.txt capture in its own subset: never selected
    robots = index / f"crawl={CRAWLS[0]}" / "subset=robotstxt" / "part-00000.c000.gz.parquet"
    robots.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(by_crawl[CRAWLS[0]][:3], schema=INDEX_SCHEMA), robots)
    return LocalCC(data, index, rows, warcs)


@pytest.fixture(scope="session")
def local_cc(tmp_path_factory) -> LocalCC:
    return build_local_cc(tmp_path_factory.mktemp("local_cc"))


class CCHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CCServer

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        srv = self.server
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append((time.monotonic(), self.path, rng, self.headers.get("User-Agent")))
        if srv.delay_s:
            time.sleep(srv.delay_s)
        path = srv.root / self.path.lstrip("/")
        if ".." in self.path or not path.is_file():
            return self._answer(404, b"not found")
        data = path.read_bytes()
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", rng or "")
        if m is None:
            return self._answer(200, data)
        start, end = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
        key = (self.path, start)
        with srv.lock:
            busy = srv.busy.get(key, 0)
            if busy:
                srv.busy[key] = busy - 1
            cut = srv.cut.get(key, 0) if not busy else 0
            if cut:
                srv.cut[key] = cut - 1
        if busy:
            return self._answer(503, b"Slow Down", {"Retry-After": str(srv.retry_after)})
        body = data[start:end + 1]
        headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
        if cut:  # promise every byte, send half, hang up
            self.send_response(206)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Range", headers["Content-Range"])
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._answer(206, body, headers)

    def _answer(self, code: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class CCServer(ThreadingHTTPServer):
    daemon_threads = True
    # 8 connections at once from the fetcher: socketserver's default backlog of 5 can refuse
    # some on a loaded machine, which would be a fault of the test server, not of the client
    request_queue_size = 64

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), CCHandler)
        self.root = root
        self.lock = threading.Lock()
        self.requests: list[tuple[float, str, str | None, str | None]] = []
        self.busy: dict[tuple[str, int], int] = {}
        self.cut: dict[tuple[str, int], int] = {}
        self.retry_after = 1
        self.delay_s = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


def start_server(root: Path) -> CCServer:
    srv = CCServer(root)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture
def cc_server(local_cc):
    srv = start_server(local_cc.data)
    yield srv
    srv.shutdown()
    srv.server_close()
