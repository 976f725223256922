"""``m6 tokenizer``: train the WordPiece tokenizer on the corpus shards, or show how text splits.

    m6 tokenizer train --input out/corpus --vocab-size 8000 --out out/tokenizer.json
    m6 tokenizer encode --tokenizer out/tokenizer.json "出国留学的理由是什么？"
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys

from model.data.shards import find_shards
from model.data.tokenizer import M6Tokenizer, iter_texts, train_tokenizer

log = logging.getLogger("m6.tokenizer")


def _train(args: argparse.Namespace) -> int:
    files = find_shards(args.input, "text")
    if args.include_image_text:
        files += find_shards(args.input, "image_text")
    if not files:
        print(
            f"m6 tokenizer train: no text shards under {' '.join(args.input)}; "
            "build the corpus first (make corpus) or point --input at Parquet files",
            file=sys.stderr,
        )
        return 2
    texts = iter_texts(files)
    if args.max_texts:
        texts = itertools.islice(texts, args.max_texts)
    counted = _Counter(texts)
    tok = train_tokenizer(counted, args.vocab_size, min_frequency=args.min_frequency,
                          show_progress=not args.no_progress)
    tok.save(args.out)
    print(
        f"trained WordPiece on {counted.n} texts from {len(files)} shards: "
        f"{tok.vocab_size} tokens -> {args.out}"
    )
    return 0


class _Counter:
    """Passes texts through and counts them (for the summary line)."""

    def __init__(self, it):
        self.it, self.n = it, 0

    def __iter__(self):
        for t in self.it:
            self.n += 1
            yield t


def _encode(args: argparse.Namespace) -> int:
    tok = M6Tokenizer.load(args.tokenizer)
    for text in args.text:
        ids = tok.encode(text)
        print(f"{len(ids)} tokens: {' '.join(tok.tokens(text))}")
        print(f"ids: {ids}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="m6 tokenizer", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train WordPiece on text shards")
    t.add_argument("--input", nargs="+", required=True,
                   help="corpus root(s), folders of Parquet shards, files or globs")
    t.add_argument("--vocab-size", type=int, default=8000)
    t.add_argument("--min-frequency", type=int, default=2)
    t.add_argument("--out", required=True, help="where to write tokenizer.json; tokenizer_config.json and "
                        "special_tokens_map.json go beside it, so the folder loads with "
                        "transformers.AutoTokenizer")
    t.add_argument("--include-image-text", action="store_true",
                   help="also learn from the text of image_text shards")
    t.add_argument("--max-texts", type=int, default=0, help="stop after this many texts (0: all)")
    t.add_argument("--no-progress", action="store_true",
                   help="no progress bars (default: shown on a terminal)")
    e = sub.add_parser("encode", help="print the tokens of some text")
    e.add_argument("--tokenizer", required=True)
    e.add_argument("text", nargs="+")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return _train(args) if args.cmd == "train" else _encode(args)
    except (OSError, ValueError) as e:  # a missing or unreadable input (ArrowInvalid included)
        print(f"m6 tokenizer: {e}", file=sys.stderr)
        return 2
