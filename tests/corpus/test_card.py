"""The dataset card text (corpus/card.py): front matter per kind, Table 1, settings summary."""

from __future__ import annotations

from corpus.card import front_matter, render_card, settings_lines
from corpus.stats import compute_stats


def test_front_matter_has_one_config_per_kind_with_text_the_default():
    assert front_matter().splitlines()[8:] == [
        "- config_name: text",
        "  default: true",
        "  data_files:",
        "  - split: train",
        '    path: "text/part-*.parquet"',
        "- config_name: image_text",
        "  data_files:",
        "  - split: train",
        '    path: "image_text/part-*.parquet"',
        "- config_name: rejected",
        "  data_files:",
        "  - split: train",
        '    path: "rejected/part-*.parquet"',
        "---",
    ]


def test_an_empty_run_without_config_still_gets_a_card():
    card = render_card(compute_stats(()), None, {"text": 0, "image_text": 0, "rejected": 0})
    assert card.startswith(front_matter() + "\n# m6 corpus\n")
    assert "(no text or image-text rows)" in card
    assert "Rejected: 0 records" in card
    assert "(no config.json was written for this run)" in card
    assert "- `text` (0 rows)" in card


def test_settings_keep_the_summary_order_and_skip_what_is_absent():
    config = {"dedup": {"threshold": 0.7, "enabled": False}, "version": 2,
              "quality": {"language": {"keep": ["zh"]}}}
    assert settings_lines(config) == ["- `version`: `2`", "- `dedup.enabled`: `false`",
                                      '- `quality.language.keep`: `["zh"]`',
                                      "- `dedup.threshold`: `0.7`"]
    assert settings_lines({"other": 1}) == [
        "(none of the summarised settings are in config.json)"]
