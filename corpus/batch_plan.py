"""How ``m6 corpus`` cuts a large input into batches of files, each one pipeline run, so memory
holds one batch and not the corpus (issue 17.1; ``pipelines/batch_run.py`` runs them,
``corpus/dedup/index.py`` deduplicates each against the ones before).

A batch is a run of consecutive input files (in the plan's order) whose sizes add up to the
target, at least one file. The target is ``run.batch_records`` records (pages, lines) times the
bytes per record measured so far: the first batch assumes ``FIRST_BYTES_PER_RECORD``, each later
one uses the input bytes and records of the batches before it. Records, not bytes, because memory
follows the documents held and a record's size on disk varies tenfold between crawls (a gzipped
news page of 1.6 KB, a Common Crawl page of 15 KB). The cut depends on the input only (sizes and
the readers' record counts), never on timing or memory, so a rerun cuts the same batches and its
output is the same bytes.

An input that fits in the first batch is one run, exactly as without batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.inputs import InputPlan

# The first batch's guess: a little under the smallest page we measured (gzipped news pages of
# the generated crawl, 1.6 KB), so that the first batch is not the one that runs out of memory.
FIRST_BYTES_PER_RECORD = 1024


@dataclass(frozen=True)
class BatchSpec:
    """What one batch's pipeline needs to know about the batches around it."""

    index: int  # 0-based, in the shard names (``part-b<index>-...``)
    earlier: tuple[str, ...]  # index parts of the batches before it
    result: str  # where its pipeline writes the batch result (JSON)


def target_bytes(batch_records: int, bytes_done: int, records_done: int) -> int:
    """Input bytes of the next batch for ``batch_records`` records, at the bytes per record of
    the batches done (``FIRST_BYTES_PER_RECORD`` before the first)."""
    per_record = bytes_done / records_done if records_done else FIRST_BYTES_PER_RECORD
    return max(1, int(batch_records * per_record))


def fits_one_batch(plan: InputPlan, batch_records: int) -> bool:
    """Whether the whole input is one run: batches off (0) or the first batch takes it all."""
    return batch_records <= 0 or plan.total_bytes <= target_bytes(batch_records, 0, 0)


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


__all__ = ["BatchSpec", "FIRST_BYTES_PER_RECORD", "fits_one_batch", "next_files", "sub_plan",
           "target_bytes"]
