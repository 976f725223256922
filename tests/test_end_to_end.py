"""End to end: the sample crawl, dumps and listing through `m6 corpus` to Parquet, read back with
pyarrow and DuckDB, every row validated against the project schema, and the known pages of the
sample (data/sample/truth) checked where they must have landed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines.sink import KINDS
from schemas import validate_table

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def _truth():
    manifest = [json.loads(line) for line in (SAMPLE / "truth/crawl_manifest.jsonl").open()]
    truth = {t["url"]: t for t in map(json.loads, (SAMPLE / "truth/crawl_truth.jsonl").open())}
    return {r.get("kind"): r["url"] for r in manifest if r["type"] == "response"}, truth


@pytest.fixture(scope="module")
def corpus(sample_corpus) -> Path:
    """The corpus as `make corpus` builds it (tests/conftest.py): the sample's own kenlm and spam
    models first, then `m6 corpus` over the crawl, the dumps and the listing."""
    return sample_corpus


@pytest.mark.slow
def test_every_row_validates_and_counts_agree(corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    stats = json.loads((corpus / "stats.json").read_text())
    con = duckdb.connect()
    for kind in KINDS:
        table = pq.read_table(corpus / kind)
        validate_table(table, kind)
        n, = con.execute(
            f"select count(*) from read_parquet('{corpus}/{kind}/*.parquet')").fetchone()
        assert n == table.num_rows == manifest["rows"][kind]
    assert manifest["rows"]["text"] > 100
    assert manifest["rows"]["image_text"] > 5
    by_source = dict(con.execute(
        f"select source, count(*) from read_parquet('{corpus}/text/*.parquet') group by 1"
    ).fetchall())
    assert set(by_source) == {"encyclopedia", "community_qa", "forum", "common_crawl"}
    passages = {}
    for o in stats["outputs"]:
        passages[o["kind"]] = passages.get(o["kind"], 0) + o["passages"]
    assert passages == {"text": manifest["rows"]["text"],
                        "image_text": manifest["rows"]["image_text"]}
    assert stats["rejected_total"] == manifest["rows"]["rejected"]
    # the dataset card's figures are this run's (datasets reads it: tests/pipelines/test_huggingface.py)
    card = (corpus / "README.md").read_text(encoding="utf-8")
    assert '- config_name: image_text\n  data_files:\n  - split: train\n' in card
    assert f"- `image_text` ({manifest['rows']['image_text']:,} rows)" in card
    ids = con.execute(
        f"select count(*), count(distinct id) from read_parquet('{corpus}/*/*.parquet', "
        "union_by_name=true)").fetchone()
    assert ids[0] == ids[1], "an id appears in two outputs or twice in one"


@pytest.mark.slow
def test_known_pages_land_where_they_must(corpus):
    kinds, truth = _truth()
    text = {r["url"]: r for r in pq.read_table(corpus / "text").to_pylist() if r["url"]}
    rejected = pq.read_table(corpus / "rejected").to_pylist()
    reason_of = {(r["url"], r["stage"]): r["reason"] for r in rejected if r["url"]}
    reasons = {r["url"]: r["reason"] for r in rejected if r["url"]}

    # legacy encodings decoded to the right Chinese text
    for kind in ("gbk_no_charset", "gb2312_header_gbk_chars", "big5_meta_only"):
        url = kinds[kind]
        first = truth[url]["blocks"][0][:20]
        assert url in text, f"{kind} page was dropped: {reasons.get(url)}"
        assert first in text[url]["text"], f"{kind} page decoded wrongly"
    # junk rejected with its reason, the rest of the file still read
    assert reason_of[(kinds["binary_as_html"], "extract")] == "binary_content"
    assert reason_of[(kinds["empty_body"], "extract")] == "empty_page"
    assert reason_of[(kinds["http_404"], "extract")] == "http_status"
    assert reason_of[(kinds["navigation_only"], "extract")] == "no_main_text"
    assert any(r["reason"] == "malformed_record" and r["stage"] == "parse" for r in rejected)
    # the quality filters drop what the sample planted for them
    assert reasons[kinds["badwords"]] == "badwords:zh"
    assert reasons[kinds["repeated_lines"]].startswith("repetition:")
    assert kinds["keyword_spam"] in reasons and kinds["keyword_spam"] not in text
    kept = pq.read_table(corpus / "text").to_pylist()
    assert all(r["perplexity"] is not None and r["perplexity_bucket"] for r in kept)
    assert all(r["spam_score"] is not None for r in kept)
    # duplicates point at their survivor
    dups = [r for r in rejected if r["stage"] == "dedup"]
    assert dups and all(r["duplicate_of"] for r in dups)
    kept_ids = {r["id"] for kind in ("text", "image_text")
                for r in pq.read_table(corpus / kind, columns=["id"]).to_pylist()}
    assert all(r["duplicate_of"] in kept_ids for r in dups)
    # every article page of the crawl is accounted for
    for url in truth:
        assert url in text or url in reasons, f"{url} vanished"


@pytest.mark.slow
def test_image_text_rows_hold_real_images(corpus):
    rows = pq.read_table(corpus / "image_text").to_pylist()
    for row in rows:
        # image_text 2.0: the Hugging Face Image struct, bytes only
        assert row["image"]["path"] is None
        img = Image.open(io.BytesIO(row["image"]["bytes"]))
        img.load()
        assert (img.width, img.height) == (row["width"], row["height"])
        assert img.width * img.height >= 5000 or row["orig_width"] * row["orig_height"] >= 5000
        assert row["text"]
    assert {r["source"] for r in rows} == {"webpage", "ecommerce"}
