"""JSON lines within limits (corpus.parse.jsonl): a bracket bomb is one rejected line that names
its file and line, in dumps and listings alike, and never crashes the input planner."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from corpus.images.listing import ReadListingFile
from corpus.inputs import plan_inputs
from corpus.parse.counts import RecordCounts
from corpus.parse.dumps import DumpConfig, iter_dump_docs
from corpus.parse.jsonl import JsonLimitError, json_depth, loads_limited
from corpus.stage import split
from schemas import RejectedRecord

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
BOMB = "[" * 100_000 + "]" * 100_000
OBJECT_BOMB = '{"a":' * 50_000 + "1" + "}" * 50_000


def test_depth_ignores_brackets_in_strings():
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth('{"a": "\\"[[[["}') == 1
    assert json_depth(BOMB) == 100_000
    assert loads_limited('{"t": "[[[["}', max_depth=1) == {"t": "[[[["}


@pytest.mark.parametrize("line, max_chars, reason", [
    (BOMB, 10**6, "too_deep"),
    (OBJECT_BOMB, 10**6, "too_deep"),
    ("{'a': 1}", 50, "malformed_json"),
    ('{"a": "' + "x" * 100 + '"}', 50, "line_too_long"),
])
def test_limits_raise_one_value_error(line, max_chars, reason):
    with pytest.raises(JsonLimitError) as err:
        loads_limited(line, max_depth=64, max_chars=max_chars)
    assert isinstance(err.value, ValueError) and err.value.reason == reason


def test_a_decoder_recursion_error_is_a_value_error():
    # a depth limit set above the interpreter's recursion limit still gives a row, not a crash
    with pytest.raises(JsonLimitError) as err:
        loads_limited(BOMB, max_depth=10**6)
    assert err.value.reason == "too_deep"


def test_bomb_in_a_dump_is_one_row_and_every_good_line_is_kept(tmp_path):
    lines = (SAMPLE / "dumps" / "forum.jsonl").read_bytes().splitlines(keepends=True)
    bombed = tmp_path / "forum.jsonl"
    bombed.write_bytes(b"".join(lines[:3] + [BOMB.encode() + b"\n"] + lines[3:]))
    counts = RecordCounts()
    orig = list(iter_dump_docs(str(SAMPLE / "dumps" / "forum.jsonl")))
    out = list(iter_dump_docs(str(bombed), counts=counts))
    kept, rejected = split(out)
    orig_kept, orig_rejected = split(orig)
    assert [d.text for d in kept] == [d.text for d in orig_kept]
    bomb_rows = [r for r in rejected if r.reason == "too_deep"]
    assert len(bomb_rows) == 1 and len(rejected) == len(orig_rejected) + 1
    row = bomb_rows[0]
    assert (row.stage, row.input_file, row.offset) == (
        "parse", str(bombed), sum(len(x) for x in lines[:3]))
    assert row.detail == "line 4: brackets nest 100000 deep > 64"
    assert counts.rejected["too_deep"] == 1
    # the limit is a setting
    deeper = list(iter_dump_docs(str(bombed), config=DumpConfig(max_json_depth=200_000)))
    assert [r.reason for r in deeper if isinstance(r, RejectedRecord)].count("too_deep") == 1


def test_planner_survives_a_bomb_first_line_and_a_corrupt_gzip(tmp_path):
    listing = tmp_path / "shop.jsonl"
    listing.write_text(BOMB + "\n" + (SAMPLE / "ecommerce" / "listing.jsonl").read_text())
    dump = tmp_path / "forum.jsonl"
    dump.write_text(OBJECT_BOMB + "\n" + (SAMPLE / "dumps" / "forum.jsonl").read_text())
    broken = tmp_path / "qa.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"title": "t", "text": "x"}\n' * 50)[:40])
    plan = plan_inputs([str(tmp_path)])
    assert [Path(p).name for p in plan.listings] == ["shop.jsonl"]
    assert [Path(p).name for p in plan.dumps] == ["forum.jsonl", "qa.jsonl.gz"]


def test_bomb_in_a_listing_is_one_row_and_the_pairs_survive(tmp_path):
    shutil.copytree(SAMPLE / "ecommerce" / "images", tmp_path / "images")
    good = (SAMPLE / "ecommerce" / "listing.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "listing.jsonl").write_text(good[0] + BOMB + "\n" + "".join(good[1:]))
    (tmp_path / "orig.jsonl").write_text("".join(good))
    kept, rejected = split(ReadListingFile().process(str(tmp_path / "listing.jsonl")))
    orig_kept, orig_rejected = split(ReadListingFile().process(str(tmp_path / "orig.jsonl")))
    assert [p.text for p in kept] == [p.text for p in orig_kept] and len(kept) == 13
    bomb = [(r.reason, r.offset, r.detail) for r in rejected if r.offset == 2]
    assert bomb == [("bad_json", 2, "line 2: brackets nest 100000 deep > 64")]
    assert len(rejected) == len(orig_rejected) + 1
