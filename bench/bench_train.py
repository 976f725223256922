"""Training and generation speed of the tiny preset, as ratios against baselines in this process.

1. Matmul peak: the best of several large fp32 matmuls (torch.mm, 1024 x 1024), the baseline.
2. Training: forward + backward + AdamW steps of the tiny preset on batches shaped like its
   pretraining batches (16 samples, the four tasks mixed, text up to 64 tokens, 64 px images);
   tokens/s, and the achieved FLOP/s counted from the model's shapes (``model/nn/flops.py``) over
   the matmul peak. docs/design.md's goal: 65% of the peak; a small plain-PyTorch transformer reached
   68% on this kind of machine.
3. Generation: greedy decoding of 64 tokens after a 16-token prompt, with the KV cache and
   without (every step re-runs the whole sequence); tokens/s and the cache's speed-up.

Both use the tiny preset's thread count (one), so the ratios compare like with like.
    .venv/bin/python bench/bench_train.py
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from model.config import TASKS
from model.data.batch import Example, collate
from model.data.tasks import span_mask
from model.infer.generate import SamplingConfig, generate
from model.nn.flops import train_step_flops
from model.nn.transformer import M6Model
from model.presets import tiny
from model.train.loss import task_loss
from model.train.optim import build_optimizer

TOKENS_MIX = {"text_denoise": 0.35, "lm": 0.35, "image_to_text": 0.15, "mm_to_text": 0.15}


def matmul_peak(n: int = 1024, reps: int = 8, rounds: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
    return best


def synthetic_batches(cfg, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    tasks, probs = list(TOKENS_MIX), np.array(list(TOKENS_MIX.values()))
    size = cfg.model.image.image_size
    out = []
    for _ in range(n):
        examples = []
        for _ in range(cfg.data.batch_size):
            task = tasks[rng.choice(4, p=probs)]
            ids = rng.integers(6, cfg.model.vocab_size, rng.integers(20, cfg.tasks.max_text_tokens + 1)).tolist()
            masked = span_mask(ids, rng, mask_id=5) if task in ("text_denoise", "mm_to_text") else []
            image = torch.randn(3, size, size) if task in ("image_to_text", "mm_to_text") else None
            examples.append(Example(TASKS.index(task), ids, masked, image))
        out.append(collate(examples, pad_id=0, bos_id=2, eos_id=3, image_size=size))
    return out


def bench_training(cfg, steps: int = 12):
    torch.manual_seed(0)
    model = M6Model(cfg.model).train()
    opt, sched = build_optimizer(model, cfg.train)
    batches = synthetic_batches(cfg, steps + 2)

    def step(b):
        out = model(b)
        loss = task_loss(out.logits_BTV, b.labels_BT, b.task_B).loss + out.aux_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)

    for b in batches[:2]:
        step(b)
    flops = positions = targets = 0.0
    t = time.perf_counter()
    for b in batches[2:]:
        step(b)
        flops += train_step_flops(cfg.model, b)
        positions += b.n_input_tokens(cfg.model.image.n_patches)
        targets += int((b.labels_BT != -100).sum())
    dt = time.perf_counter() - t
    return positions / dt, targets / dt, flops / dt, dt / steps


def bench_generation(cfg, new_tokens: int = 64):
    torch.manual_seed(0)
    model = M6Model(cfg.model).eval()
    prompt = list(range(100, 116))
    banned = (0, 2, 3, 5)  # no early [EOS]: both runs decode exactly new_tokens tokens
    sampling = SamplingConfig(max_new_tokens=new_tokens, greedy=True)
    rates, outs = {}, {}
    for use_cache in (True, False):
        generate(model, prompt_ids=prompt, bos_id=2, eos_id=3, banned_ids=banned,
                 sampling=replace(sampling, max_new_tokens=4), use_cache=use_cache)
        t = time.perf_counter()
        outs[use_cache] = generate(model, prompt_ids=prompt, bos_id=2, eos_id=3,
                                   banned_ids=banned, sampling=sampling, use_cache=use_cache)
        rates[use_cache] = len(outs[use_cache][0]) / (time.perf_counter() - t)
    assert outs[True] == outs[False], "KV cache changed the generated tokens"
    return rates[True], rates[False]


def main() -> None:
    cfg = tiny()
    torch.set_num_threads(cfg.train.threads or torch.get_num_threads())
    threads = torch.get_num_threads()
    peak = matmul_peak()
    print(f"baseline: fp32 matmul 1024^3 peak {peak / 1e9:.1f} GFLOP/s ({threads} thread)")
    pos_s, tok_s, flop_s, step_s = bench_training(cfg)
    print(f"tiny preset training: {pos_s:,.0f} positions/s ({tok_s:,.0f} target tokens/s), "
          f"{step_s * 1e3:.0f} ms/step of {cfg.data.batch_size} samples")
    print(f"tiny preset achieved {flop_s / 1e9:.1f} GFLOP/s = {flop_s / peak:.0%} of the matmul "
          f"peak (goal 65%)")
    cached, uncached = bench_generation(cfg)
    print(f"generation (64 tokens after 16): {cached:,.0f} tokens/s with KV cache, "
          f"{uncached:,.0f} without: {cached / uncached:.2f}x")


if __name__ == "__main__":
    main()
