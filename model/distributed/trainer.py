"""The pretraining loop on several processes (``torchrun``): ``model/train/trainer.py``'s loop with
its process-specific hooks filled in from ``model/distributed/parallel.py``.

- ``parallelize``: data parallelism for the dense parameters, expert parallelism for the MoE
  ones, or FSDP (``TrainConfig.fsdp``), as ``parallel.plan_for`` decides;
- ``sync_gradients`` / ``clip_gradients``: average over ranks, then clip (locally for experts);
- ``reduce_metrics``: sums over ranks, so every logged loss and token count is the global one;
- data: the base trainer already gives ``PretrainData`` this rank and the world size, so each
  rank reads a disjoint part of the shards (``model/data/shards.py``); validation batches are cut to
  the count every rank has, because expert parallelism and FSDP run collectives in forward;
- checkpoints: ``model/train/checkpoint.py`` with this run's layout (every rank writes its part
  of a ``torch.distributed.checkpoint``, rank 0 publishes; any number of processes resumes it);
  ``model/distributed/checkpoint.py`` resumes checkpoints of the old per-process format.

After the weights are built (same seed everywhere), each rank reseeds its RNG with
``seed + rank`` so dropout masks differ between ranks; its RNG state is saved per rank, so a
run resumed on the same number of processes repeats an uninterrupted one (another number:
``model/train/reshard.py``).

R ranks with per-rank batch B step like one process with ``--workers R --grad-accum R``: that
process's data-loader workers are readers 0..R-1 of the same split, its accumulated gradient is
the ranks' mean. A test holds the two runs' losses together (and a run killed mid-way and
resumed with torchrun to the uninterrupted one).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.distributed as dist

from model.config import RunConfig
from model.data.batch import Batch
from model.distributed.checkpoint import restore_legacy_distributed
from model.distributed.parallel import (
    DistEnv,
    clip_grads,
    parallelize,
    plan_for,
    sync_grads,
    with_blank_images,
)
from model.nn.transformer import M6Model
from model.train.trainer import Trainer


class DistributedTrainer(Trainer):
    def __init__(self, cfg: RunConfig, out_dir: str | Path, tokenizer_path: str | Path, *,
                 rank: int, world_size: int, **kwargs):
        if not dist.is_initialized() or dist.get_world_size() != world_size:
            raise RuntimeError("DistributedTrainer needs the process group of its world size: "
                               "start with torchrun and call model.distributed.parallel.init_process_group")
        self.plan = plan_for(cfg, world_size)
        self._images_used = False  # any real image in this rank's batches since the last step
        super().__init__(cfg, out_dir, tokenizer_path, rank=rank, world_size=world_size, **kwargs)
        torch.manual_seed(cfg.train.seed + rank)

    # ------------------------------------------------------------------ hooks

    def parallelize(self, model: M6Model) -> M6Model:
        return parallelize(model, self.plan)

    def sync_gradients(self) -> None:
        sync_grads(self.model, self.plan, self._images_used)
        self._images_used = False

    def clip_gradients(self) -> torch.Tensor:
        return clip_grads(self.model, self.plan, self.cfg.train.grad_clip)

    def reduce_metrics(self, values: torch.Tensor) -> torch.Tensor:
        out = values.to(self.device)
        dist.all_reduce(out)
        return out.cpu()

    def _forward(self, batch: Batch):
        if self.plan.fsdp and self.model.training:
            self._images_used |= batch.images_B3HW is not None
            batch = with_blank_images(batch, self.cfg.model.image.image_size)
        return super()._forward(batch)

    def val_batches(self) -> Iterator[Batch]:
        mine = list(itertools.islice(super().val_batches(), self.cfg.train.val_batches))
        n = torch.tensor([len(mine)], device=self.device)
        dist.all_reduce(n, op=dist.ReduceOp.MIN)
        return iter(mine[: int(n)])

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_layout(self) -> dict[str, bool]:
        return {"expert_parallel": self.plan.expert_parallel, "fsdp": self.plan.fsdp}

    def restore_legacy(self, ckpt: str | Path) -> dict:
        return restore_legacy_distributed(ckpt, model=self.model, optimizer=self.optimizer,
                                          scheduler=self.scheduler, plan=self.plan,
                                          rank=self.rank, device=self.device)


def make_trainer(cfg: RunConfig, out_dir: str | Path, tokenizer_path: str | Path,
                 env: DistEnv | None = None, **kwargs) -> Trainer:
    """A ``Trainer`` for one process, a ``DistributedTrainer`` under torchrun."""
    if env is not None and env.distributed:
        return DistributedTrainer(cfg, out_dir, tokenizer_path, rank=env.rank,
                                  world_size=env.world_size, **kwargs)
    return Trainer(cfg, out_dir, tokenizer_path, **kwargs)
