"""Train a kenlm n-gram language model for the perplexity filter (paper section 2.3).

``train_lm(inputs, out, cfg)`` streams the documents of ``inputs`` (``text_files``) through the
unit function of ``lm_text`` into kenlm's ``lmplz`` (modified Kneser-Ney estimation), turns the
ARPA file into kenlm's binary format with ``build_binary``, and writes ``<out>.json``:

    {"format": "m6-kenlm/1", "order": 5, "unit": "char", "tokenizer": null,
     "normalisation": ..., "created": "2025-...Z",
     "corpus": {"inputs": [...], "documents": ..., "lines": ..., "characters": ...,
                "units": ..., "bytes": ..., "holdout_documents": ...},
     "kenlm": {"lmplz_args": [...], "discount_fallback_used": false, "binary_type": "probing"},
     "reference": {"source": "holdout", "document_percentiles": [101 numbers], ...}}

A fraction of the documents (``holdout``, chosen by a hash of the text, so the split is the same
on every run) is kept out of training and scored with the finished model: that distribution is
the reference the filter's percentile threshold and cc_net's head/middle/tail buckets are read
from (``lm_reference``).

``lmplz`` and ``build_binary`` are not in kenlm's pip package: ``make kenlm``
(``scripts/build_kenlm.sh``) compiles them into the virtual environment. Small corpora make
Kneser-Ney's closed-form discounts fail ("BadDiscountException"); ``--discount_fallback`` is
always passed, so lmplz substitutes fixed discounts only when the estimate fails, and the
metadata records whether it did.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from corpus.quality.lm_reference import metadata_path, reference_distribution
from corpus.quality.lm_text import UNITS, Units, train_wordpiece
from corpus.quality.text_files import TextFiles

log = logging.getLogger(__name__)

FORMAT = "m6-kenlm/1"
NORMALISATION = "ASCII letters lowercased, digits 1-9 -> 0, one line per paragraph"
BINARY_TYPES = ("probing", "trie")


@dataclass(frozen=True, kw_only=True)
class LmTrainConfig:
    """Settings of ``m6 lm train``."""

    order: int = 5
    unit: str = "char"
    # WordPiece tokenizer (tokenizers JSON) for unit "wordpiece"; None: train one on the input
    # (``wordpiece_vocab`` entries) and save it as ``<out>.tokenizer.json``.
    tokenizer: str | None = None
    wordpiece_vocab: int = 8000
    # Share of documents held out of training to build the reference distribution; 0 scores
    # the training documents instead (their perplexities are then optimistic).
    holdout: float = 0.1
    max_reference_documents: int = 20_000
    memory: str = "1G"  # lmplz -S: memory for sorting (lmplz's own default is 80% of RAM)
    prune: tuple[int, ...] = ()  # lmplz --prune thresholds per order, e.g. (0, 0, 1)
    binary_type: str = "probing"  # build_binary data structure: probing (fast) or trie (small)
    field: str = "text"  # JSONL key / Parquet column of the text
    kenlm_bin: str | None = None  # folder with lmplz and build_binary; None: venv, then PATH
    keep_arpa: bool = False

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")
        if not 1 <= self.order <= 6:
            raise ValueError(f"order must be 1..6 (kenlm's python module is built with "
                             f"KENLM_MAX_ORDER=6), got {self.order}")
        if not 0.0 <= self.holdout < 1.0:
            raise ValueError(f"holdout must lie in [0, 1), got {self.holdout}")
        if self.binary_type not in BINARY_TYPES:
            raise ValueError(f"binary_type must be one of {BINARY_TYPES}, "
                             f"got {self.binary_type!r}")


def find_kenlm_tool(name: str, folder: str | None = None) -> str:
    """Path of kenlm's ``name`` (lmplz, build_binary): ``folder``, the running venv, PATH."""
    candidates = [Path(folder) / name] if folder else []
    candidates.append(Path(sys.executable).parent / name)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        f"kenlm's {name} not found (looked in {', '.join(map(str, candidates))} and PATH). "
        "pip's kenlm only queries models; build the estimation tools with 'make kenlm' "
        "(scripts/build_kenlm.sh compiles lmplz and build_binary into .venv/bin)")


def is_holdout(text: str, fraction: float) -> bool:
    """Deterministic split by a hash of the text (same on every run and machine)."""
    return fraction > 0 and zlib.crc32(text.encode("utf-8", "replace")) % 10_000 < fraction * 10_000


def _lmplz_args(lmplz: str, cfg: LmTrainConfig, arpa: Path, tmp: Path) -> list[str]:
    args = [lmplz, "-o", str(cfg.order), "-S", cfg.memory, "-T", str(tmp),
            "--discount_fallback", "--skip_symbols", "--arpa", str(arpa)]
    if cfg.prune:
        args += ["--prune", *map(str, cfg.prune)]
    return args


def _run(args: list[str], log_path: Path, what: str) -> str:
    with open(log_path, "w") as logf:
        proc = subprocess.run(args, stdout=logf, stderr=subprocess.STDOUT)
    text = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed with exit code {proc.returncode}:\n{text[-3000:]}")
    return text


def train_lm(inputs: Sequence[str | Path], out: str | Path,
             cfg: LmTrainConfig | None = None, *, progress: bool = False) -> dict[str, Any]:
    """Train, binarise and describe a model; returns the metadata written to ``<out>.json``.
    ``progress``: a bar of the documents fed to lmplz (and the WordPiece trainer's bars) on
    stderr, shown on a terminal only."""
    cfg = cfg or LmTrainConfig()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lmplz = find_kenlm_tool("lmplz", cfg.kenlm_bin)
    build_binary = find_kenlm_tool("build_binary", cfg.kenlm_bin)
    files = TextFiles.of(inputs, cfg.field)
    t0 = time.time()

    tokenizer = cfg.tokenizer
    if cfg.unit == "wordpiece" and not tokenizer:
        tokenizer = str(out) + ".tokenizer.json"
        log.info("training a %d-entry WordPiece tokenizer -> %s", cfg.wordpiece_vocab, tokenizer)
        train_wordpiece((t for t in files.texts() if not is_holdout(t, cfg.holdout)),
                        tokenizer, cfg.wordpiece_vocab, show_progress=progress)
    units = Units(cfg.unit, tokenizer)

    with tempfile.TemporaryDirectory(prefix=out.name + ".", dir=out.parent) as tmpdir:
        tmp = Path(tmpdir)
        arpa = tmp / "model.arpa"
        args = _lmplz_args(lmplz, cfg, arpa, tmp)
        log.info("lmplz: %s", " ".join(args[1:]))
        counts = {"documents": 0, "lines": 0, "characters": 0, "units": 0, "bytes": 0}
        holdout: list[str] = []
        with open(tmp / "lmplz.log", "w") as logf:
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=logf,
                                    stderr=subprocess.STDOUT)
            assert proc.stdin is not None
            # tqdm's disable=None: drawn on a terminal only, so logs and CI output stay clean
            bar = tqdm(desc="lm train: documents to lmplz", unit=" docs", disable=None
                       if progress else True, dynamic_ncols=True)
            try:
                for text in files.texts():
                    bar.update(1)
                    if is_holdout(text, cfg.holdout):
                        if len(holdout) < cfg.max_reference_documents:
                            holdout.append(text)
                        continue
                    lines = units.lines(text)
                    if not lines:
                        continue
                    counts["documents"] += 1
                    counts["characters"] += len(text)
                    for line, n in lines:
                        proc.stdin.write(line)
                        proc.stdin.write(b"\n")
                        counts["lines"] += 1
                        counts["units"] += n
                        counts["bytes"] += len(line) + 1
                    if counts["documents"] % 100_000 == 0:
                        log.info("lm train: %d documents, %d units fed to lmplz",
                                 counts["documents"], counts["units"])
            except BrokenPipeError:
                pass  # lmplz died; its log says why (below)
            finally:
                bar.close()
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            if progress:
                log.info("lmplz: estimating the %d-gram model from %d documents",
                         cfg.order, counts["documents"])
            rc = proc.wait()
        lmplz_log = (tmp / "lmplz.log").read_text(errors="replace")
        if rc != 0:
            raise RuntimeError(f"lmplz failed with exit code {rc}:\n{lmplz_log[-3000:]}")
        if counts["documents"] == 0:
            raise ValueError(f"no text to train on in {[str(p) for p in files.paths]} "
                             f"(field {cfg.field!r}; {len(holdout)} documents held out)")
        fallback = "Substituting fallback discounts" in lmplz_log
        if fallback:
            log.info("lmplz used fallback discounts (a small or unusual corpus)")

        binary = tmp / "model.bin"
        _run([build_binary, cfg.binary_type, str(arpa), str(binary)], tmp / "build_binary.log",
             "build_binary")
        if cfg.keep_arpa:
            shutil.copyfile(arpa, str(out) + ".arpa")
        os.replace(binary, out)

    import kenlm

    model = kenlm.Model(str(out))
    if holdout:
        reference = reference_distribution(model, units, holdout, "holdout")
    else:
        log.warning("no held-out documents: the reference distribution is computed on the "
                    "training text and is optimistic (pass --holdout > 0)")
        reference = reference_distribution(model, units, _limited(files.texts(),
                                           cfg.max_reference_documents), "training")
    meta = {
        "format": FORMAT,
        "model": out.name,
        "order": cfg.order,
        "unit": cfg.unit,
        "tokenizer": _relative(tokenizer, out) if tokenizer else None,
        "normalisation": NORMALISATION,
        "script": units.script,  # Traditional read in Simplified script (lm_text.py)
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "corpus": {"inputs": [str(p) for p in files.paths], **counts,
                   "holdout_documents": len(holdout), "skipped_records": files.skipped},
        "kenlm": {"lmplz_args": _portable(args[1:], tmp), "discount_fallback_used": fallback,
                  "binary_type": cfg.binary_type, "model_order": model.order},
        "config": asdict(cfg),
        "reference": reference,
        "seconds": round(time.time() - t0, 2),
    }
    write_json(metadata_path(out), meta)
    return meta


def _portable(args: list[str], tmp: Path) -> list[str]:
    """lmplz's arguments with the temporary paths replaced by placeholders."""
    return [a.replace(str(tmp / "model.arpa"), "<arpa>").replace(str(tmp), "<tmp>")
            for a in args]


def _limited(texts: Iterable[str], n: int) -> Iterable[str]:
    for i, t in enumerate(texts):
        if i >= n:
            return
        yield t


def _relative(path: str, model: Path) -> str:
    """Store a tokenizer beside the model by name only, so the pair can be moved together."""
    p = Path(path)
    return p.name if p.parent.resolve() == model.parent.resolve() else str(p)


def resolve_tokenizer(model: str | Path, meta: dict[str, Any]) -> str | None:
    """The tokenizer path recorded in ``meta``, resolved against the model's folder."""
    tok = meta.get("tokenizer")
    if not tok:
        return None
    p = Path(tok)
    return str(p if p.is_absolute() or p.exists() else Path(model).parent / p)


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temporary name, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
