"""Image captioning (paper section 4.3): fine-tune the image-to-text task, describe held-out
images, score them with BLEU-4 and CIDEr-D.

The data rule of the paper's E-Commerce IC set: "we discard pairs with a description longer
than 100 words or less than 10 words". Chinese has no word boundaries, so a description's
length here is its CJK characters plus its Latin/digit words (``description_length``): a
Chinese description counts characters, an English one words, a mixed one both. Pairs outside
[10, 100] are dropped when the fine-tuning and evaluation sets are built from the image_text
shards (``CaptionApp.min_length`` / ``max_length`` change the bounds). The paper's second
filter, dirty words, already ran in the corpus pipeline (section 2.3's bad-word lists).

Training is the image-to-text task of pretraining (image patches in, the description decoded,
loss on the description), so a fine-tuned checkpoint is an ordinary M6 checkpoint and
``m6 caption`` uses it directly. Evaluation generates one caption per held-out image (greedy)
and compares it with all descriptions of that image (``model/apps/caption_metrics.py``).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.apps.caption_metrics import caption_scores
from model.apps.finetune import App, LoadedApp
from model.apps.rows import RowSource, image_key
from model.data.batch import Batch, Example, collate
from model.data.image import ImageDecodeError, load_image
from model.data.tasks import TASK_ID
from model.data.tokenizer import M6Tokenizer
from model.infer.generate import SamplingConfig, generate

log = logging.getLogger(__name__)

_UNITS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+")


def description_length(text: str) -> int:
    """Words of ``text`` in the paper's sense: CJK characters plus Latin/digit words."""
    return len(_UNITS.findall(text or ""))


def keep_description(text: str, min_length: int = 10, max_length: int = 100) -> bool:
    """The paper's captioning data rule: keep descriptions of 10 to 100 words."""
    return min_length <= description_length(text) <= max_length


def decode_row_image(row: dict[str, Any], size: int):
    """The row's image as the model's input tensor, or ``None`` (logged) if it does not decode."""
    data = row.get("image")
    if not data:
        return None
    try:
        return load_image(data, size)
    except ImageDecodeError as e:
        log.warning("row %s: %s: skipped", row.get("id"), e)
        return None


@dataclass(frozen=True, kw_only=True)
class CaptionApp(App):
    name: str = "caption"
    min_length: int = 10
    max_length: int = 100

    def keep(self, row: dict[str, Any]) -> bool:
        return keep_description(row.get("text") or "", self.min_length, self.max_length)

    def prepare(self, row, tok: M6Tokenizer, image_size: int):
        if not self.keep(row):
            return None
        ids = tok.encode(row["text"])[: self.max_text_tokens]
        image = decode_row_image(row, image_size)
        if not ids or image is None:
            return None
        return ids, image

    def collate(self, items, tok: M6Tokenizer, image_size: int, rng: np.random.Generator) -> Batch:
        task = TASK_ID["image_to_text"]
        return collate([Example(task=task, target_ids=ids, image=img) for ids, img in items],
                       pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                       image_size=image_size)


def describe(model, tok: M6Tokenizer, image, sampling: SamplingConfig, seed: int = 0) -> str:
    """One caption of ``image`` (a model input tensor)."""
    ids = generate(model, prompt_ids=[], bos_id=tok.bos_id, eos_id=tok.eos_id,
                   banned_ids=(tok.pad_id, tok.bos_id, tok.mask_id), image=image,
                   sampling=sampling, seed=seed)[0]
    return tok.decode(ids)


def evaluate_caption(loaded: LoadedApp, source: RowSource, *, split: str = "val",
                     val_fraction: float | None = None, limit: int | None = None,
                     max_new_tokens: int = 64) -> dict[str, Any]:
    """BLEU-4 and CIDEr-D of greedy captions of the held-out images of ``source``."""
    app = loaded.app if isinstance(loaded.app, CaptionApp) else CaptionApp()
    vf = loaded.val_fraction if val_fraction is None else val_fraction
    size = loaded.config.model.image.image_size
    groups: OrderedDict[str, dict[str, Any]] = OrderedDict()
    n_rows = n_rule = 0
    for row in source.stream(split, val_fraction=vf):
        n_rows += 1
        if not app.keep(row):
            n_rule += 1
            continue
        key = image_key(row)
        if key not in groups:
            if limit is not None and len(groups) >= limit:
                continue  # only the first ``limit`` images, with all their descriptions
            groups[key] = {"row": row, "refs": []}
        groups[key]["refs"].append(row["text"])
    sampling = SamplingConfig(max_new_tokens=max_new_tokens, greedy=True)
    cands, refs, examples = [], [], []
    for g in groups.values():
        image = decode_row_image(g["row"], size)
        if image is None:
            continue
        cand = describe(loaded.model, loaded.tokenizer, image, sampling)
        cands.append(cand)
        refs.append(g["refs"])
        if len(examples) < 5:
            examples.append({"id": g["row"]["id"], "caption": cand, "references": g["refs"]})
    if not cands:
        raise ValueError(
            f"no {split} images to caption in {source.description} (rows {n_rows}, dropped by "
            f"the 10-100 length rule {n_rule}, val_fraction {vf}): use more data or --split all"
        )
    scores = caption_scores(cands, refs)
    return {"app": "caption", "split": split, "rows": n_rows, "dropped_by_length_rule": n_rule,
            "images": len(cands), "references": sum(len(r) for r in refs), **scores,
            "examples": examples}
