"""Corpus statistics in the spirit of the paper's Table 1, as a pure, combinable fold.

Table 1 of the M6 paper gives, per source and modality: images, tokens, passages, average length
(tokens per passage: 31.4B tokens / 34.0M passages = 923.5 for the encyclopedia), image size and
text size. This module computes the same figures over the rows the pipeline writes, plus what the
paper does not show: how many records each stage dropped, and why.

Input elements are ``(kind, row)`` pairs, ``row`` a dict of one of the three output schemas
(``schemas/arrow.py``):

* ``text`` and ``image_text`` rows count one passage each, under ``(kind, row["source"])``:
  ``tokens`` = ``n_tokens`` (``corpus/tokens.py`` until the WordPiece tokenizer exists),
  ``chars`` = ``n_chars``, ``text_bytes`` = UTF-8 bytes of ``text`` (titles and image captions are
  not counted), and for ``image_text`` one image of ``len(image)`` bytes (or ``image_bytes`` when
  the row was projected by ``stats_item``);
* ``rejected`` rows count one under ``(stage, reason, source)``;
* ``image_text`` rows also count under the language of their text (``pair_language``), written
  as ``pair_languages``: pairs and share per language, so a user sees whether the pairs are
  Chinese (paper 2.3 builds a Chinese corpus; issue 16.2).

The fold is shaped like a Beam ``CombineFn`` but imports no Beam (``corpus/`` never does):
``create_accumulator`` / ``add_input`` / ``merge_accumulators`` / ``extract_output`` are plain
functions, and ``CorpusStatsCombiner`` bundles them so ``pipelines/`` can write
``class CorpusStatsFn(CorpusStatsCombiner, beam.CombineFn): pass``. Map rows through
``stats_item`` first so image bytes are not shuffled to the combiner. Accumulators are plain dicts
of ints: picklable, and merging is associative and commutative, so any combiner tree gives the
same result.

``extract_output`` returns a JSON-ready dict of the shape ``schemas/statistics.py`` types
(``CorpusStats``): ``to_json`` gives the bytes of ``stats.json`` and ``from_json`` checks a file
against that shape; ``format_table`` prints it as Table 1 plus a rejected-by-stage table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from corpus.clean.language import cjk_share
from corpus.display_width import ljust, rjust
from corpus.display_width import width as display_width
from corpus.tokens import count_tokens
from schemas.layout import OUTPUT_KINDS
from schemas.sources import SOURCES
from schemas.statistics import STATS_FORMAT, STATS_VERSION, CorpusStats

# Kept image-text pairs by the language of their text (issue 16.2), in this order.
PAIR_LANGUAGES = ("zh", "en", "mixed")
PAIR_LANGUAGE_SHARE = 0.5  # the text path's clean.min_cjk_ratio
COUNTERS = ("passages", "tokens", "chars", "text_bytes", "images", "image_bytes")
_P, _T, _C, _TB, _I, _IB = range(len(COUNTERS))

MODALITY = {"text": "Plain-text", "image_text": "Image & Text"}
SOURCE_LABEL = {
    "encyclopedia": "Encyclopedia",
    "community_qa": "Community QA",
    "forum": "Forum discussion",
    "common_crawl": "Common Crawl",
    "webpage": "Crawled Webpages",
    "ecommerce": "E-commerce",
    "unknown": "Unknown",
}

Accumulator = dict[str, Any]


# --- the fold ------------------------------------------------------------------------------------

def create_accumulator() -> Accumulator:
    """An empty accumulator: ``outputs[kind][source]`` counters, ``rejected[stage][reason][source]``."""
    return {"outputs": {}, "rejected": {}, "pair_languages": {}}


def stats_item(kind: str, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(kind, row)`` reduced to what the statistics need: no text, no image bytes."""
    if kind == "rejected":
        return kind, {"source": row["source"], "stage": row["stage"], "reason": row["reason"]}
    item = {
        "source": row["source"],
        "n_tokens": _tokens(row),
        "n_chars": _chars(row),
        "text_bytes": _text_bytes(row),
    }
    if kind == "image_text":
        item["image_bytes"] = _image_bytes(row)
        item["text_lang"] = pair_language(row)
    return kind, item


def add_input(acc: Accumulator, element: tuple[str, dict[str, Any]]) -> Accumulator:
    """Count one ``(kind, row)``; ``row`` is a full schema row or a ``stats_item`` projection."""
    kind, row = element
    source = row.get("source") or "unknown"
    if kind == "rejected":
        by_reason = acc["rejected"].setdefault(row["stage"], {})
        by_source = by_reason.setdefault(row["reason"], {})
        by_source[source] = by_source.get(source, 0) + 1
        return acc
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"unknown kind {kind!r} for statistics; expected one of "
                         f"{OUTPUT_KINDS + ('rejected',)}")
    c = acc["outputs"].setdefault(kind, {}).setdefault(source, [0] * len(COUNTERS))
    c[_P] += 1
    c[_T] += _tokens(row)
    c[_C] += _chars(row)
    c[_TB] += _text_bytes(row)
    if kind == "image_text":
        c[_I] += 1
        c[_IB] += _image_bytes(row)
        langs = acc.setdefault("pair_languages", {})
        lang = pair_language(row)
        langs[lang] = langs.get(lang, 0) + 1
    return acc


def merge_accumulators(accumulators: Iterable[Accumulator]) -> Accumulator:
    """One accumulator holding the sums of ``accumulators`` (none of them is modified)."""
    out = create_accumulator()
    for acc in accumulators:
        for kind, by_source in acc["outputs"].items():
            mine = out["outputs"].setdefault(kind, {})
            for source, counters in by_source.items():
                c = mine.setdefault(source, [0] * len(COUNTERS))
                for i, v in enumerate(counters):
                    c[i] += v
        for stage, by_reason in acc["rejected"].items():
            mine_r = out["rejected"].setdefault(stage, {})
            for reason, by_source in by_reason.items():
                m = mine_r.setdefault(reason, {})
                for source, n in by_source.items():
                    m[source] = m.get(source, 0) + n
        for lang, n in acc.get("pair_languages", {}).items():
            out["pair_languages"][lang] = out["pair_languages"].get(lang, 0) + n
    return out


def extract_output(acc: Accumulator) -> dict[str, Any]:
    """The statistics as a JSON-ready dict (the content of ``stats.json``)."""
    outputs = []
    totals: dict[str, list[int]] = {}
    for kind in _ordered(acc["outputs"], OUTPUT_KINDS):
        for source in _ordered(acc["outputs"][kind], SOURCES):
            c = acc["outputs"][kind][source]
            outputs.append({"kind": kind, "modality": MODALITY[kind], "source": source,
                            **_figures(c)})
            for key in (kind, "all"):
                t = totals.setdefault(key, [0] * len(COUNTERS))
                for i, v in enumerate(c):
                    t[i] += v
    rejected = []
    rejected_by_source: dict[str, int] = {}
    for stage in sorted(acc["rejected"]):
        for reason in sorted(acc["rejected"][stage]):
            by_source = acc["rejected"][stage][reason]
            ordered = {s: by_source[s] for s in _ordered(by_source, SOURCES)}
            rejected.append({"stage": stage, "reason": reason, "count": sum(ordered.values()),
                             "by_source": ordered})
            for s, n in ordered.items():
                rejected_by_source[s] = rejected_by_source.get(s, 0) + n
    return {
        "format": STATS_FORMAT,
        "version": STATS_VERSION,
        "outputs": outputs,
        "totals": {k: _figures(totals[k]) for k in _ordered(totals, (*OUTPUT_KINDS, "all"))},
        "rejected": rejected,
        "rejected_total": sum(r["count"] for r in rejected),
        "rejected_by_source": {s: rejected_by_source[s]
                               for s in _ordered(rejected_by_source, SOURCES)},
        "pair_languages": _pair_languages(acc.get("pair_languages", {})),
    }


def pair_language(row: dict[str, Any]) -> str:
    """Language of an image-text row's text by the text path's rule (``clean.language``): ``zh``
    at a CJK share of at least 0.5, ``en`` at an English-word share of at least 0.5, else
    ``mixed``; a projected row (``stats_item``) carries it as ``text_lang``."""
    if row.get("text_lang"):
        return row["text_lang"]
    cjk, latin = cjk_share(row.get("text") or "")
    return "zh" if cjk >= PAIR_LANGUAGE_SHARE else "en" if latin >= PAIR_LANGUAGE_SHARE else "mixed"


def _pair_languages(counts: dict[str, int]) -> dict[str, dict[str, float]]:
    total = sum(counts.values())
    return {lang: {"pairs": counts[lang], "share": round(counts[lang] / total, 4)}
            for lang in _ordered(counts, PAIR_LANGUAGES)}


def compute_stats(elements: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """``extract_output`` of all ``elements`` folded in one accumulator (outside Beam)."""
    acc = create_accumulator()
    for element in elements:
        add_input(acc, element)
    return extract_output(acc)


class CorpusStatsCombiner:
    """The fold as methods, for ``class CorpusStatsFn(CorpusStatsCombiner, beam.CombineFn)``."""

    def create_accumulator(self) -> Accumulator:
        return create_accumulator()

    def add_input(self, mutable_accumulator: Accumulator,
                  element: tuple[str, dict[str, Any]]) -> Accumulator:
        return add_input(mutable_accumulator, element)

    def merge_accumulators(self, accumulators: Iterable[Accumulator]) -> Accumulator:
        return merge_accumulators(accumulators)

    def extract_output(self, accumulator: Accumulator) -> dict[str, Any]:
        return extract_output(accumulator)


# --- JSON and the printed table ------------------------------------------------------------------

def to_json(stats: dict[str, Any]) -> str:
    """``stats`` as the bytes of ``stats.json``: pretty UTF-8 JSON, keys sorted (a rerun gives the
    same file); checked against ``CorpusStats`` on the way."""
    return CorpusStats.from_dict(stats).to_json()


def from_json(text: str | bytes) -> dict[str, Any]:
    """Read what ``to_json`` wrote; refuses files that are not m6 statistics of this version
    (``schemas.statistics.StatsError``, a ``ValueError`` naming the field)."""
    return CorpusStats.from_json(text).to_dict()


def human_count(n: float) -> str:
    """``1234567`` -> ``1.2M`` (K, M, B, T: powers of 1000); under 1000 as is."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.1f}" if isinstance(n, float) and not float(n).is_integer() else str(int(n))


def human_bytes(n: int) -> str:
    """``1234567`` -> ``1.2 MB`` (decimal units, as the paper's GB and TB)."""
    for div, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


TABLE1_HEADER = ["Source", "Modality", "Images", "Tokens", "Passages", "Avg. Length",
                 "Image Size", "Text Size"]


def table1_rows(stats: dict[str, Any]) -> list[list[str]]:
    """The cells of Table 1 (columns ``TABLE1_HEADER``), one row per (modality, source) and a
    ``Total`` row last; for the printed table and ``m6 report``."""
    rows = [_table_row(SOURCE_LABEL.get(o["source"], o["source"]), o["modality"], o, o["kind"])
            for o in stats["outputs"]]
    if "all" in stats["totals"]:
        rows.append(_table_row("Total", "-", stats["totals"]["all"],
                               "image_text" if "image_text" in stats["totals"] else "text"))
    return rows


def format_table(stats: dict[str, Any]) -> str:
    """Table 1 of the paper for this corpus, then the rejected counts by stage and reason."""
    rows = table1_rows(stats)
    lines = ["Corpus statistics (cf. M6 paper, Table 1)"]
    lines += _grid(TABLE1_HEADER, rows, right_from=2) if rows else ["(no text or image-text rows)"]

    lines += ["", f"Rejected: {human_count(stats['rejected_total'])} records"]
    if stats["rejected"]:
        sources = list(stats["rejected_by_source"])
        rheader = ["Stage", "Reason", "Count", "Share", *sources]
        total = stats["rejected_total"]
        rrows = [[r["stage"], r["reason"], human_count(r["count"]),
                  f"{100 * r['count'] / total:.1f}%",
                  *[human_count(r["by_source"].get(s, 0)) if r["by_source"].get(s) else "-"
                    for s in sources]]
                 for r in stats["rejected"]]
        rrows.append(["Total", "", human_count(total), "100.0%",
                      *[human_count(stats["rejected_by_source"][s]) for s in sources]])
        lines += _grid(rheader, rrows, right_from=2)
    return "\n".join(lines) + "\n"


# --- helpers -------------------------------------------------------------------------------------

def _tokens(row: dict[str, Any]) -> int:
    n = row.get("n_tokens")
    return int(n) if n is not None else count_tokens(row.get("text") or "")


def _chars(row: dict[str, Any]) -> int:
    n = row.get("n_chars")
    return int(n) if n is not None else len(row.get("text") or "")


def _text_bytes(row: dict[str, Any]) -> int:
    n = row.get("text_bytes")
    return int(n) if n is not None else len((row.get("text") or "").encode("utf-8"))


def _image_bytes(row: dict[str, Any]) -> int:
    n = row.get("image_bytes")
    if n is not None:
        return int(n)
    image = row.get("image")
    return len(image) if image is not None else 0


def _figures(c: list[int]) -> dict[str, Any]:
    figures: dict[str, Any] = dict(zip(COUNTERS, c))
    p = c[_P]
    figures["avg_length"] = round(c[_T] / p, 2) if p else 0.0  # tokens per passage, as Table 1
    figures["avg_chars"] = round(c[_C] / p, 2) if p else 0.0
    return figures


def _ordered(keys: Iterable[str], order: tuple[str, ...]) -> list[str]:
    """``keys`` in the order of ``order``, unknown keys after them in sorted order."""
    rank = {k: i for i, k in enumerate(order)}
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), k))


def _table_row(label: str, modality: str, f: dict[str, Any], kind: str) -> list[str]:
    with_images = kind == "image_text"
    return [
        label,
        modality,
        human_count(f["images"]) if with_images else "-",
        human_count(f["tokens"]),
        human_count(f["passages"]),
        f"{f['avg_length']:.1f}",
        human_bytes(f["image_bytes"]) if with_images else "-",
        human_bytes(f["text_bytes"]),
    ]


def _grid(header: list[str], rows: list[list[str]], right_from: int) -> list[str]:
    """Plain-text table: left-aligned label columns, right-aligned figures, measured in
    terminal columns so a cell in Chinese keeps the columns straight."""
    widths = [max(display_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(rjust(c, w) if i >= right_from else ljust(c, w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [fmt(r) for r in rows]
    if len(rows) > 1 and rows[-1][0] == "Total":
        body.insert(len(body) - 1, rule)
    return [fmt(header), rule, *body]
