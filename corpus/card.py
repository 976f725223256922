"""The dataset card (``README.md``) of a corpus folder, so Hugging Face ``datasets`` and the Hub
read the folder as a dataset with one config per output kind.

The YAML front matter follows the Hub's dataset card format ("Manually configure data files":
https://huggingface.co/docs/hub/datasets-manual-configuration): ``configs`` names ``text``
(the default), ``image_text`` and ``rejected``, each with a ``data_files`` glob, so
``datasets.load_dataset(DIR, "image_text")`` finds the shards with no script and no network. The
globs match the sink's shard names only (``part-*.parquet``): a finished run leaves exactly the
shards its manifest names there (``pipelines/sink.py`` deletes stale ones first).

The body is for people: Table 1 of the paper for this run (``corpus.stats.format_table``), the
settings that shape the data most, and how to load it. Nothing in it is read back by m6.
"""

from __future__ import annotations

import json
from typing import Any

from corpus.stats import format_table
from schemas.layout import CONFIG_FILE, KINDS, MANIFEST_FILE, SHARD_SUFFIX, STATS_FILE

DEFAULT_CONFIG = "text"

# The settings a reader of the card most needs to judge the data, as dotted config paths;
# the rest is in config.json.
SUMMARY_KEYS = (
    "version", "quality.enabled", "dedup.enabled", "images.enabled", "run.dedup_against",
    "run.quality", "run.dedup", "run.images",  # where config version 1 kept the switches
    "clean.min_text_chars", "clean.min_cjk_ratio",
    "quality.language.keep", "quality.perplexity.model", "quality.perplexity.max_percentile",
    "quality.spam.model", "quality.badwords.lists",
    "dedup.exact", "dedup.near", "dedup.threshold", "dedup.image_hamming",
    "images.download", "shards.compression",
)

_KIND_TEXT = {
    "text": "plain-text passages (`text`, `title`, quality scores)",
    "image_text": "image-text pairs (`image` as a Hugging Face Image, `text`, image metrics)",
    "rejected": "every dropped record with the `stage` and `reason` that dropped it",
}


def front_matter() -> str:
    """The YAML header: one config per output kind, ``text`` the default."""
    lines = ["---", "pretty_name: m6 Chinese multimodal pretraining corpus", "language:", "- zh",
             "tags:", "- m6", "- pretraining", "configs:"]
    for kind in KINDS:
        lines += [f"- config_name: {kind}"]
        if kind == DEFAULT_CONFIG:
            lines += ["  default: true"]
        lines += ["  data_files:", "  - split: train",
                  f'    path: "{kind}/part-*{SHARD_SUFFIX}"']
    return "\n".join([*lines, "---"]) + "\n"


def _lookup(config: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def settings_lines(config: dict[str, Any] | None) -> list[str]:
    """Markdown bullets of the ``SUMMARY_KEYS`` the run's config has."""
    if not config:
        return ["(no config.json was written for this run)"]
    out = []
    for key in SUMMARY_KEYS:
        found, value = _lookup(config, key)
        if found:
            out.append(f"- `{key}`: `{json.dumps(value, ensure_ascii=False)}`")
    return out or ["(none of the summarised settings are in config.json)"]


def render_card(stats: dict[str, Any], config: dict[str, Any] | None,
                rows: dict[str, int]) -> str:
    """The whole ``README.md``: front matter, Table 1, settings, how to load."""
    body = [
        "# m6 corpus",
        "",
        "Built by `m6 corpus` (Apache Beam): cleaned Chinese text and image-text pairs for M6 "
        "pretraining, as zstd Parquet shards. `manifest.json` lists every shard of the run and "
        "is written last; `stats.json` holds the figures below; `config.json` the full settings.",
        "",
        "## Configs",
        "",
        *[f"- `{kind}` ({rows.get(kind, 0):,} rows): {_KIND_TEXT[kind]}" for kind in KINDS],
        "",
        "## Statistics (cf. M6 paper, Table 1)",
        "",
        "```text",
        format_table(stats).rstrip("\n"),
        "```",
        "",
        "## Settings",
        "",
        *settings_lines(config),
        "",
        "## Use with Hugging Face `datasets`",
        "",
        "```python",
        "from datasets import load_dataset",
        'text = load_dataset("path/to/corpus", "text", split="train")',
        'pairs = load_dataset("path/to/corpus", "image_text", split="train")',
        'pairs[0]["image"]  # a PIL image',
        "```",
        "",
        f"Files: `{STATS_FILE}`, `{CONFIG_FILE}`, `{MANIFEST_FILE}` and one folder per config.",
        "",
    ]
    return front_matter() + "\n" + "\n".join(body)
