"""``m6 lm``: train kenlm language models and the reference distributions of the perplexity filter.

    m6 lm train --input data/sample/dumps/encyclopedia.jsonl --order 5 --unit char \\
        --out out/models/lm/encyclopedia.char5.bin
    m6 lm train --input zhwiki-latest-pages-articles.xml.bz2 --memory 8G --out zhwiki.char5.bin
    m6 lm reference --model out/models/lm/encyclopedia.char5.bin --input 'out/corpus/text/*.parquet' \\
        --out out/models/lm/crawl.reference.json
    m6 lm score --model out/models/lm/encyclopedia.char5.bin --input some.txt --head 20

``train`` needs kenlm's ``lmplz`` and ``build_binary`` (``make kenlm`` builds them into .venv/bin)
and writes the binary model plus ``<model>.json`` (order, unit, corpus size, date, the held-out
reference distribution). ``reference`` scores any text with a model and writes a percentile table
the filter can use instead (``--set quality.perplexity.reference=FILE``), as cc_net cut its crawl
at percentiles of the crawl itself. ``score`` prints the perplexity and bucket of each document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from corpus.quality.lm_reference import (
    load_metadata,
    percentile_of,
    reference_distribution,
    text_perplexities,
)
from corpus.quality.lm_text import UNITS, Units
from corpus.quality.lm_train import LmTrainConfig, resolve_tokenizer, train_lm, write_json
from corpus.quality.text_files import TextFiles

log = logging.getLogger("m6.lm")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="m6 lm", description="kenlm language models for the "
                                 "perplexity filter (paper section 2.3).")
    sub = ap.add_subparsers(dest="command", required=True)
    d = LmTrainConfig()

    t = sub.add_parser("train", help="train and binarise a model with lmplz/build_binary")
    t.add_argument("--input", "-i", action="append", required=True,
                   help=".txt (a document a line), .jsonl, .parquet or MediaWiki .xml dump "
                        "(e.g. zhwiki-latest-pages-articles.xml.bz2) file, folder or glob; "
                        "repeatable")
    t.add_argument("--out", "-o", required=True, help="binary model to write")
    t.add_argument("--order", type=int, default=d.order, help="n-gram order (default 5)")
    t.add_argument("--unit", choices=UNITS, default=d.unit,
                   help="char: one unit per character; wordpiece: WordPiece tokens")
    t.add_argument("--tokenizer", help="WordPiece tokenizer JSON for --unit wordpiece "
                                       "(default: train one beside the model)")
    t.add_argument("--wordpiece-vocab", type=int, default=d.wordpiece_vocab)
    t.add_argument("--holdout", type=float, default=d.holdout,
                   help="share of documents held out for the reference distribution")
    t.add_argument("--memory", default=d.memory, help="lmplz -S (sorting memory), e.g. 1G, 20%%")
    t.add_argument("--prune", type=int, nargs="*", default=list(d.prune),
                   help="lmplz --prune thresholds per order, e.g. 0 0 1")
    t.add_argument("--binary-type", choices=("probing", "trie"), default=d.binary_type)
    t.add_argument("--field", default=d.field, help="JSONL key / Parquet column of the text")
    t.add_argument("--kenlm-bin", help="folder holding lmplz and build_binary")
    t.add_argument("--keep-arpa", action="store_true", help="also keep <out>.arpa")
    t.add_argument("--no-progress", action="store_true",
                   help="no progress bars (default: shown on a terminal)")

    r = sub.add_parser("reference", help="percentile table of perplexities over some text")
    r.add_argument("--model", "-m", required=True)
    r.add_argument("--input", "-i", action="append", required=True)
    r.add_argument("--out", "-o", required=True, help="JSON file to write")
    r.add_argument("--field", default="text")
    r.add_argument("--limit", type=int, default=100_000, help="documents to score at most")

    s = sub.add_parser("score", help="print the perplexity of each document")
    s.add_argument("--model", "-m", required=True)
    s.add_argument("--input", "-i", action="append", required=True)
    s.add_argument("--field", default="text")
    s.add_argument("--head", type=int, default=20, help="documents to print (0: all)")
    return ap


def _model_units(model: str) -> tuple[object, Units, dict]:
    import kenlm

    meta = load_metadata(model)
    return kenlm.Model(model), Units(meta["unit"], resolve_tokenizer(model, meta)), meta


def _train(args: argparse.Namespace) -> int:
    cfg = LmTrainConfig(order=args.order, unit=args.unit, tokenizer=args.tokenizer,
                        wordpiece_vocab=args.wordpiece_vocab, holdout=args.holdout,
                        memory=args.memory, prune=tuple(args.prune),
                        binary_type=args.binary_type, field=args.field,
                        kenlm_bin=args.kenlm_bin, keep_arpa=args.keep_arpa)
    meta = train_lm(args.input, args.out, cfg, progress=not args.no_progress)
    c, ref = meta["corpus"], meta["reference"]
    table = ref["document_percentiles"]
    print(f"wrote {args.out} ({meta['order']}-gram, {meta['unit']} units; {c['documents']} "
          f"documents, {c['characters']:,} characters, {c['units']:,} units; "
          f"{meta['seconds']:.1f} s)")
    if table:
        print(f"reference ({ref['source']}, {ref['documents']} documents): perplexity p30 "
              f"{table[30]:.1f}, p60 {table[60]:.1f}, p100 {table[100]:.1f}")
    if meta["kenlm"]["discount_fallback_used"]:
        print("note: lmplz used fallback discounts (small corpus)")
    return 0


def _reference(args: argparse.Namespace) -> int:
    model, units, _ = _model_units(args.model)
    files = TextFiles.of(args.input, args.field)
    texts = (t for i, t in enumerate(files.texts()) if i < args.limit)
    ref = reference_distribution(model, units, texts, ", ".join(map(str, files.paths)))
    if not ref["document_percentiles"]:
        raise ValueError(f"no scorable text in {args.input}")
    out = {"format": "m6-kenlm-reference/1", "model": Path(args.model).name,
           "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "reference": ref}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json(Path(args.out), out)
    t = ref["document_percentiles"]
    print(f"wrote {args.out}: {ref['documents']} documents, {ref['paragraphs']} paragraphs; "
          f"perplexity p30 {t[30]:.1f}, p60 {t[60]:.1f}, p100 {t[100]:.1f}")
    return 0


def _score(args: argparse.Namespace) -> int:
    model, units, meta = _model_units(args.model)
    table = (meta.get("reference") or {}).get("document_percentiles") or []
    for i, text in enumerate(TextFiles.of(args.input, args.field).texts()):
        if args.head and i >= args.head:
            break
        doc, _ = text_perplexities(model, units, text)
        where = f"  p{percentile_of(table, doc):5.1f}" if table and doc == doc else ""
        preview = " ".join(text.split())[:60]
        print(f"{doc:10.1f}{where}  {preview}")
    return 0


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return {"train": _train, "reference": _reference, "score": _score}[args.command](args)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"m6 lm {args.command}: {e}", file=sys.stderr)
        return 2
