"""What a run into a crawl folder still has to do, read from the folder itself (issue 14.4).

The fetch log is the crawl's state: no separate queue file exists that could disagree with it.
At the start of a run ``clean_partial`` removes what a killed run may have left (temporary
files, a WARC file whose log part was never committed, the manifest, which is written last and
so only exists for a finished run); ``plan_round`` then takes the seeds, the redirect targets
and in-scope links found so far, and removes every URL the log says is done. A URL is done once
it has a row with a final status (``ok``, ``http_404``, ``robots_disallowed``, ...); a row with a
transient status (``robots_unavailable``, ``timeout``, ``http_503``, ...) counts as done only
within the run that wrote it, so the next run tries again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from corpus.crawl.fetch_log import LOG_DIR, read_log
from corpus.crawl.host import HostState, Item
from corpus.crawl.urls import origin
from corpus.crawl.warc_out import TEMP_DIR, WARC_DIR

MANIFEST = "manifest.json"
CONFIG = "config.json"
RETRY_ON_RERUN = frozenset({
    "robots_unavailable", "timeout", "connection_error", "dns_error", "ssl_error", "error",
    "http_408", "http_429", "http_500", "http_502", "http_503", "http_504",
})
# statuses that are not a page request: they do not use the host's page budget
NOT_REQUESTED = frozenset({"robots_disallowed", "robots_unavailable", "page_cap",
                           "too_many_redirects", "redirect_loop", "blocked_address",
                           "blocked_scheme"})


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def clean_partial(folder: Path) -> list[str]:
    """Remove what a killed run left; returns the relative paths removed."""
    folder = Path(folder)
    removed = []
    (folder / MANIFEST).unlink(missing_ok=True)
    if (folder / TEMP_DIR).exists():
        shutil.rmtree(folder / TEMP_DIR)
        removed.append(TEMP_DIR)
    committed = {p.stem for p in (folder / LOG_DIR).glob("*.parquet")}
    for warc in sorted((folder / WARC_DIR).glob("*.warc.gz")):
        if warc.name[: -len(".warc.gz")] not in committed:
            warc.unlink()
            removed.append(f"{WARC_DIR}/{warc.name}")
    return removed


@dataclass
class RoundPlan:
    items: list[Item]
    hosts: dict[str, HostState]


def plan_round(seeds: list[Item], log: pa.Table, cfg_depth: int, max_pages_per_host: int,
               run_id: str) -> RoundPlan:
    """The URLs still to crawl, each with the smallest depth it was found at, and the state of
    each of their hosts."""
    rows = log.select(["url", "host", "status", "fetched_at", "location", "depth", "hops",
                       "links", "run_id", "attempts"]).to_pylist()
    done: set[str] = set()
    pages: Counter[str] = Counter()
    last: dict[str, float] = {}
    wanted: dict[str, Item] = {}

    def want(item: Item) -> None:
        old = wanted.get(item.url)
        if old is None or (item.depth, item.hops) < (old.depth, old.hops):
            wanted[item.url] = item

    for s in seeds:
        want(s)
    for r in rows:
        if r["status"] not in RETRY_ON_RERUN or r["run_id"] == run_id:
            done.add(r["url"])
        if r["status"] not in NOT_REQUESTED:
            pages[r["host"]] += 1
        if r["attempts"]:
            last[r["host"]] = max(last.get(r["host"], 0.0), r["fetched_at"] or 0.0)
        if r["status"] == "redirect" and r["location"]:
            want(Item(r["location"], r["depth"] or 0, (r["hops"] or 0) + 1))
        if (r["depth"] or 0) < cfg_depth:
            for link in r["links"] or ():
                want(Item(link, (r["depth"] or 0) + 1, 0))
    items = sorted((i for u, i in wanted.items() if u not in done), key=lambda i: i.url)
    hosts = {}
    for item in items:
        host = origin(item.url)
        if host not in hosts:
            hosts[host] = HostState(max(0, max_pages_per_host - pages[host]), last.get(host))
    return RoundPlan(items, hosts)


def latest_rows(folder: Path) -> list[dict[str, Any]]:
    """The last row of each URL (by time), for the manifest's counts."""
    latest: dict[str, dict[str, Any]] = {}
    for r in read_log(folder).to_pylist():
        old = latest.get(r["url"])
        if old is None or (r["fetched_at"] or 0) >= (old["fetched_at"] or 0):
            latest[r["url"]] = r
    return list(latest.values())


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(folder: Path, *, source: str, run_id: str, rounds: int) -> dict[str, Any]:
    """``DIR/manifest.json``, written last: the WARC files, log parts and per-status counts.
    ``m6 corpus`` reads ``kind`` and ``source`` to label the pages."""
    folder = Path(folder)
    rows = latest_rows(folder)
    records = sum(1 for r in read_log(folder).column("warc_file").to_pylist() if r)
    warcs = sorted(f"{WARC_DIR}/{p.name}" for p in (folder / WARC_DIR).glob("*.warc.gz"))
    logs = sorted(f"{LOG_DIR}/{p.name}" for p in (folder / LOG_DIR).glob("*.parquet"))
    manifest = {
        "kind": "m6 crawl", "route": "urls", "source": source, "complete": True,
        "run_id": run_id, "rounds": rounds, "warc_files": warcs, "log_parts": logs,
        "urls": len(rows), "records": records,
        "status": dict(sorted(Counter(r["status"] for r in rows).items())),
        "bytes": sum(r["bytes"] or 0 for r in rows),
    }
    write_json_atomically(folder / MANIFEST, manifest)
    return manifest
