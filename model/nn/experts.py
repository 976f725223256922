"""The experts of an MoE layer: m feed-forward networks stored as stacked weights, each run on
its own contiguous slice of the tokens (already sorted by expert) as one batched multiply.

Each expert is the dense FFN of the transformer block (d_model -> d_ff -> activation ->
d_model, with biases), so a one-expert MoE is exactly that FFN. The input arrives sorted by
expert with ``counts_E`` rows per expert (any count may be zero); every expert runs on its own
contiguous slice and no tokens x experts tensor is ever built (compare the N x E x C dispatch
one-hots of Mesh-TensorFlow/GShard). On CUDA the experts run as one ``torch._grouped_mm`` per
projection where this torch has the kernel (bfloat16, sm90+); elsewhere, and on CPU where it is
faster, as a loop of one fused bias + matmul per expert that has rows. Both give the same
numbers (a test checks).

Under expert parallelism this module holds only the rank's experts: ``first_expert`` is the
global index of its expert 0 (set by ``model.distributed.expert_parallel.shard_experts``).

Legend: T rows (token assignments sorted by expert), D d_model, F d_ff, E local experts.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F


def _grouped_mm_supported(x: torch.Tensor, w: torch.Tensor) -> bool:
    if not hasattr(torch, "_grouped_mm") or x.dtype != w.dtype:
        return False
    # the kernels want every row stride a multiple of 16 bytes
    if any((n * x.element_size()) % 16 for n in (x.shape[-1], w.shape[-1])):
        return False
    if x.device.type == "cpu":
        return x.dtype in (torch.float32, torch.bfloat16)
    if x.device.type == "cuda":
        return x.dtype == torch.bfloat16 and torch.cuda.get_device_capability(x.device)[0] >= 9
    return False


class _GroupedMatmul(torch.autograd.Function):
    """y[rows of group e] = x[rows of group e] @ w[e], with the backward written out so the
    incoming gradient is made contiguous (the native CPU backward rejects expanded grads)."""

    @staticmethod
    def forward(ctx, x_TD, w_EDF, offs_E):
        ctx.save_for_backward(x_TD, w_EDF, offs_E)
        return torch._grouped_mm(x_TD, w_EDF, offs=offs_E)

    @staticmethod
    def backward(ctx, g_TF):
        x_TD, w_EDF, offs_E = ctx.saved_tensors
        g_TF = g_TF.contiguous()
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = torch._grouped_mm(g_TF, w_EDF.transpose(1, 2), offs=offs_E)
        if ctx.needs_input_grad[1]:
            gw = torch._grouped_mm(x_TD.t(), g_TF, offs=offs_E)
        return gx, gw, None


def grouped_matmul(x_TD: torch.Tensor, w_EDF: torch.Tensor, counts: list[int],
                   counts_E: torch.Tensor, use_grouped_mm: bool | None = None) -> torch.Tensor:
    """Rows of ``x_TD`` are grouped by expert, ``counts[e]`` rows for expert e."""
    if use_grouped_mm is None:
        use_grouped_mm = _grouped_mm_supported(x_TD, w_EDF)
    if use_grouped_mm:
        offs_E = counts_E.cumsum(0).to(torch.int32)
        return _GroupedMatmul.apply(x_TD.contiguous(), w_EDF, offs_E)
    w_list = w_EDF.unbind(0)  # unbind's backward stacks once instead of E zero-filled grads
    outs = [x @ w_list[e] for e, x in enumerate(x_TD.split(counts)) if counts[e]]
    if not outs:
        return x_TD.new_zeros(0, w_EDF.shape[-1])
    return torch.cat(outs)


class _ExpertLoop(torch.autograd.Function):
    """Every expert with rows runs ``act(x W1 + b1) W2 + b2`` on its slice as two fused addmm.

    A hand-written backward writes each expert's gradient straight into its slot of the stacked
    gradient (no per-expert tensors stacked afterwards, no zero-filled full-size gradients for
    indexing) and each slice's input gradient into one buffer: on CPU this keeps the layer's
    memory traffic close to a dense FFN's. Saved for backward, as nn.Linear + GELU would: the
    input rows, the pre-activation and the activation. GELU's derivative is the aten kernel;
    any other activation is differentiated by autograd."""

    @staticmethod
    def forward(ctx, x_TD, w1, b1, w2, b2, counts, activation):
        t, f, d_out = x_TD.shape[0], w1.shape[-1], w2.shape[-1]
        pre_TF = x_TD.new_empty(t, f)
        act_TF = x_TD.new_empty(t, f)
        out_TD = x_TD.new_empty(t, d_out)
        start = 0
        for e, n in enumerate(counts):
            if n:
                rows = slice(start, start + n)
                torch.addmm(b1[e], x_TD[rows], w1[e], out=pre_TF[rows])
                act_TF[rows] = activation(pre_TF[rows])
                torch.addmm(b2[e], act_TF[rows], w2[e], out=out_TD[rows])
                start += n
        ctx.save_for_backward(x_TD, pre_TF, act_TF, w1, w2)
        ctx.counts, ctx.activation = counts, activation
        return out_TD

    @staticmethod
    def backward(ctx, g_TD):
        x_TD, pre_TF, act_TF, w1, w2 = ctx.saved_tensors
        g_TD = g_TD.contiguous()
        gx = torch.empty_like(x_TD) if ctx.needs_input_grad[0] else None
        gw1, gw2 = torch.empty_like(w1), torch.empty_like(w2)
        gb1 = w1.new_empty(w1.shape[0], w1.shape[2])
        gb2 = w2.new_empty(w2.shape[0], w2.shape[2])
        start = 0
        for e, n in enumerate(ctx.counts):
            if not n:  # an expert without tokens gets an exact zero gradient
                for grad in (gw1, gw2, gb1, gb2):
                    grad[e].zero_()
                continue
            rows = slice(start, start + n)
            start += n
            g = g_TD[rows]
            torch.mm(act_TF[rows].t(), g, out=gw2[e])
            torch.sum(g, 0, out=gb2[e])
            g_pre = _activation_backward(ctx.activation, g @ w2[e].t(), pre_TF[rows])
            torch.mm(x_TD[rows].t(), g_pre, out=gw1[e])
            torch.sum(g_pre, 0, out=gb1[e])
            if gx is not None:
                torch.mm(g_pre, w1[e].t(), out=gx[rows])
        return gx, gw1, gb1, gw2, gb2, None, None


def _activation_backward(activation, g_act: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
    if activation is F.gelu:
        return torch.ops.aten.gelu_backward(g_act, pre)
    with torch.enable_grad():
        pre = pre.detach().requires_grad_()
        return torch.autograd.grad(activation(pre), pre, g_act)[0]


class Experts(nn.Module):
    """``num_experts`` FFNs with stacked parameters w1 (E, D, F), b1 (E, F), w2 (E, F, D), b2 (E, D)."""

    def __init__(self, num_experts: int, d_model: int, d_ff: int,
                 activation: Callable[[torch.Tensor], torch.Tensor] = F.gelu,
                 init_std: float = 0.02) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.first_expert = 0  # global index of local expert 0 under expert parallelism
        self.activation = activation
        self.w1 = nn.Parameter(torch.empty(num_experts, d_model, d_ff))
        self.b1 = nn.Parameter(torch.zeros(num_experts, d_ff))
        self.w2 = nn.Parameter(torch.empty(num_experts, d_ff, d_model))
        self.b2 = nn.Parameter(torch.zeros(num_experts, d_model))
        self.init_std = init_std
        self.reset_parameters()
        # True: torch._grouped_mm; False: a loop of per-expert addmm; None: grouped on CUDA
        # where the kernel exists (bf16, sm90+), the loop elsewhere (faster on CPU)
        self.use_grouped_mm: bool | None = None

    def reset_parameters(self) -> None:
        if self.w1.is_meta:
            return
        nn.init.normal_(self.w1, std=self.init_std)
        # the output projection is scaled down with depth by the block's own init when wanted;
        # here it gets the same std so a freshly built MoE behaves like a fresh dense FFN
        nn.init.normal_(self.w2, std=self.init_std)
        nn.init.zeros_(self.b1)
        nn.init.zeros_(self.b2)

    @property
    def expert_params(self) -> int:
        return sum(p[0].numel() for p in (self.w1, self.b1, self.w2, self.b2))

    def forward(self, x_TD: torch.Tensor, counts_E: torch.Tensor) -> torch.Tensor:
        """Run expert e on its ``counts_E[e]`` consecutive rows of ``x_TD``."""
        if counts_E.numel() != self.num_experts:
            raise ValueError(f"counts_E has {counts_E.numel()} entries for {self.num_experts} experts")
        counts = counts_E.tolist()
        if sum(counts) != x_TD.shape[0]:
            raise ValueError(f"counts_E sums to {sum(counts)} but {x_TD.shape[0]} rows were given")
        w1, b1, w2, b2 = self.w1, self.b1, self.w2, self.b2
        dev = x_TD.device.type
        if torch.is_autocast_enabled(dev):  # grouped mm is not on autocast's list: cast by hand
            dt = torch.get_autocast_dtype(dev)
            x_TD, w1, b1, w2, b2 = (t.to(dt) for t in (x_TD, w1, b1, w2, b2))
        elif x_TD.dtype != w1.dtype:
            x_TD = x_TD.to(w1.dtype)
        if self.use_grouped_mm is False or (self.use_grouped_mm is None and not (
                x_TD.device.type == "cuda" and _grouped_mm_supported(x_TD, w1))):
            return self._loop(x_TD, counts, w1, b1, w2, b2)
        row_expert_T = torch.repeat_interleave(
            torch.arange(self.num_experts, device=x_TD.device), counts_E,
            output_size=x_TD.shape[0])
        h_TF = grouped_matmul(x_TD, w1, counts, counts_E, True) + b1[row_expert_T]
        h_TF = self.activation(h_TF)
        return grouped_matmul(h_TF, w2, counts, counts_E, True) + b2[row_expert_T]

    def _loop(self, x_TD, counts, w1, b1, w2, b2) -> torch.Tensor:
        return _ExpertLoop.apply(x_TD, w1, b1, w2, b2, counts, self.activation)

    def extra_repr(self) -> str:
        e, d, f = self.w1.shape
        return f"experts={e} (first global {self.first_expert}), d_model={d}, d_ff={f}"


def experts_from_dense(linear1: nn.Linear, linear2: nn.Linear,
                       activation: Callable[[torch.Tensor], torch.Tensor] = F.gelu) -> Experts:
    """A one-expert ``Experts`` holding a copy of a dense FFN's weights (nn.Linear layout)."""
    d_ff, d_model = linear1.weight.shape
    ex = Experts(1, d_model, d_ff, activation)
    with torch.no_grad():
        ex.w1.copy_(linear1.weight.t().unsqueeze(0))
        ex.w2.copy_(linear2.weight.t().unsqueeze(0))
        if linear1.bias is not None:
            ex.b1.copy_(linear1.bias.unsqueeze(0))
        if linear2.bias is not None:
            ex.b2.copy_(linear2.bias.unsqueeze(0))
    return ex

