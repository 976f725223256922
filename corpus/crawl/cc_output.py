"""The output folder of ``m6 crawl cc``: WARC files, the fetch log, resumption and the manifest.

Layout of ``DIR``::

    config.json             the resolved settings (written first)
    selection/part-00000.parquet   the selected index rows (``m6 inspect`` them before fetching)
    warc/<source>-<digest>.warc.gz the fetched records, gzip members as the source had them
    log/<source>-<digest>.parquet  one row per record tried: the fetch log of both crawl routes
                            (``corpus.crawl.fetch_log``) plus the record's index entry
    manifest.json           written last: files, record counts, statuses

A batch is the records of one source WARC file fetched in one run. Its WARC file is written under
a temporary name and renamed when complete, then its log is written the same way: a batch is done
when its log exists, and a WARC file without its log is the remains of a killed run, removed by
the next run before anything else (as are temporary files and the manifest), so a run killed at
any moment and run again ends with the same records and never a partial WARC file (cc_net's
``tmp`` + ``finalize``; ``m6 corpus`` does the same with its shards). Names are deterministic: the
source file's name and a digest of the source path and the offsets in the batch.

A record is done when its latest log row has a final status (``ok``, ``range_mismatch``,
``http_404``, ...); a rerun fetches every selected record that is not done, so records that hit a
retryable status (``http_503``, ``timeout``, ...) after all retries are tried again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.crawl.cc_fetch import RETRYABLE, RangeResult
from corpus.crawl.fetch_log import FETCH_LOG_SCHEMA

# The fetch log both crawl routes write (``corpus.crawl.fetch_log``), plus where each record came
# from: one query over DIR/log audits either route, and a cc row also names its index entry.
LOG_SCHEMA = pa.schema([*FETCH_LOG_SCHEMA,
                        pa.field("crawl", pa.string()),
                        pa.field("source_warc", pa.string()),  # the index row's warc_filename
                        pa.field("source_offset", pa.int64()),  # its warc_record_offset
                        pa.field("source_length", pa.int64())])  # its warc_record_length
CONFIG, MANIFEST, SELECTION, WARC, LOG = "config.json", "manifest.json", "selection", "warc", "log"
MANIFEST_KIND = "m6 crawl"  # with "source", how m6 corpus tells a crawl folder's source
_TMP = ".tmp-"


class OutputDir:
    """``DIR`` on any fsspec filesystem."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def _ls(self, sub: str) -> list[str]:
        d = self.path(sub)
        if not self.fs.isdir(d):
            return []
        return sorted(p.rsplit("/", 1)[-1] for p in self.fs.ls(d, detail=False))

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``rel`` atomically: a temporary name in the same folder, renamed."""
        folder, _, name = rel.rpartition("/")
        final = self.path(rel)
        tmp = self.path(*(p for p in (folder, f"{_TMP}{name}") if p))
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(tmp, "wb") as f:
            f.write(data)
        self.fs.mv(tmp, final)

    def read_text(self, rel: str) -> str | None:
        p = self.path(rel)
        if not self.fs.exists(p):
            return None
        with self.fs.open(p, "rb") as f:
            return f.read().decode("utf-8")

    def clean_partial(self) -> list[str]:
        """Remove what a killed run may have left: temporary files, WARC files whose log was
        never written, the manifest of an earlier run. Returns what was removed."""
        removed = []
        logs = {n[:-len(".parquet")] for n in self._ls(LOG) if n.endswith(".parquet")}
        for sub in (WARC, LOG, SELECTION, ""):
            for name in self._ls(sub):
                stem = name[:-len(".warc.gz")] if name.endswith(".warc.gz") else None
                if name.startswith(_TMP) or (sub == WARC and stem not in logs):
                    self.fs.rm(self.path(sub, name) if sub else self.path(name))
                    removed.append(f"{sub}/{name}" if sub else name)
        if self.fs.exists(self.path(MANIFEST)):
            self.fs.rm(self.path(MANIFEST))
        return removed

    def log_table(self) -> pa.Table:
        """Every log row written so far (all batches of all runs)."""
        tables = []
        for name in self._ls(LOG):
            if name.endswith(".parquet") and not name.startswith(_TMP):
                with self.fs.open(self.path(LOG, name), "rb") as f:
                    tables.append(pq.read_table(f, schema=LOG_SCHEMA))
        return pa.concat_tables(tables) if tables else LOG_SCHEMA.empty_table()

    def done(self) -> set[str]:
        """``record_key`` of every selected row whose fetch has a final status."""
        log = self.log_table()
        return {u for u, s in zip(log.column("url").to_pylist(), log.column("status").to_pylist())
                if s not in RETRYABLE}


def record_key(row: dict) -> str:
    """What identifies a selected row: its URL (a selection holds each URL once; two rows of a
    stale index may point at the same bytes, and only one of them can be right)."""
    return row["url"]


def _host(url: str) -> str:
    """``scheme://host[:port]``, the fetch log's ``host`` (as ``m6 crawl urls`` writes it); user
    info is left out, and a URL from the index that cannot be split still gets a value."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme.lower()}://{parts.hostname or ''}{port}"


def batch_stem(warc_filename: str, offsets: Iterable[int]) -> str:
    """``<source name>-<digest>``: the same batch gets the same name at every run."""
    name = warc_filename.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".warc.gz", ".gz", ".warc"):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    key = warc_filename + ":" + ",".join(str(o) for o in sorted(offsets))
    return f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def write_batch(out: OutputDir, warc_filename: str, rows: list[dict],
                results: list[RangeResult], run_id: str | None = None) -> list[dict]:
    """Write the fetched members of one batch (rows sorted by offset, results beside them) as
    one WARC file, then its log. Returns the log rows."""
    stem = batch_stem(warc_filename, (r["warc_record_offset"] for r in rows))
    warc_rel = f"{WARC}/{stem}.warc.gz"
    members, log_rows, pos = [], [], 0
    for row, res in zip(rows, results):
        ok = res.ok
        size = len(res.body) if ok else 0
        log_rows.append({name: None for name in LOG_SCHEMA.names} | {
            "url": row["url"], "host": _host(row["url"]), "status": res.status,
            "http_status": res.http_status, "bytes": size, "attempts": res.attempts,
            "fetched_at": res.started_at, "elapsed_s": round(res.elapsed_s, 6),
            "warc_file": warc_rel if ok else None, "warc_offset": pos if ok else None,
            "warc_length": size if ok else None, "detail": res.detail, "run_id": run_id,
            "crawl": row.get("crawl"), "source_warc": warc_filename,
            "source_offset": row["warc_record_offset"],
            "source_length": row["warc_record_length"],
        })
        if ok:
            members.append(res.body)
            pos += len(res.body)
    if members:
        out.write_bytes(warc_rel, b"".join(members))
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(log_rows, schema=LOG_SCHEMA), sink)
    out.write_bytes(f"{LOG}/{stem}.parquet", sink.getvalue().to_pybytes())
    return log_rows


def write_selection(out: OutputDir, table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    rel = f"{SELECTION}/part-00000.parquet"
    out.write_bytes(rel, sink.getvalue().to_pybytes())
    return rel


def read_selection(out: OutputDir) -> pa.Table | None:
    p = out.path(SELECTION, "part-00000.parquet")
    if not out.fs.exists(p):
        return None
    with out.fs.open(p, "rb") as f:
        return pq.read_table(f)


def write_manifest(out: OutputDir, selected: int) -> dict:
    """Summarise every log row into ``manifest.json``, written last: a crawl folder with a
    manifest is complete for the records it counts."""
    log = out.log_table()
    statuses = log.column("status").to_pylist()
    # one status per record: ok over any other final status over a retryable one (a record
    # tried in several runs has several rows)
    rank = {"ok": 2}
    latest: dict[str, str] = {}
    for key, s in zip(log.column("url").to_pylist(), statuses):
        old = latest.get(key)
        if old is None or rank.get(s, s not in RETRYABLE) > rank.get(old, old not in RETRYABLE):
            latest[key] = s
    files = sorted(f"{WARC}/{n}" for n in out._ls(WARC) if n.endswith(".warc.gz"))
    counts = Counter(latest.values())
    manifest = {
        "kind": MANIFEST_KIND, "route": "cc", "source": "common_crawl", "version": 1,
        "selected": selected,
        "records": counts.get("ok", 0),
        "bytes": int(sum(b for b, s in zip(log.column("bytes").to_pylist(), statuses)
                         if s == "ok")),
        "statuses": dict(sorted(counts.items())),
        # selected records without a final status: a rerun into DIR fetches them
        "not_done": selected - sum(v for k, v in counts.items() if k not in RETRYABLE),
        "warc_files": files,
    }
    out.write_bytes(MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest
