"""``m6 generate``: continue a prompt with a pretrained M6.

    m6 generate --checkpoint out/pretrain --prompt "出国留学的理由是什么？回答："
    m6 generate --checkpoint out/pretrain --prompt "春风" --top-k 20 --top-p 0.9 --num-samples 3

Greedy decoding unless a sampling option (--temperature, --top-k, --top-p) is given. A sample
ends at [EOS] (or after --max-new-tokens); --min-new-tokens, --repetition-penalty and
--no-repeat-ngram control length and repetition of long answers (section 4.4):

    m6 generate --checkpoint out/pretrain --prompt "出国留学的理由是什么？回答：" \
        --top-k 20 --min-new-tokens 30 --max-new-tokens 120 --repetition-penalty 1.2 \
        --no-repeat-ngram 3
"""

from __future__ import annotations

import argparse
import sys

from model.infer.generate import SamplingConfig, generate
from model.infer.pretrained import load_pretrained


def add_sampling_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-new-tokens", type=int, default=64, help="stop after this many new "
                   "tokens if [EOS] has not come")
    p.add_argument("--min-new-tokens", type=int, default=0, help="forbid [EOS] before this many")
    p.add_argument("--repetition-penalty", type=float, default=1.0, help="> 1 discourages "
                   "tokens already in the text (1.2 is a common choice)")
    p.add_argument("--no-repeat-ngram", type=int, default=0, metavar="N",
                   help="never repeat an N-gram of the text (0: off)")
    p.add_argument("--greedy", action="store_true", help="argmax decoding (the default unless "
                   "a sampling option is given)")
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-k", type=int)
    p.add_argument("--top-p", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cache", action="store_true", help="recompute the whole sequence at "
                   "every step instead of using the KV cache (slower; same tokens)")


def sampling_from_args(args: argparse.Namespace) -> SamplingConfig:
    sampled = any(v is not None for v in (args.temperature, args.top_k, args.top_p))
    return SamplingConfig(
        max_new_tokens=args.max_new_tokens,
        greedy=args.greedy or not sampled,
        temperature=args.temperature if args.temperature is not None else 1.0,
        top_k=args.top_k or 0,
        top_p=args.top_p if args.top_p is not None else 1.0,
        min_new_tokens=args.min_new_tokens,
        repetition_penalty=args.repetition_penalty,
        no_repeat_ngram=args.no_repeat_ngram,
    )


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 generate", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="checkpoint folder or run folder")
    p.add_argument("--prompt", required=True)
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--device", default="cpu")
    add_sampling_args(p)
    args = p.parse_args(argv)
    try:
        pre = load_pretrained(args.checkpoint, args.device)
        sampling = sampling_from_args(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 generate: {e}", file=sys.stderr)
        return 2
    tok = pre.tokenizer
    outs = generate(
        pre.model, prompt_ids=tok.encode(args.prompt), bos_id=tok.bos_id, eos_id=tok.eos_id,
        banned_ids=(tok.pad_id, tok.bos_id, tok.mask_id), num_samples=args.num_samples,
        sampling=sampling, use_cache=not args.no_cache, seed=args.seed,
    )
    for ids in outs:
        print(args.prompt + tok.decode(ids))
    return 0
