"""``m6 poem``: write poems under the paper's format constraints, or check poems against them.

    m6 poem --checkpoint out/pretrain --title 春日 --author 李白 --chars 5 [--lines 8]
    m6 poem --checkpoint out/pretrain --title 春日 --chars 7 --num-samples 4 --out poems.txt
    m6 poem --check poems.txt more/*.json   # text as m6 poem prints it, or chinese-poetry JSON

Generation masks the vocabulary at every step (``model/apps/poem.py``), so every poem it prints
has 4 to 16 lines, an even number of them, all of exactly --chars characters. The checker takes
any number of files and prints, per file, one line per failing poem (up to --show) with its
reasons and one summary line; it exits 0 when every poem of every file passes, 1 when one fails,
2 when a file cannot be read (the others are still checked). It imports no torch
(``model/apps/poem_format.py``), so it runs without the ``model`` extra and starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.apps.poem_format import check_poem, read_poems


def _check_file(path: str, as_json: bool, show: int) -> int:
    """Check one file and print its report; 0 all pass, 1 some fail, 2 unreadable."""
    try:
        poems = read_poems(path)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        if as_json:
            print(json.dumps({"file": path, "error": str(reason)}, ensure_ascii=False))
        else:
            print(f"m6 poem --check: {path}: {reason}", file=sys.stderr)
        return 2
    results = [(p, check_poem(p.text)) for p in poems]
    failed = [(p, r) for p, r in results if not r.ok]
    summary = {"file": path, "poems": len(results), "pass": len(results) - len(failed),
               "fail": len(failed)}
    if as_json:  # one JSON object a line, one line a file (JSON Lines)
        summary["failures"] = [{"where": p.where, "title": p.title, "reasons": r.reasons}
                               for p, r in failed]
        print(json.dumps(summary, ensure_ascii=False))
    else:
        for p, r in failed[:show]:
            print(f"FAIL {p.where} {p.title}: {'; '.join(r.reasons)}")
        if len(failed) > show:
            print(f"... and {len(failed) - show} more failures")
        print(f"{path}: {summary['pass']} of {summary['poems']} poems satisfy the constraints "
              f"(4-16 lines, even count, all lines of 5 or all of 7 characters); "
              f"{summary['fail']} fail")
    return 0 if not failed else 1


def _check(paths: list[str], as_json: bool, show: int) -> int:
    """Every file is checked even after one fails; the worst outcome is the exit status."""
    return max(_check_file(path, as_json, show) for path in paths)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 poem", description=__doc__.split("\n")[0])
    p.add_argument("--check", metavar="FILE", nargs="+",
                   help="check the poems of each FILE instead of writing (no torch needed)")
    p.add_argument("--json", action="store_true",
                   help="--check: print one JSON object per file, one a line")
    p.add_argument("--show", type=int, default=20,
                   help="--check: failures to list per file (default: %(default)s)")
    p.add_argument("--checkpoint", help="checkpoint folder or run folder")
    p.add_argument("--title")
    p.add_argument("--author")
    p.add_argument("--chars", type=int, choices=(5, 7), help="characters per line")
    p.add_argument("--lines", type=int, help="exact number of lines (even, 4-16)")
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--top-k", type=int, default=20)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--repetition-penalty", type=float, default=1.2)
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the poems to this file (m6 poem --check reads it)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.check:
        return _check(args.check, args.json, args.show)
    missing = [f"--{n}" for n in ("checkpoint", "title", "chars") if getattr(args, n) is None]
    if missing:
        p.error(f"writing a poem needs {', '.join(missing)} (or use --check FILE)")
    from model.apps.finetune import use_threads
    from model.apps.poem import write_poems
    from model.infer.pretrained import load_pretrained

    try:
        pre = load_pretrained(args.checkpoint, args.device)
        use_threads(pre.config)
        poems = write_poems(
            pre.model, pre.tokenizer, title=args.title, author=args.author, chars=args.chars,
            lines=args.lines, num_samples=args.num_samples, top_k=args.top_k,
            temperature=args.temperature, repetition_penalty=args.repetition_penalty,
            greedy=args.greedy, seed=args.seed,
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 poem: {e}", file=sys.stderr)
        return 2
    header = f"# {args.title}" + (f" {args.author}" if args.author else "")
    text = "\n\n".join(f"{header}\n{poem}" for poem in poems) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0
