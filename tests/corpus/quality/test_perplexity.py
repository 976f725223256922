"""The perplexity filter on a real kenlm model: values, thresholds, buckets, paragraphs, setup."""

from __future__ import annotations

import dataclasses
import json
import pickle
import random
from pathlib import Path

import kenlm
import numpy as np
import pytest

from corpus.document import Document
from corpus.quality.config import PerplexityConfig
from corpus.quality.lm_reference import load_metadata, value_at
from corpus.quality.perplexity import ParagraphPerplexity, PerplexityFilter
from corpus.quality.resources import local_copy
from corpus.stage import split
from schemas import RejectedRecord


def doc(text: str, i: int = 0, source: str = "forum") -> Document:
    return Document(id=f"d{i}", source=source, text=text)


def reference_perplexity(model: kenlm.Model, text: str) -> float:
    """cc_net's formula written out with Python strings: per line, chars joined by spaces."""
    logp, n = 0.0, 0
    for line in text.split("\n"):
        chars = ["0" if c in "123456789" else c.lower() if c.isascii() else c
                 for c in line if not c.isspace()]
        if chars:
            logp += model.score(" ".join(chars), bos=True, eos=True)
            n += len(chars) + 1
    return 10 ** (-logp / n)


@pytest.fixture(scope="module")
def stage(lm_model) -> PerplexityFilter:
    s = PerplexityFilter(PerplexityConfig(model=str(lm_model)))
    s.setup()
    return s


def test_value_equals_ccnet_formula(stage, lm_model, heldout_reviews, encyclopedia):
    model = kenlm.Model(str(lm_model))
    texts = heldout_reviews[:40] + encyclopedia[:10] + ["第一行\n\n第二行 2024 ABC"]
    kept, _ = split(stage.run(doc(t, i) for i, t in enumerate(texts)))
    by_id = {d.id: d for d in kept}
    assert len(by_id) >= 45
    for i, t in enumerate(texts):
        if f"d{i}" in by_id:
            got = by_id[f"d{i}"].quality.perplexity
            assert got == pytest.approx(reference_perplexity(model, t), rel=1e-6)


def test_real_text_beats_its_own_characters_shuffled(stage, heldout_reviews, shuffle):
    # Held-out reviews (never seen by the model) against the same characters in random order.
    pairs = [(stage.score(t), stage.score(shuffle(t, i)))
             for i, t in enumerate(heldout_reviews) if len(t) >= 20]
    assert len(pairs) >= 50
    wins = sum(real < fake for real, fake in pairs)
    assert wins / len(pairs) >= 0.95
    assert np.median([fake / real for real, fake in pairs]) > 2.0


def test_default_threshold_keeps_prose_drops_junk(stage, heldout_reviews):
    doc_max, para_max = stage.thresholds
    meta = load_metadata(stage.cfg.model)
    table = meta["reference"]["document_percentiles"]
    assert doc_max == pytest.approx(5.0 * value_at(table, 99))
    assert para_max == pytest.approx(5.0 * value_at(meta["reference"]["paragraph_percentiles"], 99))
    rng = random.Random(0)
    junk = {
        # What a wrong charset decode leaves: Han characters in no order.
        "mojibake": "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(40)),
        "rare_han": "".join(chr(rng.randrange(0x3400, 0x4DB5)) for _ in range(40)),
        "keyboard": "asdfjkl;qwer uiop zxcv bnm, asdf qwer zxcv uiop hjkl",
    }
    kept, rejected = split(stage.run(doc(t, i) for i, t in enumerate(junk.values())))
    assert not kept
    assert {r.reason for r in rejected} == {"perplexity_too_high"}
    assert all(r.score > doc_max and "5.0 x p99" in r.detail for r in rejected)
    kept, rejected = split(stage.run(doc(t, i) for i, t in enumerate(heldout_reviews)))
    assert len(kept) / len(heldout_reviews) >= 0.95
    # Digits are folded to 0 before scoring (cc_net), so digit soup is predictable: it is the
    # repetition rules' to judge, not this filter's.
    assert stage.score("2024-05-19 09:45:13 7781 0093 1144 5521 8890 3321") < doc_max


def test_absolute_threshold_and_buckets(lm_model, stage):
    meta = load_metadata(lm_model)
    table = meta["reference"]["document_percentiles"]
    cut30, cut60 = value_at(table, 30), value_at(table, 60)
    absolute = PerplexityFilter(PerplexityConfig(model=str(lm_model), max_perplexity=150.0))
    absolute.setup()
    assert absolute.thresholds == (150.0, 150.0)
    texts = ["黄河是中国第二长河，发源于青海省。", "这本书的印刷质量很差，纸张也薄，失望。",
             "夜市是臺灣最具特色的飲食文化之一。", "1234 5678 abcd efgh"]
    for i, t in enumerate(texts):
        ppl = stage.score(t)
        (out,) = absolute.process(doc(t, i))
        if ppl > 150.0:
            assert isinstance(out, RejectedRecord) and out.score == pytest.approx(ppl)
            assert out.reason == "perplexity_too_high" and "max_perplexity 150.0" in out.detail
        else:
            assert out.quality.perplexity == pytest.approx(ppl)
            want = "head" if ppl < cut30 else "middle" if ppl < cut60 else "tail"
            assert out.quality.perplexity_bucket == want
    outs = [absolute.process(doc(t, i)) for i, t in enumerate(texts)]
    assert any(isinstance(next(o), RejectedRecord) for o in outs)


def test_no_threshold_scores_only(lm_model, heldout_reviews):
    s = PerplexityFilter(PerplexityConfig(model=str(lm_model), max_percentile=None))
    kept, rejected = split(s.run(doc(t, i) for i, t in enumerate(heldout_reviews[:30])))
    assert not rejected and len(kept) == 30
    assert all(d.quality.perplexity > 1 and d.quality.perplexity_bucket for d in kept)


def test_per_paragraph_cuts_only_the_bad_paragraph(lm_model, encyclopedia, shuffle):
    s = ParagraphPerplexity(PerplexityConfig(model=str(lm_model), per_paragraph=True))
    good = encyclopedia[0].split("\n")[:2]
    rng = random.Random(1)
    bad = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(50))  # mojibake
    text = "\n".join([good[0], bad, good[1], "短行"])
    outs = list(s.run([doc(text, 7, "encyclopedia")]))
    kept, rejected = split(outs)
    assert len(kept) == 1 and len(rejected) == 1
    assert kept[0].text == "\n".join([good[0], good[1], "短行"])
    assert kept[0].id == "d7" and kept[0].quality.perplexity < s.thresholds[1]
    r = rejected[0]
    assert r.reason == "paragraph_perplexity_too_high" and r.text == bad
    assert r.id != "d7" and "paragraph 1 of document d7" in r.detail
    # Every paragraph bad: the document goes whole.
    (whole,) = s.run([doc(bad + "\n" + shuffle(bad, 1), 8)])
    assert isinstance(whole, RejectedRecord) and whole.reason == "perplexity_too_high"
    assert whole.id == "d8"


def test_setup_loads_once_and_stage_pickles(lm_model):
    s = PerplexityFilter(PerplexityConfig(model=str(lm_model)))
    s.setup()
    model = s._model
    s.setup()
    list(s.run([doc("第一段文字。"), doc("第二段文字。", 1)]))
    assert s._model is model
    again = pickle.loads(pickle.dumps(s))  # after setup: the model stays behind
    assert again._model is None and again.cfg == s.cfg
    again.setup()
    assert again.score("测试文字") == pytest.approx(s.score("测试文字"))


def test_input_document_is_not_mutated(stage):
    d = doc("今天去公园散步，天气很好。")
    (out,) = stage.process(d)
    assert d.quality.perplexity is None and out.quality.perplexity is not None
    assert out is not d and out.quality is not d.quality and out.text == d.text


def test_errors_are_clear(tmp_path, lm_model):
    with pytest.raises(ValueError, match="needs a kenlm model"):
        PerplexityFilter(PerplexityConfig())
    with pytest.raises(ValueError, match="two increasing percentiles"):
        PerplexityConfig(bucket_percentiles=(60.0, 30.0))
    copy = tmp_path / "nometa.bin"
    copy.write_bytes(lm_model.read_bytes())
    with pytest.raises(FileNotFoundError, match="metadata file 'm6 lm train' writes"):
        PerplexityFilter(PerplexityConfig(model=str(copy))).setup()
    meta = json.loads((lm_model.parent / (lm_model.name + ".json")).read_text())
    meta["reference"] = {}
    (tmp_path / "nometa.bin.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="no reference distribution"):
        PerplexityFilter(PerplexityConfig(model=str(copy))).setup()
    s = PerplexityFilter(PerplexityConfig(model=str(copy), max_perplexity=500.0))
    s.setup()  # an absolute threshold needs no reference
    (out,) = s.process(doc("今天去公园散步。"))
    assert out.quality.perplexity_bucket is None


def test_reference_file_overrides_the_model_metadata(tmp_path, lm_model):
    ref = {"reference": {"source": "test", "document_percentiles": [float(i) for i in range(101)],
                         "paragraph_percentiles": [2.0 * i for i in range(101)]}}
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    cfg = dataclasses.replace(PerplexityConfig(model=str(lm_model)), reference=str(path),
                              max_percentile=50.0, percentile_margin=1.0)
    s = PerplexityFilter(cfg)
    s.setup()
    assert s.thresholds == (50.0, 100.0)
    assert s.bucket(29.0) == "head" and s.bucket(45.0) == "middle" and s.bucket(61.0) == "tail"


def test_model_on_a_remote_filesystem_is_copied_to_a_local_cache(lm_model, tmp_path):
    """A model given as an fsspec URL (here memory://, as gs:// would be on Dataflow) is copied
    with its metadata to a local cache and scores exactly like the local file."""
    import fsspec

    fs = fsspec.filesystem("memory")
    url = f"memory://quality-test-{tmp_path.name}/lm.bin"
    fs.pipe(url, lm_model.read_bytes())
    fs.pipe(url + ".json", (lm_model.parent / (lm_model.name + ".json")).read_bytes())
    remote = PerplexityFilter(PerplexityConfig(model=url))
    remote.setup()
    local = PerplexityFilter(PerplexityConfig(model=str(lm_model)))
    local.setup()
    text = "今天去公园散步，天气很好。"
    assert remote.score(text) == pytest.approx(local.score(text))
    assert remote.thresholds == pytest.approx(local.thresholds)
    cached = Path(local_copy(url, (".json",)))
    assert cached.read_bytes() == lm_model.read_bytes() and Path(f"{cached}.json").exists()


def test_the_config_picks_the_mode(lm_model):
    """Paragraph mode changes the text, so it is its own stage; asking the filter for it is an
    error that names the stage to use."""
    from corpus.quality.perplexity import perplexity_stage
    from corpus.stage import Filter

    cfg = PerplexityConfig(model=str(lm_model))
    para = dataclasses.replace(cfg, per_paragraph=True)
    assert type(perplexity_stage(cfg)) is PerplexityFilter
    assert type(perplexity_stage(para)) is ParagraphPerplexity
    assert not isinstance(perplexity_stage(para), Filter)
    with pytest.raises(ValueError, match="ParagraphPerplexity"):
        PerplexityFilter(para)
