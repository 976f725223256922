"""Fixtures shared by the test packages: the sample corpus as ``make corpus`` builds it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def sample_models(tmp_path_factory) -> tuple[Path, Path]:
    """``(kenlm model, spam model)`` trained on the sample as ``make corpus`` trains them, so a
    test never depends on ``out/models`` (CI runs ``make test`` without ``make corpus``)."""
    from corpus.quality.lm_cli import main as lm_main
    from corpus.quality.spam_cli import main as spam_main

    tmp = tmp_path_factory.mktemp("sample_models")
    lm, spam = tmp / "lm.bin", tmp / "spam.bin"
    assert lm_main(["train", "--input", str(SAMPLE / "dumps/encyclopedia.jsonl"), "--order", "5",
                    "--unit", "char", "--holdout", "0.2", "--out", str(lm)]) == 0
    assert spam_main(["train", "--input", str(SAMPLE / "spam/labelled.jsonl"),
                      "--out", str(spam)]) == 0
    return lm, spam


@pytest.fixture(scope="session")
def sample_corpus(tmp_path_factory, sample_models) -> Path:
    """The sample corpus as ``make corpus`` builds it (its own kenlm and spam models first),
    through ``m6 corpus``, which writes ``report.html`` at the end by default."""
    from pipelines.cli import main as corpus_main

    lm, spam = sample_models
    tmp = tmp_path_factory.mktemp("sample_corpus")
    out = tmp / "corpus"
    argv = ["--input", str(SAMPLE / "crawl"), "--input", str(SAMPLE / "dumps"),
            "--input", str(SAMPLE / "ecommerce"), "--output", str(out), "--quiet",
            "--set", f"quality.perplexity.model={lm}", "--set", f"quality.spam.model={spam}"]
    assert corpus_main(argv) == 0
    return out


@pytest.fixture(scope="session")
def write_manifest():
    """``write_manifest(root)`` writes the ``manifest.json`` the pipeline would write for the
    shards now in the corpus folder ``root``: for tests that build a corpus folder by hand
    (readers refuse a corpus folder without one, ``schemas/listing.py``)."""
    import pyarrow.parquet as pq

    from schemas.layout import KINDS, MANIFEST_FILE, Manifest

    def write(root: Path) -> Path:
        written = [(f"{k}/{p.name}", pq.read_metadata(p).num_rows)
                   for k in KINDS for p in sorted((root / k).glob("*.parquet"))]
        (root / MANIFEST_FILE).write_text(Manifest.of(written).to_json())
        return root

    return write
