"""Assemble the report: one self-contained HTML page from ``CorpusFigures`` (and ``TrainingCurves``).

What the page promises, and how:

* **Self-contained.** Styles are inline, charts are inline SVG (``report/svg.py``), thumbnails are
  ``data:`` URIs (``report/thumbs.py``); there is no script at all. A Content-Security-Policy
  ``<meta>`` forbids scripts and any request but ``data:`` images, so even a value that slipped
  past escaping could neither run nor call out.
* **Escaped.** Every value that comes from the data (texts, titles, URLs, sources, reasons, file
  names) goes through ``esc`` before it reaches the page; URLs are shown as text, never as links
  (a ``javascript:`` URL in a crawl must not become clickable).
* **Chinese.** UTF-8, ``lang="zh-CN"`` (so browsers pick Simplified Chinese glyph forms), and a
  font stack that names the common CJK fonts of Linux, macOS and Windows before the generic
  family.

Sections: Table 1, document length, perplexity, rejected records (chart and examples),
duplicate clusters, images (size and quality scores), sample image-text pairs, and the training
curves when a run folder is given.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from corpus.stats import SOURCE_LABEL, TABLE1_HEADER, human_count, table1_rows
from report.collect import CorpusFigures
from report.histogram import Histogram
from report.svg import PALETTE, REJECTED_COLOUR, Line, Marker, Series, bars, esc, histogram, lines
from report.thresholds import Threshold, Thresholds
from report.thumbs import thumbnail_uri
from report.training import TrainingCurves

EXAMPLE_CHARS = 300
MAX_REASONS = 60  # reasons drawn and exemplified; the rest are one 'other' bar
CAPTION_CHARS = 120

CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d1f23;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB",
    "Microsoft YaHei", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", sans-serif; }
header { background: #1d2a3a; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .sub { color: #c6d0dc; font-size: 13px; word-break: break-all; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #dde1e6;
  padding: 6px 28px; z-index: 1; font-size: 13px; }
nav a { margin-right: 14px; color: #0a5fb4; text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1240px; }
section { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; margin: 16px 0;
  padding: 12px 18px 16px; }
h2 { font-size: 17px; margin: 4px 0 8px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
p.note, .note { color: #5b6470; font-size: 12.5px; margin: 4px 0; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0 0; }
.kpi { background: #26374b; border-radius: 5px; padding: 6px 12px; min-width: 110px; }
.kpi b { display: block; font-size: 18px; }
.kpi span { color: #c6d0dc; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eceef1; text-align: left; }
th { background: #f1f3f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #c9ced4; }
.grid { display: flex; flex-wrap: wrap; gap: 8px 14px; }
svg.chart { background: #fff; }
svg .ct { font-size: 12.5px; font-weight: 600; fill: #1d1f23; }
svg .tk { font-size: 10.5px; fill: #4a525c; }
svg .al, svg .lg, svg .bl { font-size: 11px; fill: #333a42; }
svg .mk { font-size: 10px; }
svg .nd { font-size: 12px; fill: #8a939d; }
svg .ax { stroke: #8a939d; stroke-width: 1; }
details { margin: 4px 0; border-left: 3px solid #e1e4e8; padding-left: 10px; }
details summary { cursor: pointer; }
.ex { margin: 6px 0 10px; padding: 6px 10px; background: #fafbfc; border: 1px solid #eceef1;
  border-radius: 4px; font-size: 12.5px; }
.ex .meta { color: #5b6470; font-size: 11.5px; word-break: break-all; }
.ex .text { white-space: pre-wrap; word-break: break-word; }
.pairs { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; }
figure.pair { margin: 0; background: #fafbfc; border: 1px solid #e1e4e8; border-radius: 5px;
  padding: 8px; }
figure.pair img { display: block; margin: 0 auto 6px; max-width: 160px; max-height: 160px; }
figure.pair .noimg { height: 80px; display: flex; align-items: center; justify-content: center;
  color: #8a939d; font-size: 12px; }
figure.pair figcaption { font-size: 12.5px; word-break: break-word; }
figure.pair .meta { color: #5b6470; font-size: 11px; word-break: break-all; }
.tag { display: inline-block; background: #e8eef6; color: #274a73; border-radius: 3px;
  padding: 0 5px; font-size: 11px; margin-right: 4px; }
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def cut(text: Any, limit: int) -> str:
    """``text`` as a string of at most ``limit`` characters (``…`` marks a cut); not escaped."""
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _label(source: str) -> str:
    return SOURCE_LABEL.get(source, source)


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _markers(ts: Iterable[Threshold]) -> list[Marker]:
    return [Marker(t.value, t.label) for t in ts]


def _series(label: str, h: Histogram | None, colour: str) -> list[Series]:
    """One chart series of ``h``; far outliers are left off the axis and counted in the label."""
    if h is None or not h.count:
        return []
    bins, left_out = h.clipped_bins()
    note = f"({left_out:,} off the axis)" if left_out else ""
    return [Series(label, bins, colour, note)]


def _table(header: list[str], rows: list[list[str]], numeric_from: int,
           total_last: bool = False) -> str:
    head = "".join(f'<th class="{"n" if i >= numeric_from else ""}">{esc(h)}</th>'
                   for i, h in enumerate(header))
    body = []
    for r_i, row in enumerate(rows):
        cls = ' class="total"' if total_last and r_i == len(rows) - 1 else ""
        cells = "".join(f'<td class="{"n" if i >= numeric_from else ""}">{esc(c)}</td>'
                        for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# --- sections ------------------------------------------------------------------------------------

def _header(figs: CorpusFigures, run: TrainingCurves | None, generated: str) -> str:
    totals = (figs.stats or {}).get("totals", {})
    t = totals.get("all", {})
    kpis = [("passages", human_count(t.get("passages", 0))),
            ("tokens", human_count(t.get("tokens", 0))),
            ("images", human_count(t.get("images", 0))),
            ("rejected", human_count((figs.stats or {}).get("rejected_total", 0)))]
    if run is not None:
        kpis.append(("training steps", human_count(run.steps)))
    kpi_html = "".join(f'<div class="kpi"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                       for k, v in kpis)
    sub = f"{esc(figs.path)} · generated {esc(generated)}"
    if run is not None:
        sub += f" · run {esc(run.path)}"
    return (f'<header><h1>m6 corpus report</h1><div class="sub">{sub}</div>'
            f'<div class="kpis">{kpi_html}</div></header>')


def _nav(run: TrainingCurves | None) -> str:
    items = [("table1", "Table 1"), ("lengths", "Lengths"), ("perplexity", "Perplexity"),
             ("rejected", "Rejected"), ("duplicates", "Duplicates"), ("images", "Images"),
             ("pairs", "Image-text pairs")]
    if run is not None:
        items.append(("training", "Training"))
    return "<nav>" + "".join(f'<a href="#{k}">{esc(v)}</a>' for k, v in items) + "</nav>"


def _table1(figs: CorpusFigures, th: Thresholds) -> str:
    stats = figs.stats or {"outputs": [], "totals": {}}
    rows = table1_rows(stats)
    notes = [figs.incomplete] if figs.incomplete else []
    if figs.stats_recomputed:
        notes.append(f"{figs.stats_problem}: these figures were computed from the shards.")
    notes += th.notes
    files = ", ".join(f"{k}: {n} shard{'s' if n != 1 else ''} ({figs.rows[k]:,} rows)"
                      for k, n in figs.shards.items())
    notes.append(f"Read {files}.")
    table = _table(TABLE1_HEADER, rows, 2, total_last=bool(rows) and rows[-1][0] == "Total") \
        if rows else "<p>No text or image-text rows.</p>"
    by_source = (figs.stats or {}).get("rejected_by_source") or {}
    rej = ""
    if by_source:
        rej = "<h3>Rejected per source</h3>" + _table(
            ["Source", "Rejected"], [[_label(s), f"{n:,}"] for s, n in by_source.items()], 1)
    return ('<section id="table1"><h2>Table 1: the corpus by source</h2>'
            '<p class="note">As Table 1 of the M6 paper: passages, tokens, average length in '
            'tokens per passage, text and image bytes, per source and modality.</p>'
            f'{table}{rej}' + "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
            + "</section>")


def _lengths(figs: CorpusFigures, th: Thresholds) -> str:
    charts = []
    for key, h in sorted(figs.lengths.items(), key=_kind_source_order):
        kind, _, source = key.partition("/")
        series = _series("kept", h, _colour(0))
        if kind == "text":
            series += _series("rejected: too short", figs.rejected_lengths.get(source),
                              REJECTED_COLOUR)
        what = "document" if kind == "text" else "pair text"
        charts.append(histogram(
            series, title=f"{_label(source)} · {what} length ({h.count:,}, median "
                          f"{h.quantile(0.5) or 0:,.0f})",
            x_label="characters (log scale)", markers=_markers(th.length.get(kind, []))))
    body = "".join(charts) or "<p>No documents.</p>"
    return ('<section id="lengths"><h2>Document length</h2><p class="note">Characters per kept '
            'document, per source (log scale); in red, the documents the length rule dropped; '
            'dashed lines: the thresholds.</p>'
            f'<div class="grid">{body}</div></section>')


def _kind_source_order(item: tuple[str, Any]) -> tuple[int, str]:
    kind, _, source = item[0].partition("/")
    return (0 if kind == "text" else 1, source)


def _perplexity(figs: CorpusFigures, th: Thresholds) -> str:
    sources = sorted(s for s in set(figs.perplexity) | set(figs.rejected_perplexity)
                     if any(h.get(s) and h[s].count
                            for h in (figs.perplexity, figs.rejected_perplexity)))
    charts = []
    for source in sources:
        kept = figs.perplexity.get(source)
        series = _series("kept", kept, _colour(0)) + _series(
            "rejected", figs.rejected_perplexity.get(source), REJECTED_COLOUR)
        n = kept.count if kept else 0
        charts.append(histogram(series, title=f"{_label(source)} · perplexity ({n:,} scored)",
                                x_label="perplexity (log scale)",
                                markers=_markers(th.perplexity)))
    notes = []
    if th.perplexity_note:
        notes.append(th.perplexity_note)
    buckets = ""
    if figs.buckets:
        names = ("head", "middle", "tail")
        rows = []
        for source in sorted({s for s, _ in figs.buckets}):
            counts = [figs.buckets.get((source, b), 0) for b in names]
            total = sum(counts) or 1
            rows.append([_label(source)] + [f"{c:,} ({100 * c / total:.0f}%)" for c in counts])
        buckets = "<h3>cc_net buckets of the kept documents</h3>" + _table(
            ["Source", "head", "middle", "tail"], rows, 1)
    body = "".join(charts) or "<p>No perplexity scores in the shards.</p>"
    buckets += _perplexity_quantiles(figs, th, sources)
    return ('<section id="perplexity"><h2>Perplexity</h2><p class="note">kenlm perplexity of '
            'each document, per source (log scale); in red, documents the perplexity filter '
            'dropped; dashed lines: the threshold and the head/middle/tail bucket cuts.</p>'
            + "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
            + f'<div class="grid">{body}</div>{buckets}</section>')


def _perplexity_quantiles(figs: CorpusFigures, th: Thresholds, sources: list[str]) -> str:
    """Kept and dropped text per source beside the reference (issue 16.3): when the kept
    median sits far above the reference's, the model does not fit that source."""
    def q(h: Histogram | None) -> list[str]:
        if h is None or not h.count:
            return ["-", "-", "-"]
        return [f"{h.quantile(x) or 0:,.0f}" for x in (0.1, 0.5, 0.9)]

    rows = []
    for source in sources:
        rows.append([f"{_label(source)} · kept", *q(figs.perplexity.get(source))])
        dropped = figs.rejected_perplexity.get(source)
        if dropped is not None and dropped.count:
            rows.append([f"{_label(source)} · dropped", *q(dropped)])
    if th.perplexity_reference is not None:
        label, p10, p50, p90 = th.perplexity_reference
        rows.append([label, f"{p10:,.0f}", f"{p50:,.0f}", f"{p90:,.0f}"])
    if not rows:
        return ""
    return ("<h3>Perplexity per source and of the reference</h3>"
            + _table(["Text", "p10", "median", "p90"], rows, 1))


def _rejected(figs: CorpusFigures) -> str:
    if not figs.rejected:
        return '<section id="rejected"><h2>Rejected records</h2><p>None.</p></section>'
    stages = sorted({stage for stage, _ in figs.rejected})
    colour = {s: _colour(i) for i, s in enumerate(stages)}
    # The largest MAX_REASONS reasons are drawn and exemplified; m6's own reasons are a short
    # list, but foreign shards may hold thousands, which would make a page of many MB.
    top = sorted(figs.rejected, key=lambda k: (-figs.rejected[k], k))[:MAX_REASONS]
    keys = sorted(top, key=lambda k: (k[0], -figs.rejected[k], k[1]))
    total = sum(figs.rejected.values())
    items = [(f"{stage} · {reason}", figs.rejected[(stage, reason)], colour[stage],
              f"{stage} / {reason}") for stage, reason in keys]
    rest = len(figs.rejected) - len(keys)
    rest_n = total - sum(figs.rejected[k] for k in keys)
    if rest:
        items.append((f"{rest:,} other reasons", rest_n, "#999999",
                      f"{rest:,} smaller reasons together"))
    chart = bars(items, title=f"Rejected records by stage and reason ({total:,})")
    details = []
    for stage, reason in keys:
        n = figs.rejected[(stage, reason)]
        kinds = figs.rejected_kinds.get((stage, reason), Counter())
        kind_tags = "".join(f'<span class="tag">{esc(k)} {c:,}</span>'
                            for k, c in kinds.most_common())
        exs = "".join(_example(r) for r in figs.examples.get((stage, reason), []))
        details.append(f'<details><summary><b>{esc(stage)}</b> · {esc(reason)}: {n:,} '
                       f'({100 * n / total:.1f}%) {kind_tags}</summary>{exs}</details>')
    if rest:
        details.append(f'<p class="note">{rest:,} smaller reasons ({rest_n:,} records) are not '
                       "listed; <code>m6 inspect OUTPUT/rejected --where \"reason = '...'\" "
                       "--head 5</code> shows their rows.</p>")
    return ('<section id="rejected"><h2>Rejected records</h2><p class="note">Every record a '
            'stage dropped is in the <code>rejected</code> shards with its stage and reason. '
            'Open a reason to see the first examples (texts cut to '
            f'{EXAMPLE_CHARS} characters).</p>{chart}<h3>Examples</h3>{"".join(details)}'
            '</section>')


def _example(row: dict[str, Any]) -> str:
    meta = [f"source {row.get('source')}", f"id {row.get('id')}"]
    for key in ("url", "image_url", "duplicate_of"):
        if row.get(key):
            meta.append(f"{key} {cut(row[key], 200)}")
    if row.get("score") is not None:
        meta.append(f"score {row['score']:.4g}")
    text = row.get("text") or ""
    title = row.get("title")
    detail = row.get("detail")
    parts = [f'<div class="meta">{esc(" · ".join(meta))}</div>']
    if detail:
        parts.append(f'<div class="meta">{esc(cut(detail, 300))}</div>')
    if title:
        parts.append(f'<div><b>{esc(cut(title, 120))}</b></div>')
    parts.append(f'<div class="text">{esc(cut(text, EXAMPLE_CHARS)) if text else "(no text)"}'
                 '</div>')
    return f'<div class="ex">{"".join(parts)}</div>'


def _duplicates(figs: CorpusFigures) -> str:
    if not figs.cluster_sizes:
        return ('<section id="duplicates"><h2>Duplicate clusters</h2><p>No duplicates were '
                'removed (or dedup was off).</p></section>')
    charts, rows = [], []
    for i, (reason, sizes) in enumerate(sorted(figs.cluster_sizes.items())):
        rows.append(_cluster_row(reason, sizes))
        items = [(f"size {s:,}", n, _colour(i), f"{n:,} clusters of {s:,} records")
                 for s, n in sorted(sizes.items())]
        if len(items) > 24:  # a long tail: group sizes by powers of two
            items = _binned_sizes(sizes, _colour(i))
        charts.append(bars(items, title=f"{reason}: clusters by size", width=560,
                           label_width=110))
    if len(figs.cluster_sizes) > 1 and figs.all_cluster_sizes:
        rows.append(_cluster_row("all reasons together", figs.all_cluster_sizes))
    table = _table(["Reason", "Clusters", "Records removed", "Largest", "Mean size"], rows, 1,
                   total_last=len(figs.cluster_sizes) > 1)
    return ('<section id="duplicates"><h2>Duplicate clusters</h2><p class="note">A cluster is '
            'a kept record and the records removed as its duplicates (<code>duplicate_of</code>);'
            ' size 2 means one copy was removed.</p>'
            f'{table}<div class="grid">{"".join(charts)}</div></section>')


def _cluster_row(label: str, sizes: Counter) -> list[str]:
    """Reason, clusters, records removed, largest and mean size of ``sizes`` (size -> clusters)."""
    clusters = sum(sizes.values())
    removed = sum((s - 1) * n for s, n in sizes.items())
    return [label, f"{clusters:,}", f"{removed:,}", f"{max(sizes):,}",
            f"{(removed + clusters) / clusters:.2f}"]


def _binned_sizes(sizes: Counter, colour: str) -> list[tuple[str, float, str, str]]:
    groups: Counter = Counter()
    for s, n in sizes.items():
        lo = 1 << (s.bit_length() - 1)
        groups[lo] += n
    return [(f"size {lo:,}-{2 * lo - 1:,}", n, colour, f"{n:,} clusters")
            for lo, n in sorted(groups.items())]


IMAGE_CHARTS = (
    ("pixels", "image size", "pixels, width x height (log scale)", True),
    ("aspect_ratio", "aspect ratio", "longer / shorter side (log scale)", True),
    ("sharpness", "sharpness", "Laplacian variance (log scale)", True),
    ("entropy", "entropy", "grey-level entropy, bits", False),
    ("colourfulness", "colourfulness", "Hasler-Süsstrunk colourfulness", False),
    ("jpeg_quality", "JPEG quality", "estimated JPEG quality", False),
)


def _images(figs: CorpusFigures, th: Thresholds) -> str:
    charts = []
    for name, title, x_label, log_x in IMAGE_CHARTS:
        kept = figs.images.get(name)
        series = _series("kept", kept, _colour(2)) + _series(
            "rejected", figs.rejected_images.get(name), REJECTED_COLOUR)
        n = kept.count if kept else 0
        charts.append(histogram(series, title=f"{title} ({n:,} kept images)", x_label=x_label,
                                log_x=log_x, markers=_markers(th.images.get(name, []))))
    if not figs.images:
        body = "<p>No image-text pairs in this corpus.</p>"
    else:
        body = f'<div class="grid">{"".join(charts)}</div>'
    return ('<section id="images"><h2>Images</h2><p class="note">Size and quality scores of the '
            'kept images (original size, before scaling); in red, the scores of images a filter '
            'dropped; dashed lines: the thresholds (the paper keeps images of at least 5,000 '
            f'pixels).</p>{body}</section>')


def _pairs(figs: CorpusFigures) -> str:
    if not figs.samples:
        return ('<section id="pairs"><h2>Image-text pairs</h2><p>No image-text pairs.</p>'
                '</section>')
    cells = []
    for s in figs.samples:
        r = s.row_data
        uri = thumbnail_uri(s.image)
        img = (f'<img class="thumb" src="{esc(uri)}" alt="{esc(cut(r.get("text"), 60))}">'
               if uri else '<div class="noimg">image not decodable or too large</div>')
        size = f"{r.get('orig_width')}x{r.get('orig_height')}"
        meta = " · ".join(x for x in (_label(str(r.get("source"))), size) if x)
        where = cut(r.get("url") or r.get("image_url") or "", 90)
        cells.append(f'<figure class="pair">{img}<figcaption>'
                     f'<div class="caption">{esc(cut(r.get("text"), CAPTION_CHARS))}</div>'
                     f'<div class="meta">{esc(meta)}</div><div class="meta">{esc(where)}</div>'
                     "</figcaption></figure>")
    return ('<section id="pairs"><h2>Image-text pairs</h2>' + _pair_languages(figs)
            + '<p class="note">'
            f'{len(figs.samples)} pairs sampled at random (fixed seed) from '
            f'{figs.pairs_seen:,}.</p><div class="pairs">{"".join(cells)}</div></section>')


def _pair_languages(figs: CorpusFigures) -> str:
    """Kept pairs by the language of their text (stats.json ``pair_languages``, issue 16.2)."""
    langs = (figs.stats or {}).get("pair_languages") or {}
    if not langs:
        return ""
    rows = [[lang, f"{v['pairs']:,}", f"{100 * v['share']:.1f}%"] for lang, v in langs.items()]
    return ('<h3>Pairs by language of their text</h3>'
            + _table(["Language", "Pairs", "Share"], rows, 1)
            + '<p class="note">zh: CJK share of letter tokens at least 0.5, as the text path\'s '
            'language rule; en: English words at least 0.5; mixed: neither.</p>')


def _training(run: TrainingCurves) -> str:
    def pts(d: dict, key: str) -> tuple[list[float], list[float]]:
        p = d.get(key, [])
        return [x for x, _ in p], [y for _, y in p]

    charts = []
    tasks = run.tasks
    loss_lines = [Line("all", *pts(run.train, "loss"), _colour(7))]
    loss_lines += [Line(t, *pts(run.train, f"loss_{t}"), _colour(i)) for i, t in enumerate(tasks)]
    charts.append(lines(loss_lines, title="training loss per task", y_label="loss"))
    val_tasks = sorted(k[len("loss_"):] for k in run.val if k.startswith("loss_"))
    val_lines = [Line("all", *pts(run.val, "loss"), _colour(7))]
    val_lines += [Line(t, *pts(run.val, f"loss_{t}"), _colour(tasks.index(t) if t in tasks else i))
                  for i, t in enumerate(val_tasks)]
    charts.append(lines(val_lines, title="validation loss", y_label="loss"))
    charts.append(lines([Line("lr", *pts(run.train, "lr"), _colour(0))], title="learning rate"))
    tps = [Line("all", *pts(run.train, "tokens_per_s"), _colour(7))]
    tps += [Line(t, *pts(run.train, f"tokens_per_s_{t}"), _colour(i))
            for i, t in enumerate(tasks)]
    charts.append(lines(tps, title="target tokens per second", y_label="tokens/s"))
    if "grad_norm" in run.train:
        charts.append(lines([Line("grad norm", *pts(run.train, "grad_norm"), _colour(0))],
                            title="gradient norm (before clipping)", log_y=True))
    moe = ""
    if run.moe or run.expert_tokens:
        mcharts = []
        for name, title in (("dropped_frac", "dropped tokens (fraction at capacity)"),
                            ("load_max_over_mean", "expert load: busiest / mean")):
            layers = run.moe.get(name, {})
            mcharts.append(lines([Line(layer, [x for x, _ in p], [y for _, y in p], _colour(i))
                                  for i, (layer, p) in enumerate(layers.items())], title=title))
        if "aux_loss" in run.train:
            mcharts.append(lines([Line("aux", *pts(run.train, "aux_loss"), _colour(0))],
                                 title="auxiliary (balance) loss"))
        for layer, tokens in run.expert_tokens.items():
            total = sum(tokens) or 1
            mcharts.append(bars([(f"expert {i}", n, _colour(0), f"{100 * n / total:.1f}%")
                                 for i, n in enumerate(tokens)],
                                title=f"{layer}: tokens per expert over the run", width=380,
                                label_width=70, row=16))
        moe = f'<h3>Mixture of Experts</h3><div class="grid">{"".join(mcharts)}</div>'
    def part(d: Any, key: str) -> dict:  # a config.json part, {} when absent or not an object
        v = d.get(key) if isinstance(d, dict) else None
        return v if isinstance(v, dict) else {}

    cfg = run.config or {}
    model = part(cfg, "model")
    facts = [("preset", cfg.get("name")), ("steps", f"{run.steps:,}"),
             ("d_model", model.get("d_model")), ("layers", model.get("n_layers")),
             ("experts", part(model, "moe").get("num_experts")),
             ("batch", part(cfg, "data").get("batch_size")),
             ("lr", part(cfg, "train").get("lr"))]
    fact_html = "".join(f'<span class="tag">{esc(k)} {esc(v)}</span>' for k, v in facts
                        if v is not None)
    bad = (f'<p class="note">{run.bad_lines} unreadable line(s) in metrics.jsonl were skipped.'
           "</p>" if run.bad_lines else "")
    return (f'<section id="training"><h2>Training</h2><p class="note">{esc(run.path)}</p>'
            f'<p>{fact_html}</p>{bad}<div class="grid">{"".join(charts)}</div>{moe}</section>')


# --- the page ------------------------------------------------------------------------------------

def render(figs: CorpusFigures, th: Thresholds, run: TrainingCurves | None = None,
           generated: str | None = None) -> str:
    """The whole report as one HTML string."""
    generated = generated or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [_table1(figs, th), _lengths(figs, th), _perplexity(figs, th), _rejected(figs),
                _duplicates(figs), _images(figs, th), _pairs(figs)]
    if run is not None:
        sections.append(_training(run))
    return ("<!DOCTYPE html>\n"
            '<html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>m6 report: {esc(figs.path)}</title><style>{CSS}</style></head><body>"
            + _header(figs, run, generated) + _nav(run) + "<main>" + "".join(sections)
            + '</main><footer class="note" style="padding:0 28px 20px">Made by '
            "<code>m6 report</code>. No scripts; every chart is inline SVG.</footer>"
            "</body></html>\n")
