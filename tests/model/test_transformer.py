"""Tests of model/nn/transformer.py and model/nn/masks.py: the prefix-bidirectional, target-causal
mask (paper section 3.2), tied output layer, packing, activation checkpointing, bf16."""

from __future__ import annotations

import pytest
import torch

from model.config import SEGMENT_IMAGE, SEGMENT_MASKED, SEGMENT_TARGET, ImageConfig, ModelConfig
from model.data.batch import Batch, Example, collate
from model.nn.masks import attention_mask
from model.nn.transformer import M6Model
from model.train.loss import task_loss

CFG = ModelConfig(vocab_size=50, d_model=32, n_layers=3, n_heads=4, d_ff=64, max_text_len=16,
                  image=ImageConfig(image_size=32, patch_size=16, cnn_channels=(8,)))


def _model(seed=0) -> M6Model:
    torch.manual_seed(seed)
    return M6Model(CFG).eval()


def _batch(examples) -> Batch:
    return collate(examples, pad_id=0, bos_id=2, eos_id=3, image_size=32)


def _example(seed=0, masked=True, image=True, n=8) -> Example:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(6, 50, (n,), generator=g).tolist()
    return Example(
        task=3 if image else 0, target_ids=ids,
        masked_ids=[ids[0], 5, *ids[4:]] if masked else [],
        image=torch.randn(3, 32, 32, generator=g) if image else None,
    )


def test_mask_matrix_by_hand():
    # [img img][masked masked pad][target x3 pad]
    seg = torch.tensor([[0, 0, 1, 1, 1, 2, 2, 2, 2]])
    valid = torch.tensor([[1, 1, 1, 1, 0, 1, 1, 1, 0]], dtype=torch.bool)
    m = attention_mask(seg, valid)[0, 0].int()
    expect = torch.tensor([
        # keys: i i m m p t t t p
        [1, 1, 1, 1, 0, 0, 0, 0, 0],  # image query: the whole prefix, no target
        [1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0, 0],  # masked-text query: same
        [1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 0, 0, 0, 0],  # padding query: prefix + itself (never read)
        [1, 1, 1, 1, 0, 1, 0, 0, 0],  # target queries: prefix + target up to themselves
        [1, 1, 1, 1, 0, 1, 1, 0, 0],
        [1, 1, 1, 1, 0, 1, 1, 1, 0],
        [1, 1, 1, 1, 0, 1, 1, 1, 1],
    ])
    assert torch.equal(m, expect)
    # one decoding step: the last query only
    assert torch.equal(attention_mask(seg, valid, q_start=8)[0, 0].int(), expect[8:])
    assert (SEGMENT_IMAGE, SEGMENT_MASKED, SEGMENT_TARGET) == (0, 1, 2)


@torch.no_grad()
def test_later_target_tokens_never_change_earlier_outputs():
    model = _model()
    ex = _example()
    base = model(_batch([ex])).logits_BTV
    for j in range(1, 9):  # decoder input position j (0 is [BOS])
        changed = Example(ex.task, list(ex.target_ids), ex.masked_ids, ex.image)
        changed.target_ids[j - 1] = 6 if ex.target_ids[j - 1] != 6 else 7
        out = model(_batch([changed])).logits_BTV
        assert torch.equal(out[:, :j], base[:, :j]), f"position < {j} saw the future"
        assert not torch.allclose(out[:, j], base[:, j])


@torch.no_grad()
def test_every_encoder_side_token_can_change_every_output():
    model = _model()
    ex = _example()
    base = model(_batch([ex])).logits_BTV
    for i in range(len(ex.masked_ids)):
        masked = list(ex.masked_ids)
        masked[i] = 6 if masked[i] != 6 else 7
        out = model(_batch([Example(ex.task, ex.target_ids, masked, ex.image)])).logits_BTV
        assert (out - base).abs().amax(-1).min() > 0, f"masked token {i} is invisible somewhere"
    for r, c in [(0, 0), (20, 31)]:  # a pixel in the first and in the last patch
        image = ex.image.clone()
        image[:, r, c] += 1.0
        out = model(_batch([Example(ex.task, ex.target_ids, ex.masked_ids, image)])).logits_BTV
        assert (out - base).abs().amax(-1).min() > 0


@torch.no_grad()
def test_a_sample_gives_the_same_logits_alone_or_packed_with_others():
    model = _model()
    exs = [_example(0), _example(1, masked=False, image=False, n=5),
           _example(2, masked=True, image=False, n=12), _example(3, masked=False, image=True, n=3)]
    together = model(_batch(exs)).logits_BTV
    for i, ex in enumerate(exs):
        alone = model(_batch([ex])).logits_BTV
        t = len(ex.target_ids) + 1
        assert torch.allclose(together[i, :t], alone[0, :t], atol=1e-5), f"sample {i}"


def test_output_layer_is_tied_to_the_word_embedding():
    model = _model()
    h = torch.randn(1, 1, CFG.d_model)
    assert torch.allclose(model.logits(h), h @ model.tok_emb.weight.T)
    # no separate output matrix: the only (vocab, d_model) parameter is the embedding
    shaped = [n for n, p in model.named_parameters() if p.shape == (CFG.vocab_size, CFG.d_model)]
    assert shaped == ["tok_emb.weight"]


def test_activation_checkpointing_gives_the_same_loss_and_gradients():
    b = _batch([_example(0), _example(1, image=False)])
    grads = []
    for ckpt in (False, True):
        model = _model().train()
        model.activation_checkpointing = ckpt
        out = model(b)
        loss = task_loss(out.logits_BTV, b.labels_BT, b.task_B).loss
        loss.backward()
        grads.append((loss.item(), model.blocks[0].attn.qkv.weight.grad.clone()))
    assert grads[0][0] == pytest.approx(grads[1][0], abs=1e-6)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-6)


def test_bf16_autocast_is_close_to_float32():
    model = _model()
    b = _batch([_example(0), _example(1)])
    with torch.no_grad():
        ref = task_loss(model(b).logits_BTV, b.labels_BT, b.task_B).loss
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = task_loss(model(b).logits_BTV, b.labels_BT, b.task_B).loss
    assert low.dtype == torch.float32
    assert abs(low.item() - ref.item()) < 0.05 * ref.item()


def test_text_longer_than_the_position_table_is_refused():
    model = _model()
    with pytest.raises(ValueError, match="max_text_len"):
        model(_batch([_example(0, n=20)]))


@torch.no_grad()
def test_weights_are_initialised_by_module_type():
    model = _model()
    std, residual_std = CFG.init_std, CFG.init_std / (2 * CFG.n_layers) ** 0.5
    for block in model.blocks:
        assert torch.equal(block.ln1.weight, torch.ones(CFG.d_model))
        assert torch.equal(block.ln2.bias, torch.zeros(CFG.d_model))
        assert torch.equal(block.attn.qkv.bias, torch.zeros(3 * CFG.d_model))
        assert torch.equal(block.ffn.fc1.bias, torch.zeros(CFG.d_ff))
    # the residual projections of all layers drawn with the smaller std, the others with std
    out = torch.cat([torch.cat([b.attn.out.weight.flatten(), b.ffn.fc2.weight.flatten()])
                     for b in model.blocks])
    qkv = torch.cat([b.attn.qkv.weight.flatten() for b in model.blocks])
    assert float(out.std()) == pytest.approx(residual_std, rel=0.05)
    assert float(qkv.std()) == pytest.approx(std, rel=0.05)
    assert float(model.tok_emb.weight.std()) == pytest.approx(std, rel=0.05)
    # a seed gives the same weights every time
    again = _model()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))


def test_a_module_type_without_an_init_rule_is_refused():
    model = _model()
    model.blocks[0].extra = torch.nn.PReLU()  # a parameter of a type the init does not know
    with pytest.raises(TypeError, match="no initialisation rule for PReLU"):
        model.reset_parameters()
