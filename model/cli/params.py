"""``m6 params``: print the parameter count of a preset, next to the paper's Table 4.

    m6 params --preset base
    m6 params --preset m6_10b --json

Nothing is allocated: the model is built on the meta device (``model/nn/params.py``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from model.nn.params import PAPER_PARAMS, count_parameters
from model.presets import PRESETS, get_preset


def _human(n: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(int(n))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="m6 params", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", required=True, choices=list(PRESETS))
    parser.add_argument("--vocab-size", type=int, default=0,
                        help="count with this vocabulary size instead of the preset's")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    cfg = get_preset(args.preset).model
    if args.vocab_size:
        cfg = replace(cfg, vocab_size=args.vocab_size)
    count = count_parameters(cfg)
    paper = PAPER_PARAMS.get(args.preset)
    if args.json:
        out = {"preset": args.preset, **count.as_dict()}
        if paper:
            out["paper"] = int(paper)
            out["relative_error"] = count.total / paper - 1
        print(json.dumps(out, indent=2))
        return 0
    print(f"preset {args.preset}: {cfg.n_layers} layers, d_model {cfg.d_model}, "
          f"{cfg.n_heads} heads, d_ff {cfg.d_ff}, vocabulary {cfg.vocab_size}"
          + (f", {cfg.moe.num_experts} experts" if cfg.moe else ""))
    for key, value in count.as_dict().items():
        if key not in ("total", "active"):
            print(f"  {key:<14} {value:>16,}  ({_human(value)})")
    print(f"  {'total':<14} {count.total:>16,}  ({_human(count.total)})")
    if count.active != count.total:
        print(f"  {'active/token':<14} {count.active:>16,}  ({_human(count.active)})")
    if paper:
        print(f"paper (Table 4): {_human(paper)}; this count is "
              f"{100 * (count.total / paper - 1):+.2f}% off")
    return 0
