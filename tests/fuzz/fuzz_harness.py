"""Structure-aware fuzzing of the corpus readers and stages (issue 15.9), shared by
``tests/fuzz/test_fuzz.py`` (a fixed small budget in ``make test``) and ``bench/bench_fuzz.py``
(a longer run).

Each case takes a real input (the sample's and third-party WARC files, JSON-lines dumps, the image
listing, Pillow's test photos, a Parquet shard), mutates ONE unit of it (WARC record k, line k, the
image, the shard) with a named mutation class and a seed, runs the real corpus stages in-process
(``ReadCrawlFile`` -> ``ExtractHTML`` -> the cleaning stages; ``ReadDumpFile`` -> cleaning;
``ReadListingFile`` -> ``JoinImages`` -> ``ProcessImages``; ``ProcessImages.process_image``;
``m6 inspect`` and ``m6 report``'s reader) and checks the invariants of the house rules:

* no exception escapes a stage and no case runs past ``CASE_BUDGET_S`` (a hang detector, not a
  speed figure: those are in ``bench/``);
* every rejected row has a stage and a reason;
* no good record is lost: every unit the mutation did not touch has the outcome it had on the
  unmutated input (kept, or rejected with the same stage and reason), matched by URL for WARC
  records and by line for JSON lines;
* the mutated unit itself is kept or rejected, not dropped silently.

The class ``unchanged`` of every format runs the same check on the unmutated unit: the baseline
the bench's times are ratios of, and a check that the outcomes are deterministic. The seeds are
fixed (``random.Random(seed)`` per case), so a failure names the class and seed that reproduce it:
``run_case(formats()[fmt], cls, seed, work, Stages.create())``.
"""

from __future__ import annotations

import bisect
import contextlib
import gzip
import io
import json
import random
import re
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
FIXTURES = ROOT / "tests" / "fixtures"
CASE_BUDGET_S = 10.0

WARC_SEEDS = [SAMPLE / "crawl" / "crawl-00000.warc.gz", SAMPLE / "crawl" / "crawl-00002.warc",
              FIXTURES / "warc" / "dolma_sample-0000.warc.gz",
              FIXTURES / "warc" / "resiliparse_clueweb09-ja_quirk.warc.gz"]
DUMP_SEEDS = [SAMPLE / "dumps" / "forum.jsonl", SAMPLE / "dumps" / "community_qa.jsonl"]
LISTING_SEED = SAMPLE / "ecommerce" / "listing.jsonl"
IMAGE_SEEDS = [FIXTURES / "images" / n for n in ("hopper.jpg", "flower.jpg", "hopper.webp",
                                                  "hopper_resized.gif")]


class Hang(Exception):
    """A case ran past its budget."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise ``Hang`` in the main thread after ``seconds`` (Python code only: a C extension
    that never returns is caught when it does, and the case's time says so)."""
    def on_alarm(signum, frame):
        raise Hang(f"over {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --- mutations of one unit: bytes in, bytes out ------------------------------------------------

def flip_bytes(data: bytes, rng: random.Random, n: int | None = None) -> bytes:
    b = bytearray(data)
    for _ in range(n or rng.randint(1, 16)):
        if b:
            b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(max(1, len(data)))]


def splice(data: bytes, rng: random.Random) -> bytes:
    """A random slice of the unit copied over another place of it."""
    if len(data) < 4:
        return data
    i, j = sorted(rng.sample(range(len(data)), 2))
    at = rng.randrange(len(data))
    return data[:at] + data[i:j] + data[at + (j - i):]


def _warc_split(record: bytes) -> tuple[bytes, bytes]:
    head, _, block = record.partition(b"\r\n\r\n")
    return head, block


def _set_header(head: bytes, name: bytes, value: bytes) -> bytes:
    return re.sub(rb"(?im)^(" + name + rb":)[^\r\n]*", lambda m: m.group(1) + b" " + value,
                  head, count=1)


def _with_payload(block: bytes, payload: bytes) -> bytes:
    http, sep, _ = block.partition(b"\r\n\r\n")
    return http + sep + payload if sep else block


def _deep_html(depth: int) -> bytes:
    return (b"<html><body>" + b"<div>" * depth + "深层嵌套的页面".encode() + b"</div>" * depth
            + b"</body></html>")


def warc_mutations() -> dict[str, Callable[[bytes, random.Random], bytes]]:
    """WARC record (header block + ``\\r\\n\\r\\n`` + block, without the trailing CRLFs) ->
    mutated record. The Content-Length is fixed up unless the class is about lying lengths."""
    def fixed(fn):
        def mutate(record: bytes, rng: random.Random) -> bytes:
            head, block = _warc_split(record)
            block = fn(block, rng)
            return _set_header(head, b"Content-Length", str(len(block)).encode()) + \
                b"\r\n\r\n" + block
        return mutate

    def head_only(fn):
        def mutate(record: bytes, rng: random.Random) -> bytes:
            head, block = _warc_split(record)
            return fn(head, rng) + b"\r\n\r\n" + block
        return mutate

    def length_short(record, rng):
        head, block = _warc_split(record)
        n = rng.randrange(1, max(2, len(block)))
        return _set_header(head, b"Content-Length", str(n).encode()) + b"\r\n\r\n" + block

    def length_long(record, rng):
        head, block = _warc_split(record)
        n = len(block) + rng.randrange(1, 4096)
        return _set_header(head, b"Content-Length", str(n).encode()) + b"\r\n\r\n" + block

    def length_garbage(record, rng):
        head, block = _warc_split(record)
        value = rng.choice([b"-1", b"abc", b"99999999999999999999", b"", b"0x10", b"1e3"])
        return _set_header(head, b"Content-Length", value) + b"\r\n\r\n" + block

    return {
        "unchanged": lambda record, rng: record,
        "payload_flip": fixed(lambda b, rng: flip_bytes(b, rng)),
        "payload_truncate": fixed(truncate),
        "payload_splice": fixed(splice),
        "http_header_garbage": fixed(lambda b, rng: flip_bytes(b[:200], rng, 8) + b[200:]),
        "warc_header_garbage": head_only(lambda h, rng: flip_bytes(h, rng, 4)),
        "charset_lie": fixed(lambda b, rng: re.sub(
            rb"(?i)charset=[\w-]+", rng.choice([b"charset=utf-16", b"charset=x-nonsense",
                                                 b"charset=utf-32be"]), b, count=1)),
        "nul_payload": fixed(lambda b, rng: _with_payload(b, b"\x00" * rng.randrange(1, 65536))),
        "long_line": fixed(lambda b, rng: _with_payload(b, b"<p>" + "长".encode() * 400_000)),
        # Classes whose defences are budgets and lying-length checks (issue 15.1, 15.7).
        "deep_html": fixed(lambda b, rng: _with_payload(b, _deep_html(20_000))),
        "content_length_short": length_short,
        "content_length_long": length_long,
        "content_length_garbage": length_garbage,
    }


def _object(line: bytes) -> dict:
    """The line's JSON object, or a fresh one when the seed line is itself broken on purpose."""
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    return obj if isinstance(obj, dict) else {"image": "images/mug.jpg", "text": "白色陶瓷马克杯"}


def line_mutations() -> dict[str, Callable[[bytes, random.Random], bytes]]:
    """One JSON line (no newline) -> a mutated line (still one line: line numbers stay)."""
    def retype(line, rng):
        obj = _object(line)
        key = rng.choice(sorted(obj))
        obj[key] = rng.choice([5, 1.5e308, None, True, [], {"a": [1]}, ["x"] * 3])
        return json.dumps(obj, ensure_ascii=False).encode()

    def huge_text(line, rng):
        obj = _object(line)
        obj["text"] = "长文本" * 400_000
        return json.dumps(obj, ensure_ascii=False).encode()

    def one_line(fn):
        return lambda line, rng: fn(line, rng).replace(b"\n", b" ").replace(b"\r", b" ") or b"x"

    return {name: one_line(fn) for name, fn in {
        "unchanged": lambda line, rng: line,
        "line_flip": lambda line, rng: flip_bytes(line, rng),
        "line_truncate": lambda line, rng: truncate(line, rng),
        "invalid_utf8": lambda line, rng: line[:10] + b"\xff\xfe\xc3\x28" + line[10:],
        "wrong_types": retype,
        "not_an_object": lambda line, rng: rng.choice([b"42", b'"text"', b"null", b"[1,2]"]),
        "control_chars": lambda line, rng: line.replace("，".encode(), b"\x00\x1b[2J\x07", 3),
        "huge_text": huge_text,
        # A budget class (issue 15.4): nesting deeper than the parser's recursion limit.
        "deep_json": lambda line, rng: b"[" * 100_000 + b"]" * 100_000,
        "deep_json_value": lambda line, rng: line[:-1] + b', "x": ' + b"{\"a\":" * 50_000 +
        b"1" + b"}" * 50_000 + b"}",
    }.items()}


def listing_mutations() -> dict[str, Callable[[bytes, random.Random], bytes]]:
    """Line mutations plus the confinement attacks of issue 15.3 on the image path."""
    def image(ref: str):
        def mutate(line, rng):
            obj = _object(line)
            obj["image"] = ref
            return json.dumps(obj, ensure_ascii=False).encode()
        return mutate

    return {**line_mutations(),
            "path_absolute": image("/etc/passwd"),
            "path_dotdot": image("../../../../../../etc/passwd"),
            "path_file_url": image("file:///proc/self/environ"),
            "path_chained": image("simplecache::http://127.0.0.1:9/x.jpg"),
            "path_unknown_protocol": image("gopher://127.0.0.1/x.jpg")}


def image_mutations() -> dict[str, Callable[[bytes, random.Random], bytes]]:
    def lie_size(data, rng):
        # A PNG/GIF/JPEG header that declares a huge canvas: the pixel limit must hold.
        b = bytearray(data)
        for marker in (b"\xff\xc0", b"\xff\xc2"):
            i = b.find(marker)
            if i > 0 and i + 9 < len(b):
                b[i + 5:i + 9] = b"\xff\xff\xff\xff"
        if b[:6] in (b"GIF87a", b"GIF89a"):
            b[6:10] = b"\xff\xff\xff\xff"
        return bytes(b)

    return {"unchanged": lambda d, rng: d,
            "image_flip": lambda d, rng: flip_bytes(d, rng, rng.randint(1, 64)),
            "image_truncate": truncate, "image_splice": splice, "image_size_lie": lie_size}


def parquet_mutations() -> dict[str, Callable[[bytes, random.Random], bytes]]:
    def footer_flip(data, rng):
        tail = max(8, len(data) // 20)
        return data[:-tail] + flip_bytes(data[-tail:-8], rng, 4) + data[-8:]

    return {"unchanged": lambda d, rng: d,
            "parquet_flip": lambda d, rng: flip_bytes(d, rng, rng.randint(1, 32)),
            "parquet_truncate": truncate, "parquet_footer_flip": footer_flip}


# --- splitting and joining units ---------------------------------------------------------------

def warc_records(data: bytes) -> list[bytes]:
    """The records of an uncompressed WARC, each without its trailing ``\\r\\n\\r\\n``."""
    records, pos = [], 0
    while pos < len(data):
        end = data.index(b"\r\n\r\n", pos)
        m = re.search(rb"(?im)^Content-Length:\s*(\d+)", data[pos:end])
        if m:
            stop = end + 4 + int(m.group(1))
        else:  # a record the seed itself breaks on purpose: it ends where the next begins
            nxt = data.find(b"\r\n\r\nWARC/", end)
            stop = nxt if nxt >= 0 else len(data)
        records.append(data[pos:stop])
        pos = stop
        while data[pos:pos + 2] == b"\r\n":
            pos += 2
    return records


def read_warc(path: Path) -> tuple[list[bytes], bool]:
    raw = path.read_bytes()
    gz = raw[:2] == b"\x1f\x8b"
    return warc_records(gzip.decompress(raw) if gz else raw), gz


def write_warc(records: list[bytes], path: Path, gz: bool) -> None:
    with path.open("wb") as f:
        for r in records:
            f.write(gzip.compress(r + b"\r\n\r\n", mtime=0) if gz else r + b"\r\n\r\n")


def target_uri(record: bytes) -> str | None:
    m = re.search(rb"(?im)^WARC-Target-URI:\s*<?([^\s>]+)", _warc_split(record)[0])
    return m.group(1).decode("utf-8", "replace") if m else None


# --- running the real stages -------------------------------------------------------------------

@dataclass
class Stages:
    """The corpus stages, set up once per process."""

    extract: Any = None
    clean: list = field(default_factory=list)
    images: Any = None

    @classmethod
    def create(cls) -> Stages:
        from corpus.clean import clean_stages
        from corpus.config import CorpusConfig
        from corpus.extract.html import ExtractHTML
        from corpus.images.process import ProcessImages

        cfg = CorpusConfig()
        s = cls(ExtractHTML(cfg.extract), clean_stages(cfg.clean), ProcessImages())
        for stage in [s.extract, *s.clean, s.images]:
            stage.setup()
        return s

    def through(self, stages: list, record: Any) -> list[str]:
        """Outcomes of one record through ``stages``: ``kept`` or ``stage:reason`` each."""
        from schemas import RejectedRecord

        records, outcomes = [record], []
        for stage in stages:
            nxt = []
            for r in records:
                for o in stage.process(r):
                    if isinstance(o, RejectedRecord):
                        outcomes.append(rejected_outcome(o))
                    else:
                        nxt.append(o)
            records = nxt
        return outcomes + ["kept"] * len(records)


def rejected_outcome(row: Any) -> str:
    if not row.stage or not row.reason:
        raise AssertionError(f"a rejected row without a stage or reason: {row!r}"[:300])
    return f"{row.stage}:{row.reason}"


def crawl_outcomes(path: Path, st: Stages) -> tuple[Counter, int]:
    """``Counter((url, outcome))`` of every record of a crawl file, and how many outputs the
    reader gave."""
    from corpus.readers import ReadCrawlFile, is_html_page
    from schemas import RejectedRecord

    out: Counter = Counter()
    n = 0
    for r in ReadCrawlFile().process(str(path)):
        n += 1
        if isinstance(r, RejectedRecord):
            out[(r.url, rejected_outcome(r))] += 1
        elif is_html_page(r):
            for o in st.through([st.extract, *st.clean], r):
                out[(r.url, o)] += 1
        else:
            out[(r.url, "image")] += 1
    return out, n


def line_starts(data: bytes) -> list[int]:
    starts, pos = [0], 0
    while (i := data.find(b"\n", pos)) >= 0:
        starts.append(i + 1)
        pos = i + 1
    return starts


def dump_outcomes(path: Path, st: Stages) -> dict[int, list[str]]:
    """Line number -> outcomes, for a JSON-lines dump through the reader and cleaning."""
    from corpus.readers import ReadDumpFile
    from schemas import RejectedRecord

    starts = line_starts(path.read_bytes())
    out: dict[int, list[str]] = {}
    for r in ReadDumpFile().process(str(path)):
        line = bisect.bisect_right(starts, r.offset or 0) - 1
        got = [rejected_outcome(r)] if isinstance(r, RejectedRecord) else st.through(st.clean, r)
        out.setdefault(line, []).extend(got)
    return out


def listing_outcomes(path: Path, st: Stages) -> dict[int, list[str]]:
    """Line number -> outcomes, for a listing through reading, the join and the image stage."""
    from corpus.images.join import JoinImages
    from corpus.images.listing import ReadListingFile
    from schemas import RejectedRecord

    out: dict[int, list[str]] = {}
    by_image: dict[str, list] = {}
    for r in ReadListingFile().process(str(path)):
        if isinstance(r, RejectedRecord):
            out.setdefault(r.offset - 1, []).append(rejected_outcome(r))
        else:
            by_image.setdefault(r.image_path or r.image_url, []).append(r)
    join = JoinImages()
    for key, pairs in sorted(by_image.items()):
        for job in join.job(key, pairs, []):
            for o in st.images.process(job):
                line = next(p.offset for p in pairs if p.id == o.id) - 1
                out.setdefault(line, []).append(
                    rejected_outcome(o) if isinstance(o, RejectedRecord) else "kept")
    return out


# --- one case ----------------------------------------------------------------------------------

@dataclass
class Result:
    fmt: str
    cls: str
    seed: int
    problem: str | None
    seconds: float


class Format:
    """One input format: its seeds, mutation classes and the check of one case."""

    name: str = ""

    def classes(self) -> dict[str, Callable[[bytes, random.Random], bytes]]:
        raise NotImplementedError

    def check(self, cls: str, seed: int, work: Path, st: Stages) -> None:
        raise NotImplementedError


class WarcFormat(Format):
    name = "warc"

    def __init__(self):
        self._baseline: dict[Path, tuple[list[bytes], bool, Counter, int]] = {}

    def classes(self):
        return warc_mutations()

    def baseline(self, seed_file: Path, work: Path, st: Stages):
        if seed_file not in self._baseline:
            records, gz = read_warc(seed_file)
            path = work / ("base" + (".warc.gz" if gz else ".warc"))
            write_warc(records, path, gz)
            self._baseline[seed_file] = (records, gz, *crawl_outcomes(path, st))
        return self._baseline[seed_file]

    def check(self, cls, seed, work, st):
        rng = random.Random(seed)
        seed_file = WARC_SEEDS[seed % len(WARC_SEEDS)]
        records, gz, before, n_before = self.baseline(seed_file, work, st)
        candidates = [i for i, r in enumerate(records) if b"WARC-Type: response" in r[:400]]
        k = rng.choice(candidates)
        mutated = list(records)
        mutated[k] = self.classes()[cls](records[k], rng)
        path = work / ("case" + (".warc.gz" if gz else ".warc"))
        write_warc(mutated, path, gz)
        after, n_after = crawl_outcomes(path, st)
        touched = target_uri(records[k])
        lost = [(url, o, n) for (url, o), n in before.items()
                if url != touched and after[(url, o)] < n]
        if lost:
            raise AssertionError(f"{seed_file.name} record {k} ({touched}) mutated: "
                                 f"{len(lost)} good outcomes lost, e.g. {lost[0]}")
        if cls == "content_length_short" and not any(
                o.endswith(":truncated_record") for (url, o) in after if url == touched):
            raise AssertionError(f"{seed_file.name} record {k} ({touched}): a Content-Length "
                                 "shorter than the block is not a truncated_record row")
        # The touched record gives an output (kept or rejected), unless it became a record
        # that is rightly skipped (its WARC-Type garbled into a non-response type).
        if n_after < n_before - 1:
            raise AssertionError(f"{seed_file.name} record {k}: {n_before} outputs before, "
                                 f"{n_after} after")


class LinesFormat(Format):
    """JSON lines: a dump (``ReadDumpFile``) or an image listing (``ReadListingFile``)."""

    def __init__(self, name: str, seeds: list[Path]):
        self.name = name
        self.seeds = seeds
        self._baseline: dict[Path, tuple[list[bytes], dict]] = {}

    def classes(self):
        return listing_mutations() if self.name == "listing" else line_mutations()

    def outcomes(self, path: Path, st: Stages):
        return listing_outcomes(path, st) if self.name == "listing" else dump_outcomes(path, st)

    def place(self, seed_file: Path, work: Path, data: bytes) -> Path:
        folder = work / self.name
        if not folder.exists():
            folder.mkdir()
            if (seed_file.parent / "images").is_dir():  # copied: a link out is refused
                shutil.copytree(seed_file.parent / "images", folder / "images")
        path = folder / seed_file.name
        path.write_bytes(data)
        return path

    def check(self, cls, seed, work, st):
        rng = random.Random(seed)
        seed_file = self.seeds[seed % len(self.seeds)]
        if seed_file not in self._baseline:
            data = seed_file.read_bytes()
            self._baseline[seed_file] = (data.split(b"\n"),
                                         self.outcomes(self.place(seed_file, work, data), st))
        lines, before = self._baseline[seed_file]
        k = rng.choice([i for i, line in enumerate(lines) if line.strip()])
        mutated = list(lines)
        mutated[k] = self.classes()[cls](lines[k], rng)
        after = self.outcomes(self.place(seed_file, work, b"\n".join(mutated)), st)
        lost = [(i, o) for i, o in before.items() if i != k and after.get(i) != o]
        if lost:
            i, o = lost[0]
            raise AssertionError(f"{seed_file.name} line {k + 1} mutated: {len(lost)} good lines "
                                 f"changed, e.g. line {i + 1}: {o} -> {after.get(i)}")
        if not after.get(k):
            raise AssertionError(f"{seed_file.name} line {k + 1} mutated: neither kept nor "
                                 "rejected")
        if self.name == "listing":
            for o in after[k]:
                if cls.startswith("path_") and o == "kept":
                    raise AssertionError(f"line {k + 1}: {cls} was kept")


class ImageFormat(Format):
    name = "image"

    def classes(self):
        return image_mutations()

    def check(self, cls, seed, work, st):
        from corpus.images.filters import ImageInfo
        from corpus.images.process import ImageRejection, ProcessedImage

        rng = random.Random(seed)
        data = self.classes()[cls](IMAGE_SEEDS[seed % len(IMAGE_SEEDS)].read_bytes(), rng)
        got = st.images.process_image(data, ImageInfo("fuzz", "ecommerce", ("商品图片",)))
        if not isinstance(got, (ProcessedImage, ImageRejection)):
            raise AssertionError(f"process_image gave {type(got).__name__}")
        if isinstance(got, ImageRejection) and not (got.stage and got.reason):
            raise AssertionError(f"an image rejection without a reason: {got}")


class ParquetFormat(Format):
    """A text shard of the sample's dumps, mutated, read by ``m6 inspect`` and ``m6 report``."""

    name = "parquet"

    def __init__(self):
        self._shard: bytes | None = None
        self.rows = 0

    def classes(self):
        return parquet_mutations()

    def shard(self) -> bytes:
        if self._shard is None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            from corpus.readers import ReadDumpFile
            from schemas import TEXT_SCHEMA, RejectedRecord

            # The columns every text row has; the nullable rest stay null.
            rows = [{"id": d.id, "source": d.source, "url": d.url, "title": d.title,
                     "text": d.text, "n_chars": len(d.text), "n_tokens": len(d.text),
                     "input_file": d.input_file}
                    for d in ReadDumpFile().process(str(DUMP_SEEDS[0]))
                    if not isinstance(d, RejectedRecord)]
            buf = io.BytesIO()
            self.rows = len(rows)
            pq.write_table(pa.Table.from_pylist(rows, schema=TEXT_SCHEMA), buf,
                           row_group_size=8, compression="zstd")
            self._shard = buf.getvalue()
        return self._shard

    def check(self, cls, seed, work, st):
        from corpus.inspect import main as inspect_main
        from corpus.inspect.files import InspectError
        from report.collect import collect

        rng = random.Random(seed)
        folder = work / "pq"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "text").mkdir(parents=True)
        shard = "text/part-00000-of-00001-000.parquet"
        path = folder / shard
        path.write_bytes(self.classes()[cls](self.shard(), rng))
        # The manifest of the run that wrote it, so the report reads the shard (the manifest is
        # what says a corpus folder is complete; the bytes under it are what is fuzzed).
        (folder / "manifest.json").write_text(json.dumps({
            "files": {"text": [{"path": shard, "rows": self.rows}], "image_text": [],
                      "rejected": []},
            "rows": {"text": self.rows, "image_text": 0, "rejected": 0}}))
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            for argv in ([str(path), "--head", "3", "--stats"], [str(path), "--validate"],
                         [str(path), "--where", "n_chars > 20", "--head", "2"]):
                rc = inspect_main(argv)
                if rc not in (0, 1, 2):
                    raise AssertionError(f"m6 inspect {argv[1:]} exited {rc}")
                if "Traceback" in sink.getvalue():
                    raise AssertionError(f"m6 inspect {argv[1:]} printed a traceback")
            try:
                collect(str(folder), samples=0)
            except InspectError as e:
                if "manifest" in str(e):  # the manifest above is one this m6 does not accept
                    raise AssertionError(f"the report did not read the shard: {e}") from None


FORMATS: dict[str, Format] = {}


def formats() -> dict[str, Format]:
    if not FORMATS:
        for f in (WarcFormat(), LinesFormat("dump", DUMP_SEEDS),
                  LinesFormat("listing", [LISTING_SEED]), ImageFormat(), ParquetFormat()):
            FORMATS[f.name] = f
    return FORMATS


def run_case(fmt: Format, cls: str, seed: int, work: Path, st: Stages,
             budget: float = CASE_BUDGET_S) -> Result:
    t0 = time.perf_counter()
    try:
        with deadline(budget):
            fmt.check(cls, seed, work, st)
        problem = None
    except Exception as e:  # noqa: BLE001 - every failure of a case is a finding, reported
        problem = f"{type(e).__name__}: {e}"[:400]
    seconds = time.perf_counter() - t0
    if problem is None and seconds > budget:
        problem = f"Hang: {seconds:.1f} s > {budget:.0f} s (in C code, uninterruptible)"
    return Result(fmt.name, cls, seed, problem, seconds)


def run_all(seeds_per_class: int, first_seed: int = 0, only: set[str] | None = None,
            budget: float = CASE_BUDGET_S, log: Callable[[Result], None] | None = None,
            caps: dict[str, int] | None = None) -> list[Result]:
    """Every class of every format with ``seeds_per_class`` seeds each (``caps``: fewer for the
    named classes)."""
    import logging

    logging.getLogger().setLevel(logging.WARNING)  # the readers log a line per file
    st = Stages.create()
    results = []
    with tempfile.TemporaryDirectory(prefix="m6-fuzz-") as tmp:
        for fmt in formats().values():
            work = Path(tmp) / fmt.name
            work.mkdir()
            for cls in fmt.classes():
                if only and cls not in only and fmt.name not in only:
                    continue
                n = min(seeds_per_class, (caps or {}).get(cls, seeds_per_class))
                for seed in range(first_seed, first_seed + n):
                    r = run_case(fmt, cls, seed, work, st, budget)
                    results.append(r)
                    if log:
                        log(r)
    return results
