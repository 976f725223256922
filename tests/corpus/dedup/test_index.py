"""The on-disk dedup index of earlier batches (corpus/dedup/index.py), on real reviews: it finds
what one in-memory dedup over both batches finds, with the same duplicate_of and scores."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest

from corpus.dedup.buckets import normal_jaccard
from corpus.dedup.config import DedupConfig
from corpus.dedup.edits import near_copy as _near_copy
from corpus.dedup.index import EarlierIndex, band_hashes, merge_parts, write_part
from corpus.dedup.lsh import band_keys
from corpus.dedup.minhash import minhasher
from corpus.dedup.normalise import normalise_text
from corpus.dedup.survivor import node_key


def near_copy(text: str, rate: float, seed: int) -> str:
    return _near_copy(text, random.Random(seed), rate=rate).text


def _articles(reviews: list[str], n: int) -> list[str]:
    """Distinct "articles" of four consecutive reviews (long enough for near copies)."""
    distinct = list(dict.fromkeys(r for r in reviews if len(r) >= 20))
    return ["".join(distinct[i:i + 4]) for i in range(0, 4 * n, 4)]


@pytest.fixture()
def earlier(reviews, tmp_path):
    texts = _articles(reviews, 60)
    docs = [(node_key(f"{i:032x}", "forum"), f"{i:032x}", f"https://a.example.cn/{i}", t)
            for i, t in enumerate(texts)]
    cfg = DedupConfig()
    meta = write_part(str(tmp_path / "part-00000"), docs, cfg)
    return docs, cfg, tmp_path / "part-00000", meta


def test_part_files_and_meta(earlier):
    docs, cfg, folder, meta = earlier
    assert meta["documents"] == len(docs) == 60
    assert json.loads((folder / "meta.json").read_text())["settings"]["verify"] == "exact"
    bands, rows = cfg.lsh_shape()
    assert np.load(folder / "bands.npy").shape == (60 * bands,)
    assert np.all(np.diff(np.load(folder / "bands.npy").astype(np.float64)) >= 0)
    assert not (folder.parent / "part-00000.tmp").exists()


def test_band_hashes_equal_exactly_when_band_keys_are_equal(reviews):
    cfg = DedupConfig()
    bands, rows = cfg.lsh_shape()
    texts = [normalise_text(t) for t in _articles(reviews, 30)]
    texts += [normalise_text(near_copy(t, 0.01, seed=i)) for i, t in enumerate(texts[:10])]
    sigs = minhasher(cfg.minhash).signatures(texts, normalised=True)
    h = band_hashes(sigs, bands, rows)
    keys = [band_keys(s, bands, rows) for s in sigs]
    for a in range(len(texts)):
        for b in range(a + 1, len(texts)):
            for band in range(bands):
                assert (h[a, band] == h[b, band]) == (keys[a][band] == keys[b][band])


def test_finds_url_exact_and_near_copies_of_earlier_documents(earlier, reviews):
    docs, cfg, folder, _ = earlier
    index = EarlierIndex([str(folder)], cfg)
    texts = [t for _, _, _, t in docs]
    fresh = _articles(reviews, 70)[65]  # not among the earlier 60
    near = near_copy(texts[3], 0.01, seed=7)
    far = near_copy(texts[4], 0.30, seed=7)
    queries = [
        ("https://A.example.cn/1?utm_source=x", "another text entirely, not in the index"),
        ("https://b.example.cn/x", "  " + texts[2] + "\n"),  # the same text, spacing aside
        ("https://b.example.cn/y", near),
        ("https://b.example.cn/z", far),
        ("https://b.example.cn/w", fresh),
        (None, ""),
    ]
    found = index.check(queries)
    assert found[0].reason == "url_duplicate" and found[0].duplicate_of == docs[1][1]
    assert found[1].reason == "exact_duplicate" and found[1].duplicate_of == docs[2][1]
    j = normal_jaccard(normalise_text(near), normalise_text(texts[3]), cfg.minhash.ngram)
    assert j >= cfg.threshold
    assert found[2].reason == "near_duplicate" and found[2].duplicate_of == docs[3][1]
    assert found[2].score == pytest.approx(j)
    assert normal_jaccard(normalise_text(far), normalise_text(texts[4]), cfg.minhash.ngram) < 0.8
    assert found[3] is None and found[4] is None and found[5] is None


def test_near_copy_of_two_parts_names_the_smaller_key(reviews, tmp_path):
    cfg = DedupConfig()
    text = _articles(reviews, 1)[0]
    copy = near_copy(text, 0.005, seed=1)
    write_part(str(tmp_path / "p0"), [(node_key("f" * 32, "forum"), "f" * 32, None, text)], cfg)
    write_part(str(tmp_path / "p1"), [(node_key("0" * 32, "forum"), "0" * 32, None, copy)], cfg)
    index = EarlierIndex([str(tmp_path / "p0"), str(tmp_path / "p1")], cfg)
    (hit,) = index.check([(None, near_copy(text, 0.005, seed=2))])
    assert hit.reason == "near_duplicate" and hit.duplicate_of == "0" * 32


def test_a_copy_of_a_dropped_copy_counts_as_a_copy_of_what_was_kept(reviews, tmp_path):
    """A chain A ~ B ~ C with C not near A: one pipeline's components drop B and C for A; the
    index holds B labelled A, so C is dropped for A too."""
    cfg = DedupConfig()
    a = _articles(reviews, 1)[0]
    ngram = cfg.minhash.ngram
    b = near_copy(a, 0.03, seed=11)
    c = near_copy(b, 0.03, seed=12)
    j = lambda x, y: normal_jaccard(normalise_text(x), normalise_text(y), ngram)  # noqa: E731
    assert j(a, b) >= 0.8 and j(b, c) >= 0.8 and j(a, c) < 0.8, (j(a, b), j(b, c), j(a, c))
    write_part(str(tmp_path / "p"), [(node_key("a" * 32, "forum"), "a" * 32, None, a),
                                     (node_key("b" * 32, "forum"), "a" * 32, None, b)], cfg)
    (hit,) = EarlierIndex([str(tmp_path / "p")], cfg).check([(None, c)])
    assert hit.reason == "near_duplicate" and hit.duplicate_of == "a" * 32


def test_other_settings_are_refused(earlier):
    _, cfg, folder, _ = earlier
    with pytest.raises(ValueError, match="other dedup settings"):
        EarlierIndex([str(folder)], dataclasses.replace(cfg, threshold=0.7))


def test_an_empty_part_finds_nothing(tmp_path):
    cfg = DedupConfig()
    write_part(str(tmp_path / "empty"), [], cfg)
    assert EarlierIndex([str(tmp_path / "empty")], cfg).check([("https://x.cn/", "文本")]) == [None]


def test_a_merged_part_finds_what_its_parts_find(reviews, tmp_path):
    """Three parts (one empty) merged into one answer every query as the three do, URL, exact
    and near, with the same labels and scores."""
    cfg = DedupConfig()
    texts = _articles(reviews, 30)
    folders = []
    for p, chunk in enumerate((texts[:12], [], texts[12:30])):
        base = 0 if p == 0 else 12
        docs = [(node_key(f"{base + i:032x}", "forum"), f"{(base + i) % 7:032x}",
                 f"https://a.example.cn/{base + i}", t) for i, t in enumerate(chunk)]
        folders.append(str(tmp_path / f"p{p}"))
        write_part(folders[-1], docs, cfg)
    meta = merge_parts(folders, str(tmp_path / "merged"), cfg)
    assert meta["documents"] == 30
    queries = [(f"https://a.example.cn/{i}", "x") for i in (3, 20)]
    queries += [(None, " " + texts[i]) for i in (5, 25)]
    queries += [(None, near_copy(texts[i], 0.01, seed=i)) for i in (1, 13, 29)]
    queries += [(None, _articles(reviews, 40)[35]), (None, "")]
    separate = EarlierIndex(folders, cfg).check(queries)
    merged = EarlierIndex([str(tmp_path / "merged")], cfg).check(queries)
    assert merged == separate
    assert [v.reason if v else None for v in merged] == (
        ["url_duplicate"] * 2 + ["exact_duplicate"] * 2 + ["near_duplicate"] * 3 + [None, None])


def test_candidates_compared_a_chunk_at_a_time_find_the_same(earlier, reviews, monkeypatch):
    """The signature estimates of a lookup's candidate pairs are taken ``PAIR_CHUNK`` at a time
    (memory bounded however many indexed documents share a band): chunks of 3 pairs find what
    one pass finds."""
    import corpus.dedup.index as index_module

    docs, cfg, folder, _ = earlier
    texts = [t for _, _, _, t in docs]
    queries = [(None, near_copy(t, 0.01 * (i % 4), seed=i)) for i, t in enumerate(texts[:40])]
    queries += [(None, t) for t in _articles(reviews, 70)[60:]]
    whole = EarlierIndex([str(folder)], cfg).check(queries)
    assert sum(f is not None and f.reason == "near_duplicate" for f in whole) >= 20
    monkeypatch.setattr(index_module, "PAIR_CHUNK", 3)
    assert EarlierIndex([str(folder)], cfg).check(queries) == whole
