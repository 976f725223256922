"""corpus.budget: the HTML shape scan, the structural pre-check of extraction, and the watchdog
helper that kills a record going over its CPU budget, so one page never stalls a worker."""

from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from corpus.budget import BudgetConfig, BudgetedStage, Route, html_shape
from corpus.clean.markup import StripMarkup
from corpus.document import Document, Page
from corpus.extract.html import ExtractHTML
from corpus.parse.warc import iter_records
from corpus.stage import split

ROOT = Path(__file__).resolve().parents[2]
DOLMA = ROOT / "tests" / "fixtures" / "warc" / "dolma_sample-0000.warc.gz"
ARTICLE = "<p>" + "北京是中华人民共和国的首都，也是全国的政治和文化中心。" * 4 + "</p>"


def deep_html(levels: int, tag: str = "div") -> bytes:
    return ("<html><body>" + f"<{tag}>" * levels + ARTICLE
            + f"</{tag}>" * levels + "</body></html>").encode()


def deep_page(levels: int, url: str = "http://deep.example/", offset: int = 77) -> Page:
    return Page(id=url, url=url, source="common_crawl", body=deep_html(levels),
                content_type="text/html; charset=utf-8", status=200,
                input_file="crawl-x.warc.gz", offset=offset)


def test_html_shape_counts_depth_and_elements():
    assert html_shape(b"<html><body><div><div><span>x</span></div></div></body></html>") == \
        html_shape(b"<HTML><BODY><DIV><Div><SPAN>x</SPAN></div></DIV></BODY></HTML>")
    assert html_shape(b"<html><body><div><div><span>x</span></div></div></body></html>").depth == 3
    # void and implicitly closed tags add no depth; script text is not markup
    shape = html_shape(b"<body><div><p>a<p>b<br><img src=x><li>c<li>d</div>"
                       b"<script>for(i=0;i<n;i++){if(a<b)x()}</script></body>")
    assert (shape.depth, shape.elements) == (1, 9)
    assert html_shape(deep_html(100_000)).depth == 100_000
    assert html_shape(b"<div>" * 10, exact_below=64) == html_shape(b"<div>" * 10)


def test_html_shape_of_real_pages_stays_low():
    pages = [p for p in iter_records(str(DOLMA)) if isinstance(p, Page)]
    depths = sorted(html_shape(p.body).depth for p in pages)
    assert len(pages) == 22
    assert depths[-1] < BudgetConfig().html_helper_depth  # every real page stays inline


def test_too_deep_page_is_rejected_unparsed_with_its_file_and_offset():
    stage = ExtractHTML()
    kept, rejected = split(stage.run([deep_page(100_000)]))  # parsing it would take minutes
    assert kept == []
    (row,) = rejected
    assert (row.stage, row.reason, row.url, row.input_file, row.offset) == (
        "extract", "too_deep", "http://deep.example/", "crawl-x.warc.gz", 77)
    assert row.detail == "tags nest 100000 deep > budget.html_max_depth=512"


def test_precheck_routes_by_shape():
    stage = ExtractHTML(budget=BudgetConfig(html_helper_depth=50, html_max_elements=300))
    assert stage.precheck(deep_page(10)) is Route.INLINE
    assert stage.precheck(deep_page(60)) is Route.HELPER
    assert stage.precheck(deep_page(400)).reason == "too_many_elements"
    assert stage.precheck(Document(id="d", source="forum", text="x")) is Route.INLINE
    assert pickle.loads(pickle.dumps(stage)).budget == stage.budget


@pytest.mark.slow  # two helper processes are spawned (~8 s)
def test_watchdog_kills_an_expensive_record_and_the_worker_goes_on():
    # a page deep enough to take ~15 s in resiliparse, let through by the structural limit:
    # the helper is killed after 1 CPU second, and the next flagged page gets a fresh helper
    budget = BudgetConfig(html_max_depth=100_000, html_helper_depth=100, record_cpu_seconds=1)
    runner = BudgetedStage(ExtractHTML(budget=budget), budget)
    good = [deep_page(3, url=f"http://ok{i}.example/") for i in range(3)]
    flagged_ok = deep_page(150, url="http://flagged.example/")
    out = list(runner.run([good[0], deep_page(20_000), good[1], flagged_ok, good[2]]))
    kept, rejected = split(out)
    assert [d.url for d in kept] == ["http://ok0.example/", "http://ok1.example/",
                                     "http://flagged.example/", "http://ok2.example/"]
    assert all("北京是中华人民共和国的首都" in d.text for d in kept)
    (row,) = rejected
    assert (row.stage, row.reason, row.url, row.input_file, row.offset) == (
        "extract", "timeout", "http://deep.example/", "crawl-x.warc.gz", 77)
    assert runner.timeouts == 1


def test_text_over_budget_is_rejected_before_the_stage():
    runner = BudgetedStage(StripMarkup(), BudgetConfig(max_text_chars=100))
    docs = [Document(id="a", source="forum", text="<b>短</b>文本", input_file="f.jsonl",
                     offset=0),
            Document(id="b", source="forum", text="字" * 101, input_file="f.jsonl", offset=9)]
    kept, rejected = split(runner.run(docs))
    assert [d.text for d in kept] == ["短文本"]
    assert [(r.id, r.stage, r.reason, r.offset, r.detail) for r in rejected] == [
        ("b", "clean.markup", "text_too_large", 9,
         "101 characters > budget.max_text_chars=100")]


def deep_warc(tmp_path: Path) -> tuple[Path, int]:
    """The dolma fixture with a 200-level page (flagged: runs in the helper) and a 100,000-level
    page (too deep) appended, each in its own gzip member; returns the deep page's offset."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    offset = 0
    for url, levels in (("http://flagged.example/", 200), ("http://deep.example/", 100_000)):
        offset = buf.tell()
        writer.write_record(writer.create_warc_record(
            url, "response", payload=io.BytesIO(gzip.compress(deep_html(levels))),
            http_headers=StatusAndHeaders("200 OK", [
                ("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
                protocol="HTTP/1.1")))
    data = DOLMA.read_bytes()
    path = tmp_path / "dolma_plus_deep.warc.gz"
    path.write_bytes(data + buf.getvalue())
    return path, len(data) + offset


@pytest.mark.slow  # a Beam pipeline and one spawned helper (~8 s)
def test_beam_run_keeps_every_good_page_and_rejects_the_deep_one(tmp_path):
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    from corpus.readers import ReadCrawlFile, is_html_page
    from pipelines.stage_dofn import ApplyStage

    path, deep_offset = deep_warc(tmp_path)
    alone = [d for d in ExtractHTML().run(p for p in iter_records(str(DOLMA)))
             if isinstance(d, Document)]
    assert len(alone) >= 15
    flagged = ExtractHTML().extract(deep_page(200, url="http://flagged.example/"))
    assert "北京是中华人民共和国的首都" in flagged.text
    p = beam.Pipeline(runner=FnApiRunner())
    pages = (p | beam.Create([str(path)]) | "Read" >> ApplyStage(ReadCrawlFile()))
    out = (pages.main | beam.Filter(is_html_page)
           | "Extract" >> ApplyStage(ExtractHTML(), budget=BudgetConfig()))
    assert_that(out.main | beam.Map(lambda d: (d.url, d.text)),
                equal_to([(d.url, d.text) for d in [*alone, flagged]]), label="kept")
    assert_that(out.rejected | beam.Map(lambda r: (r.url, r.stage, r.reason, r.offset)),
                equal_to([("http://deep.example/", "extract", "too_deep", deep_offset)]),
                label="rejected")
    p.run().wait_until_finish()


def test_budgets_and_input_settings_are_part_of_the_config():
    from corpus.config import CorpusConfig, apply_overrides
    from pipelines.corpus_pipeline import _extract_stages

    cfg = apply_overrides(CorpusConfig(), ["budget.html_max_depth=64",
                                           "budget.record_cpu_seconds=2.5",
                                           "parse.max_record_bytes=1000",
                                           "dumps.max_json_depth=8"])
    assert (cfg.budget.html_max_depth, cfg.budget.record_cpu_seconds,
            cfg.parse.max_record_bytes, cfg.dumps.max_json_depth) == (64, 2.5, 1000, 8)
    assert CorpusConfig.from_json(cfg.to_json()) == cfg
    assert _extract_stages(cfg)[0].budget == cfg.budget
    kept, rejected = split(_extract_stages(cfg)[0].run([deep_page(65)]))
    assert [r.reason for r in rejected] == ["too_deep"]


def test_cheap_rejections_keep_their_reasons_before_the_depth_scan():
    from dataclasses import replace

    deep = deep_page(100_000)
    stage = ExtractHTML()
    reasons = [r.reason for r in stage.run([replace(deep, status=404),
                                            replace(deep, content_type="application/pdf"),
                                            deep])]
    assert reasons == ["http_status", "not_html", "too_deep"]
