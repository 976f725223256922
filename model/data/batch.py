"""One training example and a padded batch of them: the model's input contract.

An ``Example`` is one sample after its task was applied (``model/data/tasks.py``): an optional image,
the token ids of the masked text (encoder side; empty for language modelling and captioning) and
the ids of the target text. ``collate`` pads them into a ``Batch``:

- ``masked_ids_BM``: masked text, padded with [PAD] to the longest in the batch (M may be 0);
- ``target_ids_BT``: decoder input ``[BOS] t1 .. tn``, padded;
- ``labels_BT``: what each decoder position must predict, ``t1 .. tn [EOS]``, ``-100`` at padding,
  so the loss falls on target tokens only (paper section 3.3);
- ``images_B3HW`` and ``has_image_B``: present when any sample in the batch has an image; a
  sample without one gets a zero image whose patches are masked out as padding.

Legend: B batch, M masked-text length, T target length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # dataset.py imports this module; the type is only named here
    from model.data.dataset import BatchState

IGNORE_INDEX = -100


@dataclass
class Example:
    task: int  # index into model.config.TASKS
    target_ids: list[int]  # the text to decode, without [BOS]/[EOS]
    masked_ids: list[int] = field(default_factory=list)
    image: torch.Tensor | None = None  # (3, H, W), normalised


@dataclass
class Batch:
    task_B: torch.Tensor
    masked_ids_BM: torch.Tensor
    target_ids_BT: torch.Tensor
    labels_BT: torch.Tensor
    images_B3HW: torch.Tensor | None = None
    has_image_B: torch.Tensor | None = None
    state: BatchState | None = None  # data-loader position after this batch (not a tensor)

    def to(self, device: torch.device | str) -> Batch:
        moved = {}
        for f in fields(self):
            v = getattr(self, f.name)
            moved[f.name] = v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
        return type(self)(**moved)  # a subclass (an application's batch) stays itself

    @property
    def n_target_tokens(self) -> int:
        return int((self.labels_BT != IGNORE_INDEX).sum())

    def n_input_tokens(self, n_patches: int, pad_id: int = 0) -> int:
        """Real (non-padding) positions of the whole sequence, image patches included."""
        n = int((self.masked_ids_BM != pad_id).sum()) + int((self.target_ids_BT != pad_id).sum())
        if self.has_image_B is not None:
            n += int(self.has_image_B.sum()) * n_patches
        return n


def collate(
    examples: Sequence[Example], *, pad_id: int, bos_id: int, eos_id: int, image_size: int
) -> Batch:
    """Pad ``examples`` into one ``Batch`` (see the module docstring for the layout)."""
    b = len(examples)
    m = max((len(e.masked_ids) for e in examples), default=0)
    t = max(len(e.target_ids) for e in examples) + 1
    masked = torch.full((b, m), pad_id, dtype=torch.long)
    target = torch.full((b, t), pad_id, dtype=torch.long)
    labels = torch.full((b, t), IGNORE_INDEX, dtype=torch.long)
    for i, e in enumerate(examples):
        if e.masked_ids:
            masked[i, : len(e.masked_ids)] = torch.tensor(e.masked_ids)
        ids = torch.tensor(e.target_ids, dtype=torch.long)
        n = len(e.target_ids)
        target[i, 0] = bos_id
        target[i, 1 : n + 1] = ids
        labels[i, :n] = ids
        labels[i, n] = eos_id
    images = has_image = None
    if any(e.image is not None for e in examples):
        images = torch.zeros(b, 3, image_size, image_size)
        has_image = torch.zeros(b, dtype=torch.bool)
        for i, e in enumerate(examples):
            if e.image is not None:
                images[i] = e.image
                has_image[i] = True
    return Batch(
        task_B=torch.tensor([e.task for e in examples], dtype=torch.long),
        masked_ids_BM=masked,
        target_ids_BT=target,
        labels_BT=labels,
        images_B3HW=images,
        has_image_B=has_image,
    )
