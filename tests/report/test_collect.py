"""Collecting the report's figures from the sample corpus built by ``m6 corpus``: every figure is
checked against an independent reading of the same shards (pyarrow, DuckDB) or stats.json."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.inspect.files import InspectError
from report.collect import collect
from report.page import render
from report.thresholds import thresholds
from schemas.image_column import image_bytes


@pytest.fixture(scope="module")
def figs(sample_corpus):
    return collect(str(sample_corpus))


def _stats(corpus: Path) -> dict:
    return json.loads((corpus / "stats.json").read_text())


def test_every_row_is_read_once(figs, sample_corpus):
    manifest = json.loads((sample_corpus / "manifest.json").read_text())
    assert dict(figs.rows) == manifest["rows"]
    assert figs.stats == _stats(sample_corpus) and not figs.stats_recomputed


def test_length_histograms_hold_every_passage_and_its_characters(figs, sample_corpus):
    for out in _stats(sample_corpus)["outputs"]:
        h = figs.lengths[f"{out['kind']}/{out['source']}"]
        assert h.count == out["passages"]
        assert h.sum == out["chars"]


def test_rejected_counts_match_stats_json_and_examples_are_the_first_rows(figs, sample_corpus):
    expected = {(r["stage"], r["reason"]): r["count"] for r in _stats(sample_corpus)["rejected"]}
    assert dict(figs.rejected) == expected
    rows = pq.read_table(sample_corpus / "rejected").to_pylist()
    for key, examples in figs.examples.items():
        first = [r["id"] for r in rows if (r["stage"], r["reason"]) == key][:3]
        assert [e["id"] for e in examples] == first


def test_perplexity_histograms_hold_kept_and_rejected_scores(figs, sample_corpus):
    con = duckdb.connect()
    kept = dict(con.execute(
        f"select source, count(perplexity) from '{sample_corpus}/text/*.parquet' group by 1"
    ).fetchall())
    assert {s: h.count for s, h in figs.perplexity.items() if h.count} == \
        {s: n for s, n in kept.items() if n}
    rejected = con.execute(
        f"select source, score from '{sample_corpus}/rejected/*.parquet' "
        "where stage = 'quality.perplexity'").fetchall()
    assert rejected, "the sample has a review the perplexity filter drops"
    for source, score in rejected:
        h = figs.rejected_perplexity[source]
        assert h.min <= score <= h.max


def test_duplicate_cluster_sizes_match_a_group_by(figs, sample_corpus):
    con = duckdb.connect()
    rows = con.execute(
        f"select reason, n + 1 as size, count(*) from (select reason, duplicate_of, count(*) n "
        f"from '{sample_corpus}/rejected/*.parquet' where duplicate_of is not null "
        "group by all) group by all").fetchall()
    expected: dict[str, Counter] = {}
    for reason, size, clusters in rows:
        expected.setdefault(reason, Counter())[size] = clusters
    assert figs.cluster_sizes == expected and expected
    together = con.execute(
        f"select n + 1, count(*) from (select duplicate_of, count(*) n "
        f"from '{sample_corpus}/rejected/*.parquet' where duplicate_of is not null "
        "group by all) group by all").fetchall()
    assert figs.all_cluster_sizes == Counter(dict(together))


def test_image_histograms_and_rejected_image_scores(figs, sample_corpus):
    table = pq.read_table(sample_corpus / "image_text",
                          columns=["orig_width", "orig_height", "jpeg_quality"])
    assert figs.images["pixels"].count == table.num_rows
    pixels = [w * h for w, h in zip(table["orig_width"].to_pylist(),
                                    table["orig_height"].to_pylist())]
    assert figs.images["pixels"].min == min(pixels) and figs.images["pixels"].max == max(pixels)
    assert figs.images["jpeg_quality"].count == table["jpeg_quality"].drop_null().__len__()
    rejected = pq.read_table(sample_corpus / "rejected").to_pylist()
    small = [r["score"] for r in rejected if r["reason"] == "too_few_pixels"]
    assert small and figs.rejected_images["pixels"].count == len(small)
    assert figs.rejected_images["pixels"].min == min(small)


def test_samples_are_seeded_and_carry_their_own_image(sample_corpus):
    pairs = pq.read_table(sample_corpus / "image_text", columns=["id", "image"]).to_pylist()
    by_id = {r["id"]: image_bytes(r["image"]) for r in pairs}  # the 2.0 struct's bytes
    a = collect(str(sample_corpus), samples=5, seed=1)
    b = collect(str(sample_corpus), samples=5, seed=1)
    c = collect(str(sample_corpus), samples=5, seed=2)
    ids = [s.row_data["id"] for s in a.samples]
    assert len(ids) == len(set(ids)) == 5 and a.pairs_seen == len(pairs)
    assert ids == [s.row_data["id"] for s in b.samples]
    assert ids != [s.row_data["id"] for s in c.samples]
    for s in a.samples:
        assert s.image == by_id[s.row_data["id"]]
    everything = collect(str(sample_corpus), samples=100)
    assert sorted(s.row_data["id"] for s in everything.samples) == sorted(by_id)


def test_many_small_shards_give_the_same_figures(sample_corpus, tmp_path, figs, write_manifest):
    """Streaming: the same rows split over several files of 3-row groups read the same."""
    split = tmp_path / "split"
    for kind in ("text", "image_text", "rejected"):
        table = pq.read_table(sample_corpus / kind)
        (split / kind).mkdir(parents=True)
        step = max(table.num_rows // 3, 1)
        for i, start in enumerate(range(0, table.num_rows, step)):
            pq.write_table(table.slice(start, step), split / kind / f"part-{i:05d}.parquet",
                           row_group_size=3)
    for name in ("stats.json", "config.json"):
        shutil.copy(sample_corpus / name, split / name)
    again = collect(str(write_manifest(split)))
    assert again.shards["text"] > 1
    assert again.rows == figs.rows and again.rejected == figs.rejected
    assert {k: h.counts for k, h in again.lengths.items()} == \
        {k: h.counts for k, h in figs.lengths.items()}
    assert again.cluster_sizes == figs.cluster_sizes
    assert [s.row_data["id"] for s in again.samples] == [s.row_data["id"] for s in figs.samples]
    assert [s.image for s in again.samples] == [s.image for s in figs.samples]


def test_shards_of_two_schema_versions_are_each_read_with_their_own_columns(sample_corpus,
                                                                            tmp_path,
                                                                            write_manifest):
    """An older shard without the quality columns sorts first: the newer shards' perplexities,
    buckets and JPEG qualities are still counted (the first shard's columns were used for all,
    so they silently vanished)."""
    mixed = tmp_path / "mixed"
    dropped = ["perplexity", "perplexity_bucket", "jpeg_quality"]
    newer = {}
    for kind in ("text", "image_text"):
        table = pq.read_table(sample_corpus / kind)
        (mixed / kind).mkdir(parents=True)
        old = table.slice(0, 2)
        pq.write_table(old.drop_columns([c for c in dropped if c in old.column_names]),
                       mixed / kind / "part-0-old.parquet")
        newer[kind] = table.slice(2)
        pq.write_table(newer[kind], mixed / kind / "part-1-new.parquet")
    shutil.copytree(sample_corpus / "rejected", mixed / "rejected")
    figs = collect(str(write_manifest(mixed)))
    perplexities = newer["text"]["perplexity"].drop_null()
    assert len(perplexities) and sum(h.count for h in figs.perplexity.values()) == \
        len(perplexities)
    assert sum(figs.buckets.values()) == len(newer["text"]["perplexity_bucket"].drop_null())
    qualities = newer["image_text"]["jpeg_quality"].drop_null()
    assert len(qualities) and figs.images["jpeg_quality"].count == len(qualities)


def test_without_stats_json_table_1_is_computed_from_the_shards(sample_corpus, tmp_path):
    copy = tmp_path / "corpus"
    shutil.copytree(sample_corpus, copy)
    (copy / "stats.json").unlink()
    figs = collect(str(copy))
    assert figs.stats_recomputed
    # the readers' input counts are not in the shards: everything else is recomputed from them
    assert figs.stats == {k: v for k, v in _stats(sample_corpus).items() if k != "inputs"}


@pytest.mark.parametrize("content", [
    "[1, 2]", '{"hello": 1}', '{"format": "m6.stats", "outp',
    '{"format": "m6.stats", "outputs": [{"kind": "text"}], "totals": {"all": {}}}',
    '{"format": "m6.stats", "outputs": [], "totals": [], "rejected": [], "rejected_total": 0, '
    '"rejected_by_source": {}}'])
def test_a_stats_json_that_is_not_m6s_is_recomputed_and_the_page_says_why(
        sample_corpus, tmp_path, content):
    """Another tool's stats.json, or a truncated or malformed one, must not stop the report
    (a list or a dict without ``outputs`` raised TypeError/KeyError while rendering)."""
    copy = tmp_path / "corpus"
    shutil.copytree(sample_corpus, copy)
    (copy / "stats.json").write_text(content)
    figs = collect(str(copy))
    # the readers' input counts are not in the shards, so a recomputed stats.json lacks them
    without_inputs = {k: v for k, v in _stats(sample_corpus).items() if k != "inputs"}
    assert figs.stats_recomputed and figs.stats == without_inputs
    assert figs.stats_problem.startswith("stats.json was not usable m6 statistics")
    page = render(figs, thresholds(None))
    assert "stats.json was not usable m6 statistics" in page


def test_a_folder_that_is_not_a_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(InspectError, match="no such corpus folder"):
        collect(str(tmp_path / "missing"))
    with pytest.raises(InspectError, match="no text/, image_text/ or rejected/ shards"):
        collect(str(tmp_path))


def test_image_text_1_0_shards_give_the_same_figures_and_images(sample_corpus, tmp_path):
    """image_text 1.0 stored ``image`` as binary, 2.0 as the Hugging Face struct: the report of
    a corpus rewritten as 1.0 has the same Table 1 (recomputed from the rows, image bytes
    included) and the same sample images."""
    from schemas.arrow import IMAGE_TEXT_SCHEMA_V1
    from schemas.image_column import with_image_bytes

    old = tmp_path / "old"
    shutil.copytree(sample_corpus, old)
    (old / "stats.json").unlink()
    shards = sorted((old / "image_text").glob("*.parquet"))
    assert pq.read_schema(shards[0]).metadata[b"m6.schema_version"] == b"2.0"
    for shard in shards:
        table = with_image_bytes(pq.read_table(shard)).cast(IMAGE_TEXT_SCHEMA_V1)
        pq.write_table(table, shard)
    assert pq.read_schema(shards[0]).field("image").type == pa.binary()
    new = tmp_path / "new"
    shutil.copytree(sample_corpus, new)
    (new / "stats.json").unlink()
    a, b = collect(str(old)), collect(str(new))
    assert a.stats == b.stats and a.stats["totals"]["image_text"]["image_bytes"] > 0
    assert [s.image for s in a.samples] == [s.image for s in b.samples]
    assert all(isinstance(s.image, bytes) and s.image for s in a.samples)
