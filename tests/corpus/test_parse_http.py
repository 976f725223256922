"""corpus.parse.http: status and headers of a response block, chunked transfer coding and
Content-Encoding undone, corrupt or oversized bodies rejected with a reason."""

from __future__ import annotations

import gzip
import zlib

import pytest

from corpus.parse.http import (
    HttpError,
    charset_of,
    dechunk,
    decode_content,
    mime_of,
    parse_response,
)

HTML = "<html><body><p>长江是中国第一长河。</p></body></html>".encode()


def block(headers: list[tuple[str, str]], body: bytes, status: str = "200 OK", eol: bytes = b"\r\n"
          ) -> bytes:
    head = f"HTTP/1.1 {status}".encode() + eol
    head += b"".join(f"{k}: {v}".encode() + eol for k, v in headers)
    return head + eol + body


def test_status_headers_and_body():
    r = parse_response(block([("Content-Type", "text/html; charset=GBK"), ("X-A", "1")], HTML),
                       max_bytes=1 << 20)
    assert r.status == 200 and r.body == HTML
    assert r.header("content-type") == "text/html; charset=GBK"
    assert r.charset == "gbk" and mime_of(r.content_type) == "text/html"


def test_bare_lf_headers_and_folded_lines():
    raw = b"HTTP/1.0 404 Not Found\nContent-Type: text/html\nX-Long: a\n  b\n\n<p>gone</p>"
    r = parse_response(raw, max_bytes=1 << 20)
    assert (r.status, r.header("x-long"), r.body) == (404, "a b", b"<p>gone</p>")


def test_headers_only_response():
    r = parse_response(b"HTTP/1.1 304 Not Modified\r\nServer: nginx\r\n", max_bytes=1 << 20)
    assert (r.status, r.body) == (304, b"")


@pytest.mark.parametrize("raw, detail", [
    (b"<html>no status line</html>\r\n\r\n", "is not 'HTTP/x.y NNN reason'"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + b"X: y\r\n" * 20000, "no blank line"),
])
def test_bad_headers_are_an_error_with_a_reason(raw, detail):
    with pytest.raises(HttpError) as e:
        parse_response(raw, max_bytes=1 << 20)
    assert e.value.reason == "bad_http_headers" and detail in e.value.detail


def test_chunked_body_is_joined_and_a_non_chunked_body_left_alone():
    chunks = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
    assert dechunk(chunks) == b"hello, world"
    assert dechunk(b"<html>not chunked</html>") is None
    assert dechunk(b"a\r\n0123") == b"0123"  # cut short by the crawler: what arrived is kept
    r = parse_response(block([("Transfer-Encoding", "chunked")], b"<p>already plain</p>"),
                       max_bytes=1 << 20)
    assert r.body == b"<p>already plain</p>"  # Common Crawl stores bodies dechunked


@pytest.mark.parametrize("encoding, data", [
    ("gzip", gzip.compress(HTML)),
    ("x-gzip", gzip.compress(HTML)),
    ("deflate", zlib.compress(HTML)),
    ("deflate", zlib.compress(HTML)[2:-4]),  # raw deflate, as some servers send it
    ("identity", HTML),
])
def test_content_encodings_are_undone(encoding, data):
    r = parse_response(block([("Content-Encoding", encoding)], data), max_bytes=1 << 20)
    assert r.body == HTML


def test_brotli_and_zstd():
    import io

    from fastwarc.stream_io import BrotliWriter, ZstdWriter  # the writers of the readers we use

    for writer, name in ((BrotliWriter, "br"), (ZstdWriter, "zstd")):
        buf = io.BytesIO()
        w = writer(buf)
        w.write(HTML)
        w.close()
        assert decode_content(buf.getvalue(), name, 1 << 20) == HTML


def test_gzip_header_on_an_already_decoded_body_is_ignored():
    r = parse_response(block([("Content-Encoding", "gzip")], HTML), max_bytes=1 << 20)
    assert r.body == HTML


def test_corrupt_gzip_body_is_an_error():
    bad = bytearray(gzip.compress(HTML * 50))
    for i in range(20, 60):
        bad[i] ^= 0xAA
    with pytest.raises(HttpError) as e:
        parse_response(block([("Content-Encoding", "gzip")], bytes(bad)), max_bytes=1 << 20)
    assert e.value.reason == "bad_content_encoding"


def test_decompression_bomb_is_stopped_at_the_limit():
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(HttpError) as e:
        parse_response(block([("Content-Encoding", "gzip")], bomb), max_bytes=1_000_000)
    assert e.value.reason == "record_too_large"


def test_charset_parameter_forms():
    assert charset_of('text/html; charset="UTF-8"') == "utf-8"
    assert charset_of("text/html;charset=gb2312") == "gb2312"
    assert charset_of("text/html") is None and charset_of(None) is None
