"""Tests of model/train/sums.py: the trainer's metric sums by name, in one reducible vector."""

from __future__ import annotations

import math

import pytest
import torch

from model.train.sums import MetricSums


def test_sums_by_name_and_task_values():
    sums = MetricSums(("lm", "caption"), ("aux_loss", "positions"))
    sums.add_tasks(torch.tensor([6.0, 0.0]), torch.tensor([3, 0]))
    sums.add_tasks(torch.tensor([2.0, 9.0]), torch.tensor([1, 3]))
    sums.add("positions", 10)
    sums.add("positions", 5)
    sums.add("aux_loss", 0.25)
    assert sums.vector.tolist() == [8.0, 9.0, 4.0, 3.0, 0.25, 15.0]
    assert sums["positions"] == 15.0 and sums["aux_loss"] == 0.25
    assert sums.task_values() == {"loss": 17 / 7, "loss_lm": 2.0, "loss_caption": 3.0}
    # a reduction (here: two identical ranks) acts on the whole vector
    doubled = sums.reduced(lambda v: v * 2)
    assert doubled["positions"] == 30.0 and doubled.task_tokens.tolist() == [8.0, 6.0]
    assert sums["positions"] == 15.0  # the original is untouched
    with pytest.raises(KeyError, match="no metric sum 'samples'"):
        sums.add("samples", 1)


def test_no_target_tokens_give_a_nan_loss_and_no_task_losses():
    values = MetricSums(("lm",)).task_values()
    assert list(values) == ["loss"] and math.isnan(values["loss"])
