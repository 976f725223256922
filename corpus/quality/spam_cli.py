"""``m6 spam train``: train the fastText spam classifier the spam filter uses.

    m6 spam train --input data/sample/spam/labelled.jsonl --out out/models/spam/spam.bin

Input: JSONL (or a folder/glob of it), one ``{"text": ..., "label": ...}`` object a line; any two
or more labels work, the filter drops on ``spam``. A fixed share of the rows (chosen by a hash of
the text, the same on every run) is held out: a model trained on the rest is scored on it and the
figures (precision, recall, accuracy at the filter's default threshold) are printed and stored in
``<out>.json``; the model written to ``<out>`` is then trained on every row. fastText runs with one
thread and a fixed seed, so the same input gives the same model.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from corpus.quality.config import SpamConfig
from corpus.quality.lm_train import is_holdout, write_json
from corpus.quality.spam import features
from corpus.quality.text_files import TextFiles

log = logging.getLogger("m6.spam")


@dataclass(frozen=True, kw_only=True)
class SpamTrainConfig:
    """fastText settings of ``m6 spam train`` (small and deterministic by default)."""

    epoch: int = 40
    # fastText's supervised default is 0.1; 0.5 trained fine alone but diverged ("Encountered
    # NaN") in a process that had done other numeric work first, so stay moderate.
    lr: float = 0.2
    dim: int = 16
    word_ngrams: int = 2
    min_count: int = 1
    bucket: int = 100_000  # hash buckets for n-grams; fastText's 2M makes a 100+ MB file
    seed: int = 0
    holdout: float = 0.2
    label_field: str = "label"
    text_field: str = "text"
    spam_label: str = "spam"


def _write_training_file(rows: list[tuple[str, str]], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for label, text in rows:
            f.write(f"__label__{label} {features(text)}\n")


def _fit(rows: list[tuple[str, str]], cfg: SpamTrainConfig, tmp: Path) -> Any:
    from corpus.quality.fasttext_train import train_supervised_isolated

    data = tmp / "train.txt"
    _write_training_file(rows, data)
    lr = cfg.lr
    for attempt in range(4):
        try:
            return train_supervised_isolated(
                input=str(data), epoch=cfg.epoch, lr=lr, dim=cfg.dim,
                wordNgrams=cfg.word_ngrams, minCount=cfg.min_count, bucket=cfg.bucket,
                seed=cfg.seed, thread=1, verbose=0, loss="softmax")
        except RuntimeError as e:  # fastText diverged: the usual cure is a lower learning rate
            if "NaN" not in str(e) or attempt == 3:
                raise
            log.warning("fastText diverged at lr=%g; retrying at lr=%g", lr, lr / 2)
            lr /= 2
    raise AssertionError("unreachable")


def evaluate(model: Any, rows: list[tuple[str, str]], spam_label: str,
             threshold: float) -> dict[str, float | int]:
    """Precision/recall/accuracy of "P(spam) > threshold" on labelled ``rows``."""
    target = f"__label__{spam_label}"
    n_labels = len(model.get_labels())
    tp = fp = fn = tn = 0
    for label, text in rows:
        labels, probs = model.predict(features(text), k=n_labels)
        p = float(dict(zip(labels, probs)).get(target, 0.0))
        pred, true = p > threshold, label == spam_label
        tp += pred and true
        fp += pred and not true
        fn += (not pred) and true
        tn += (not pred) and not true
    n = tp + fp + fn + tn
    return {"n": n, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
            "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
            "accuracy": round((tp + tn) / n, 4) if n else 0.0, "threshold": threshold}


def read_labelled(inputs: list[str], cfg: SpamTrainConfig) -> list[tuple[str, str]]:
    files = TextFiles.of(inputs, cfg.text_field)
    rows = []
    for rec in files.records():
        label = rec.get(cfg.label_field)
        if isinstance(label, str) and label.strip() and " " not in label.strip():
            rows.append((label.strip(), rec[cfg.text_field]))
        else:
            files.skipped += 1
    labels = Counter(label for label, _ in rows)
    if len(labels) < 2:
        raise ValueError(f"need at least two labels in {inputs} (field {cfg.label_field!r}), "
                         f"found {dict(labels)}")
    if cfg.spam_label not in labels:
        raise ValueError(f"no row labelled {cfg.spam_label!r} in {inputs}; labels: {dict(labels)}")
    return rows


def train_spam(inputs: list[str], out: str | Path,
               cfg: SpamTrainConfig | None = None) -> dict[str, Any]:
    """Train, evaluate on the held-out share, retrain on all; returns the metadata."""
    cfg = cfg or SpamTrainConfig()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = read_labelled(inputs, cfg)
    train = [r for r in rows if not is_holdout(r[1], cfg.holdout)]
    held = [r for r in rows if is_holdout(r[1], cfg.holdout)]
    threshold = SpamConfig().max_score
    with tempfile.TemporaryDirectory(prefix=out.name + ".", dir=out.parent) as tmpdir:
        tmp = Path(tmpdir)
        metrics = None
        if held and len({label for label, _ in train}) >= 2:
            metrics = evaluate(_fit(train, cfg, tmp), held, cfg.spam_label, threshold)
        model = _fit(rows, cfg, tmp)
        model.save_model(str(tmp / "model.bin"))
        os.replace(tmp / "model.bin", out)
    meta = {
        "format": "m6-spam/1",
        "model": out.name,
        "labels": dict(Counter(label for label, _ in rows)),
        "inputs": [str(p) for p in TextFiles.of(inputs).paths],
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "features": "CJK characters, lowercase ASCII words, digit-run length classes, other "
                    "characters; fastText word bigrams",
        "config": asdict(cfg),
        "holdout": metrics,
    }
    write_json(Path(str(out) + ".json"), meta)
    return meta


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="m6 spam", description="Train the fastText spam classifier.")
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a classifier from labelled JSONL",
                       description=__doc__.split("\n\n")[0])
    t.add_argument("--input", "-i", action="append", required=True,
                   help="labelled JSONL file, folder or glob (repeatable)")
    t.add_argument("--out", "-o", required=True, help="model file to write (e.g. spam.bin)")
    d = SpamTrainConfig()
    t.add_argument("--epoch", type=int, default=d.epoch)
    t.add_argument("--lr", type=float, default=d.lr)
    t.add_argument("--dim", type=int, default=d.dim)
    t.add_argument("--word-ngrams", type=int, default=d.word_ngrams)
    t.add_argument("--bucket", type=int, default=d.bucket)
    t.add_argument("--holdout", type=float, default=d.holdout,
                   help="share of rows held out for the printed evaluation")
    t.add_argument("--label-field", default=d.label_field)
    t.add_argument("--text-field", default=d.text_field)
    t.add_argument("--spam-label", default=d.spam_label)
    return ap


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = SpamTrainConfig(epoch=args.epoch, lr=args.lr, dim=args.dim,
                          word_ngrams=args.word_ngrams, bucket=args.bucket,
                          holdout=args.holdout, label_field=args.label_field,
                          text_field=args.text_field, spam_label=args.spam_label)
    try:
        meta = train_spam(args.input, args.out, cfg)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 spam train: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (labels {meta['labels']})")
    m = meta["holdout"]
    if m:
        print(f"held-out {m['n']} rows at P(spam) > {m['threshold']}: precision "
              f"{m['precision']:.3f}, recall {m['recall']:.3f}, accuracy {m['accuracy']:.3f} "
              f"(false positives {m['fp']}, missed spam {m['fn']})")
    return 0
