"""Decoding text from M6: greedy, temperature, top-k and top-p (nucleus) sampling, with a KV cache.

The encoder side (image patches, masked text) and the decoder input ``[BOS] prompt`` run once;
their keys and values stay in a ``KVCache`` and each further step feeds only the newest token
(``M6Model.decode_step``), so a step costs one position instead of the whole sequence. With
``use_cache=False`` every step re-runs the whole sequence; both give the same tokens (a test).

Question answering uses the paper's prompt pattern in the decoder: ``出国留学的理由是什么？回答：``
and the model continues after ``回答：`` (section 4); captioning gives an image and an empty
prompt.

Sampling: logits / temperature, then keep the ``top_k`` largest, then the smallest set whose
probability reaches ``top_p``; greedy takes the argmax. [PAD], [BOS] and [MASK] are never emitted.
A sample stops at [EOS]; a batch stops when every sample has.

Length and repetition controls (for long answers in the question-answering pattern, section 4.4),
applied to the logits before sampling, over the decoder text so far (prompt and new tokens):
``min_new_tokens`` forbids [EOS] until that many tokens are out; ``repetition_penalty`` divides
the positive logits (multiplies the negative ones) of every token already present (CTRL,
Keskar et al. 2019, as Hugging Face applies it); ``no_repeat_ngram`` forbids any token that would
complete an n-gram already present. A caller's ``logits_hook(out_BN, logits_BV)`` runs last and
may mask the vocabulary by what each sample has generated so far (format-constrained poems and
the image codes of text-to-image use it).

Legend: B samples, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from model.data.batch import Batch
from model.nn.transformer import M6Model


@dataclass(frozen=True, kw_only=True)
class SamplingConfig:
    max_new_tokens: int = 64
    greedy: bool = False
    temperature: float = 1.0
    top_k: int = 0  # 0: no top-k cut
    top_p: float = 1.0  # 1.0: no nucleus cut
    min_new_tokens: int = 0  # [EOS] is forbidden before this many new tokens
    repetition_penalty: float = 1.0  # 1.0: none; > 1 discourages tokens already present
    no_repeat_ngram: int = 0  # 0: none; n: never repeat an n-gram of the decoder text

    def __post_init__(self) -> None:
        if self.temperature <= 0 and not self.greedy:
            raise ValueError("temperature must be > 0 (use greedy for argmax decoding)")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.no_repeat_ngram < 0 or self.min_new_tokens < 0:
            raise ValueError("no_repeat_ngram and min_new_tokens must be >= 0")


def apply_controls(
    logits_BV: torch.Tensor, seq_BN: torch.Tensor, n_new: int, cfg: SamplingConfig, eos_id: int
) -> torch.Tensor:
    """``logits_BV`` with the length and repetition controls of ``cfg`` applied; ``seq_BN`` is
    the decoder text so far (prompt and the ``n_new`` tokens generated)."""
    if n_new < cfg.min_new_tokens:
        logits_BV[:, eos_id] = float("-inf")
    if cfg.repetition_penalty != 1.0 and seq_BN.shape[1]:
        seen_BN = logits_BV.gather(1, seq_BN)
        seen_BN = torch.where(seen_BN > 0, seen_BN / cfg.repetition_penalty,
                              seen_BN * cfg.repetition_penalty)
        logits_BV = logits_BV.scatter(1, seq_BN, seen_BN)
    n = cfg.no_repeat_ngram
    if n and seq_BN.shape[1] >= n:
        for b, row in enumerate(seq_BN.tolist()):
            context = tuple(row[len(row) - n + 1 :]) if n > 1 else ()
            banned = {row[i + n - 1] for i in range(len(row) - n + 1)
                      if tuple(row[i : i + n - 1]) == context}
            if banned:
                logits_BV[b, list(banned)] = float("-inf")
    return logits_BV


def next_tokens(logits_BV: torch.Tensor, cfg: SamplingConfig, gen: torch.Generator | None) -> torch.Tensor:
    """One token per row of ``logits_BV`` under ``cfg``."""
    if cfg.greedy:
        return logits_BV.argmax(-1)
    logits_BV = logits_BV.float() / cfg.temperature
    if cfg.top_k:
        k = min(cfg.top_k, logits_BV.shape[-1])
        kth = logits_BV.topk(k, dim=-1).values[:, -1:]
        logits_BV = logits_BV.masked_fill(logits_BV < kth, float("-inf"))
    if cfg.top_p < 1.0:
        sorted_BV, order_BV = logits_BV.sort(dim=-1, descending=True)
        cum_BV = sorted_BV.softmax(-1).cumsum(-1)
        drop_BV = cum_BV - sorted_BV.softmax(-1) >= cfg.top_p  # keep the token that crosses p
        sorted_BV = sorted_BV.masked_fill(drop_BV, float("-inf"))
        logits_BV = torch.full_like(logits_BV, float("-inf")).scatter(-1, order_BV, sorted_BV)
    probs_BV = logits_BV.softmax(-1)
    return torch.multinomial(probs_BV, 1, generator=gen).squeeze(-1)


@torch.no_grad()
def generate(
    model: M6Model,
    *,
    prompt_ids: list[int],
    bos_id: int,
    eos_id: int,
    banned_ids: tuple[int, ...] = (),
    masked_ids: list[int] | None = None,
    image: torch.Tensor | None = None,
    num_samples: int = 1,
    sampling: SamplingConfig = SamplingConfig(),
    use_cache: bool = True,
    seed: int | None = None,
    logits_hook: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> list[list[int]]:
    """Continue ``[BOS] prompt`` for ``num_samples`` samples; returns the new ids of each
    (up to and without [EOS]). ``logits_hook(out_BN, logits_BV)``, if given, returns the
    logits of the next step given the ids generated so far (the module docstring)."""
    model.eval()
    device = next(model.parameters()).device
    b = num_samples
    max_new = min(sampling.max_new_tokens, model.cfg.max_text_len - 1 - len(prompt_ids))
    if max_new <= 0:
        raise ValueError(
            f"prompt of {len(prompt_ids)} tokens leaves no room under max_text_len "
            f"{model.cfg.max_text_len}"
        )
    gen = None
    if seed is not None:
        gen = torch.Generator(device=device).manual_seed(seed)
    masked = torch.tensor([masked_ids or []] * b, dtype=torch.long, device=device)
    images = has_image = None
    if image is not None:
        images = image.to(device)[None].expand(b, *image.shape).contiguous()
        has_image = torch.ones(b, dtype=torch.bool, device=device)

    def batch_of(target: list[int]) -> Batch:
        ids = torch.tensor([target] * b, dtype=torch.long, device=device)
        return Batch(
            task_B=torch.zeros(b, dtype=torch.long, device=device), masked_ids_BM=masked,
            target_ids_BT=ids, labels_BT=torch.full_like(ids, -100), images_B3HW=images,
            has_image_B=has_image,
        )

    target = [bos_id, *prompt_ids]
    cache = None
    if use_cache:
        n_prefix = masked.shape[1] + (model.cfg.image.n_patches if image is not None else 0)
        cache = model.new_cache(b, n_prefix + len(target) + max_new)
    logits_BV = model(batch_of(target), cache).logits_BTV[:, -1]
    out_BN = torch.empty(b, 0, dtype=torch.long, device=device)
    done_B = torch.zeros(b, dtype=torch.bool, device=device)
    prompt_BN = torch.tensor([prompt_ids] * b, dtype=torch.long, device=device)
    for _ in range(max_new):
        if banned_ids:
            logits_BV[:, list(banned_ids)] = float("-inf")
        logits_BV = apply_controls(
            logits_BV, torch.cat([prompt_BN, out_BN], 1), out_BN.shape[1], sampling, eos_id
        )
        if logits_hook is not None:
            logits_BV = logits_hook(out_BN, logits_BV)
        ids_B = next_tokens(logits_BV, sampling, gen)
        ids_B = torch.where(done_B, torch.full_like(ids_B, eos_id), ids_B)
        out_BN = torch.cat([out_BN, ids_B[:, None]], 1)
        done_B |= ids_B == eos_id
        if bool(done_B.all()) or out_BN.shape[1] == max_new:
            break
        if cache is not None:
            logits_BV = model.decode_step(ids_B[:, None], cache)[:, -1]
        else:
            step_batch = batch_of(target)
            step_batch.target_ids_BT = torch.cat([step_batch.target_ids_BT, out_BN], 1)
            step_batch.labels_BT = torch.full_like(step_batch.target_ids_BT, -100)
            logits_BV = model(step_batch).logits_BTV[:, -1]
    results = []
    for row in out_BN.tolist():
        results.append(row[: row.index(eos_id)] if eos_id in row else row)
    return results
