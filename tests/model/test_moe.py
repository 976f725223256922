"""Tests of model/nn/moe.py, model/nn/router.py and model/nn/experts.py in one process: equivalence with a
dense FFN, agreement with a per-token reference, exact capacity drops, empty experts, the
auxiliary losses, float32 routing under autocast, and dispatch memory."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from model.moe_config import MoEConfig, moe_layer_params
from model.nn.experts import Experts, experts_from_dense, grouped_matmul
from model.nn.moe import MoE, plan_dispatch
from model.nn.router import balance_loss, z_loss

D, FF = 16, 32


def _moe(**kw) -> MoE:
    torch.manual_seed(kw.pop("seed", 0))
    return MoE(MoEConfig(**kw), D, FF)


def _force_to(moe: MoE, expert: int, strength: float = 50.0) -> None:
    """Make every token whose feature 0 is 1.0 choose ``expert`` first."""
    with torch.no_grad():
        moe.router.gate.weight[:, 0] = 0.0
        moe.router.gate.weight[expert, 0] = strength


def _inputs(n: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, D, generator=g)
    x[:, 0] = 1.0
    return x


def _reference(moe: MoE, x_ND: torch.Tensor) -> torch.Tensor:
    """Equation 2 token by token, with no capacity."""
    ex = moe.experts
    probs = F.linear(x_ND, moe.router.gate.weight).softmax(-1)
    w, e = probs.topk(moe.cfg.top_k, dim=-1)
    out = torch.zeros_like(x_ND)
    for n in range(x_ND.shape[0]):
        for j in range(moe.cfg.top_k):
            i = int(e[n, j])
            h = F.gelu(x_ND[n] @ ex.w1[i] + ex.b1[i])
            out[n] += w[n, j] * (h @ ex.w2[i] + ex.b2[i])
    return out


def test_one_expert_moe_equals_dense_ffn_outputs_and_grads():
    torch.manual_seed(0)
    l1, l2 = nn.Linear(D, FF), nn.Linear(FF, D)
    moe = MoE(MoEConfig(num_experts=1, capacity_factor=1.0), D, FF)
    moe.experts = experts_from_dense(l1, l2)
    x = torch.randn(2, 7, D, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    out, aux = moe(x)
    dense = l2(F.gelu(l1(x_ref)))
    torch.testing.assert_close(out, dense, rtol=0, atol=1e-6)
    probe = torch.randn_like(dense)
    (out * probe).sum().backward()
    (dense * probe).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=0, atol=1e-6)
    torch.testing.assert_close(moe.experts.w1.grad[0], l1.weight.grad.t(), rtol=0, atol=1e-5)
    torch.testing.assert_close(moe.experts.b2.grad[0], l2.bias.grad, rtol=0, atol=1e-5)
    # one expert: f = P = 1, so the balance loss is exactly 1 (times its weight 0.01)
    assert aux.item() == pytest.approx(0.01)
    # the router gets no gradient: softmax over one expert is constant 1
    assert moe.router.gate.weight.grad.abs().max().item() == 0.0


@pytest.mark.parametrize("top_k", [1, 2])
@pytest.mark.parametrize("grouped", [True, False])
def test_matches_per_token_reference(top_k, grouped):
    moe = _moe(num_experts=4, top_k=top_k, capacity_factor=None)
    moe.experts.use_grouped_mm = grouped
    x = torch.randn(40, D, generator=torch.Generator().manual_seed(3))
    out = moe(x).out
    torch.testing.assert_close(out, _reference(moe, x), rtol=1e-5, atol=1e-6)


def test_grouped_mm_and_loop_agree_with_empty_groups():
    torch.manual_seed(0)
    x = torch.randn(12, 8, requires_grad=True)
    w = torch.randn(4, 8, 12, requires_grad=True)
    counts_E = torch.tensor([5, 0, 7, 0])
    ys = [grouped_matmul(x, w, counts_E.tolist(), counts_E, use) for use in (True, False)]
    torch.testing.assert_close(ys[0], ys[1])
    gs = [torch.autograd.grad(y.sum(), (x, w)) for y in ys]  # .sum() gives an expanded grad
    torch.testing.assert_close(gs[0][0], gs[1][0])
    torch.testing.assert_close(gs[0][1], gs[1][1])
    assert gs[0][1][1].abs().max().item() == 0.0 and gs[0][1][3].abs().max().item() == 0.0


def test_forced_routing_drops_exactly_the_tokens_over_capacity():
    moe = _moe(num_experts=4, top_k=1, capacity_factor=1.0)
    _force_to(moe, 2)
    x = _inputs(10)
    moe.train()
    out = moe(x).out
    cap = math.ceil(1.0 * 10 * 1 / 4)
    assert cap == 3 == moe.cfg.capacity(10)
    # the first three tokens are computed by expert 2, weighted by p_2(x)
    kept = _reference(moe, x[:cap])
    torch.testing.assert_close(out[:cap], kept, rtol=1e-5, atol=1e-6)
    assert out[:cap].abs().min() > 0
    # the other seven add nothing, so the residual x + moe(x) passes them through bit for bit
    assert torch.equal(out[cap:], torch.zeros(10 - cap, D))
    assert torch.equal((x + out)[cap:], x[cap:])
    assert moe.routed_per_expert.tolist() == [0, 0, 10, 0]
    assert moe.kept_per_expert.tolist() == [0, 0, 3, 0]


def test_top2_second_choices_lose_capacity_before_first_choices():
    torch.manual_seed(0)
    expert_NK = torch.tensor([[0, 1], [1, 0], [0, 1], [0, 2]])
    weight_NK = torch.rand(4, 2)
    plan = plan_dispatch(expert_NK, weight_NK, num_experts=3, capacity=2)
    # expert 0: first choices of tokens 0, 2, 3 and second of token 1 -> keeps tokens 0 and 2
    # expert 1: first of token 1, second of tokens 0, 2 -> keeps token 1 and token 0's second
    assert plan.kept_E.tolist() == [2, 2, 1]
    assert plan.routed_E.tolist() == [4, 3, 1]
    assert plan.token_T.tolist() == [0, 2, 1, 0, 3]
    assert plan.weight_T.tolist() == [weight_NK[0, 0], weight_NK[2, 0], weight_NK[1, 0],
                                      weight_NK[0, 1], weight_NK[3, 1]]
    assert sorted(plan.dropped_token_D.tolist()) == [1, 2, 3]


def test_expert_without_tokens_gives_finite_output_and_zero_grads():
    moe = _moe(num_experts=4, top_k=2, capacity_factor=1.25)
    with torch.no_grad():  # only experts 0 and 1 can win: 2 and 3 never get a token
        moe.router.gate.weight[:, 0] = torch.tensor([30.0, 29.0, -30.0, -30.0])
    x = _inputs(9).requires_grad_()
    out, aux = moe(x)
    (out.square().sum() + aux).backward()
    for t in (out, aux, x.grad, moe.router.gate.weight.grad, *[p.grad for p in moe.experts.parameters()]):
        assert torch.isfinite(t).all()
    assert moe.experts.w1.grad[2:].abs().max().item() == 0.0
    assert moe.experts.w1.grad[:2].abs().min().item() >= 0 and moe.experts.w1.grad[:2].abs().max() > 0
    # and a batch with no tokens at all
    empty_out, empty_aux = moe(torch.zeros(0, D))
    assert empty_out.shape == (0, D) and empty_aux.item() == 0.0


def test_balance_and_z_loss_values():
    probs = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.4, 0.2, 0.2, 0.2]])
    expert = torch.tensor([[0], [0]])
    # f = [1, 0, 0, 0], P_0 = 0.55 -> 4 * 0.55
    assert balance_loss(probs, expert).item() == pytest.approx(2.2)
    uniform = torch.full((4, 4), 0.25)
    assert balance_loss(uniform, torch.tensor([[0], [1], [2], [3]])).item() == pytest.approx(1.0)
    logits = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    want = (math.log(2) ** 2 + math.log(math.e + math.e ** 2) ** 2) / 2
    assert z_loss(logits).item() == pytest.approx(want, rel=1e-6)


def test_aux_loss_is_the_weighted_sum_and_carries_router_gradient():
    moe = _moe(num_experts=4, top_k=2, capacity_factor=None, balance_loss_weight=0.5,
               z_loss_weight=0.25)
    x = torch.randn(20, D)
    routing = moe.router(x)
    aux = moe(x).aux_loss
    assert aux.item() == pytest.approx(0.5 * routing.balance_loss.item()
                                       + 0.25 * routing.z_loss.item(), rel=1e-6)
    aux.backward()
    assert moe.router.gate.weight.grad.abs().max() > 0


def test_routing_is_float32_under_bf16_autocast():
    moe = _moe(num_experts=4, top_k=2, capacity_factor=None)
    x = torch.randn(16, D)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        routing = moe.router(x)
        out = moe(x.bfloat16()).out
    assert routing.probs_NE.dtype == torch.float32 and routing.weight_NK.dtype == torch.float32
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), _reference(moe, x), rtol=0.05, atol=0.02)


def test_dispatch_never_allocates_tokens_by_experts_by_capacity():
    n, e = 1024, 256
    moe = MoE(MoEConfig(num_experts=e, top_k=2, capacity_factor=1.25), 8, 8)
    x = torch.randn(n, 8)
    cap = moe.cfg.capacity(n)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                profile_memory=True) as prof:
        moe(x)
    biggest = max(ev.cpu_memory_usage for ev in prof.events())
    # the router's probabilities are N x E floats; a one-hot dispatch would be cap times that
    assert biggest <= n * e * 4 * 1.01
    assert n * e * cap * 4 > 8 * biggest


def test_counters_count_training_forwards_once_even_with_activation_checkpointing():
    moe = _moe(num_experts=4, top_k=1, capacity_factor=None)
    x = torch.randn(6, D, requires_grad=True)
    moe.train()
    out = checkpoint(lambda t: moe(t).out, x, use_reentrant=False)
    out.sum().backward()  # replays the forward
    assert int(moe.tokens_seen) == 6 and int(moe.routed_per_expert.sum()) == 6
    moe.eval()
    moe(x)
    assert int(moe.tokens_seen) == 6


def test_config_rejects_bad_values_with_a_reason():
    with pytest.raises(ValueError, match="top_k must be 1 or 2"):
        MoEConfig(top_k=3)
    with pytest.raises(ValueError, match="layers must be one of"):
        MoEConfig(layers="odd")
    cfg = MoEConfig(layers="every_other")
    assert [cfg.is_moe_layer(i) for i in range(4)] == [False, True, False, True]
    assert cfg.num_moe_layers(24) == 12
    total, active = moe_layer_params(MoEConfig(num_experts=4, top_k=2), D, FF)
    one = 2 * D * FF + FF + D
    assert (total, active) == (D * 4 + 4 * one, D * 4 + 2 * one)
    assert total == sum(p.numel() for p in MoE(MoEConfig(num_experts=4), D, FF).parameters())


def test_experts_reject_counts_that_do_not_match_rows():
    ex = Experts(2, D, FF)
    with pytest.raises(ValueError, match="sums to 3 but 4 rows"):
        ex(torch.randn(4, D), torch.tensor([1, 2]))


def _small_model_cfg(moe: MoEConfig | None):
    from dataclasses import replace

    from model.presets import tiny

    cfg = tiny().model
    return replace(cfg, vocab_size=100, d_model=32, n_layers=2, n_heads=2, d_ff=64, dropout=0.0,
                   image=replace(cfg.image, image_size=32, patch_size=16, cnn_channels=(8,)),
                   moe=moe)


def _batch(b: int = 2):
    from model.data.batch import Batch

    g = torch.Generator().manual_seed(5)
    target = torch.randint(1, 100, (b, 6), generator=g)
    masked = torch.randint(1, 100, (b, 4), generator=g)
    masked[0, 2:] = 0  # padding
    return Batch(task_B=torch.tensor([3, 0])[:b], masked_ids_BM=masked, target_ids_BT=target,
                 labels_BT=target, images_B3HW=torch.randn(b, 3, 32, 32, generator=g),
                 has_image_B=torch.tensor([True, False])[:b])


def test_m6_model_with_one_expert_everywhere_equals_the_dense_model():
    from model.nn.transformer import M6Model

    torch.manual_seed(0)
    dense = M6Model(_small_model_cfg(None)).eval()
    moe_cfg = MoEConfig(num_experts=1, capacity_factor=None, layers="every")
    sparse = M6Model(_small_model_cfg(moe_cfg)).eval()
    sd = dense.state_dict()
    for i in range(2):
        p = f"blocks.{i}.ffn."
        sd[p + "experts.w1"] = sd.pop(p + "fc1.weight").t().unsqueeze(0)
        sd[p + "experts.b1"] = sd.pop(p + "fc1.bias").unsqueeze(0)
        sd[p + "experts.w2"] = sd.pop(p + "fc2.weight").t().unsqueeze(0)
        sd[p + "experts.b2"] = sd.pop(p + "fc2.bias").unsqueeze(0)
        sd[p + "router.gate.weight"] = sparse.state_dict()[p + "router.gate.weight"]
    sparse.load_state_dict(sd, strict=True)
    a, b = dense(_batch()), sparse(_batch())
    torch.testing.assert_close(b.logits_BTV, a.logits_BTV, rtol=1e-5, atol=1e-5)
    assert a.aux_loss.item() == 0.0
    assert b.aux_loss.item() == pytest.approx(2 * 0.01)  # balance loss 1 per layer, weight 0.01


def test_m6_model_places_moe_layers_and_initialises_experts_like_the_ffn():
    from model.nn.ffn import FeedForward
    from model.nn.transformer import M6Model

    torch.manual_seed(0)
    model = M6Model(_small_model_cfg(MoEConfig(num_experts=4, top_k=2))).train()
    assert isinstance(model.blocks[0].ffn, FeedForward) and isinstance(model.blocks[1].ffn, MoE)
    ex = model.blocks[1].ffn.experts
    assert ex.b1.abs().max().item() == 0.0 and ex.b2.abs().max().item() == 0.0
    assert ex.w2.std().item() == pytest.approx(0.02 / 2, rel=0.1)  # depth-scaled like fc2
    out = model(_batch())
    (out.logits_BTV.logsumexp(-1).mean() + out.aux_loss).backward()
    assert ex.w1.grad.abs().max() > 0 and model.blocks[1].ffn.router.gate.weight.grad.abs().max() > 0
    metrics = model.blocks[1].ffn.pop_metrics()
    # 2 samples: sample 0 has 4 patches + 2 masked + 6 target real tokens, sample 1 2 + 4 + 6
    # minus its 4 absent patches and 0 masked padding: 12 + 10 real tokens, 2 choices each
    assert sum(metrics["tokens_per_expert"]) == 2 * (12 + 10)
    assert metrics["group/mm_to_text/image/tokens"] == 4.0


def test_expert_loop_backward_with_another_activation_matches_autograd():
    torch.manual_seed(0)
    ex = Experts(3, D, FF, activation=torch.tanh)
    x = torch.randn(10, D, requires_grad=True)
    counts_E = torch.tensor([4, 0, 6])
    ex(x, counts_E).square().sum().backward()
    got = [x.grad.clone()] + [p.grad.clone() for p in ex.parameters()]
    x.grad = None
    ex.zero_grad()
    ws = [p.unbind(0) for p in (ex.w1, ex.b1, ex.w2, ex.b2)]
    ref = torch.cat([torch.tanh(xs @ ws[0][e] + ws[1][e]) @ ws[2][e] + ws[3][e]
                     for e, xs in ((0, x[:4]), (2, x[4:]))])
    ref.square().sum().backward()
    want = [x.grad] + [p.grad for p in ex.parameters()]
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
