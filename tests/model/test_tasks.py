"""Tests of model/data/tasks.py: span masking and the four tasks of Figure 3."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from model.config import TaskConfig
from model.data.tasks import TASK_ID, TaskMaker, span_mask

MASK = 5


def _spans(masked: list[int], first: int, end: int) -> list[int]:
    """Span lengths behind each [MASK], for a text of the consecutive ids first..end-1."""
    lengths, cur = [], first
    for i, tok in enumerate(masked):
        if tok == MASK:
            nxt = next((t for t in masked[i + 1 :] if t != MASK), end)
            lengths.append(nxt - cur)
            cur = nxt
        else:
            assert tok == cur  # kept tokens stay in order
            cur += 1
    assert cur == end
    return lengths


def test_span_mask_hides_15_percent_in_spans_with_one_mask_each():
    ids = list(range(100, 300))  # distinct ids make the alignment exact
    for seed in range(20):
        masked = span_mask(ids, np.random.default_rng(seed), mask_id=MASK, ratio=0.15, mean_span=3)
        spans = _spans(masked, 100, 300)
        assert sum(spans) == 30  # 15% of 200
        assert len(spans) == 10  # 30 / mean span 3
        assert masked.count(MASK) == len(spans)
        assert len(masked) == 200 - 30 + len(spans)
        assert all(masked[i] != MASK or masked[i + 1] != MASK for i in range(len(masked) - 1))


def test_span_mask_of_very_short_texts():
    assert span_mask([7], np.random.default_rng(0), mask_id=MASK) == [7]
    two = span_mask([7, 8], np.random.default_rng(0), mask_id=MASK)
    assert sorted(two) == sorted([MASK, 7]) or sorted(two) == sorted([MASK, 8])


def test_tasks_follow_their_weights_and_targets_are_the_whole_text():
    cfg = TaskConfig(weights=(("text_denoise", 3.0), ("lm", 1.0), ("image_to_text", 1.0),
                              ("mm_to_text", 0.0)), max_text_tokens=50)
    maker = TaskMaker(cfg, mask_id=MASK)
    ids = list(range(100, 140))
    counts = Counter()
    for seed in range(400):
        ex = maker.text_example(ids, np.random.default_rng(seed))
        counts[ex.task] += 1
        assert ex.target_ids == ids  # loss always on the whole text
        if ex.task == TASK_ID["lm"]:
            assert ex.masked_ids == []  # nothing on the encoder side
        else:
            assert MASK in ex.masked_ids
    assert 260 <= counts[TASK_ID["text_denoise"]] <= 340  # 3:1
    image = torch.zeros(3, 8, 8)
    for seed in range(50):
        ex = maker.image_example(ids, image, np.random.default_rng(seed))
        assert ex.task == TASK_ID["image_to_text"]  # mm_to_text has weight 0
        assert ex.masked_ids == [] and ex.image is image


def test_long_texts_are_cropped_to_a_window():
    maker = TaskMaker(TaskConfig(max_text_tokens=10), mask_id=MASK)
    ids = list(range(1000))
    starts = {maker.text_example(ids, np.random.default_rng(s)).target_ids[0] for s in range(30)}
    for s in range(5):
        t = maker.text_example(ids, np.random.default_rng(s)).target_ids
        assert t == list(range(t[0], t[0] + 10))
    assert len(starts) > 20


def test_all_weights_zero_is_an_error():
    maker = TaskMaker(TaskConfig(weights=(("text_denoise", 0.0), ("lm", 0.0))), mask_id=MASK)
    with pytest.raises(ValueError, match="weight 0"):
        maker.text_example([1, 2, 3], np.random.default_rng(0))
