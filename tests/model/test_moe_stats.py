"""Tests of model/nn/moe_stats.py and MoE.pop_metrics: the per-layer MoE diagnostics, by task
and modality or by labels set by hand, with padding left out, on forced routings whose counts
are known exactly."""

from __future__ import annotations

import pytest
import torch

from model.config import SEGMENT_IMAGE, SEGMENT_MASKED, SEGMENT_TARGET, TASKS
from model.moe_config import MoEConfig
from model.nn.ffn import TokenInfo
from model.nn.moe import MoE, moe_layers, set_token_groups
from model.nn.moe_stats import balance

D, FF = 16, 32


def _forced_moe(capacity_factor=1.0) -> MoE:
    """Tokens with feature 0 == +1 go to expert 0, with -1 to expert 1 (of 4)."""
    torch.manual_seed(0)
    moe = MoE(MoEConfig(num_experts=4, top_k=1, capacity_factor=capacity_factor), D, FF)
    with torch.no_grad():
        moe.router.gate.weight.zero_()
        moe.router.gate.weight[0, 0] = 40.0
        moe.router.gate.weight[1, 0] = -40.0
    return moe.train()


def _x(signs: list[int]) -> torch.Tensor:
    x = torch.zeros(len(signs), D)
    x[:, 0] = torch.tensor(signs, dtype=torch.float32)
    return x


def test_padding_is_not_routed_and_takes_no_capacity():
    moe = _forced_moe(capacity_factor=1.0)
    x = _x([1] * 8).view(1, 8, D)
    valid = torch.tensor([[False] * 4 + [True] * 4])
    info = TokenInfo(segment_BL=torch.full((1, 8), SEGMENT_TARGET), valid_BL=valid)
    out = moe(x, info).out
    # 4 valid tokens -> capacity ceil(4 / 4) = 1: only the first *valid* token is computed
    assert moe.cfg.capacity(4) == 1
    assert out[0, :5].abs().sum(-1).tolist()[:4] == [0.0] * 4
    assert out[0, 4].abs().sum() > 0 and out[0, 5:].abs().sum() == 0
    m = moe.pop_metrics()
    assert m["tokens_per_expert"] == [4, 0, 0, 0]
    assert m["dropped_frac"] == pytest.approx(3 / 4)
    assert m["load_max_over_mean"] == pytest.approx(4.0)


def test_layer_metrics_by_task_and_modality():
    moe = _forced_moe(capacity_factor=2.0)  # 8 tokens -> capacity 4 per expert
    # sample 0: image_to_text, 2 image patches (expert 0) + 2 target tokens (expert 1)
    # sample 1: lm, 4 target tokens, 3 to expert 0 and 1 padding
    x = _x([1, 1, -1, -1, 1, 1, 1, 1]).view(2, 4, D)
    seg = torch.tensor([[SEGMENT_IMAGE, SEGMENT_IMAGE, SEGMENT_TARGET, SEGMENT_TARGET],
                        [SEGMENT_MASKED, SEGMENT_TARGET, SEGMENT_TARGET, SEGMENT_TARGET]])
    valid = torch.tensor([[True, True, True, True], [True, True, True, False]])
    task = torch.tensor([TASKS.index("image_to_text"), TASKS.index("lm")])
    moe(x, TokenInfo(seg, valid, task))
    m = moe.pop_metrics()
    assert m["tokens_per_expert"] == [5, 2, 0, 0]
    # capacity 4: expert 0 takes the 2 patches and the first 2 lm tokens; the third is dropped
    assert m["dropped_frac"] == pytest.approx(1 / 7)
    assert m["group/image_to_text/image/tokens"] == 2.0
    assert m["group/image_to_text/image/dropped_frac"] == 0.0
    assert m["group/image_to_text/text/tokens"] == 2.0
    assert m["group/lm/text/tokens"] == 3.0
    assert m["group/lm/text/dropped_frac"] == pytest.approx(1 / 3)
    assert "group/lm/image/tokens" not in m
    # within a group that all goes to one expert with p ~ 1, Switch's loss is E * 1 * 1 = 4
    assert m["group/image_to_text/image/balance_loss"] == pytest.approx(4.0, rel=1e-6)
    # the counters were reset by the read
    assert moe.pop_metrics() == {}


def test_explicit_groups_over_layers():
    model = torch.nn.Sequential(_forced_moe(1.0), _forced_moe(1.0))
    assert moe_layers(model) == [model[0], model[1]]
    x = _x([1, 1, 1, -1])
    set_token_groups(model, torch.tensor([0, 0, 1, 1]), ["a", "b"])
    for moe in model:
        moe(x)
    for moe in model:
        m = moe.pop_metrics()
        # capacity ceil(4 / 4) = 1: expert 0 keeps 1 of its 3, expert 1 keeps its 1
        assert m["dropped_frac"] == pytest.approx(2 / 4)
        assert m["group/a/dropped_frac"] == pytest.approx(1 / 2)
        assert m["group/b/dropped_frac"] == pytest.approx(1 / 2)
        assert m["group/a/tokens"] == 2.0 and m["group/b/tokens"] == 2.0
        assert m["balance_loss"] == pytest.approx(4 * (0.75 * 0.75 + 0.25 * 0.25), rel=1e-6)
        assert moe.pop_metrics() == {}
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        set_token_groups(model, torch.tensor([0, 2]), ["a", "b"])


def test_balance_is_switch_loss_from_counts():
    # 4 tokens, top-1: 3 to expert 0, 1 to expert 1; mean probabilities 0.5 / 0.5 / 0 / 0
    routed = torch.tensor([3, 1, 0, 0])
    prob_sums = torch.tensor([2.0, 2.0, 0.0, 0.0])
    assert balance(routed, prob_sums, tokens=4, k=1) == pytest.approx(4 * (0.75 * 0.5 + 0.25 * 0.5))
    assert balance(routed, prob_sums, tokens=0, k=1) == 0.0
