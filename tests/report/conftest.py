"""Fixtures of the report tests: a headless Chromium, installed from Debian's packages when missing,
the sample corpus built by ``m6 corpus``, and a real MoE pretraining run on it.

The report's test must open the page in a real browser, and the test setup installs that browser
when it is missing: the ``chromium`` fixture calls ``ensure_chromium`` (apt-get as root or through
``sudo -n``: Debian's ``chromium`` and a CJK font). When that cannot work the browser tests fail
with what was tried instead of skipping, since a report no browser opened is untested; set
``M6_SKIP_BROWSER=1`` to skip them on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from report.browser import BrowserUnavailable, ensure_chromium


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary, with a font covering Chinese installed beside it."""
    if os.environ.get("M6_SKIP_BROWSER") == "1":
        pytest.skip("M6_SKIP_BROWSER=1: browser tests skipped on purpose")
    try:
        return ensure_chromium()
    except BrowserUnavailable as unavailable:
        pytest.fail(
            f"no headless Chromium for the report tests: {unavailable}\n"
            "(set M6_SKIP_BROWSER=1 to skip the browser tests on purpose)",
            pytrace=False,
        )


ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def sample_corpus(tmp_path_factory) -> Path:
    """The sample corpus as ``make corpus`` builds it (its own kenlm and spam models first),
    through ``m6 corpus``, which writes ``report.html`` at the end by default."""
    from corpus.quality.lm_cli import main as lm_main
    from corpus.quality.spam_cli import main as spam_main
    from pipelines.cli import main as corpus_main

    tmp = tmp_path_factory.mktemp("report_corpus")
    lm, spam = tmp / "models" / "lm.bin", tmp / "models" / "spam.bin"
    assert lm_main(["train", "--input", str(SAMPLE / "dumps/encyclopedia.jsonl"), "--order", "5",
                    "--unit", "char", "--holdout", "0.2", "--out", str(lm)]) == 0
    assert spam_main(["train", "--input", str(SAMPLE / "spam/labelled.jsonl"),
                      "--out", str(spam)]) == 0
    out = tmp / "corpus"
    argv = ["--input", str(SAMPLE / "crawl"), "--input", str(SAMPLE / "dumps"),
            "--input", str(SAMPLE / "ecommerce"), "--output", str(out), "--quiet",
            "--set", f"quality.perplexity.model={lm}", "--set", f"quality.spam.model={spam}"]
    assert corpus_main(argv) == 0
    return out


@pytest.fixture(scope="session")
def moe_run(sample_corpus, tmp_path_factory) -> Path:
    """A real pretraining run of the MoE preset on the sample corpus: 6 steps, validation at 0,
    3 and 6, so metrics.jsonl has train, val and MoE records."""
    from model.train_cli import main as pretrain_main

    out = tmp_path_factory.mktemp("report_run")
    args = ["--preset", "tiny_moe", "--data", str(sample_corpus), "--output", str(out),
            "--steps", "6", "--batch-size", "4", "--val-every", "3", "--ckpt-every", "6",
            "--no-progress"]
    assert pretrain_main(args) == 0
    return out
