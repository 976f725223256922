"""WARC/1.1 output of a crawl: ``request``, ``response`` and ``metadata`` records (warcio), one
gzip member per record, in a file that only appears under its final name once complete.

The file is written under ``DIR/_tmp/`` and renamed into ``DIR/warc/`` by ``close()``, so a run
killed at any moment leaves no partial WARC file where ``m6 corpus`` looks (the cc_net
``tmp`` + ``finalize`` pattern, as the corpus shards do). Each ``response`` record's offset and
length (of its gzip member) are returned for the fetch log, which is what Common Crawl's index
records too, so a record can be read back with one range request.

The stored HTTP headers are the ones received, except that ``Transfer-Encoding`` and
``Content-Encoding`` are dropped and ``Content-Length`` is set to the stored body: the client
asks for ``identity`` and de-chunks, and a reader must not try to de-chunk again (wget and
warcio's own capture do the same). The original values are kept as ``X-Crawler-*`` headers.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WARC_DIR = "warc"
TEMP_DIR = "_tmp"
_REWRITTEN = ("transfer-encoding", "content-encoding", "content-length")


class WarcOutput:
    """One WARC file being written. Thread-safe: the three records of one exchange are written
    together under a lock, so they stay adjacent in the file."""

    def __init__(self, folder: Path, name: str, software: str = "m6 crawl"):
        self.folder = Path(folder)
        self.name = name  # e.g. "crawl-<run>-r000-b00003.warc.gz"
        self.relative = f"{WARC_DIR}/{name}"
        (self.folder / TEMP_DIR).mkdir(parents=True, exist_ok=True)
        self._tmp = self.folder / TEMP_DIR / (name + ".tmp")
        self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed by close()/abort()
        self._writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
        self._lock = threading.Lock()
        self.records = 0
        info = self._writer.create_warcinfo_record(name, {"software": software,
                                                          "format": "WARC File Format 1.1"})
        self._writer.write_record(info)

    def write_exchange(self, url: str, *, request_line: str, request_headers: list[tuple[str,
                       str]], http_version: str, status: int, reason: str,
                       headers: list[tuple[str, str]], body: bytes, peer: str | None,
                       metadata: dict[str, str]) -> tuple[int, int]:
        """Write request, response and metadata records of one exchange; returns the response
        record's ``(offset, length)`` in the file."""
        kept = [(k, v) for k, v in headers if k.lower() not in _REWRITTEN]
        kept += [(f"X-Crawler-{k}", v) for k, v in headers
                 if k.lower() in ("transfer-encoding", "content-encoding")]
        kept.append(("Content-Length", str(len(body))))
        http = StatusAndHeaders(f"{status} {reason}".strip(), kept, protocol=http_version)
        warc_headers = {"WARC-IP-Address": peer} if peer else {}
        w = self._writer
        response = w.create_warc_record(url, "response", payload=io.BytesIO(body),
                                        length=len(body), http_headers=http,
                                        warc_headers_dict=warc_headers)
        req_http = StatusAndHeaders(request_line, request_headers, is_http_request=True)
        request = w.create_warc_record(url, "request", payload=io.BytesIO(b""), length=0,
                                       http_headers=req_http, warc_headers_dict=warc_headers)
        fields = "".join(f"{k}: {v}\r\n" for k, v in metadata.items()).encode()
        meta = w.create_warc_record(url, "metadata", payload=io.BytesIO(fields),
                                    length=len(fields),
                                    warc_content_type="application/warc-fields")
        rid = response.rec_headers.get_header("WARC-Record-ID")
        for rec in (request, meta):
            rec.rec_headers.add_header("WARC-Concurrent-To", rid)
        with self._lock:
            offset = self._file.tell()
            w.write_record(response)
            length = self._file.tell() - offset
            w.write_record(request)
            w.write_record(meta)
            self.records += 1
        return offset, length

    def close(self) -> str:
        """Flush, sync and rename into ``DIR/warc/``; returns the path relative to ``DIR``."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self.folder / self.relative
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, final)
        return self.relative

    def abort(self) -> None:
        """Drop the temporary file (nothing of it reaches ``DIR/warc/``)."""
        self._file.close()
        self._tmp.unlink(missing_ok=True)
