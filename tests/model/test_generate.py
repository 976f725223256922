"""Tests of model/infer/generate.py: the KV cache gives the same tokens as full recomputation, and the
sampling rules do what they say."""

from __future__ import annotations

import pytest
import torch

from model.config import ImageConfig, ModelConfig
from model.infer.generate import SamplingConfig, generate, next_tokens
from model.nn.transformer import M6Model

CFG = ModelConfig(vocab_size=60, d_model=32, n_layers=2, n_heads=4, d_ff=64, max_text_len=40,
                  image=ImageConfig(image_size=32, patch_size=16, cnn_channels=(8,)))


def _model():
    torch.manual_seed(0)
    model = M6Model(CFG).eval()
    with torch.no_grad():  # sharper logits than the 0.02 init so sampling has structure
        model.tok_emb.weight.mul_(20)
    return model


def _run(model, use_cache, **kw):
    args = dict(prompt_ids=[10, 11, 12], bos_id=2, eos_id=3, banned_ids=(0, 2, 5),
                sampling=SamplingConfig(max_new_tokens=15, greedy=True))
    args.update(kw)
    return generate(model, use_cache=use_cache, **args)


@pytest.mark.parametrize("prefix", ["none", "masked", "both"])
def test_cached_equals_uncached_greedy(prefix):
    model = _model()
    kw = {}
    if prefix in ("masked", "both"):
        kw["masked_ids"] = [20, 5, 21, 22]
    if prefix in ("image", "both"):
        kw["image"] = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(1))
    a, b = _run(model, True, **kw), _run(model, False, **kw)
    assert a == b
    assert len(a[0]) >= 5  # it generated something to compare


def test_cached_equals_uncached_sampling_with_seed():
    model = _model()
    s = SamplingConfig(max_new_tokens=20, temperature=0.9, top_k=10, top_p=0.9)
    a = _run(model, True, sampling=s, num_samples=3, seed=7)
    b = _run(model, False, sampling=s, num_samples=3, seed=7)
    assert a == b
    assert len({tuple(x) for x in a}) > 1  # three samples, not three copies


def test_cache_logits_match_full_forward_logits():
    from model.data.batch import Batch

    model = _model()
    ids = torch.tensor([[2, 10, 11, 12, 13, 14]])
    full = model(Batch(task_B=torch.zeros(1, dtype=torch.long), masked_ids_BM=torch.tensor([[20, 5]]),
                       target_ids_BT=ids, labels_BT=torch.full_like(ids, -100))).logits_BTV
    cache = model.new_cache(1, 16)
    first = model(Batch(task_B=torch.zeros(1, dtype=torch.long), masked_ids_BM=torch.tensor([[20, 5]]),
                        target_ids_BT=ids[:, :3], labels_BT=torch.full_like(ids[:, :3], -100)), cache).logits_BTV
    steps = [model.decode_step(ids[:, i : i + 1], cache) for i in range(3, 6)]
    assert torch.allclose(first, full[:, :3], atol=1e-5)
    assert torch.allclose(torch.cat(steps, 1), full[:, 3:], atol=1e-5)


def test_top_k_1_and_tiny_top_p_are_greedy():
    logits = torch.randn(5, 60, generator=torch.Generator().manual_seed(3))
    greedy = logits.argmax(-1)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(next_tokens(logits, SamplingConfig(top_k=1), g), greedy)
    assert torch.equal(next_tokens(logits, SamplingConfig(top_p=1e-6), g), greedy)


def test_top_k_and_top_p_never_pick_outside_their_set():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0, -1.0]]).repeat(400, 1)
    g = torch.Generator().manual_seed(0)
    k = next_tokens(logits, SamplingConfig(top_k=3), g)
    assert set(k.tolist()) == {0, 1, 2}
    p = logits[0].softmax(-1)  # 0.64, 0.23, 0.09, ...: top_p 0.8 keeps tokens 0 and 1
    assert p[0] < 0.8 < p[0] + p[1]
    nucleus = next_tokens(logits, SamplingConfig(top_p=0.8), g)
    assert set(nucleus.tolist()) == {0, 1}
    hot = next_tokens(logits, SamplingConfig(temperature=100.0), g)
    assert len(set(hot.tolist())) == 6  # a high temperature flattens the distribution


def test_banned_tokens_never_come_out_and_eos_stops():
    model = _model()
    outs = _run(model, True, banned_ids=tuple(range(0, 30)), num_samples=2,
                sampling=SamplingConfig(max_new_tokens=10, temperature=1.0), seed=1)
    assert all(t >= 30 for o in outs for t in o)
    only_eos = tuple(i for i in range(60) if i != 3)  # [EOS] is the only choice: stop at once
    assert _run(model, True, banned_ids=only_eos, num_samples=2) == [[], []]


def test_prompt_longer_than_positions_is_refused():
    with pytest.raises(ValueError, match="max_text_len"):
        _run(_model(), True, prompt_ids=list(range(6, 46)))
