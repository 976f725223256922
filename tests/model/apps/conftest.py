"""Shared fixtures of the application tests: a micro M6 pretrained for two steps on the model
tests' real corpus (reviews, Song poems, Pillow photos; tests/model/conftest.py), a VQA file on
real photos, and the synthetic shapes set.

Everything is small enough that fine-tuning a few steps takes a second or two on one core.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from ..conftest import FIXTURES, micro_config

APP_FIXTURES = FIXTURES / "apps"


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # several times faster than two contending threads on 2 cores


@pytest.fixture(scope="session")
def pretrained_ckpt(corpus_dir, tokenizer_path, tmp_path_factory) -> Path:
    """A run folder with a micro M6 pretrained for 2 steps (a normal M6 checkpoint)."""
    from model.data.tokenizer import M6Tokenizer
    from model.train.trainer import Trainer

    out = tmp_path_factory.mktemp("pretrain")
    vocab = M6Tokenizer.load(tokenizer_path).vocab_size
    cfg = micro_config(corpus_dir, vocab, steps=2, ckpt_every=2)
    shutil.copyfile(tokenizer_path, out / "tokenizer.json")
    Trainer(cfg, out, out / "tokenizer.json", progress=False, tensorboard=False).train()
    return out


@pytest.fixture(scope="session")
def vqa_jsonl(tmp_path_factory) -> Path:
    """tests/fixtures/apps/vqa.jsonl beside a copy of the photos it names."""
    out = tmp_path_factory.mktemp("vqa")
    shutil.copytree(FIXTURES / "images", out / "images")
    shutil.copyfile(APP_FIXTURES / "vqa.jsonl", out / "vqa.jsonl")
    return out / "vqa.jsonl"


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory) -> Path:
    from model.apps.shapes import build

    out = tmp_path_factory.mktemp("shapes")
    build(out, n_images=60, seed=3)
    return out
