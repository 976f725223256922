"""Language filter: script shares, and a real fastText language-ID model trained here."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from corpus.clean.language import cjk_share
from corpus.document import Document
from corpus.quality.config import LanguageConfig
from corpus.quality.fasttext_train import train_supervised_isolated
from corpus.quality.langid import LanguageFilter
from corpus.stage import split
from schemas import RejectedRecord

ROOT = Path(__file__).resolve().parents[3]
ENGLISH = [ROOT / "corpus" / "quality" / "data" / "LICENSE-CC-BY-4.0.txt",
           ROOT / "data" / "sample" / "src" / "crawl_en.txt"]
JAPANESE = ROOT / "tests" / "fixtures" / "quality" / "clueweb09_ja_lines.txt"


def doc(text: str, i: int = 0) -> Document:
    return Document(id=f"d{i}", source="common_crawl", text=text)


def english_lines() -> list[str]:
    lines = []
    for path in ENGLISH:
        for ln in path.read_text(encoding="utf-8").splitlines():
            ln = ln.strip()
            if len(ln) > 30 and not ln.startswith(("#", "@@", "==")):
                lines.append(ln)
    return lines


def japanese_lines() -> list[str]:
    return [ln for ln in JAPANESE.read_text(encoding="utf-8").splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def lid_model(tmp_path_factory, reviews, encyclopedia) -> tuple[Path, dict[str, list[str]]]:
    """A 3-language fastText LID model (character n-grams, like lid.176) and held-out lines."""
    zh = [r for r in dict.fromkeys(reviews) if len(r) > 10]
    en = english_lines()
    ja = japanese_lines()
    train = ([("zh", t) for t in zh[:200]] + [("en", t) for t in en[::2]]
             + [("ja", t) for t in ja[::2]])
    path = tmp_path_factory.mktemp("lid") / "train.txt"
    path.write_text("".join(f"__label__{lab} {' '.join(t.split())}\n" for lab, t in train),
                    encoding="utf-8")
    model = train_supervised_isolated(input=str(path), epoch=30, lr=0.2, dim=16, minn=1,
                                      maxn=3, wordNgrams=1, bucket=50_000, thread=1, seed=0,
                                      verbose=0)
    out = path.with_name("lid.bin")
    model.save_model(str(out))
    held = {"zh": [p for t in encyclopedia[:20] for p in t.split("\n")][:40],
            "en": en[1::2], "ja": ja[1::2]}
    return out, held


def test_script_shares_without_a_model():
    f = LanguageFilter()
    zh = "黄河是中国第二长河，全长约五千四百六十四公里。"
    (kept,) = f.process(doc(zh))
    assert kept.quality.lang == "zh" and kept.quality.lang_score == pytest.approx(1.0)
    assert (kept.quality.cjk_ratio, kept.quality.latin_ratio) == cjk_share(zh)
    (en,) = f.process(doc("The Grand Canal is the longest artificial waterway in the world."))
    assert isinstance(en, RejectedRecord) and en.reason == "lang:en"
    (mixed,) = f.process(doc("iPhone 手机壳 case 보호 케이스"))  # 0.3 CJK, 0.2 English
    assert isinstance(mixed, RejectedRecord) and mixed.reason == "lang:mixed"
    both = LanguageFilter(LanguageConfig(keep=("zh", "en")))
    (en2,) = both.process(doc("The Grand Canal is long."))
    assert en2.quality.lang == "en" and en2.quality.latin_ratio == pytest.approx(1.0)


def test_fasttext_model_labels_and_drops(lid_model):
    path, held = lid_model
    f = LanguageFilter(LanguageConfig(model=str(path), keep=("zh",), min_model_score=0.5))
    f.setup()
    for lang, lines in held.items():
        assert lines, lang
        got = [f.identify(t)[0] for t in lines]
        assert sum(g == lang for g in got) / len(got) >= 0.8, (lang, got)
    kept, rejected = split(f.run(doc(t, i) for i, t in enumerate(held["zh"])))
    assert len(kept) >= 0.9 * len(held["zh"])
    assert all(d.quality.lang == "zh" and d.quality.lang_score >= 0.5 for d in kept)
    assert all(d.quality.cjk_ratio is not None for d in kept)
    kept, rejected = split(f.run(doc(t, i) for i, t in enumerate(held["en"])))
    assert {r.reason for r in rejected} <= {"lang:en", "lang:uncertain"}
    assert sum(r.reason == "lang:en" for r in rejected) >= 0.8 * len(held["en"])


def test_low_model_score_is_uncertain(lid_model):
    path, _ = lid_model
    f = LanguageFilter(LanguageConfig(model=str(path), keep=("zh", "en", "ja"),
                                      min_model_score=1.0))
    f.setup()
    (out,) = f.process(doc("12345 67890 !!! ???"))
    assert isinstance(out, RejectedRecord) and out.reason == "lang:uncertain"
    assert out.score < 1.0


def test_pickles_and_errors(lid_model):
    path, held = lid_model
    f = LanguageFilter(LanguageConfig(model=str(path)))
    f.setup()
    again = pickle.loads(pickle.dumps(f))
    assert again._model is None
    again.setup()
    assert again.identify(held["zh"][0]) == f.identify(held["zh"][0])
    with pytest.raises(ValueError, match="cannot load the fastText model"):
        LanguageFilter(LanguageConfig(model=str(path.with_name("missing.bin")))).setup()
    with pytest.raises(ValueError, match="language.keep must be a tuple"):
        LanguageConfig(keep="zh")
