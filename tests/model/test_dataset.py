"""Tests of model/data/dataset.py: batch layout, mixing, bad images, exact resume with workers."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
import torch

from model.config import DataConfig, ImageConfig, TaskConfig
from model.data.batch import IGNORE_INDEX
from model.data.dataset import DataState, PretrainData, make_loader
from model.data.tasks import TASK_ID
from model.data.tokenizer import M6Tokenizer


def _data(corpus_dir, **kw) -> DataConfig:
    base = DataConfig(paths=(str(corpus_dir),), batch_size=8, shuffle_window=40, val_fraction=0.1,
                      read_batch_rows=16)
    return replace(base, **kw)


IMAGE = ImageConfig(image_size=32, patch_size=16)
TASKS = TaskConfig(max_text_tokens=24)


def _batches(ds, n, workers=0):
    return list(itertools.islice(make_loader(ds, workers), n))


def test_batch_layout(corpus_dir, tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    ds = PretrainData(_data(corpus_dir), TASKS, IMAGE, str(tokenizer_path), seed=1)
    for b in _batches(ds, 6):
        assert (b.target_ids_BT[:, 0] == tok.bos_id).all()
        for i in range(b.task_B.numel()):
            n = int((b.labels_BT[i] != IGNORE_INDEX).sum())
            assert b.labels_BT[i, n - 1] == tok.eos_id  # the decoder learns to stop
            # labels are the decoder input shifted by one
            assert torch.equal(b.labels_BT[i, : n - 1], b.target_ids_BT[i, 1:n])
            assert 1 <= n - 1 <= 24
            task = int(b.task_B[i])
            has_image = b.has_image_B is not None and bool(b.has_image_B[i])
            assert has_image == (task in (TASK_ID["image_to_text"], TASK_ID["mm_to_text"]))
            has_masked = bool((b.masked_ids_BM[i] != tok.pad_id).any()) if b.masked_ids_BM.numel() else False
            assert has_masked == (task in (TASK_ID["text_denoise"], TASK_ID["mm_to_text"]))
        if b.images_B3HW is not None:
            assert b.images_B3HW.shape[1:] == (3, 32, 32)


def test_mix_ratio_and_bad_images_are_skipped(corpus_dir, tokenizer_path):
    ds = PretrainData(_data(corpus_dir, mix=(("text", 0.25), ("image_text", 0.75))), TASKS,
                      IMAGE, str(tokenizer_path), seed=2)
    batches = _batches(ds, 25)
    tasks = torch.cat([b.task_B for b in batches])
    image_share = float((tasks >= TASK_ID["image_to_text"]).float().mean())
    # 75% of draws are image_text, but one image in sixteen is a truncated JPEG that is skipped
    assert 0.6 <= image_share <= 0.8
    state = batches[-1].state.position
    assert state.skipped > 0
    assert state.n == 25 * 8 + state.skipped


def test_missing_kind_is_dropped_and_no_shards_is_an_error(corpus_dir, tokenizer_path, tmp_path):
    text_only = PretrainData(_data(corpus_dir / "text"), TASKS, IMAGE, str(tokenizer_path))
    assert text_only.kinds == ["text"]
    with pytest.raises(ValueError, match="make corpus"):
        PretrainData(_data(tmp_path), TASKS, IMAGE, str(tokenizer_path))


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_gives_the_same_batches(corpus_dir, tokenizer_path, workers):
    cfg = _data(corpus_dir, num_workers=workers)
    nw = max(1, workers)
    whole = _batches(PretrainData(cfg, TASKS, IMAGE, str(tokenizer_path), seed=4), 9, workers)
    state = DataState(num_workers=nw)
    for b in whole[:5]:
        state.update(b)
    state = DataState.from_dict(state.to_dict())  # through JSON-ready form, as in a checkpoint
    resumed = _batches(PretrainData(cfg, TASKS, IMAGE, str(tokenizer_path), seed=4, state=state), 4, workers)
    for a, b in zip(whole[5:], resumed):
        assert torch.equal(a.target_ids_BT, b.target_ids_BT)
        assert torch.equal(a.masked_ids_BM, b.masked_ids_BM)
        assert torch.equal(a.task_B, b.task_B)
        assert (a.images_B3HW is None) == (b.images_B3HW is None)


def test_resume_with_another_worker_count_is_refused(corpus_dir, tokenizer_path):
    state = DataState(num_workers=2, batches=3)
    ds = PretrainData(_data(corpus_dir), TASKS, IMAGE, str(tokenizer_path), state=state)
    with pytest.raises(ValueError, match="--workers 2"):
        next(iter(make_loader(ds, 0)))


def test_validation_batches_are_the_same_every_time(corpus_dir, tokenizer_path):
    def val():
        ds = PretrainData(_data(corpus_dir), TASKS, IMAGE, str(tokenizer_path), split="val", seed=1)
        return list(make_loader(ds))

    a, b = val(), val()
    assert len(a) == len(b) >= 5  # about 60 text + 3 image rows held out, in batches of 8
    assert all(torch.equal(x.target_ids_BT, y.target_ids_BT) for x, y in zip(a, b))
