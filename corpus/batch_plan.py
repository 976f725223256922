"""How ``m6 corpus`` cuts a large input into batches of files, each one pipeline run, so memory
holds one batch and not the corpus (issue 17.1; ``pipelines/batch_run.py`` runs them,
``corpus/dedup/index.py`` deduplicates each against the ones before).

A batch is a run of consecutive input files (in the plan's order), at least one file, of about
``run.batch_records`` records (pages, lines). Records, not bytes, because memory follows the
documents held and a record's size on disk varies tenfold between crawls (a gzipped news page of
1.6 KB, a Common Crawl page of 15 KB). Bytes per record are measured: before the first batch on
the first files, read with their own readers (``probe_bytes_per_record``, at most
``PROBE_MAX_BYTES``; ``FIRST_BYTES_PER_RECORD`` when that cannot tell), after it on the input
bytes and records of the batches done.

The input left is cut into the whole number of batches nearest to its records over
``batch_records`` (at least one), of equal bytes: batches are 0.67-1.5x ``batch_records``, and no
batch is a small remainder that costs a pipeline start and an index part for a few pages (a
50,000-page crawl at 50,000 records a batch is one run, not a batch of 31,000 pages guessed at
1 KB a page and one of 19,000). The cut depends on the input only (sizes and the
readers' record counts), never on timing or memory, so a rerun cuts the same batches and its
output is the same bytes.

An input that fits in the first batch is one run, exactly as without batches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from corpus.inputs import InputPlan

log = logging.getLogger(__name__)

# The first batch's guess: a little under the smallest page we measured (gzipped news pages of
# the generated crawl, 1.6 KB), so that the first batch is not the one that runs out of memory.
FIRST_BYTES_PER_RECORD = 1024
# The probe reads whole files from the start of the plan until it has seen PROBE_RECORDS records,
# never more than PROBE_MAX_BYTES of input (a 1 GB Common Crawl WARC is not read twice; a batch
# holds at least one file anyway).
PROBE_RECORDS = 2_000
PROBE_MAX_BYTES = 64 << 20


@dataclass(frozen=True)
class BatchSpec:
    """What one batch's pipeline needs to know about the batches around it."""

    index: int  # 0-based, in the shard names (``part-b<index>-...``)
    earlier: tuple[str, ...]  # index parts of the batches before it
    result: str  # where its pipeline writes the batch result (JSON)


def target_bytes(batch_records: int, bytes_left: int, per_record: float) -> int:
    """Input bytes of the next batch: the ``bytes_left`` cut into the whole number of batches of
    about ``batch_records`` records (at ``per_record`` bytes each) nearest to it, at least one."""
    batches = max(1, round(bytes_left / max(per_record, 1e-9) / batch_records))
    return max(1, -(-bytes_left // batches))


def fits_one_batch(plan: InputPlan, batch_records: int, per_record: float) -> bool:
    """Whether the whole input is one run: batches off (0) or the first batch takes it all."""
    return (batch_records <= 0
            or plan.total_bytes <= target_bytes(batch_records, plan.total_bytes, per_record))


def probe_bytes_per_record(plan: InputPlan, readers: dict[str, Any]) -> float:
    """Input bytes per record of the first files of ``plan``, read whole with ``readers`` (kind
    -> a reading stage of ``corpus.readers`` with ``emit_counts``: ``crawl``, ``wet``,
    ``dumps``) until ``PROBE_RECORDS`` records; ``FIRST_BYTES_PER_RECORD`` when the first file
    is over ``PROBE_MAX_BYTES``, unreadable or empty, or of a kind with no reader (listings)."""
    from corpus.readers import is_file_counts

    kinds = {f: kind for kind in ("crawl", "wet", "dumps") for f in getattr(plan, kind)}
    size = records = 0
    for f in plan.files:
        reader = readers.get(kinds.get(f, ""))
        if reader is None or size + plan.sizes.get(f, 0) > PROBE_MAX_BYTES:
            break
        counted = [r.counts.records for r in reader.process(f) if is_file_counts(r)]
        size += plan.sizes.get(f, 0)
        records += sum(counted)
        if records >= PROBE_RECORDS:
            break
    if not records or not size:
        return FIRST_BYTES_PER_RECORD
    log.info("batches: %.0f input bytes a record, measured on %d records of the first files",
             size / records, records)
    return size / records


def next_files(plan: InputPlan, start: int, target: int) -> int:
    """The end (exclusive) of the batch that starts at file ``start`` of ``plan.files``."""
    files = plan.files
    end, size = start, 0
    while end < len(files) and (end == start or size + plan.sizes.get(files[end], 0) <= target):
        size += plan.sizes.get(files[end], 0)
        end += 1
    return end


def sub_plan(plan: InputPlan, files: tuple[str, ...]) -> InputPlan:
    """The plan of ``files``, a part of ``plan``'s, with their kinds and sizes."""
    chosen = set(files)

    def keep(paths: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p for p in paths if p in chosen)

    sizes = {p: plan.sizes.get(p, 0) for p in files}
    return InputPlan(keep(plan.crawl), keep(plan.dumps), keep(plan.listings), (),
                     sum(sizes.values()), sizes, wet=keep(plan.wet))


__all__ = ["BatchSpec", "FIRST_BYTES_PER_RECORD", "PROBE_MAX_BYTES", "PROBE_RECORDS",
           "fits_one_batch", "next_files", "probe_bytes_per_record", "sub_plan", "target_bytes"]
