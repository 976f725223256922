"""The corpus pipeline: crawls, dumps and listings in; text, image_text and rejected shards out.

The wiring follows docs/design.md's data flow; each box is a named composite step:

    ReadCrawl -> Extract ─┐
    ReadWet (CC WET text) ┤
    ReadDumps ────────────┴-> Clean -> Quality -> Dedup -> Write_text
    (pages' images, WARC image records, listings) -> Images -> DedupImages -> Write_image_text
    every rejected row ─────────────────────────────────> Write_rejected
    all rows -> Stats ──┐
    written shards ─────┴-> Finalize (stale shards removed, stats.json, manifest.json)

Reading is a stage over file paths (``corpus.readers``), so a file is read by one worker and files
spread over workers after a ``Reshuffle``; Beam's ``ReadFromText``/``WriteToParquet`` are not used,
so the same pipeline runs on the DaskRunner too (README, "Running at scale"). Nothing here uses side inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam

from corpus.batch_plan import BatchSpec
from corpus.config import CorpusConfig
from corpus.crawl.source import crawl_sources
from corpus.inputs import InputPlan
from corpus.parse.counts import fold_counts
from corpus.readers import (
    ReadCrawlFile,
    ReadDumpFile,
    ReadWetFile,
    is_file_counts,
    is_html_page,
    is_image_page,
    is_not_file_counts,
)
from corpus.shards import num_buckets
from corpus.stats import compute_stats
from pipelines.sink import KINDS, WriteShards, finalize
from pipelines.spill import spill_folder
from pipelines.stage_dofn import ApplyStage, ApplyStages
from pipelines.stats import CorpusStats


def text_row(doc) -> dict:
    return doc.to_text_record().to_row()


def _row(record) -> dict:
    return record.to_row()


@dataclass
class Outputs:
    """The PCollections of one run, by name (for tests and for composing bigger pipelines)."""

    text: beam.PCollection
    image_text: beam.PCollection
    rejected: tuple[beam.PCollection, ...]  # the rejected rows of each step that rejects
    manifest: beam.PCollection


def _files(p: beam.Pipeline, label: str, paths: tuple[str, ...]) -> beam.PCollection:
    return (p | f"{label}Files" >> beam.Create(sorted(paths))
            | f"{label}Spread" >> beam.Reshuffle())


def build(p: beam.Pipeline, cfg: CorpusConfig, plan: InputPlan, output: str,
          batch: BatchSpec | None = None) -> Outputs:
    """Add the whole corpus pipeline to ``p``; returns its main PCollections.

    ``batch``: this run is one batch of a larger input (``pipelines/batch_run.py``): its
    documents are first checked against the batches before it (``DedupEarlier``), its shards are
    named by batch, and instead of finalizing the output it writes its result for the driver."""
    rejected = []
    spill = spill_folder(output, None if batch is None else batch.index)  # pipelines.spill

    crawl = _files(p, "Crawl", plan.crawl) | "ReadCrawl" >> ApplyStage(
        ReadCrawlFile(source=cfg.run.crawl_source, config=cfg.parse, emit_counts=True,
                      sources=crawl_sources(plan.crawl)),
        budget=cfg.budget)
    rejected.append(crawl.rejected)
    html_pages = crawl.main | "HtmlPages" >> beam.Filter(is_html_page)
    image_pages = crawl.main | "ImagePages" >> beam.Filter(is_image_page)

    web_docs, rej = html_pages | "Extract" >> ApplyStages(_extract_stages(cfg), budget=cfg.budget)
    rejected.append(rej)

    counts = [crawl.main | "CrawlCounts" >> beam.Filter(is_file_counts)]
    # only the kinds of input the plan has (dumps, WET files, listings: no stages for a kind
    # with no files, each a few stages of worker round trips); and Beam's in-process runner
    # copies every input of a multi-input Flatten once more before the next step reads it
    # (``pipelines/dedup.py``, ``_Router``), so a crawl alone goes on as it is
    doc_inputs = [web_docs] if plan.crawl else []
    if plan.dumps:
        dumps = _files(p, "Dump", plan.dumps) | "ReadDumps" >> ApplyStage(
            ReadDumpFile(config=cfg.dumps, emit_counts=True), budget=cfg.budget)
        rejected.append(dumps.rejected)
        doc_inputs.append(dumps.main | "DumpDocs" >> beam.Filter(is_not_file_counts))
        counts.append(dumps.main | "DumpCounts" >> beam.Filter(is_file_counts))
    if plan.wet:
        wet = _files(p, "Wet", plan.wet) | "ReadWet" >> ApplyStage(
            ReadWetFile(source=cfg.run.crawl_source, config=cfg.parse, emit_counts=True),
            budget=cfg.budget)
        rejected.append(wet.rejected)
        doc_inputs.append(wet.main | "WetDocs" >> beam.Filter(is_not_file_counts))
        counts.append(wet.main | "WetCounts" >> beam.Filter(is_file_counts))
    input_counts = tuple(counts) | "InputCounts" >> beam.Flatten()
    doc_inputs = doc_inputs or [web_docs]  # no input at all: the (empty) crawl documents
    docs = (doc_inputs[0] if len(doc_inputs) == 1
            else tuple(doc_inputs) | "AllDocs" >> beam.Flatten())
    docs, rej = docs | "Clean" >> ApplyStages(_clean_stages(cfg), budget=cfg.budget)
    rejected.append(rej)
    if cfg.quality.enabled:
        docs, rej = docs | "Quality" >> ApplyStages(_quality_stages(cfg), budget=cfg.budget)
        rejected.append(rej)
    if cfg.dedup.enabled:
        from pipelines.dedup import DedupText

        shadows = None
        if batch is not None and batch.earlier:
            from pipelines.dedup_earlier import DedupEarlier

            docs, rej, shadows = docs | "DedupEarlier" >> DedupEarlier(cfg.dedup, batch.earlier)
            rejected.append(rej)
        docs, rej = docs | "Dedup" >> DedupText(
            cfg.dedup, dedup_against=cfg.run.dedup_against, existing=shadows, inputs=plan.files,
            spill=spill)
        rejected.append(rej)
    text_rows = docs | "TextRows" >> beam.Map(text_row)

    if cfg.images.enabled:
        from pipelines.images import ImagePairs

        inputs = (web_docs, image_pages)
        if plan.listings:
            inputs += (_files(p, "Listing", plan.listings),)
        pairs, rej = inputs | "Images" >> ImagePairs(
            cfg.images, rows=False, fetch=cfg.fetch)
        rejected.append(rej)
        if cfg.dedup.enabled:
            from pipelines.dedup import DedupImages

            if batch is not None and batch.earlier:
                from pipelines.dedup_earlier import DedupEarlierImages

                pairs, rej = pairs | "DedupEarlierImages" >> DedupEarlierImages(
                    cfg.dedup, batch.earlier)
                rejected.append(rej)
            pairs, rej = pairs | "DedupImages" >> DedupImages(cfg.dedup)
            rejected.append(rej)
        image_rows = pairs | "ImageRows" >> beam.Map(_row)
    else:
        image_rows = p | "NoImages" >> beam.Create([])

    # the rejected rows of each step go to the writer as they are (WriteShards chunks each
    # where it is made): a Flatten of them all would be one more copy through the runner
    rejected_rows = tuple(rej | f"RejectedRows{i}" >> beam.Map(_row)
                          for i, rej in enumerate(rejected))

    n = num_buckets(plan.total_bytes, cfg.shards.target_bytes)
    rows = {"text": text_rows, "image_text": image_rows, "rejected": rejected_rows}
    # the largest first: keys go to the workers in the order they reach the group
    written = ({k: rows[k] for k in ("text", "rejected", "image_text")}
               | WriteShards(output, n, cfg.shards, batch=None if batch is None else batch.index,
                             spill=spill))

    stats = ({k: rows[k] for k in KINDS} | "Stats" >> CorpusStats(accumulator=batch is not None))
    manifest = _finalize(p, written, stats, input_counts, cfg, output, batch)
    return Outputs(text_rows, image_rows, rejected_rows, manifest)


def _finalize(p, written, stats, input_counts, cfg: CorpusConfig, output: str,
              batch: BatchSpec | None = None) -> beam.PCollection:
    """Run ``finalize`` once, after every shard is written and the stats are combined; the
    readers' per-file counts become the ``inputs`` entry of ``stats.json``. A batch writes
    its result instead (``pipelines.batch_result.write_batch_result``): its shards, its stats
    accumulator and its input counts.

    A constant key and a GroupByKey (not a side input, not CombineGlobally's default) bring
    the written names and the stats to one place on every runner, even when an output is empty.
    """
    names = written | "KeyWritten" >> beam.Map(lambda nr: (0, ("file", nr)))
    keyed_stats = stats | "KeyStats" >> beam.Map(lambda s: (0, ("stats", s)))
    keyed_counts = input_counts | "KeyCounts" >> beam.Map(lambda c: (0, ("inputs", c)))
    tick = p | "FinalizeTick" >> beam.Create([(0, ("tick", None))])
    config_json = cfg.to_json()

    def run(item):
        _, values = item
        files = [v for tag, v in values if tag == "file"]
        all_stats = [v for tag, v in values if tag == "stats"]
        # no rows at all (every input empty): the statistics of nothing, zero counts, so the
        # corpus is complete and every reader of stats.json finds the keys it expects
        inputs = fold_counts([v for tag, v in values if tag == "inputs"])
        if batch is not None:
            from pipelines.batch_result import write_batch_result

            return write_batch_result(batch.result, files, all_stats[0] if all_stats else None,
                                      inputs)
        stats_dict = dict(all_stats[0] if all_stats else compute_stats([]))
        stats_dict["inputs"] = inputs
        return finalize(files, stats_dict, output=output, cfg=cfg.shards,
                        config_json=config_json)

    return ((names, keyed_stats, keyed_counts, tick) | "FinalizeInputs" >> beam.Flatten()
            | "FinalizeGroup" >> beam.GroupByKey()
            | "Finalize" >> beam.Map(run))


def _extract_stages(cfg: CorpusConfig):
    from corpus.extract.html import ExtractHTML

    return [ExtractHTML(cfg.extract, cfg.budget)]


def _clean_stages(cfg: CorpusConfig):
    from corpus.clean import clean_stages

    return clean_stages(cfg.clean)


def _quality_stages(cfg: CorpusConfig):
    from corpus.quality import quality_stages

    return quality_stages(cfg.quality)

