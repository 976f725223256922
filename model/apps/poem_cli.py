"""``m6 poem``: write poems under the paper's format constraints, or check poems against them.

    m6 poem --checkpoint out/pretrain --title 春日 --author 李白 --chars 5 [--lines 8]
    m6 poem --checkpoint out/pretrain --title 春日 --chars 7 --num-samples 4 --out poems.txt
    m6 poem --check poems.txt            # or a chinese-poetry JSON file

Generation masks the vocabulary at every step (``model/apps/poem.py``), so every poem it prints
has 4 to 16 lines, an even number of them, all of exactly --chars characters. The checker
prints one line per failing poem with its reasons and a summary; it exits 0 when every poem
passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.apps.poem import check_poem, read_poems, write_poems


def _check(path: str, as_json: bool, show: int) -> int:
    try:
        poems = read_poems(path)
    except (OSError, ValueError) as e:
        print(f"m6 poem --check: {e}", file=sys.stderr)
        return 2
    results = [(p, check_poem(p.text)) for p in poems]
    failed = [(p, r) for p, r in results if not r.ok]
    summary = {"file": path, "poems": len(results), "pass": len(results) - len(failed),
               "fail": len(failed)}
    if as_json:
        summary["failures"] = [{"where": p.where, "title": p.title, "reasons": r.reasons}
                               for p, r in failed]
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        for p, r in failed[:show]:
            print(f"FAIL {p.where} {p.title}: {'; '.join(r.reasons)}")
        if len(failed) > show:
            print(f"... and {len(failed) - show} more failures")
        print(f"{summary['pass']} of {summary['poems']} poems satisfy the constraints "
              f"(4-16 lines, even count, all lines of 5 or all of 7 characters); "
              f"{summary['fail']} fail")
    return 0 if not failed else 1


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 poem", description=__doc__.split("\n")[0])
    p.add_argument("--check", metavar="FILE", help="check the poems of FILE instead of writing")
    p.add_argument("--json", action="store_true", help="--check: print the report as JSON")
    p.add_argument("--show", type=int, default=20, help="--check: failures to list")
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
