"""The pretraining loop: AdamW, warm-up + cosine, clipping, bf16 autocast, activation
checkpointing, gradient accumulation, exact resume, metrics and periodic validation.

One optimiser step consumes ``grad_accum`` batches; the loss of each is the mean over its target
tokens plus the model's auxiliary (MoE) loss, divided by ``grad_accum``. Per step the trainer
logs the loss of each task of Figure 3, the auxiliary loss, the learning rate, the gradient norm
and throughput (sequence positions and target tokens per second); every ``val_every`` steps it
logs the validation loss on the held-out rows; every ``ckpt_every`` steps (and at the end) it
writes a checkpoint (``model/train/checkpoint.py``) from which a resumed run repeats the uninterrupted
run's losses exactly on CPU.

What is process-specific is kept in small overridable methods, so data parallelism or expert
parallelism can wrap the loop without touching it (``model/distributed/trainer.py`` does):
``parallelize`` (the model's distributed layout), ``sync_gradients`` (nothing here; averaging
over ranks), ``clip_gradients`` (global norm here; local for expert weights under expert
parallelism), ``reduce_metrics`` (identity here; an all-reduce across ranks), and ``is_main``
(who logs and writes checkpoints). Modules that keep per-step
statistics (an MoE layer's tokens per expert, say) expose ``pop_metrics() -> dict[str, float]``;
the trainer collects them after each step and logs them with the rest.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.config import TASKS, RunConfig, run_config_to_dict, save_run_config
from model.data.batch import Batch
from model.data.dataset import DataState, PretrainData, ReaderPosition, make_loader
from model.nn.transformer import M6Model
from model.train.checkpoint import (
    is_legacy,
    latest_checkpoint,
    restore_checkpoint,
    restore_legacy,
    save_checkpoint,
    trainer_meta,
)
from model.train.loss import task_loss
from model.train.metrics import MetricsLogger
from model.train.optim import build_optimizer
from model.train.sums import MetricSums
from model.train.wandb_log import WandbOptions

log = logging.getLogger(__name__)


class Trainer:
    # the class of a reader's position in trainer.json (an application has its own)
    position_type: Any = ReaderPosition

    def __init__(
        self,
        cfg: RunConfig,
        out_dir: str | Path,
        tokenizer_path: str | Path,
        *,
        device: str | torch.device = "cpu",
        rank: int = 0,
        world_size: int = 1,
        wandb: WandbOptions | None = None,
        progress: bool = True,
        tensorboard: bool = True,
        checkpoint_dir: str | Path | None = None,
    ):
        self.cfg = cfg
        self.out = Path(out_dir)
        self.tokenizer_path = str(tokenizer_path)
        self.device = torch.device(device)
        self.rank, self.world_size = rank, world_size
        self.progress = progress and self.is_main
        self.tensorboard = tensorboard
        self.wandb = wandb  # optional W&B logging of the metrics (model/train/wandb_log.py)
        if cfg.tasks.max_text_tokens + 1 > cfg.model.max_text_len:
            raise ValueError(
                f"tasks.max_text_tokens {cfg.tasks.max_text_tokens} + [BOS] does not fit "
                f"model.max_text_len {cfg.model.max_text_len}"
            )
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        torch.manual_seed(cfg.train.seed)
        self.model = self.parallelize(M6Model(cfg.model).to(self.device))
        self.model.activation_checkpointing = cfg.train.activation_checkpointing
        self.optimizer, self.scheduler = build_optimizer(self.model, cfg.train)
        self.step = 0
        self.data_state = DataState(num_workers=max(1, cfg.data.num_workers))
        # a path or any fsspec URL (memory://, s3://...); the run folder's checkpoints/ by default
        self.ckpt_dir = checkpoint_dir if checkpoint_dir is not None else self.out / "checkpoints"
        self._warned_no_val = False

    # ------------------------------------------------------------------ hooks

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def parallelize(self, model: M6Model) -> M6Model:
        """The model in its distributed layout (called before the optimiser is built; one
        process keeps it as it is)."""
        return model

    def sync_gradients(self) -> None:
        """Combine the ranks' gradients after backward (one process has nothing to combine)."""

    def clip_gradients(self) -> torch.Tensor:
        """Clip the global gradient norm to ``grad_clip``; returns the norm before clipping."""
        params = [p for p in self.model.parameters() if p.grad is not None]
        return torch.nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip)

    def reduce_metrics(self, values: torch.Tensor) -> torch.Tensor:
        """Sum ``values`` over ranks (a single process has nothing to add)."""
        return values

    def autocast(self):
        if not self.cfg.train.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    # ------------------------------------------------------------------ data

    def train_batches(self) -> Iterator[Batch]:
        resume = self.data_state if self.data_state.batches else None
        ds = PretrainData(
            self.cfg.data, self.cfg.tasks, self.cfg.model.image, self.tokenizer_path,
            split="train", rank=self.rank, world_size=self.world_size,
            seed=self.cfg.train.seed, state=resume,
        )
        return iter(make_loader(ds, self.cfg.data.num_workers))

    def val_batches(self) -> Iterator[Batch]:
        ds = PretrainData(
            self.cfg.data, self.cfg.tasks, self.cfg.model.image, self.tokenizer_path,
            split="val", rank=self.rank, world_size=self.world_size, seed=self.cfg.train.seed,
        )
        return iter(make_loader(ds, 0))

    # ------------------------------------------------------------------ steps

    def _forward(self, batch: Batch):
        with self.autocast():
            out = self.model(batch)
        return task_loss(out.logits_BTV, batch.labels_BT, batch.task_B), out.aux_loss

    def train_step(self, batches: Iterator[Batch]) -> dict[str, Any]:
        self.model.train()
        accum = self.cfg.train.grad_accum
        sums = MetricSums(TASKS, ("aux_loss", "positions", "samples"))
        for _ in range(accum):
            batch = next(batches)
            self.data_state.update(batch)
            batch = batch.to(self.device)
            lo, aux = self._forward(batch)
            ((lo.loss + aux) / accum).backward()
            sums.add_tasks(lo.task_sum, lo.task_tokens)
            sums.add("aux_loss", float(aux.detach()) / accum)
            sums.add("positions", batch.n_input_tokens(self.cfg.model.image.n_patches))
            sums.add("samples", batch.task_B.numel())
        self.sync_gradients()
        grad_norm = float(self.clip_gradients())
        lr = self.scheduler.get_last_lr()[0]  # the rate this step uses
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        sums = sums.reduced(self.reduce_metrics)
        values = sums.task_values()
        values.update(
            aux_loss=sums["aux_loss"] / self.world_size,
            grad_norm=grad_norm,
            lr=lr,
            positions=int(sums["positions"]),
            target_tokens=int(sums.task_tokens.sum()),
            **{f"tokens_{name}": int(n) for name, n in zip(TASKS, sums.task_tokens)},
            samples=int(sums["samples"]),
        )
        for name, module in self.model.named_modules():
            pop = getattr(module, "pop_metrics", None)
            if callable(pop):
                for k, v in pop().items():
                    values[f"{name}.{k}" if name else k] = v
        return values

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        self.model.eval()
        sums = MetricSums(TASKS)
        for i, batch in enumerate(self.val_batches()):
            if i >= self.cfg.train.val_batches:
                break
            lo, _ = self._forward(batch.to(self.device))
            sums.add_tasks(lo.task_sum, lo.task_tokens)
        sums = sums.reduced(self.reduce_metrics)
        self.model.train()
        if not sums.task_tokens.sum():
            if not self._warned_no_val:
                log.warning("no validation rows (val_fraction %s of the data): skipping "
                            "validation", self.cfg.data.val_fraction)
                self._warned_no_val = True
            return {}
        return sums.task_values()

    # ------------------------------------------------------------------ checkpoints

    def trainer_state(self) -> dict:
        """What ``trainer.json`` records next to the weights (subclasses add their own keys)."""
        return {
            "step": self.step,
            "data": self.data_state.to_dict(),
            "config": run_config_to_dict(self.cfg),
            "tokenizer": "tokenizer.json",
        }

    def checkpoint_layout(self) -> dict[str, bool]:
        """How this process's parameters are spread (``save_checkpoint``'s layout flags)."""
        return {}

    def save(self, export: bool = False) -> Path | str | None:
        """Checkpoint the current step (every rank calls it; ``export``: the run's last step,
        where an FSDP run also gathers the portable ``model.safetensors``)."""
        return save_checkpoint(
            self.ckpt_dir, self.step, model=self.model, optimizer=self.optimizer,
            scheduler=self.scheduler, trainer_state=self.trainer_state(),
            data_state=self.data_state.to_dict(), tokenizer_path=self.tokenizer_path,
            keep=self.cfg.train.keep_checkpoints, rank=self.rank, export=export,
            **self.checkpoint_layout(),
        )

    def restore(self, ckpt: str | Path) -> None:
        """Continue from checkpoint ``ckpt``: weights, optimiser, schedule, RNG, data position,
        whatever number of processes wrote it (``model/train/reshard.py``)."""
        meta = trainer_meta(ckpt)
        if is_legacy(meta):
            meta = self.restore_legacy(ckpt)
        else:
            self._warn_global_batch(ckpt, meta)
            meta = restore_checkpoint(
                ckpt, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                rank=self.rank, world=self.world_size, workers=max(1, self.cfg.data.num_workers),
                seed=self.cfg.train.seed,
                expert_parallel=self.checkpoint_layout().get("expert_parallel", False))
        self._resume_position(ckpt, meta)
        log.info("resumed from %s at step %d", ckpt, self.step)

    def restore_legacy(self, ckpt: str | Path) -> dict[str, Any]:
        """A checkpoint of the old per-process format (one process: it still resumes)."""
        return restore_legacy(ckpt, model=self.model, optimizer=self.optimizer,
                              scheduler=self.scheduler, world=self.world_size)

    def _warn_global_batch(self, ckpt: str | Path, meta: dict[str, Any]) -> None:
        """A resume on another number of processes continues the same run only with the same
        global batch; say so when it differs (it is allowed: a deliberate change)."""
        old = meta.get("config", {})
        try:
            was = (int(meta.get("world_size", 1)) * int(old["train"]["grad_accum"])
                   * int(old["data"]["batch_size"]))
        except (KeyError, TypeError, ValueError):
            return
        now = self.world_size * self.cfg.train.grad_accum * self.cfg.data.batch_size
        if was != now:
            log.warning("checkpoint %s was trained with a global batch of %d samples and this run "
                        "has %d (processes x grad_accum x batch_size): the loss curve will not "
                        "continue the same run", ckpt, was, now)

    def _resume_position(self, ckpt: str | Path, meta: dict[str, Any]) -> None:
        """Step and data position from ``trainer.json`` contents ``meta`` (this rank's)."""
        self.step = int(meta["step"])
        self.data_state = DataState.from_dict(meta["data"], self.position_type)
        if self.data_state.num_workers != max(1, self.cfg.data.num_workers):
            raise ValueError(
                f"checkpoint {ckpt} was written with {self.data_state.num_workers} data-loader "
                f"workers; resume with the same number (--workers {self.data_state.num_workers})"
            )

    def maybe_resume(self) -> bool:
        found = latest_checkpoint(self.ckpt_dir)
        if found is None:
            return False
        self.restore(found)
        return True

    # ------------------------------------------------------------------ loop

    def train(self, stop_at: int | None = None) -> list[float]:
        """Run to ``cfg.train.steps`` (or stop after step ``stop_at``, as if killed there, with
        the schedule still aimed at ``steps``); returns the training loss of every step run."""
        cfg = self.cfg.train
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            save_run_config(self.cfg, self.out / "config.json")
        metrics = MetricsLogger(
            self.out, resume_step=self.step if self.step else None, tensorboard=self.tensorboard,
            wandb=self.wandb, run_config=run_config_to_dict(self.cfg),
        ) if self.is_main else None
        batches = self.train_batches()
        losses: list[float] = []
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not self.progress, desc="pretrain",
                   dynamic_ncols=True)
        if self.step == 0 and cfg.val_every:
            val = self.validate()  # the starting point of the curve
            if val and metrics is not None:
                metrics.log(0, val, "val")
        window_t, window = time.perf_counter(), Counter()
        try:
            while self.step < min(cfg.steps, stop_at or cfg.steps):
                values = self.train_step(batches)
                losses.append(values["loss"])
                window.update({k: values[k] for k in values if k.startswith("tokens_")})
                window.update(positions=values["positions"], target_tokens=values["target_tokens"])
                bar.update(1)
                bar.set_postfix(loss=f"{values['loss']:.3f}", lr=f"{values['lr']:.2e}")
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    dt = time.perf_counter() - window_t
                    values["positions_per_s"] = window["positions"] / dt
                    values["tokens_per_s"] = window["target_tokens"] / dt
                    for name in TASKS:  # target tokens of each task per second
                        values[f"tokens_per_s_{name}"] = window[f"tokens_{name}"] / dt
                    window_t, window = time.perf_counter(), Counter()
                if metrics is not None:
                    metrics.log(self.step, values, "train")
                if cfg.val_every and (self.step % cfg.val_every == 0 or self.step == cfg.steps):
                    val = self.validate()
                    if val and metrics is not None:
                        metrics.log(self.step, val, "val")
                        bar.write(f"step {self.step}: train loss {values['loss']:.4f}, "
                                  f"val loss {val['loss']:.4f}")
                if cfg.ckpt_every and (self.step % cfg.ckpt_every == 0 or self.step == cfg.steps):
                    self.save(export=self.step == cfg.steps)
        finally:
            bar.close()
            if metrics is not None:
                metrics.close()
        return losses

