"""The fuzz suite in `make test` (issue 15.9): every mutation class of every input format with a
few fixed seeds (fuzz_harness.py says what is mutated and what is checked), and one real Beam run
of a mutated input set. `bench/bench_fuzz.py` runs the same classes with many more seeds."""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_harness as h  # noqa: E402

SEEDS_PER_CLASS = 4  # each WARC seed file once; about 8 s for all classes on one core
# The classes that cost seconds per case until their records are budgeted: one seed each.
EXPENSIVE = {"deep_html": 1}

CASES = [(fmt.name, cls) for fmt in h.formats().values() for cls in fmt.classes()]


@pytest.fixture(scope="module")
def stages():
    return h.Stages.create()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize(("fmt", "cls"), CASES, ids=[f"{f}-{c}" for f, c in CASES])
def test_mutation_class(fmt, cls, stages, work):
    folder = work / fmt
    folder.mkdir(exist_ok=True)
    results = [h.run_case(h.formats()[fmt], cls, seed, folder, stages)
               for seed in range(EXPENSIVE.get(cls, SEEDS_PER_CLASS))]
    failed = [r for r in results if r.problem]
    assert not failed, "; ".join(f"seed {r.seed}: {r.problem}" for r in failed)


def test_the_harness_sees_a_lost_record(stages, work):
    """The check can fail: a 'mutation' that drops another record is reported as a loss."""
    fmt = h.formats()["warc"]
    records, gz, before, _ = fmt.baseline(h.WARC_SEEDS[0], work, stages)
    k = next(i for i, r in enumerate(records) if b"WARC-Type: response" in r[:400]
             and before[(h.target_uri(r), "kept")] == 1)
    path = work / "dropped.warc.gz"
    h.write_warc(records[:k] + records[k + 1:], path, gz)
    after, _ = h.crawl_outcomes(path, stages)
    lost = [key for key, n in before.items() if after[key] < n]
    assert lost == [(h.target_uri(records[k]), "kept")]


@pytest.mark.slow
def test_a_beam_run_of_a_mutated_set_keeps_every_good_record(tmp_path, stages):
    """`m6 corpus` (Beam, DirectRunner) on a crawl with one mangled record, a dump with one
    mistyped line and a listing with one escaping path: every other record is in text/ or
    rejected/, and the mutated ones are rejected with a reason."""
    from pipelines.cli import main as corpus_main

    rng = random.Random(7)
    inp = tmp_path / "in"
    (inp / "crawl").mkdir(parents=True)
    records, gz = h.read_warc(h.WARC_SEEDS[0])
    k = 5
    touched = h.target_uri(records[k])
    mutated = list(records)
    mutated[k] = h.warc_mutations()["warc_header_garbage"](records[k], rng)
    mutated[k + 1] = h.warc_mutations()["payload_flip"](records[k + 1], rng)
    h.write_warc(mutated, inp / "crawl" / "crawl.warc.gz", gz)
    good_urls = {h.target_uri(r) for i, r in enumerate(records)
                 if i not in (k, k + 1) and b"WARC-Type: response" in r[:400]}

    (inp / "dumps").mkdir()
    lines = h.DUMP_SEEDS[0].read_bytes().split(b"\n")
    j = next(i for i in range(3, len(lines)) if lines[i].startswith(b'{"'))
    obj = json.loads(lines[j])
    obj["text"] = {"not": "a string"}
    lines[j] = json.dumps(obj, ensure_ascii=False).encode()
    (inp / "dumps" / "forum.jsonl").write_bytes(b"\n".join(lines))
    n_lines = sum(1 for line in lines if line.strip())

    (inp / "ecommerce").mkdir()
    shutil.copytree(h.LISTING_SEED.parent / "images", inp / "ecommerce" / "images")
    listing = h.LISTING_SEED.read_bytes().split(b"\n")
    obj = json.loads(listing[0])
    obj["image"] = "../../../../../../../../etc/passwd"
    listing[0] = json.dumps(obj, ensure_ascii=False).encode()
    (inp / "ecommerce" / "listing.jsonl").write_bytes(b"\n".join(listing))

    out = tmp_path / "out"
    assert corpus_main(["--input", str(inp / "crawl"), "--input", str(inp / "dumps"),
                        "--input", str(inp / "ecommerce"), "--output", str(out), "--quiet",
                        "--no-report"]) == 0
    text = pq.read_table(out / "text").to_pylist()
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert all(r["stage"] and r["reason"] for r in rejected)
    pairs = pq.read_table(out / "image_text", columns=["image_url"]).to_pylist()
    # A page is seen by its URL; an image record by its URL as the image of a pair or row.
    seen = {r["url"] for r in text} | {r["url"] for r in rejected} | \
        {r["image_url"] for r in pairs} | {r["image_url"] for r in rejected}
    assert good_urls - seen == set()
    assert touched in seen or any(r["stage"] == "parse" for r in rejected
                                  if r["input_file"].endswith("crawl.warc.gz"))
    dump = str(inp / "dumps" / "forum.jsonl")
    from_dump = [r for r in text + rejected if r["input_file"] == dump]
    assert len(from_dump) == n_lines
    assert [(r["stage"], r["reason"]) for r in rejected if r["input_file"] == dump
            and r["offset"] == sum(len(x) + 1 for x in lines[:j])] == [("parse", "bad_field")]
    escaped = [r for r in rejected if r["reason"] == "outside_root"]
    assert [(r["stage"], r["offset"]) for r in escaped] == [("read_listing", 1)]
    assert not any("root:x:0" in json.dumps(r, default=str) for r in text + rejected)
