"""Fixtures of the report tests: a headless Chromium, installed from Debian's packages when missing,
and a real MoE pretraining run on the sample corpus (``sample_corpus``, tests/conftest.py).

The report's test must open the page in a real browser, and the test setup installs that browser
when it is missing: the ``chromium`` fixture calls ``ensure_chromium`` (apt-get as root or through
``sudo -n``: Debian's ``chromium`` and a CJK font). When that cannot work the browser tests fail
with what was tried; they are never skipped, since a report no browser opened is untested.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.chromium import BrowserUnavailable, ensure_chromium


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary, with a font covering Chinese installed beside it."""
    try:
        return ensure_chromium()
    except BrowserUnavailable as unavailable:
        pytest.fail(
            f"no headless Chromium for the report tests: {unavailable}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def moe_run(sample_corpus, tmp_path_factory) -> Path:
    """A real pretraining run of the MoE preset on the sample corpus: 6 steps, validation at 0,
    3 and 6, so metrics.jsonl has train, val and MoE records."""
    from model.cli.pretrain import main as pretrain_main

    out = tmp_path_factory.mktemp("report_run")
    args = ["--preset", "tiny_moe", "--data", str(sample_corpus), "--output", str(out),
            "--steps", "6", "--batch-size", "4", "--val-every", "3", "--ckpt-every", "6",
            "--no-progress"]
    assert pretrain_main(args) == 0
    return out
