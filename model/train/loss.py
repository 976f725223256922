"""The pretraining loss: cross-entropy on target tokens only, with a per-task breakdown.

All four tasks of the paper (section 3.3) train the decoder to write the target text, so one
token-level cross-entropy serves them all; positions labelled ``IGNORE_INDEX`` (padding) carry
none. The loss is the mean over the batch's target tokens. The per-task sums and counts let the
trainer log each task's loss without a second pass.

Legend: B batch, T target length, V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from model.config import TASKS
from model.data.batch import IGNORE_INDEX


@dataclass
class LossOutput:
    loss: torch.Tensor  # mean over target tokens, with grad
    task_sum: torch.Tensor  # (len(TASKS),) summed token loss per task, detached, float64
    task_tokens: torch.Tensor  # (len(TASKS),) target tokens per task


def task_loss(logits_BTV: torch.Tensor, labels_BT: torch.Tensor, task_B: torch.Tensor) -> LossOutput:
    b, t, v = logits_BTV.shape
    tok_BT = F.cross_entropy(
        logits_BTV.float().reshape(b * t, v), labels_BT.reshape(-1),
        ignore_index=IGNORE_INDEX, reduction="none",
    ).view(b, t)
    counted_BT = labels_BT != IGNORE_INDEX
    n = counted_BT.sum().clamp(min=1)
    loss = tok_BT.sum() / n
    with torch.no_grad():
        per_sample_sum = tok_BT.sum(1).double()
        per_sample_n = counted_BT.sum(1)
        task_sum = torch.zeros(len(TASKS), dtype=torch.float64, device=logits_BTV.device)
        task_tokens = torch.zeros(len(TASKS), dtype=torch.long, device=logits_BTV.device)
        task_sum.index_add_(0, task_B, per_sample_sum)
        task_tokens.index_add_(0, task_B, per_sample_n)
    return LossOutput(loss, task_sum, task_tokens)
