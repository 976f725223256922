"""Benchmark of the applications' decoding: what the per-step vocabulary masks cost.

Poems (section 4.5) and text-to-image (section 4.1) decode under a mask rebuilt at every step
(``model/apps/poem.py``'s ``PoemConstraint``, ``ImagineApp.code_mask_hook``). Baseline: the same
model generating the same number of tokens with plain top-k sampling and no hook, in this
process. Figures are tokens/s and the ratio masked / plain (1.0 = free).

    .venv/bin/python bench/bench_apps.py
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from model.apps.imagine import ImagineApp
from model.apps.poem import PoemConstraint, check_poem
from model.data.tokenizer import train_tokenizer
from model.infer.generate import SamplingConfig, generate
from model.nn.transformer import M6Model
from model.presets import tiny

SAMPLES = 8
REPEATS = 3


def _model(vocab: int) -> M6Model:
    """The tiny preset's model with a vocabulary of ``vocab``."""
    torch.manual_seed(0)
    return M6Model(replace(tiny().model, vocab_size=vocab)).eval()


def _best(fn) -> tuple[float, list[list[int]]]:
    best, out = float("inf"), None
    for _ in range(REPEATS):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    torch.set_num_threads(1)
    poems = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "poems"
    texts = ["".join(p["paragraphs"]) for p in
             json.loads((poems / "song_poems_200.json").read_text(encoding="utf-8"))]
    tok = train_tokenizer(texts, 3000)
    model = _model(tok.vocab_size)
    prompt = tok.encode("春日 作者：李白 正文：")
    budget = model.cfg.max_text_len - 1 - len(prompt)
    constraint = PoemConstraint(tok, chars=5, lines=16, budget=budget)
    n_tokens = 16 * 6
    s = SamplingConfig(max_new_tokens=n_tokens, top_k=20)

    def plain():
        return generate(model, prompt_ids=prompt, bos_id=tok.bos_id, eos_id=-1,
                        num_samples=SAMPLES, sampling=s, seed=0)

    def masked():
        return generate(model, prompt_ids=prompt, bos_id=tok.bos_id, eos_id=tok.eos_id,
                        num_samples=SAMPLES, sampling=s, seed=0, logits_hook=constraint)

    t_plain, _ = _best(plain)
    t_mask, outs = _best(masked)
    ok = sum(check_poem(tok.decode(o)).ok for o in outs)
    rate_plain = SAMPLES * n_tokens / t_plain
    rate_mask = sum(len(o) for o in outs) / t_mask
    print(f"poem decoding, {SAMPLES} samples x 16 lines of 5 (tiny-preset shape, 1 thread):")
    print(f"  plain top-k       {rate_plain:8.0f} tokens/s  (baseline)")
    print(f"  format mask       {rate_mask:8.0f} tokens/s  ratio {rate_mask / rate_plain:.2f}"
          f"  ({ok}/{SAMPLES} poems pass the checker)")

    v, k = tok.vocab_size, 512
    big = _model(v + k)

    codes_hook = ImagineApp(base_vocab=v, n_codes=k).code_mask_hook()
    s2 = SamplingConfig(max_new_tokens=64, top_k=64)
    text = tok.encode("红色的圆形")

    def plain_codes():
        return generate(big, prompt_ids=[], masked_ids=text, bos_id=tok.bos_id, eos_id=-1,
                        num_samples=SAMPLES, sampling=s2, seed=0)

    def masked_codes():
        return generate(big, prompt_ids=[], masked_ids=text, bos_id=tok.bos_id, eos_id=-1,
                        num_samples=SAMPLES, sampling=s2, seed=0, logits_hook=codes_hook)

    t_a, _ = _best(plain_codes)
    t_b, outs = _best(masked_codes)
    assert all(min(o) >= v for o in outs)
    print(f"image codes, {SAMPLES} samples x 64 codes, vocabulary {v} words + {k} codes:")
    print(f"  plain top-k       {SAMPLES * 64 / t_a:8.0f} tokens/s  (baseline)")
    print(f"  code mask         {SAMPLES * 64 / t_b:8.0f} tokens/s  ratio {t_a / t_b:.2f}")


if __name__ == "__main__":
    main()
