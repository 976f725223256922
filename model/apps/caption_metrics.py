"""Captioning metrics: corpus BLEU-4 and CIDEr-D, as the COCO caption evaluation computes them.

Both score each candidate caption against the set of reference captions of the same image.

Tokens (``metric_tokens``): Chinese has no spaces, so each CJK character is one token (as
character-level BLEU for Chinese does, e.g. sacrebleu's ``zh`` tokenizer); a run of Latin
letters or digits is one lower-cased word; punctuation and whitespace are dropped (as the COCO
evaluation's PTB tokenizer drops punctuation).

BLEU-4 (Papineni et al., 2002): corpus-level. For n = 1..4 the clipped n-gram matches of every
candidate (each n-gram counted at most as often as in the reference that has it most) are
summed over the corpus and divided by the candidates' n-gram total; BLEU is the geometric mean
of the four precisions times the brevity penalty ``exp(1 - r/c)`` when the candidates' total
length c is below r, the sum over candidates of the reference length closest to the candidate's
(the shorter one on a tie: coco-caption's ``"closest"``). No smoothing: any zero precision makes
BLEU-4 zero (coco-caption returns about 1e-9 there instead).

CIDEr-D (Vedantam et al., 2015, the variant of the COCO server): n-grams of each sentence are
weighted by TF-IDF, where the document frequency of an n-gram is the number of images whose
references contain it, over the evaluated set. For each n the score is the cosine similarity of
the candidate's and a reference's vectors with the candidate's weights clipped to the
reference's, times a Gaussian length penalty ``exp(-(l_c - l_r)^2 / (2 * 6^2))``; it is averaged
over the references and the four n, times 10. The corpus score is the mean over images.
coco-caption measures the lengths in bigrams instead of tokens (a quirk of its code); the
difference shows only for sentences shorter than two tokens. Tests compare both metrics with
values computed by pycocoevalcap 1.2 on the same token lists.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]|[A-Za-z0-9\u00c0-\u024f]+"
)

MAX_N = 4
CIDER_SIGMA = 6.0


def metric_tokens(text: str) -> list[str]:
    """Tokens of ``text`` for BLEU and CIDEr: CJK characters, lower-cased Latin/digit words."""
    return [t.lower() for t in _TOKEN.findall(text)]


def ngrams(tokens: Sequence[str], n_max: int = MAX_N) -> Counter:
    """Counts of every 1- to ``n_max``-gram of ``tokens`` (as tuples)."""
    counts: Counter = Counter()
    for n in range(1, n_max + 1):
        for i in range(len(tokens) - n + 1):
            counts[tuple(tokens[i : i + n])] += 1
    return counts


@dataclass(frozen=True)
class BleuResult:
    bleu: float  # BLEU-4
    precisions: tuple[float, ...]  # clipped n-gram precisions, n = 1..4
    brevity_penalty: float
    candidate_length: int
    reference_length: int


def corpus_bleu(
    candidates: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]],
    n_max: int = MAX_N,
) -> BleuResult:
    """Corpus BLEU of token lists ``candidates[i]`` against ``references[i]`` (a list of token
    lists each); see the module docstring."""
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} reference sets")
    matches = [0] * n_max
    totals = [0] * n_max
    c_len = r_len = 0
    for cand, refs in zip(candidates, references):
        if not refs:
            raise ValueError("every candidate needs at least one reference")
        cand_counts = ngrams(cand, n_max)
        max_ref: Counter = Counter()
        for ref in refs:
            for g, k in ngrams(ref, n_max).items():
                if k > max_ref[g]:
                    max_ref[g] = k
        for g, k in cand_counts.items():
            matches[len(g) - 1] += min(k, max_ref[g])
        for n in range(1, n_max + 1):
            totals[n - 1] += max(0, len(cand) - n + 1)
        c_len += len(cand)
        r_len += min((abs(len(r) - len(cand)), len(r)) for r in refs)[1]
    precisions = tuple(m / t if t else 0.0 for m, t in zip(matches, totals))
    if c_len == 0:
        bp = 0.0
    elif c_len < r_len:
        bp = math.exp(1 - r_len / c_len)
    else:
        bp = 1.0
    if min(precisions) == 0:
        bleu = 0.0
    else:
        bleu = bp * math.exp(sum(math.log(p) for p in precisions) / n_max)
    return BleuResult(bleu, precisions, bp, c_len, r_len)


def _tfidf(counts: Counter, df: Mapping[tuple, int], log_n_images: float, n_max: int):
    vec: list[dict[tuple, float]] = [{} for _ in range(n_max)]
    norm = [0.0] * n_max
    for g, tf in counts.items():
        w = tf * (log_n_images - math.log(max(1.0, df.get(g, 0))))
        vec[len(g) - 1][g] = w
        norm[len(g) - 1] += w * w
    return vec, [math.sqrt(x) for x in norm]


def cider_d(
    candidates: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]],
    n_max: int = MAX_N, sigma: float = CIDER_SIGMA,
) -> tuple[float, list[float]]:
    """(corpus CIDEr-D, per-image scores) of ``candidates[i]`` against ``references[i]``."""
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} reference sets")
    if not candidates:
        raise ValueError("CIDEr-D needs at least one image")
    ref_counts = [[ngrams(r, n_max) for r in refs] for refs in references]
    df: Counter = Counter()
    for refs in ref_counts:
        df.update({g for c in refs for g in c})
    log_n = math.log(len(candidates))
    scores = []
    for cand, refs, counts in zip(candidates, references, ref_counts):
        if not refs:
            raise ValueError("every candidate needs at least one reference")
        vec_c, norm_c = _tfidf(ngrams(cand, n_max), df, log_n, n_max)
        total = 0.0
        for ref, rc in zip(refs, counts):
            vec_r, norm_r = _tfidf(rc, df, log_n, n_max)
            penalty = math.exp(-((len(cand) - len(ref)) ** 2) / (2 * sigma**2))
            for n in range(n_max):
                dot = sum(min(w, vec_r[n].get(g, 0.0)) * vec_r[n].get(g, 0.0)
                          for g, w in vec_c[n].items())
                if norm_c[n] and norm_r[n]:
                    dot /= norm_c[n] * norm_r[n]
                total += dot * penalty
        scores.append(10.0 * total / n_max / len(refs))
    return sum(scores) / len(scores), scores


def caption_scores(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """BLEU-4 (with its precisions) and CIDEr-D of caption strings, tokenised by
    ``metric_tokens``; the figures ``m6 eval caption`` prints."""
    cand = [metric_tokens(c) for c in candidates]
    refs = [[metric_tokens(r) for r in rs] for rs in references]
    b = corpus_bleu(cand, refs)
    c, _ = cider_d(cand, refs)
    return {
        "bleu4": b.bleu,
        **{f"precision{n + 1}": p for n, p in enumerate(b.precisions)},
        "brevity_penalty": b.brevity_penalty,
        "cider_d": c,
    }
