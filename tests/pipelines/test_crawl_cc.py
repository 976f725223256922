"""``m6 crawl cc`` end to end against a local server that plays Common Crawl (issue 14 points 1,
2, 4, 6, 8): the dry run, the fetch (503, a body cut short, stale index rows with wrong offsets),
the log, a rerun that fetches only what is not done, a run killed and run again, and ``m6 corpus``
reading the result as source ``common_crawl``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.crawl_cc import main as crawl_main
from schemas.version import m6_version
from tests.corpus.crawl.conftest import INDEX_SCHEMA, build_local_cc, members, start_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cc(tmp_path_factory):
    """The local Common Crawl of tests/corpus/crawl/conftest.py: real WARC files and their
    index."""
    return build_local_cc(tmp_path_factory.mktemp("cc"))


@pytest.fixture
def server(cc):
    srv = start_server(cc.data)
    yield srv
    srv.shutdown()
    srv.server_close()


def _argv(cc, server, out: Path, index: Path | None = None, *extra) -> list[str]:
    return ["--index", str(index or cc.index), "--base-url", server.base_url,
            "--output", str(out), "--allow-address", "127.0.0.1", "--quiet",
            "--set", "fetch.backoff_s=0.01", "--set", "fetch.backoff_max_s=0.05",
            "--retries", "2", "--max-requests-per-second", "1000", *extra]


def _selection(out: Path) -> list[dict]:
    return pq.read_table(out / "selection").to_pylist()


def _fetched(out: Path) -> dict[str, bytes]:
    """URL -> member bytes of every record in the output's WARC files (each URL once)."""
    found: dict[str, bytes] = {}
    for path in sorted((out / "warc").glob("*.warc.gz")):
        data = path.read_bytes()
        for m in members(data):
            assert m.url not in found, f"{m.url} is in the output twice"
            found[m.url] = data[m.offset:m.offset + m.length]
    return found


def _stale_index(cc, tmp_path: Path) -> tuple[Path, list[str]]:
    """The local index plus a later crawl whose rows for two Chinese URLs point at the wrong
    bytes (3 bytes into the member; another record), as a stale or broken index would."""
    index = tmp_path / "index"
    for p in cc.index.rglob("*.parquet"):
        dst = index / p.relative_to(cc.index)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(p.read_bytes())
    zh = [r for r in cc.rows if r["crawl"] == "CC-MAIN-2024-10" and r["fetch_status"] == 200
          and r["content_languages"] == "zho" and r["content_mime_detected"] == "text/html"]
    a, b, c = zh[3], zh[4], zh[5]
    later = timedelta(days=120)
    bad = [{**a, "fetch_time": a["fetch_time"] + later, "warc_record_offset":
            a["warc_record_offset"] + 3},
           {**b, "fetch_time": b["fetch_time"] + later,
            "warc_filename": c["warc_filename"], "warc_record_offset": c["warc_record_offset"],
            "warc_record_length": c["warc_record_length"]}]
    part = index / "crawl=CC-MAIN-2024-22" / "subset=warc" / "part-00000.c000.gz.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in INDEX_SCHEMA.names} for r in bad],
                                        schema=INDEX_SCHEMA), part)
    return index, [a["url"], b["url"]]


def test_dry_run_writes_the_selection_and_fetches_nothing(cc, server, tmp_path, capsys):
    out = tmp_path / "crawl"
    # a first try with a typo leaves nothing that would block the corrected command
    assert crawl_main(_argv(cc, server, out, tmp_path / "no-such-index", "--dry-run")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (out / "config.json").exists()
    # a dry run with other settings is simply replaced while nothing has been fetched
    assert crawl_main(_argv(cc, server, out, None, "--dry-run", "--limit", "3")) == 0
    assert len(_selection(out)) == 3
    capsys.readouterr()
    assert crawl_main(_argv(cc, server, out, None, "--dry-run")) == 0
    printed = capsys.readouterr().out
    rows = _selection(out)
    assert len(rows) == 38
    total = sum(r["warc_record_length"] for r in rows)
    assert printed.startswith(f"38 requests, {total:,} bytes")
    assert "CC-MAIN-2024-10                  30" in printed
    assert "dry run" in printed
    assert server.requests == []
    assert not (out / "warc").exists() and not (out / "manifest.json").exists()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["select"]["languages"] == ["zho"] and cfg["fetch"]["retries"] == 2
    assert cfg["fetch"]["allow_addresses"] == ["127.0.0.1"]
    assert cfg["m6_version"] == m6_version()


def test_fetch_log_rerun_and_corpus(cc, server, tmp_path, capsys):
    index, stale = _stale_index(cc, tmp_path)
    out = tmp_path / "crawl"
    # a first pass only to learn the selection (dry run), then set the server's traps
    assert crawl_main(_argv(cc, server, out, index, "--dry-run")) == 0
    rows = {r["url"]: r for r in _selection(out)}
    assert len(rows) == 38 and set(stale) <= set(rows)
    good = sorted(u for u in rows if u not in stale)
    # the traps go on records no other row points at: a stale row aimed at the same bytes would
    # spring a trap meant for a good row, first or second as the connections race
    keys = Counter((r["warc_filename"], r["warc_record_offset"]) for r in rows.values())
    alone = [u for u in good if keys[(rows[u]["warc_filename"], rows[u]["warc_record_offset"])] == 1]
    busy, cut = rows[alone[0]], rows[alone[1]]
    server.retry_after = 0
    server.busy[("/" + busy["warc_filename"], busy["warc_record_offset"])] = 1
    server.cut[("/" + cut["warc_filename"], cut["warc_record_offset"])] = 99

    assert crawl_main(_argv(cc, server, out, index)) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["statuses"] == {"ok": 35, "range_mismatch": 2, "truncated_body": 1}
    assert (manifest["selected"], manifest["records"], manifest["not_done"]) == (38, 35, 1)
    fetched = _fetched(out)
    assert set(fetched) == set(good) - {cut["url"]}
    for url, member in fetched.items():  # byte for byte what the source holds
        r = rows[url]
        assert member == cc.source_bytes(r["warc_filename"], r["warc_record_offset"],
                                               r["warc_record_length"])
    assert manifest["bytes"] == sum(len(m) for m in fetched.values())

    log = {r["url"]: r for r in pq.read_table(out / "log").to_pylist()}
    assert set(log) == set(rows)
    assert (log[busy["url"]]["status"], log[busy["url"]]["attempts"]) == ("ok", 2)
    assert (log[cut["url"]]["status"], log[cut["url"]]["attempts"]) == ("truncated_body", 3)
    assert log[stale[0]]["status"] == log[stale[1]]["status"] == "range_mismatch"
    assert "not a gzip member" in log[stale[0]]["detail"]
    assert "WARC-Target-URI" in log[stale[1]]["detail"]
    ok, src = log[good[5]], rows[good[5]]
    assert (ok["host"], ok["http_status"], ok["bytes"], ok["warc_length"]) == (
        "https://" + src["url_host_name"], 206, src["warc_record_length"],
        src["warc_record_length"])
    assert (ok["source_warc"], ok["source_offset"], ok["source_length"], ok["crawl"]) == (
        src["warc_filename"], src["warc_record_offset"], src["warc_record_length"], src["crawl"])
    assert ok["fetched_at"] > 1.7e9 and ok["run_id"]
    data = (out / ok["warc_file"]).read_bytes()
    assert data[ok["warc_offset"]:ok["warc_offset"] + ok["warc_length"]] == fetched[good[5]]
    assert log[cut["url"]]["warc_file"] is None
    # the log has the columns of m6 crawl urls' log, and the cc columns after them
    from corpus.crawl.fetch_log import FETCH_LOG_SCHEMA

    names = pq.read_schema(next((out / "log").glob("*.parquet"))).names
    assert names[:len(FETCH_LOG_SCHEMA)] == FETCH_LOG_SCHEMA.names

    # a rerun fetches only the record that is not done (its server has recovered)
    server.cut.clear()
    server.requests.clear()
    assert crawl_main(_argv(cc, server, out, index)) == 0
    assert [(p, rng) for _, p, rng, _ in server.requests] == [
        ("/" + cut["warc_filename"], f"bytes={cut['warc_record_offset']}-"
         f"{cut['warc_record_offset'] + cut['warc_record_length'] - 1}")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["kind"], manifest["source"]) == ("m6 crawl", "common_crawl")
    assert manifest["statuses"] == {"ok": 36, "range_mismatch": 2}
    assert manifest["not_done"] == 0
    assert set(_fetched(out)) == set(good)

    # another selection into the same folder is refused, not mixed in
    assert crawl_main(_argv(cc, server, out, index, "--languages", "eng")) == 2
    assert "other 'select' settings" in capsys.readouterr().err

    # m6 corpus reads the crawl folder as it is: source common_crawl, from its manifest, even
    # when the run's default source for WARC files is another
    from pipelines.cli import main as corpus_main

    corpus = tmp_path / "corpus"
    assert corpus_main(["--input", str(out), "--output", str(corpus), "--quiet", "--no-quality",
                        "--no-images", "--no-report", "--no-dedup",
                        "--set", "run.crawl_source=webpage"]) == 0
    text = pq.read_table(corpus / "text").to_pylist()
    assert text and {r["source"] for r in text} == {"common_crawl"}
    assert {r["url"] for r in text} <= set(good)


@pytest.mark.slow
def test_a_killed_run_run_again_ends_with_the_same_records(cc, server, tmp_path):
    out = tmp_path / "crawl"
    server.delay_s = 0.05  # ~2 s for the whole crawl, one connection at a time
    argv = _argv(cc, server, out, None, "--concurrency", "1", "--batch-records", "4")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "m6.cli", "crawl", "cc", *argv], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "log").glob("*.parquet"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    logs_at_kill = len(list((out / "log").glob("*.parquet")))
    assert 2 <= logs_at_kill < 10, proc.stderr.read().decode()[-2000:]
    assert not (out / "manifest.json").exists()

    server.delay_s = 0.0
    assert crawl_main(argv) == 0
    rows = {r["url"]: r for r in _selection(out)}
    fetched = _fetched(out)
    assert set(fetched) == set(rows)  # every record once, none lost, none twice
    for url, member in fetched.items():
        r = rows[url]
        assert member == cc.source_bytes(r["warc_filename"], r["warc_record_offset"],
                                               r["warc_record_length"])
    warcs = {p.name[:-len(".warc.gz")] for p in (out / "warc").iterdir()}
    logs = {p.name[:-len(".parquet")] for p in (out / "log").iterdir()}
    assert warcs == logs  # no partial WARC, no temporary file
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["records"], manifest["not_done"]) == (38, 0)
