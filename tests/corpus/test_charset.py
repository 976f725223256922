"""corpus.parse.charset: BOM, then HTTP header, then <meta>, then detection; GB2312/GBK read as
GB18030, Big5 as Big5-HKSCS; valid UTF-8 overrules a stale legacy declaration; binary bytes are
told from text. Checked on hand-made bytes, the sample crawl's legacy pages and real Japanese
pages (clueweb09)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.parse.charset import (
    binary_reason,
    charset_from_meta,
    decode_html,
    detect_charset,
    normalise_charset,
)
from corpus.parse.warc import iter_records

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "crawl"
FIXTURES = ROOT / "tests" / "fixtures"

ZH = "长江是中国第一长河，也是亚洲最长的河流。朱镕基题词的石碑在公园落成。" * 3
TW = "臺灣夜市小吃巡禮：蚵仔煎、鹽酥雞、臭豆腐和珍珠奶茶。" * 3


def page(text: str, meta: str | None = None) -> str:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}">' if meta else ""
    return f"<html><head>{head}<title>test</title></head><body><p>{text}</p></body></html>"


@pytest.mark.parametrize("label, codec", [
    ("gb2312", "gb18030"), ("GBK", "gb18030"), ("x-gbk", "gb18030"), ("cp936", "gb18030"),
    ("GB18030", "gb18030"), ("big5", "big5hkscs"), ("Big5-HKSCS", "big5hkscs"),
    ("utf8", "utf-8"), ("UTF-8", "utf-8"), ("iso-8859-1", "cp1252"), ("us-ascii", "cp1252"),
    ("shift_jis", "shift_jis"), ("euc-jp", "euc_jp"), ('"utf-8"', "utf-8"),
    ("no-such-charset", None), ("", None), (None, None),
])
def test_labels_map_to_the_codec_sites_mean(label, codec):
    assert normalise_charset(label) == codec


def test_meta_charset_both_forms():
    assert charset_from_meta(b'<html><head><meta charset="GBK"></head>') == "gbk"
    assert charset_from_meta(b"<meta http-equiv=Content-Type content='text/html; charset=big5'>") == "big5"
    assert charset_from_meta(b"<html><head><title>x</title></head><body>charset=utf-8</body>") is None
    late = b"<!--" + b" " * 5000 + b"--><meta charset=gbk>"
    assert charset_from_meta(late) is None  # beyond the prescan window


def test_gbk_without_any_declaration_is_detected():
    body = page(ZH).encode("gbk")
    d = decode_html(body, None)
    assert (d.charset, d.method, d.declared, d.errors) == ("gb18030", "detected", None, 0)
    assert ZH in d.text


def test_gb2312_header_with_a_gbk_only_character_decodes_as_gb18030():
    body = page(ZH).encode("gbk")  # 镕 is not in GB2312
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    d = decode_html(body, "gb2312")
    assert (d.charset, d.method, d.errors) == ("gb18030", "header", 0)
    assert "朱镕基" in d.text


def test_big5_declared_only_in_meta():
    body = page(TW, meta="big5").encode("big5")
    d = decode_html(body, None)
    assert (d.charset, d.method) == ("big5hkscs", "meta")
    assert TW in d.text


def test_header_wins_over_meta():
    body = page(ZH, meta="gbk").encode("utf-8")
    d = decode_html(body, "utf-8")
    assert (d.charset, d.method) == ("utf-8", "header")
    assert ZH in d.text


def test_valid_utf8_overrules_a_stale_legacy_declaration():
    body = page(ZH, meta="gb2312").encode("utf-8")
    d = decode_html(body, None)
    assert (d.charset, d.method, d.declared) == ("utf-8", "detected", "gb18030")
    assert ZH in d.text


def test_wrong_utf8_declaration_on_gbk_bytes_falls_back_to_detection():
    body = page(ZH).encode("gbk")
    d = decode_html(body, "utf-8")
    assert (d.charset, d.method, d.declared, d.errors) == ("gb18030", "detected", "utf-8", 0)
    assert ZH in d.text


def test_boms():
    d = decode_html(b"\xef\xbb\xbf" + page(ZH, meta="gbk").encode(), "gbk")
    assert (d.charset, d.method) == ("utf-8", "bom") and ZH in d.text and not d.text.startswith("\ufeff")
    d = decode_html(b"\xff\xfe" + page(ZH).encode("utf-16-le"), None)
    assert (d.charset, d.method) == ("utf-16-le", "bom") and ZH in d.text


def test_body_cut_inside_a_character_is_still_utf8():
    body = page(ZH).encode("utf-8")[:-30]
    body = body[: body.rfind("。".encode()) + 3] + "长".encode()[:2]
    assert detect_charset(body) == "utf-8"
    d = decode_html(body, None)
    assert (d.charset, d.errors) == ("utf-8", 1)


def test_pure_ascii_is_utf8():
    assert detect_charset(b"<html><body>plain</body></html>") == "utf-8"


def test_sample_crawl_legacy_pages():
    pages = {p.url: p for name in ("crawl-00001.warc.gz",) for p in iter_records(str(SAMPLE / name))}
    gbk = decode_html(pages["http://www.example-shequ.cn/news/2024/0518.htm"].body, None)
    assert (gbk.charset, gbk.method) == ("gb18030", "detected")
    assert "社区卫生服务中心开展免费义诊活动" in gbk.text
    p = pages["http://www.example-gongyuan.cn/news/stone.htm"]
    g2 = decode_html(p.body, p.http_charset)
    assert (p.http_charset, g2.charset, g2.method) == ("gb2312", "gb18030", "header")
    assert "朱镕基题词的石碑" in g2.text
    b5 = decode_html(pages["http://travel.example.com.tw/food/nightmarket.html"].body, None)
    assert (b5.charset, b5.method) == ("big5hkscs", "meta") and "臺灣夜市小吃巡禮" in b5.text


def test_real_japanese_pages_decode_cleanly():
    pages = [p for p in iter_records(str(FIXTURES / "warc" / "resiliparse_clueweb09-ja_quirk.warc.gz"))]
    results = [decode_html(p.body, p.http_charset) for p in pages]
    kana = sum(any("\u3040" <= ch <= "\u30ff" for ch in d.text) for d in results)
    assert kana >= 27  # nearly every page is Japanese text once decoded
    assert sum(d.errors == 0 for d in results) >= 27
    assert {d.charset for d in results} <= {"shift_jis", "cp932", "euc_jp", "utf-8", "cp1252"}


@pytest.mark.parametrize("data, expected", [
    ((FIXTURES / "images" / "flower.jpg").read_bytes(), "JPEG signature"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "PNG signature"),
    (b"PK\x03\x04" + bytes(range(256)), "ZIP signature"),
    (b"\x1f\x8b\x08\x00" + b"x" * 50, "gzip signature"),
    (b"%PDF-1.7\n...", "PDF signature"),
    (b"<html>" + b"\x00abc" * 10, "10 NUL bytes in the first 46"),
    (bytes([1, 2, 3, 4, 5, 6, 7, 8]) * 20 + b"<p>x</p>", "160 control bytes in the first 168"),
])
def test_binary_reasons(data, expected):
    assert binary_reason(data) == expected


@pytest.mark.parametrize("data", [
    page(ZH).encode("utf-8"), page(ZH).encode("gbk"), page(TW).encode("big5"),
    b"\xff\xfe" + page(ZH).encode("utf-16-le"), b"", b"MZ<html>not an exe</html>",
])
def test_text_is_not_binary(data):
    assert binary_reason(data) is None
