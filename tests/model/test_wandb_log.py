"""Weights & Biases logging (model/train/wandb_log.py): a real wandb run in offline mode
(``WANDB_MODE=offline``) written under the run folder and read back from W&B's own run file;
the values W&B holds equal ``metrics.jsonl``; a resumed run continues the same W&B run id;
without ``--wandb`` wandb is never imported."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from model.cli.pretrain import build_parser, wandb_options
from model.data.tokenizer import M6Tokenizer
from model.train.metrics import read_metrics
from model.train.trainer import Trainer
from model.train.wandb_log import RUN_ID_FILE, WandbOptions, run_id, scalars
from tests.support.wandb_records import config, history

from .conftest import micro_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B's offline mode, with its config and cache kept in the test's folder."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def _run_file(out: Path, rid: str) -> Path:
    files = sorted(out.glob(f"wandb/offline-run-*-{rid}/run-{rid}.wandb"))
    assert files, list(out.rglob("*"))
    return files[-1]


def test_offline_run_holds_the_metrics_of_metrics_jsonl(corpus_dir, tokenizer_path, tmp_path,
                                                         offline):
    vocab = M6Tokenizer.load(tokenizer_path).vocab_size
    cfg = micro_config(corpus_dir, vocab, steps=4, val_every=2)
    out = tmp_path / "run"
    t = Trainer(cfg, out, tokenizer_path, progress=False, tensorboard=False,
                wandb=WandbOptions(project="m6-test", name="micro"))
    t.train(stop_at=2)
    rid = (out / RUN_ID_FILE).read_text().strip()
    rows = history(_run_file(out, rid))
    train = read_metrics(out / "metrics.jsonl", "train")
    assert [r["_step"] for r in rows] == [0, 1, 2]  # val at 0, train 1, train and val at 2
    by_step = {r["_step"]: r for r in rows}
    for rec in train:
        assert by_step[rec["step"]]["train/loss"] == pytest.approx(rec["loss"], rel=1e-12)
        assert by_step[rec["step"]]["train/lr"] == pytest.approx(rec["lr"], rel=1e-12)
    val = read_metrics(out / "metrics.jsonl", "val")
    assert [by_step[r["step"]]["val/loss"] for r in val] == pytest.approx([r["loss"] for r in val])
    held = config(_run_file(out, rid))
    assert held["name"] == "micro" and held["train"]["steps"] == 4 and held["m6_version"]

    # a resumed run logs into the same W&B run id, from the step it resumed at
    again = Trainer(replace(cfg), out, tokenizer_path, progress=False, tensorboard=False,
                    wandb=WandbOptions(project="m6-test"))
    again.step = 2  # as a resume from the step-2 state sets it
    again.train()
    assert (out / RUN_ID_FILE).read_text().strip() == rid
    assert [r["_step"] for r in history(_run_file(out, rid))][-2:] == [3, 4]


def test_run_id_is_made_once_and_a_bad_one_is_replaced(tmp_path):
    first = run_id(tmp_path)
    assert len(first) == 8 and run_id(tmp_path) == first
    (tmp_path / RUN_ID_FILE).write_text("../../etc\n")
    assert run_id(tmp_path) != "../../etc"


def test_only_finite_numbers_are_sent():
    assert scalars({"loss": 1.5, "n": 3, "bad": float("nan"), "ok": True, "s": "x"}, "val") == {
        "val/loss": 1.5, "val/n": 3}


def test_flags():
    p = build_parser()
    assert wandb_options(p.parse_args([])) is None
    opts = wandb_options(p.parse_args(["--wandb", "proj", "--wandb-mode", "offline"]))
    assert opts == WandbOptions(project="proj", mode="offline")
    with pytest.raises(ValueError, match="need --wandb PROJECT"):
        wandb_options(p.parse_args(["--wandb-mode", "offline"]))


def test_without_the_flag_wandb_is_never_imported(tmp_path):
    code = ("import sys\nfrom model.train.metrics import MetricsLogger\n"
            f"m = MetricsLogger({str(tmp_path)!r}, tensorboard=False)\n"
            "m.log(1, {'loss': 2.5})\nm.close()\n"
            "print('wandb' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
