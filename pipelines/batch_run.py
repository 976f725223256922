"""``m6 corpus`` over an input larger than one batch: one pipeline per batch of files, each
deduplicated against the batches before it, then one corpus (issue 17.1; docs/design.md,
"Batches").

Why batches: Beam's in-process runner (the DirectRunner) holds every PCollection between fused
steps in memory and spills nothing, so a single pipeline's memory grows with the documents of the
whole input (2.8 GB at 50,000 pages). Run in batches of ``run.batch_records`` input records, the
memory is that of one batch plus the memory-mapped dedup index.

For each batch (``corpus.batch_plan`` cuts them, from the input only):

1. its pipeline (``corpus_pipeline.build`` with a ``BatchSpec``) drops documents that repeat one
   kept by an earlier batch (``DedupEarlier``), deduplicates within the batch, writes its shards
   as ``<kind>/part-b<batch>-...`` and its result (``pipelines.batch_result``);
2. the driver adds the batch's kept documents to the dedup index (``corpus.dedup.index``).

Every ``MERGE_PARTS`` index parts are merged into one (``merge_parts``, ``merge_image_parts``),
and the batch parts it replaces are removed, so a batch looks up about ``batches / MERGE_PARTS``
parts, not one per earlier batch (a lookup costs a search per part; at 40 parts the search was a
third of the lookup, measured on the 1,000,000-page crawl).

Then the results are merged: one ``stats.json`` and one ``manifest.json`` over all batches
(``sink.finalize``, which also removes shards no batch wrote), and the work folder
``<output>/_batches`` (results and index) is removed; its size is reported.

Resuming: a run killed partway, run again with the same input and settings, skips the batches
whose result and index part are there and goes on from the first that is not; ``state.json``
holds the fingerprint of the input and the settings, and any difference starts from scratch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import fsspec
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpus.batch_plan import BatchSpec, next_files, sub_plan, target_bytes
from corpus.config import CorpusConfig
from corpus.dedup.images import image_key, phash_int, sha256_of
from corpus.dedup.index import merge_parts, part_bytes, write_part
from corpus.dedup.index_images import merge_image_parts, write_image_part
from corpus.dedup.survivor import node_key
from corpus.inputs import InputPlan
from corpus.stats import compute_stats, extract_output, merge_accumulators
from pipelines.batch_result import BatchResult, merge_inputs, read_batch_result
from pipelines.files import join, write_atomically
from pipelines.sink import finalize
from schemas.image_column import with_image_bytes
from schemas.records import ImageTextRecord

log = logging.getLogger("m6.corpus")

WORK_DIR = "_batches"
MERGE_PARTS = 8  # index parts merged into one; a merge holds them in memory (~20 KB a document)
STATE_FILE = "state.json"
DONE = "done"

RunOne = Callable[[InputPlan, BatchSpec], None]


@dataclass(frozen=True)
class BatchSummary:
    batches: int
    resumed: int  # batches done by an earlier, killed run and skipped
    work_bytes: int  # the work folder's size at its largest (results and dedup index)


def fingerprint(cfg: CorpusConfig, plan: InputPlan) -> str:
    """What must be equal for a killed run's batches to be reused: every setting and every
    input file with its size."""
    data = json.dumps({"config": json.loads(cfg.to_json()) | {"m6_version": None},
                       "files": [[f, plan.sizes.get(f, 0)] for f in plan.files]},
                      sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def _prepare(work: str, fp: str) -> bool:
    """Keep ``work`` when it belongs to the same run (True); otherwise empty it (False)."""
    state = join(work, STATE_FILE)
    if FileSystems.exists(state):
        with FileSystems.open(state) as f:
            try:
                same = json.loads(f.read()).get("fingerprint") == fp
            except ValueError:
                same = False
        if same:
            return True
        log.info("%s is from another input or other settings: starting from the first batch",
                 work)
    if FileSystems.exists(work):
        FileSystems.delete([work])
    write_atomically(state, json.dumps({"fingerprint": fp}).encode(), join(work, "_tmp"))
    return False


def _rows(output: str, result: BatchResult, kind: str, columns: list[str]):
    """The rows of the ``kind`` shards a batch wrote (only ``columns``), streamed."""
    for path, rows in result.files:
        if not path.startswith(kind + "/") or not rows:
            continue
        with FileSystems.open(join(output, path)) as f:
            for batch in pq.ParquetFile(f).iter_batches(columns=columns, batch_size=1024):
                yield from with_image_bytes(batch).to_pylist() if kind == "image_text" else (
                    batch.to_pylist())


COPIES = ("exact_duplicate", "near_duplicate")  # dropped copies that stay in the index


def _index_documents(output: str, result: BatchResult, cfg: CorpusConfig):
    """(node key, label, url, text) of a batch's kept documents (labelled with their own id)
    and of the documents it dropped as exact or near copies, labelled with the kept document
    their chain of ``duplicate_of`` ends at (``corpus/dedup/index.py`` says why)."""
    priority = cfg.dedup.source_priority
    for row in _rows(output, result, "text", ["id", "source", "url", "text"]):
        yield (node_key(row["id"], row["source"], source_priority=priority), row["id"],
               row["url"], row["text"] or "")
    columns = ["id", "source", "kind", "stage", "reason", "duplicate_of", "url", "text"]
    copies = [r for r in _rows(output, result, "rejected", columns)
              if r["kind"] == "text" and r["stage"] == "dedup" and r["reason"] in COPIES
              and r["duplicate_of"]]
    dropped_for = {r["id"]: r["duplicate_of"] for r in copies}
    for r in copies:
        label, seen = r["duplicate_of"], {r["id"]}
        while label in dropped_for and label not in seen:  # an exact copy of a near copy
            seen.add(label)
            label = dropped_for[label]
        yield (node_key(r["id"], r["source"], source_priority=priority), label, r["url"],
               r["text"] or "")


def _kept_images(output: str, result: BatchResult, cfg: CorpusConfig):
    """(node key, sha256, phash) of the image-text rows a batch wrote."""
    columns = ["id", "source", "width", "height", "sha256", "phash", "image"]
    for row in _rows(output, result, "image_text", columns):
        rec = ImageTextRecord(id=row["id"], source=row["source"], image=row["image"] or b"",
                              width=row["width"] or 0, height=row["height"] or 0,
                              sha256=row["sha256"] or "", phash=row["phash"])
        yield image_key(rec, cfg.dedup), sha256_of(rec), phash_int(rec)


def write_index(part: str, output: str, result: BatchResult, cfg: CorpusConfig) -> int:
    """Add a finished batch's text and kept images to the dedup index (``part``); the
    ``done`` marker goes last, so a part is used only when whole. Returns its documents."""
    meta = write_part(join(part, "text"), _index_documents(output, result, cfg), cfg.dedup)
    write_image_part(join(part, "images"), _kept_images(output, result, cfg), cfg.dedup)
    write_atomically(join(part, DONE), b"", join(part, "_tmp"))
    return meta["documents"]


def merge_index(parts: list[str], work: str, cfg: CorpusConfig) -> list[str]:
    """``parts`` with its last ``MERGE_PARTS`` batch parts merged into one, once there are that
    many since the last merge; a merge done by an earlier, killed run is reused. The merged part
    is whole (``done``) before the batch parts go."""
    batch = [p for p in parts if "/merged-" not in p]
    if len(batch) < MERGE_PARTS:
        return parts
    first, last = batch[0].rsplit("-", 1)[1], batch[-1].rsplit("-", 1)[1]
    merged = join(work, "index", f"merged-{first}-{last}")
    if not FileSystems.exists(join(merged, DONE)):
        meta = merge_parts([join(p, "text") for p in batch], join(merged, "text"), cfg.dedup)
        merge_image_parts([join(p, "images") for p in batch], join(merged, "images"),
                          cfg.dedup)
        write_atomically(join(merged, DONE), b"", join(merged, "_tmp"))
        log.info("dedup index: parts %d-%d merged (%d documents, %.1f MB)", int(first) + 1,
                 int(last) + 1, meta["documents"], part_bytes(merged) / 1e6)
    for p in batch:  # the done marker stays: the batch is done
        for side in ("text", "images"):
            if FileSystems.exists(join(p, side)):
                FileSystems.delete([join(p, side)])
    return [p for p in parts if p not in batch] + [merged]


def _folder_bytes(path: str) -> int:
    fs, root = fsspec.core.url_to_fs(path)
    return sum(fs.size(p) for p in fs.find(root)) if fs.exists(root) else 0


def run_batches(run_one: RunOne, cfg: CorpusConfig, plan: InputPlan, output: str,
                first_per_record: float) -> BatchSummary:
    """Run ``plan`` in batches with ``run_one(sub_plan, batch)`` and finalize ``output``;
    ``first_per_record``: input bytes per record the first batch is sized by
    (``corpus.batch_plan.probe_bytes_per_record``)."""
    work = join(output, WORK_DIR)
    resuming = _prepare(work, fingerprint(cfg, plan))
    dedup = cfg.dedup.enabled
    results: list[BatchResult] = []
    parts: list[str] = []
    start = bytes_done = records_done = resumed = work_peak = 0
    files = plan.files
    while start < len(files):
        k = len(results)
        per_record = bytes_done / records_done if records_done else first_per_record
        end = next_files(plan, start, target_bytes(cfg.run.batch_records,
                                                   plan.total_bytes - bytes_done, per_record))
        chosen = files[start:end]
        size = sum(plan.sizes.get(f, 0) for f in chosen)
        result_path = join(work, f"batch-{k:05d}.json")
        part = join(work, "index", f"part-{k:05d}")
        last = end == len(files)
        result = read_batch_result(result_path) if resuming else None
        if result is not None and dedup and not last and not FileSystems.exists(
                join(part, DONE)):
            result = None  # killed between the batch and its index part: run it again
        if result is not None:
            resumed += 1
            log.info("batch %d: files %d-%d of %d: done by an earlier run, skipped", k + 1,
                     start + 1, end, len(files))
        else:
            log.info("batch %d: files %d-%d of %d (%.1f MB, %.0f%% of the input done)", k + 1,
                     start + 1, end, len(files), size / 1e6,
                     100 * bytes_done / max(1, plan.total_bytes))
            run_one(sub_plan(plan, chosen), BatchSpec(k, tuple(parts), result_path))
            result = read_batch_result(result_path)
            if result is None:
                raise RuntimeError(f"batch {k + 1} finished without writing {result_path}")
            if dedup and not last:
                n = write_index(part, output, result, cfg)
                log.info("batch %d: %d documents added to the dedup index (%.1f MB)", k + 1, n,
                         part_bytes(part) / 1e6)
        if dedup and not last:
            parts = merge_index([*parts, part], work, cfg)
        results.append(result)
        work_peak = max(work_peak, _folder_bytes(work))
        bytes_done += size
        records_done += result.records
        start = end
    _finish(results, cfg, output)
    FileSystems.delete([work])
    log.info("%d batches (%d resumed); the work folder %s held at most %.1f MB and is removed",
             len(results), resumed, work, work_peak / 1e6)
    return BatchSummary(len(results), resumed, work_peak)


def _finish(results: list[BatchResult], cfg: CorpusConfig, output: str) -> None:
    """One manifest and one stats.json over every batch."""
    written = [f for r in results for f in r.files]
    accs = [r.stats for r in results if r.stats is not None]
    stats = extract_output(merge_accumulators(accs)) if accs else compute_stats([])
    stats["inputs"] = merge_inputs([r.inputs for r in results])
    finalize(written, stats, output=output, cfg=cfg.shards, config_json=cfg.to_json())


__all__ = ["BatchSummary", "WORK_DIR", "fingerprint", "run_batches"]
