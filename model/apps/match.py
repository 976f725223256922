"""Image-text matching (paper section 4.6): does this text describe this image? A binary head on
the unified model, trained with negatives made by swapping texts between pairs.

Input: the image patches and the text both on the encoder side (the text as the unmasked
"masked-text" segment, so image and text attend to each other in both directions) and the
decoder input ``[BOS]`` alone; the final hidden state at ``[BOS]`` -- which attends to the whole
prefix -- goes through a linear layer to one logit, P(match) = sigmoid(logit). Loss: binary
cross-entropy.

Negatives: "the negative samples are constructed by randomly substituting the query in the
original pairs". In training every pair of a batch gives one positive and one negative, the
negative pairing its image with the text of another pair of the batch drawn at random, never one
showing the same image (``image_key``) or with the same text -- so classes are balanced. The
held-out evaluation does the same deterministically: held-out pair i is paired with the text of
the next held-out pair that has another image and another text, giving exactly as many
negatives as positives; accuracy is at P = 0.5 (and ROC AUC is reported beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.apps.caption import decode_row_image
from model.apps.finetune import App, LoadedApp
from model.apps.rows import RowSource, image_key
from model.config import TASKS, ModelConfig
from model.data.batch import Batch, Example, collate
from model.data.tasks import TASK_ID
from model.data.tokenizer import M6Tokenizer
from model.nn.transformer import M6Model
from model.train.loss import LossOutput

TASK = TASK_ID["mm_to_text"]  # image + text on the encoder side: the closest pretraining task


@dataclass
class MatchBatch(Batch):
    match_B: torch.Tensor | None = None  # 1.0 for a true pair, 0.0 for a swapped one


class MatchModel(nn.Module):
    """M6 with a binary head on the hidden state of the first decoder position."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.m6 = M6Model(cfg)
        self.head = nn.Linear(cfg.d_model, 1)
        nn.init.normal_(self.head.weight, 0.0, cfg.init_std)
        nn.init.zeros_(self.head.bias)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(logit_B, aux_loss)."""
        h_BTD, aux = self.m6.hidden_states(batch)
        return self.head(h_BTD[:, 0]).squeeze(-1), aux


def pair_batch(pairs: list[tuple[torch.Tensor, list[int]]], labels: list[float],
               tok: M6Tokenizer, image_size: int) -> MatchBatch:
    base = collate([Example(task=TASK, target_ids=[], masked_ids=ids, image=img)
                    for img, ids in pairs],
                   pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id, image_size=image_size)
    return MatchBatch(**{f: getattr(base, f) for f in base.__dataclass_fields__},
                      match_B=torch.tensor(labels, dtype=torch.float32))


def negative_partner(i: int, keys: list[str], texts: list[str], order: list[int]) -> int | None:
    """The first index j in ``order`` whose image and text both differ from item ``i``'s."""
    for j in order:
        if j != i and keys[j] != keys[i] and texts[j] != texts[i]:
            return j
    return None


@dataclass(frozen=True, kw_only=True)
class MatchApp(App):
    name: str = "match"

    def build_model(self, cfg: ModelConfig) -> nn.Module:
        return MatchModel(cfg)

    def init_from(self, model: nn.Module, pretrained: nn.Module) -> None:
        model.m6.load_state_dict(pretrained.state_dict())

    def m6(self, model: nn.Module) -> nn.Module:
        return model.m6

    def prepare(self, row, tok: M6Tokenizer, image_size: int):
        ids = tok.encode(row.get("text") or "")[: self.max_text_tokens]
        image = decode_row_image(row, image_size)
        if not ids or image is None:
            return None
        return image, ids, image_key(row), row["text"]

    def collate(self, items, tok: M6Tokenizer, image_size: int, rng: np.random.Generator):
        keys = [k for _, _, k, _ in items]
        texts = [t for _, _, _, t in items]
        pairs, labels = [], []
        for i, (img, ids, _, _) in enumerate(items):
            pairs.append((img, ids))
            labels.append(1.0)
            j = negative_partner(i, keys, texts, rng.permutation(len(items)).tolist())
            if j is not None:
                pairs.append((img, items[j][1]))
                labels.append(0.0)
        return pair_batch(pairs, labels, tok, image_size)

    def loss(self, model: nn.Module, batch: MatchBatch) -> tuple[LossOutput, torch.Tensor]:
        logit_B, aux = model(batch)
        per = F.binary_cross_entropy_with_logits(logit_B.float(), batch.match_B, reduction="none")
        task_sum = torch.zeros(len(TASKS), dtype=torch.float64, device=per.device)
        task_n = torch.zeros(len(TASKS), dtype=torch.long, device=per.device)
        task_sum[TASK] = per.detach().double().sum()
        task_n[TASK] = per.numel()
        return LossOutput(per.mean(), task_sum, task_n), aux


@torch.no_grad()
def match_probability(model: MatchModel, tok: M6Tokenizer, image: torch.Tensor, text: str,
                      image_size: int, max_text_tokens: int = 64) -> float:
    model.eval()
    ids = tok.encode(text)[:max_text_tokens]
    if not ids:
        raise ValueError("the text has no tokens")
    batch = pair_batch([(image, ids)], [1.0], tok, image_size)
    logit, _ = model(batch.to(next(model.parameters()).device))
    return float(torch.sigmoid(logit)[0])


def roc_auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve (the probability a positive outranks a negative; ties half)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


@torch.no_grad()
def evaluate_match(loaded: LoadedApp, source: RowSource, *, split: str = "val",
                   val_fraction: float | None = None, limit: int | None = None,
                   batch_size: int = 16) -> dict[str, Any]:
    """Accuracy (and AUC) on held-out pairs and as many swapped-text negatives."""
    vf = loaded.val_fraction if val_fraction is None else val_fraction
    size = loaded.config.model.image.image_size
    tok = loaded.tokenizer
    app = loaded.app
    items = []
    for row in source.rows(split, val_fraction=vf, limit=limit):
        item = app.prepare(row, tok, size)
        if item is not None:
            items.append(item)
    keys = [k for _, _, k, _ in items]
    texts = [t for _, _, _, t in items]
    pairs, labels = [], []
    n = len(items)
    for i, (img, ids, _, _) in enumerate(items):
        j = negative_partner(i, keys, texts, [(i + d) % n for d in range(1, n)])
        if j is None:
            continue
        pairs += [(img, ids), (img, items[j][1])]
        labels += [1, 0]
    if not pairs:
        raise ValueError(
            f"no {split} pairs with a negative partner in {source.description} ({n} usable "
            f"rows, val_fraction {vf}): matching needs at least two held-out images with "
            "different texts"
        )
    model = loaded.model.eval()
    device = next(model.parameters()).device
    probs: list[float] = []
    for s in range(0, len(pairs), batch_size):
        b = pair_batch(pairs[s : s + batch_size], [0.0] * len(pairs[s : s + batch_size]), tok, size)
        logit, _ = model(b.to(device))
        probs += torch.sigmoid(logit.float()).tolist()
    pred = [p >= 0.5 for p in probs]
    acc = sum(int(p) == y for p, y in zip(pred, labels)) / len(labels)
    pos = [p for p, y in zip(probs, labels) if y]
    neg = [p for p, y in zip(probs, labels) if not y]
    return {"app": "match", "split": split, "pairs": len(labels), "positives": len(pos),
            "negatives": len(neg), "accuracy": acc, "auc": roc_auc(probs, labels),
            "mean_p_positive": float(np.mean(pos)), "mean_p_negative": float(np.mean(neg))}
