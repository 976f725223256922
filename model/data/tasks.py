"""The four pretraining tasks of the paper's Figure 3 (section 3.3), as sample -> Example.

- ``text_denoise``: 15% of the text is masked as contiguous spans, each span replaced by a single
  [MASK] ("we mask a continuous span of text with a single mask"); the decoder writes the whole
  text, so it learns both to recover and to predict length.
- ``lm``: the encoder side is empty and the decoder writes the text from nothing.
- ``image_to_text``: the image patches are the encoder side, the masked text is left blank, the
  decoder writes the description.
- ``mm_to_text``: image patches plus the span-masked description; the decoder writes it whole.

A text sample becomes ``text_denoise`` or ``lm``, an image-text sample ``image_to_text`` or
``mm_to_text``, in proportion to the configured weights. Span positions follow T5's
``random_spans_noise_mask``: the masked and the kept tokens are each cut into the same number of
spans at random cut points, and the spans alternate.

Every random choice takes a ``numpy.random.Generator`` seeded per sample by the data loader, so a
resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from model.config import IMAGE_TASKS, TASKS, TEXT_TASKS, TaskConfig
from model.data.batch import Example

TASK_ID = {name: i for i, name in enumerate(TASKS)}


def _segmentation(total: int, parts: int, rng: np.random.Generator) -> list[int]:
    """``total`` cut into ``parts`` positive lengths at random points."""
    if parts == 1:
        return [total]
    cuts = np.sort(rng.choice(np.arange(1, total), size=parts - 1, replace=False))
    return np.diff(np.concatenate([[0], cuts, [total]])).tolist()


def span_mask(
    ids: Sequence[int], rng: np.random.Generator, *, mask_id: int, ratio: float = 0.15,
    mean_span: float = 3.0,
) -> list[int]:
    """``ids`` with about ``ratio`` of its tokens masked in spans, each span one ``mask_id``."""
    n = len(ids)
    if n < 2:
        return list(ids)
    n_noise = min(max(1, round(n * ratio)), n - 1)
    n_spans = max(1, min(round(n_noise / mean_span), n_noise, n - n_noise))
    noise = _segmentation(n_noise, n_spans, rng)
    keep = _segmentation(n - n_noise, n_spans, rng)
    noise_first = bool(rng.integers(2))
    out: list[int] = []
    pos = 0
    for k, z in zip(keep, noise):
        runs = ((z, True), (k, False)) if noise_first else ((k, False), (z, True))
        for length, masked in runs:
            if masked:
                out.append(mask_id)
            else:
                out.extend(ids[pos : pos + length])
            pos += length
    return out


class TaskMaker:
    """Turns a tokenised sample (and its image) into the ``Example`` of a drawn task."""

    def __init__(self, cfg: TaskConfig, *, mask_id: int):
        self.cfg = cfg
        self.mask_id = mask_id
        self.text_tasks, self.text_p = self._choices(TEXT_TASKS)
        self.image_tasks, self.image_p = self._choices(IMAGE_TASKS)

    def _choices(self, names: Sequence[str]) -> tuple[list[str], np.ndarray | None]:
        names = [n for n in names if self.cfg.weight(n) > 0]
        if not names:
            return [], None
        w = np.array([self.cfg.weight(n) for n in names], dtype=np.float64)
        return names, w / w.sum()

    @property
    def wants_text(self) -> bool:
        return bool(self.text_tasks)

    @property
    def wants_images(self) -> bool:
        return bool(self.image_tasks)

    def crop(self, ids: list[int], rng: np.random.Generator) -> list[int]:
        """A window of at most ``max_text_tokens`` at a random offset."""
        m = self.cfg.max_text_tokens
        if len(ids) <= m:
            return ids
        start = int(rng.integers(0, len(ids) - m + 1))
        return ids[start : start + m]

    def text_example(self, ids: list[int], rng: np.random.Generator) -> Example:
        if not self.text_tasks:
            raise ValueError("all text tasks have weight 0")
        task = self.text_tasks[int(rng.choice(len(self.text_tasks), p=self.text_p))]
        ids = self.crop(ids, rng)
        masked = self._mask(ids, rng) if task == "text_denoise" else []
        return Example(task=TASK_ID[task], target_ids=ids, masked_ids=masked)

    def image_example(self, ids: list[int], image: torch.Tensor, rng: np.random.Generator) -> Example:
        if not self.image_tasks:
            raise ValueError("all image tasks have weight 0")
        task = self.image_tasks[int(rng.choice(len(self.image_tasks), p=self.image_p))]
        ids = self.crop(ids, rng)
        masked = self._mask(ids, rng) if task == "mm_to_text" else []
        return Example(task=TASK_ID[task], target_ids=ids, masked_ids=masked, image=image)

    def _mask(self, ids: list[int], rng: np.random.Generator) -> list[int]:
        return span_mask(
            ids, rng, mask_id=self.mask_id, ratio=self.cfg.mask_ratio, mean_span=self.cfg.mean_span
        )
