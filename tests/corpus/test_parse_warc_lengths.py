"""corpus.parse.warc and lying lengths: a record whose Content-Length is shorter than its block
is rejected as ``truncated_record`` under its own URL, and every other record of the file is read
intact, in gzipped and plain WARCs (real dolma WARC bytes, edited to lie)."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import pytest

from corpus.parse.counts import RecordCounts
from corpus.parse.warc import iter_records
from schemas import RejectedRecord

DOLMA = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "warc" / \
    "dolma_sample-0000.warc.gz"


def members(data: bytes) -> list[bytes]:
    """The records of a record-per-member WARC.gz, inflated."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(data[pos:]))
        pos = len(data) - len(d.unused_data)
    return out


def url_of(record: bytes) -> str:
    return re.search(rb"WARC-Target-URI: <?([^\s>]+)", record).group(1).decode()


def lie(record: bytes, short_by: int, *, digest: bool = True) -> bytes:
    head, sep, block = record.partition(b"\r\n\r\n")
    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % (n - short_by), head)
    if not digest:
        head = re.sub(rb"\r\nWARC-Block-Digest: [^\r]*", b"", head)
    return head + sep + block


def responses(records: list[bytes]) -> list[int]:
    return [i for i, r in enumerate(records) if b"WARC-Type: response" in r[:400]]


def write(tmp_path: Path, records: list[bytes], compress: bool) -> Path:
    path = tmp_path / ("lie.warc.gz" if compress else "lie.warc")
    path.write_bytes(b"".join(gzip.compress(r) for r in records) if compress
                     else b"".join(records))
    return path


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("which, short_by, digest", [(2, 500, True), (5, 40, True),
                                                     (2, 3000, False), (-1, 500, True)])
def test_short_content_length_is_rejected_with_its_own_url(tmp_path, compress, which, short_by,
                                                           digest):
    records = members(DOLMA.read_bytes())
    target = responses(records)[which]
    edited = records[:target] + [lie(records[target], short_by, digest=digest)] \
        + records[target + 1:]
    path = write(tmp_path, edited, compress)
    offset = sum(len(gzip.compress(r)) if compress else len(r) for r in edited[:target])
    (tmp_path / "clean").mkdir()
    clean = write(tmp_path / "clean", records, compress)
    truth = {p.url: p for p in iter_records(str(clean))}
    counts = RecordCounts()
    out = list(iter_records(str(path), counts=counts))
    rejected = [r for r in out if isinstance(r, RejectedRecord)]
    pages = [p for p in out if not isinstance(p, RejectedRecord)]
    assert [(r.reason, r.url, r.stage) for r in rejected] == [
        ("truncated_record", url_of(records[target]), "parse")]
    assert rejected[0].offset == offset and rejected[0].input_file == str(path)
    assert "Content-Length" in rejected[0].detail
    # every other page is read whole, byte for byte
    assert [p.url for p in pages] == [u for u in truth if u != url_of(records[target])]
    assert all(p.body == truth[p.url].body for p in pages)
    assert counts.kept == len(pages) and counts.rejected == {"truncated_record": 1}
