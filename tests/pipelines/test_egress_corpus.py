"""Server-side request forgery through ``m6 corpus``, end to end (issue 15.2).

A crawled page whose ``<img>`` tags point at the machine itself (``127.0.0.1``, ``localhost``,
decimal ``2130706433``, ``[::1]``) and at the cloud metadata address, with image download turned
on: a real HTTP server on 127.0.0.1 would answer with a real JPEG. Without ``--allow-address``
not one request reaches it and every image is a ``blocked_address`` rejected row; with
``--allow-address 127.0.0.1`` exactly the spellings of that address are fetched."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipelines.cli import main as corpus_main

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "images"
TEXT = "".join(f"<p>第{i}段：长江流域气候温暖湿润，降水丰富，支流众多，是重要的粮食产区。</p>"
               for i in range(6))


class Served(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        body = (FIX / "flower.jpg").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Served)
    srv.daemon_threads = True
    srv.paths = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def _crawl(folder: Path, port: int) -> dict[str, str]:
    urls = {"plain": f"http://127.0.0.1:{port}/plain.jpg",
            "name": f"http://localhost:{port}/name.jpg",
            "decimal": f"http://2130706433:{port}/decimal.jpg",
            "v6": f"http://[::1]:{port}/v6.jpg",
            "metadata": "http://169.254.169.254/latest/meta-data.jpg"}
    figures = "".join(f'<figure><img src="{u}" alt="长江边上的风景照片{k}">'
                      f"<figcaption>长江流域的风景照片，编号{k}</figcaption></figure>"
                      for k, u in urls.items())
    body = (f"<html><head><title>长江</title></head><body><h1>长江</h1>{TEXT}{figures}"
            "</body></html>").encode()
    folder.mkdir()
    with open(folder / "crawl.warc.gz", "wb") as f:
        w = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                           ("Content-Length", str(len(body)))],
                                protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("https://news.example.cn/changjiang", "response",
                                            payload=io.BytesIO(body), length=len(body),
                                            http_headers=http))
    return urls


def _run(inp: Path, out: Path, *extra: str) -> dict[str, str]:
    assert corpus_main(["--input", str(inp), "--output", str(out), "--quiet", "--no-quality",
                        "--no-dedup", "--no-report", "--set", "images.download=true",
                        *extra]) == 0
    rejected = ds.dataset(out / "rejected").to_table().to_pylist()
    return {r["image_url"]: f"{r['stage']}|{r['reason']}" for r in rejected}


def test_image_urls_from_a_page_cannot_reach_the_machine(server, tmp_path):
    urls = _crawl(tmp_path / "in", server.server_port)
    rejected = _run(tmp_path / "in", tmp_path / "closed")
    assert rejected == {u: "image_fetch|blocked_address" for u in urls.values()}
    assert server.paths == []  # not one request reached the server
    assert ds.dataset(tmp_path / "closed" / "image_text").count_rows() == 0


def test_allow_address_opens_exactly_that_address(server, tmp_path):
    urls = _crawl(tmp_path / "in", server.server_port)
    rejected = _run(tmp_path / "in", tmp_path / "open", "--allow-address", "127.0.0.1")
    assert rejected[urls["v6"]] == "image_fetch|blocked_address"
    assert rejected[urls["metadata"]] == "image_fetch|blocked_address"
    assert urls["plain"] not in rejected and urls["decimal"] not in rejected
    assert {"/plain.jpg", "/decimal.jpg"} <= set(server.paths)
    assert not {"/v6.jpg"} & set(server.paths)
    config = (tmp_path / "open" / "config.json").read_text()
    assert '"127.0.0.1"' in config  # the opened address is recorded with the run
