"""Read a corpus run's output folder once, streaming, into the figures the report draws.

A corpus folder holds ``text/``, ``image_text/`` and ``rejected/`` Parquet shards, ``stats.json``
(Table 1 and rejected counts, written by the pipeline), ``config.json`` (the thresholds) and
``manifest.json``, which lists the shards (``schemas/layout.py``): only those are read, and a
folder whose manifest is missing or does not match its shards is refused unless
``allow_incomplete`` (the page then says so). The shards are read a row group at a time with only the columns a figure needs (never the text of
kept documents, never image bytes but for the sampled thumbnails), and folded into:

* per-source histograms of document length (characters) and of perplexity, with the values the
  length and perplexity filters rejected beside them (a rejected row's ``score`` is the value
  that failed: characters for ``text_too_short``, the perplexity for ``perplexity_too_high``);
* rejected counts per ``(stage, reason)`` and the first few rejected rows of each, as examples;
* near- and exact-duplicate cluster sizes: a kept record plus the rows whose ``duplicate_of``
  names it, kept as one 8-byte hash per duplicate row;
* image size and quality-score histograms (kept images, and the rejected ones' failing scores);
* a fixed-seed reservoir sample of image-text pairs, whose image bytes are read in a second pass
  over just the row groups that hold them.

Memory is bounded by the number of bins, reasons and samples (plus the duplicate hashes), not by
the corpus: a many-GB corpus streams through. Paths may be local or any fsspec URL.
"""

from __future__ import annotations

import json
import logging
import random
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fsspec.core import url_to_fs

from corpus import stats as corpus_stats
from corpus.inspect.batches import file_batches
from corpus.inspect.files import InspectError, Shard
from corpus.inspect.types import ColumnTypeError, check_types
from report.histogram import Histogram
from schemas.image_column import image_bytes_array
from schemas.layout import CONFIG_FILE, KINDS, STATS_FILE
from schemas.listing import RERUN_OR_ALLOW, IncompleteCorpus, corpus_folder

log = logging.getLogger(__name__)

BATCH_ROWS = 8192
EXAMPLES_PER_REASON = 3
SAMPLE_PAIRS = 24
SAMPLE_SEED = 0

# Image metrics: name -> (histogram factory, the rejected reason whose score is this metric).
IMAGE_METRICS: dict[str, tuple[Any, str]] = {
    "pixels": (Histogram, "too_few_pixels"),
    "aspect_ratio": (lambda: Histogram(per_decade=20), "aspect_ratio"),
    "sharpness": (Histogram, "blurry"),
    "entropy": (lambda: Histogram.linear(0.25), "low_entropy"),
    "colourfulness": (lambda: Histogram.linear(5.0), "not_colourful"),
    "jpeg_quality": (lambda: Histogram.linear(5.0), "low_jpeg_quality"),
}
LENGTH_REASON = "text_too_short"
PERPLEXITY_STAGE = "quality.perplexity"

TEXT_COLUMNS = ["source", "n_chars", "perplexity", "perplexity_bucket"]
PAIR_COLUMNS = ["id", "source", "n_chars", "n_tokens", "perplexity", "perplexity_bucket", "text", "url",
                "image_url", "orig_width", "orig_height", "width", "height", "sharpness",
                "entropy", "colourfulness", "jpeg_quality"]
REJECTED_COLUMNS = ["id", "source", "kind", "stage", "reason", "score", "detail", "duplicate_of",
                    "url", "image_url", "title", "text"]


@dataclass
class Sample:
    """One sampled image-text pair: where it is, what it says; ``image`` filled in pass two."""

    shard: int
    row: int
    row_data: dict[str, Any]
    image: bytes | None = None


@dataclass
class CorpusFigures:
    path: str
    stats: dict[str, Any] | None = None  # stats.json, or recomputed when missing or unusable
    stats_recomputed: bool = False
    stats_problem: str = ""  # why stats.json was not used, when it was not
    config: dict[str, Any] | None = None
    shards: dict[str, int] = field(default_factory=dict)  # kind -> number of shard files
    incomplete: str = ""  # why the corpus is incomplete, when read with allow_incomplete
    rows: Counter = field(default_factory=Counter)  # kind -> rows read
    lengths: dict[str, Histogram] = field(default_factory=dict)  # "kind/source" -> n_chars
    rejected_lengths: dict[str, Histogram] = field(default_factory=dict)  # source -> chars
    perplexity: dict[str, Histogram] = field(default_factory=dict)  # source -> ppl (kept)
    rejected_perplexity: dict[str, Histogram] = field(default_factory=dict)  # source -> ppl
    buckets: Counter = field(default_factory=Counter)  # (source, bucket) -> kept documents
    rejected: Counter = field(default_factory=Counter)  # (stage, reason) -> rows
    rejected_kinds: dict[tuple[str, str], Counter] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    cluster_sizes: dict[str, Counter] = field(default_factory=dict)  # reason -> size -> clusters
    all_cluster_sizes: Counter = field(default_factory=Counter)  # every reason together
    images: dict[str, Histogram] = field(default_factory=dict)  # metric -> kept images
    rejected_images: dict[str, Histogram] = field(default_factory=dict)  # metric -> rejected
    samples: list[Sample] = field(default_factory=list)
    pairs_seen: int = 0


def _read_json(fs: Any, path: str) -> dict[str, Any] | None:
    if not fs.exists(path):
        return None
    try:
        return json.loads(fs.cat_file(path))
    except ValueError as e:
        log.warning("report: %s is not valid JSON (%s); going on without it", path, e)
        return None


def _read_stats(fs: Any, path: str) -> tuple[dict[str, Any] | None, str]:
    """``stats.json`` when it is m6 statistics the page can show, else ``(None, why not)``."""
    if not fs.exists(path):
        return None, f"{STATS_FILE} was missing"
    try:
        stats = corpus_stats.from_json(fs.cat_file(path))
        if not isinstance(stats.get("totals"), dict):
            raise ValueError("no totals")
        corpus_stats.format_table(stats)  # reads every figure the page shows
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        log.warning("report: %s is not usable m6 statistics (%s); recomputing them from the "
                    "shards", path, e)
        return None, f"{STATS_FILE} was not usable m6 statistics ({type(e).__name__}: {e})"
    return stats, ""


def _shard(url: str) -> Shard:
    fs, path = url_to_fs(url)
    return Shard(fs, path, url)


def _hist(table: dict[str, Histogram], key: str, make: Any = Histogram) -> Histogram:
    h = table.get(key)
    if h is None:
        h = table[key] = make()
    return h


def _by_source(batch: pa.RecordBatch | pa.Table, column: str,
               by: str = "source") -> dict[str, np.ndarray]:
    """The values of ``column`` grouped by the batch's ``by`` column (``source``)."""
    encoded = pc.dictionary_encode(batch.column(by))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    idx = encoded.indices.to_numpy(zero_copy_only=False)
    values = np.asarray(batch.column(column).to_numpy(zero_copy_only=False), dtype=np.float64)
    return {str(s): values[idx == i] for i, s in enumerate(encoded.dictionary.to_pylist())}


def collect(output: str, *, samples: int = SAMPLE_PAIRS, seed: int = SAMPLE_SEED,
            examples: int = EXAMPLES_PER_REASON, allow_incomplete: bool = False) -> CorpusFigures:
    """Fold the corpus at ``output`` (a folder or fsspec URL) into ``CorpusFigures``."""
    fs, root = url_to_fs(output)
    if not fs.isdir(root):
        raise InspectError(f"{output}: no such corpus folder")
    folder = corpus_folder(output)
    if folder is None or folder.kind is not None:
        raise InspectError(f"{output}: no text/, image_text/ or rejected/ shards there; is it the "
                           "--output folder of 'm6 corpus'?")
    try:
        shards = {kind: [_shard(u) for u in folder.shards(
            kind, allow_incomplete=allow_incomplete, hint=RERUN_OR_ALLOW)] for kind in KINDS}
    except IncompleteCorpus as e:
        raise InspectError(str(e)) from None
    figs = CorpusFigures(path=output, incomplete="" if folder.complete else folder.note())
    if figs.incomplete:
        log.warning("report: %s", figs.incomplete)
    figs.stats, figs.stats_problem = _read_stats(fs, root.rstrip("/") + "/" + STATS_FILE)
    figs.config = _read_json(fs, root.rstrip("/") + "/" + CONFIG_FILE)
    figs.shards = {k: len(v) for k, v in shards.items()}
    if not any(shards.values()):
        raise InspectError(f"{output}: no text/, image_text/ or rejected/ shards there; is it the "
                           "--output folder of 'm6 corpus'?")
    recount = figs.stats is None
    acc = corpus_stats.create_accumulator() if recount else None

    _read_text(figs, shards["text"], acc)
    rng = random.Random(seed)
    _read_pairs(figs, shards["image_text"], acc, rng, samples)
    _read_rejected(figs, shards["rejected"], acc, examples)
    _read_sample_images(figs, shards["image_text"])
    if recount:
        figs.stats = corpus_stats.extract_output(acc)
        figs.stats_recomputed = True
    return figs


def _batches(figs: CorpusFigures, kind: str, shards: list[Shard], columns: list[str]):
    """The batches of every shard with those of ``columns`` it has, counting rows and logging
    each finished shard (a long read shows progress). Columns are chosen per shard: a corpus
    whose shards span schema versions (a nullable column added later) reads each one whole.
    A shard whose columns have other types than the m6 schema of ``kind`` is refused with one
    line (``InspectError``) before any kernel meets them."""
    for done, shard in enumerate(shards, 1):
        with shard.open() as pf:
            try:
                check_types(pf.schema_arrow, kind, shard.url)
            except ColumnTypeError as e:
                raise InspectError(str(e)) from None
            have = set(pf.schema_arrow.names)
            for url, rows, batch in file_batches(pf, shard.url, BATCH_ROWS,
                                                 [c for c in columns if c in have]):
                figs.rows[kind] += batch.num_rows
                yield url, rows, batch
        log.info("report: %s shard %d/%d read (%s rows so far)", kind, done, len(shards),
                 f"{figs.rows[kind]:,}")


def _read_text(figs: CorpusFigures, shards: list[Shard], acc: dict | None) -> None:
    if not shards:
        return
    cols = TEXT_COLUMNS + (["n_tokens", "text"] if acc is not None else [])
    for _, _, batch in _batches(figs, "text", shards, cols):
        for source, v in _by_source(batch, "n_chars").items():
            _hist(figs.lengths, f"text/{source}").add(v)
        if "perplexity" in batch.schema.names:
            for source, v in _by_source(batch, "perplexity").items():
                _hist(figs.perplexity, source).add(v)
        if "perplexity_bucket" in batch.schema.names:
            counts = pa.table({"s": batch.column("source"), "b": batch.column("perplexity_bucket")}
                              ).group_by(["s", "b"]).aggregate([([], "count_all")])
            for s, b, n in zip(*(counts.column(c).to_pylist() for c in ("s", "b", "count_all"))):
                if b:
                    figs.buckets[(s, b)] += n
        if acc is not None:
            for row in batch.to_pylist():
                corpus_stats.add_input(acc, ("text", row))


def _read_pairs(figs: CorpusFigures, shards: list[Shard], acc: dict | None, rng: random.Random,
                k: int) -> None:
    if not shards:
        return
    cols = PAIR_COLUMNS + (["image"] if acc is not None else [])
    index = {s.url: i for i, s in enumerate(shards)}
    for url, rows, batch in _batches(figs, "image_text", shards, cols):
        for source, v in _by_source(batch, "n_chars").items():
            _hist(figs.lengths, f"image_text/{source}").add(v)
        w = batch.column("orig_width").to_numpy(zero_copy_only=False).astype(np.float64)
        h = batch.column("orig_height").to_numpy(zero_copy_only=False).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            metrics = {"pixels": w * h,
                       "aspect_ratio": np.maximum(w, h) / np.minimum(w, h)}
        for name in ("sharpness", "entropy", "colourfulness", "jpeg_quality"):
            if name in batch.schema.names:
                metrics[name] = batch.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        for name, values in metrics.items():
            _hist(figs.images, name, IMAGE_METRICS[name][0]).add(values)
        # Reservoir sampling (Algorithm R) over every pair, in shard order, seeded.
        pylist = None
        for j, row_no in enumerate(rows):
            figs.pairs_seen += 1
            n = figs.pairs_seen
            slot = n - 1 if n <= k else rng.randrange(n)
            if slot < k:
                pylist = pylist or batch.drop_columns(
                    [c for c in ("image",) if c in batch.schema.names]).to_pylist()
                sample = Sample(index[url], row_no, pylist[j])
                if n <= k:
                    figs.samples.append(sample)
                else:
                    figs.samples[slot] = sample
        if acc is not None:  # no stats.json: Table 1 from the rows, image bytes included
            sizes = pc.binary_length(image_bytes_array(batch.column("image"))).to_pylist()
            for row, size in zip(batch.drop_columns(["image"]).to_pylist(), sizes):
                corpus_stats.add_input(acc, ("image_text", {**row, "image_bytes": size}))
    figs.samples.sort(key=lambda s: (s.shard, s.row))


def _read_rejected(figs: CorpusFigures, shards: list[Shard], acc: dict | None,
                   examples: int) -> None:
    """Counts, examples, cluster sizes and failing scores of the rejected rows, a batch at a
    time with Arrow kernels: only the rows a reason still needs as examples, and the
    ``duplicate_of`` strings, become Python objects (a crawl is mostly rejected rows)."""
    if not shards:
        return
    dups: dict[str, array] = defaultdict(lambda: array("q"))
    for _, _, batch in _batches(figs, "rejected", shards, REJECTED_COLUMNS):
        t = _with_columns(pa.Table.from_batches([batch]), ("stage", "reason", "kind", "source",
                                                           "score", "duplicate_of"))
        counts = t.group_by(["stage", "reason", "kind"], use_threads=False).aggregate(
            [([], "count_all")])
        batch_keys = set()
        for stage, reason, kind, n in zip(*(counts.column(c).to_pylist()
                                            for c in ("stage", "reason", "kind", "count_all"))):
            key = (stage, reason)
            batch_keys.add(key)
            figs.rejected[key] += n
            figs.rejected_kinds.setdefault(key, Counter())[kind or "?"] += n
        _take_examples(figs, t, batch_keys, examples)
        _take_duplicates(t, dups)
        _take_scores(figs, t)
        if acc is not None:  # no stats.json: the per-row fold of corpus/stats.py
            for row in t.select(["stage", "reason", "source"]).to_pylist():
                corpus_stats.add_input(acc, ("rejected", row))
    for reason, hashes in dups.items():
        figs.cluster_sizes[reason] = _cluster_sizes(np.frombuffer(hashes, dtype=np.int64))
    if dups:  # a record can have exact, near and URL copies: one cluster of them all
        figs.all_cluster_sizes = _cluster_sizes(np.concatenate(
            [np.frombuffer(h, dtype=np.int64) for h in dups.values()]))


def _cluster_sizes(kept_hashes: np.ndarray) -> Counter:
    """size -> clusters, from one hash of the kept record per removed duplicate."""
    _, per_kept = np.unique(kept_hashes, return_counts=True)
    sizes, clusters = np.unique(per_kept + 1, return_counts=True)
    return Counter(dict(zip(sizes.tolist(), clusters.tolist())))


def _with_columns(t: pa.Table, names: tuple[str, ...]) -> pa.Table:
    """``t`` with every column of ``names`` (all-null strings or floats for those a foreign
    shard lacks)."""
    for name in names:
        if name not in t.column_names:
            t = t.append_column(name, pa.nulls(t.num_rows, pa.float64() if name == "score"
                                               else pa.string()))
    return t


def _key_column(t: pa.Table) -> pa.ChunkedArray:
    """``stage`` and ``reason`` joined by a unit separator, one string per row."""
    return pc.binary_join_element_wise(pc.fill_null(t.column("stage"), ""),
                                       pc.fill_null(t.column("reason"), ""), "\x1f")


def _take_examples(figs: CorpusFigures, t: pa.Table, keys: set, examples: int) -> None:
    needed = [k for k in keys if len(figs.examples.get(k, ())) < examples]
    if not needed:
        return
    wanted = pa.array([f"{s or ''}\x1f{r or ''}" for s, r in needed])
    rows = t.filter(pc.is_in(_key_column(t), value_set=wanted))
    for row in rows.to_pylist():
        ex = figs.examples.setdefault((row["stage"], row["reason"]), [])
        if len(ex) < examples:
            ex.append(row)


def _take_duplicates(t: pa.Table, dups: dict[str, array]) -> None:
    has = pc.fill_null(pc.not_equal(t.column("duplicate_of"), ""), False)
    d = t.filter(has).select(["reason", "duplicate_of"])
    if not d.num_rows:
        return
    for reason in pc.unique(d.column("reason")).to_pylist():
        of = d.filter(pc.equal(d.column("reason"), reason)) if reason is not None else \
            d.filter(pc.is_null(d.column("reason")))
        dups[reason].extend(map(hash, of.column("duplicate_of").to_pylist()))


def _take_scores(figs: CorpusFigures, t: pa.Table) -> None:
    """The failing scores of the length, perplexity and image filters, beside the kept values."""
    scored = t.filter(pc.is_valid(t.column("score")))
    if not scored.num_rows:
        return
    reason, stage = scored.column("reason"), scored.column("stage")
    length = pc.fill_null(pc.and_(pc.equal(reason, LENGTH_REASON),
                                  pc.equal(scored.column("kind"), "text")), False)
    ppl = pc.fill_null(pc.and_(pc.invert(length), pc.equal(stage, PERPLEXITY_STAGE)), False)
    for mask, target in ((length, figs.rejected_lengths), (ppl, figs.rejected_perplexity)):
        part = scored.filter(mask)
        if part.num_rows:
            for source, values in _by_source(part, "score").items():
                _hist(target, source).add(values)
    rest = scored.filter(pc.invert(pc.or_(length, ppl)))
    metric_of = {r: name for name, (_, r) in IMAGE_METRICS.items()}
    images = rest.filter(pc.fill_null(pc.is_in(rest.column("reason"),
                                               value_set=pa.array(list(metric_of))), False))
    if images.num_rows:
        for reason_, values in _by_source(images, "score", by="reason").items():
            name = metric_of[reason_]
            _hist(figs.rejected_images, name, IMAGE_METRICS[name][0]).add(values)


def _read_sample_images(figs: CorpusFigures, shards: list[Shard]) -> None:
    """Pass two: the image bytes of the sampled pairs, reading only their row groups."""
    wanted: dict[int, list[Sample]] = defaultdict(list)
    for s in figs.samples:
        wanted[s.shard].append(s)
    for shard_no, samples in wanted.items():
        with shards[shard_no].open() as pf:
            meta = pf.metadata
            starts, start = [], 0
            for g in range(meta.num_row_groups):
                starts.append(start)
                start += meta.row_group(g).num_rows
            by_group: dict[int, list[Sample]] = defaultdict(list)
            for s in samples:
                g = int(np.searchsorted(starts, s.row, side="right") - 1)
                by_group[g].append(s)
            for g, group in by_group.items():
                images = image_bytes_array(pf.read_row_group(g, columns=["image"]).column("image"))
                for s in group:
                    s.image = images[s.row - starts[g]].as_py()
