"""The sums a training step or a validation pass adds up over its batches, by name.

They live in one float64 vector so that one all-reduce (``Trainer.reduce_metrics``) sums them
all over the ranks; the trainer writes ``sums.add_tasks(loss.task_sum, loss.task_tokens)`` and
``sums.add("positions", n)`` and reads ``sums["positions"]`` instead of indexing by position.
The vector holds the per-task loss sums, the per-task target-token counts (``model/train/
loss.py``'s ``task_sum`` and ``task_tokens``), then the named scalars in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class MetricSums:
    """Per-task loss sums and token counts plus named scalar sums, in one vector."""

    def __init__(self, tasks: Sequence[str], scalars: Sequence[str] = ()) -> None:
        self.tasks, self.scalars = tuple(tasks), tuple(scalars)
        self.vector = torch.zeros(2 * len(self.tasks) + len(self.scalars), dtype=torch.float64)

    @property
    def task_loss(self) -> torch.Tensor:
        """Sum of the loss over each task's target tokens (a view of the vector)."""
        return self.vector[: len(self.tasks)]

    @property
    def task_tokens(self) -> torch.Tensor:
        """Target tokens of each task (a view of the vector)."""
        return self.vector[len(self.tasks) : 2 * len(self.tasks)]

    def add_tasks(self, task_sum: torch.Tensor, task_tokens: torch.Tensor) -> None:
        """Add one batch's per-task loss sums and target-token counts."""
        self.vector[: len(self.tasks)] += task_sum.cpu()
        self.vector[len(self.tasks) : 2 * len(self.tasks)] += task_tokens.cpu()

    def _index(self, name: str) -> int:
        try:
            return 2 * len(self.tasks) + self.scalars.index(name)
        except ValueError:
            raise KeyError(f"no metric sum {name!r}; these are kept: {list(self.scalars)}") from None

    def add(self, name: str, value: float) -> None:
        self.vector[self._index(name)] += value

    def __getitem__(self, name: str) -> float:
        return float(self.vector[self._index(name)])

    def reduced(self, reduce: Callable[[torch.Tensor], torch.Tensor]) -> MetricSums:
        """The same sums with the vector passed through ``reduce`` (a sum over ranks)."""
        out = MetricSums(self.tasks, self.scalars)
        out.vector = reduce(self.vector)
        return out

    def task_values(self) -> dict[str, float]:
        """``loss`` over all target tokens and ``loss_<task>`` for each task that had any."""
        task_sum, task_tokens = self.task_loss, self.task_tokens
        total = float(task_tokens.sum())
        values = {"loss": float(task_sum.sum()) / total if total else float("nan")}
        for i, name in enumerate(self.tasks):
            if task_tokens[i] > 0:
                values[f"loss_{name}"] = float(task_sum[i] / task_tokens[i])
        return values
