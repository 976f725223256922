"""Poems under format constraints (paper section 4.5): a checker, and decoding that cannot break
the format because the vocabulary is masked at every step.

The constraints and the checker are in ``model/apps/poem_format.py`` (no torch, for
``m6 poem --check``).

Decoding (``PoemConstraint``, run as ``generate``'s ``logits_hook``) follows the state of each
sample -- lines finished, characters in the current line -- and leaves only the legal tokens:

- inside a line: single-Chinese-character tokens (no word pieces, no [UNK], no punctuation);
- after exactly 5 (or 7) characters: the line's end mark, ``，`` after the first line of a
  couplet and ``。`` after the second;
- after a couplet: [EOS] once there are at least 4 lines (exactly ``--lines`` when given),
  characters of a new line while under the line limit -- 16, or fewer when the model's decoder
  has no room for more (each line costs chars + 1 tokens).

So every finished sample satisfies ``check_poem``: the format holds by construction, never by
rejecting and retrying. The prompt is the paper's (Figure 11): ``<title> 作者：<author> 正文：``.
"""

from __future__ import annotations

import torch

from model.apps.poem_format import (
    CJK_CHAR,
    COMMA,
    FULL_STOP,
    LINE_CHARS,
    MAX_LINES,
    MIN_LINES,
    Poem,
    PoemCheck,
    check_poem,
    poem_prompt,
    read_poems,
    split_lines,
)
from model.data.tokenizer import M6Tokenizer

# the checker and the reader live in poem_format (no torch); they are re-exported here so
# ``from model.apps.poem import check_poem`` keeps working
__all__ = ["COMMA", "FULL_STOP", "LINE_CHARS", "MAX_LINES", "MIN_LINES", "Poem", "PoemCheck",
           "PoemConstraint", "check_poem", "format_poem", "poem_prompt", "read_poems",
           "split_lines", "write_poems"]

# ---------------------------------------------------------------------- constrained decoding


class PoemConstraint:
    """The ``logits_hook`` that keeps every sample inside the format (module docstring)."""

    def __init__(self, tok: M6Tokenizer, *, chars: int, lines: int | None = None,
                 budget: int, min_lines: int = MIN_LINES, max_lines: int = MAX_LINES):
        if chars not in LINE_CHARS:
            raise ValueError(f"chars must be 5 or 7, got {chars}")
        if lines is not None and (lines < min_lines or lines > max_lines or lines % 2):
            raise ValueError(f"--lines must be even and within {min_lines}..{max_lines}, "
                             f"got {lines}")
        fit = budget // (chars + 1)
        limit = min(max_lines, lines or max_lines, fit - fit % 2)
        if limit < min_lines or (lines is not None and limit < lines):
            raise ValueError(
                f"the decoder has room for {budget} tokens, {fit} lines of {chars} characters; "
                f"{lines or min_lines} are needed: shorten the title or use a model with a "
                "longer max_text_len"
            )
        self.chars, self.exact, self.min_lines, self.max_lines = chars, lines, min_lines, limit
        self.eos_id = tok.eos_id
        v = tok.vocab_size
        vocab = tok.tok.get_vocab()
        self.char_V = torch.zeros(v, dtype=torch.bool)
        for token, i in vocab.items():
            if i < v and CJK_CHAR.fullmatch(token):
                self.char_V[i] = True
        self.comma_id, self.stop_id = vocab.get(COMMA), vocab.get(FULL_STOP)
        if self.comma_id is None or self.stop_id is None or not self.char_V.any():
            raise ValueError("the tokenizer lacks '，', '。' or Chinese characters: poems need a "
                             "tokenizer trained on Chinese text")
        self.char_ids = set(self.char_V.nonzero().flatten().tolist())

    def state(self, ids: list[int]) -> tuple[int, int]:
        """(lines finished, characters in the current line) after ``ids``."""
        lines = pos = 0
        for i in ids:
            if i in self.char_ids:
                pos += 1
            elif i in (self.comma_id, self.stop_id):
                lines, pos = lines + 1, 0
        return lines, pos

    def allowed(self, ids: list[int]) -> torch.Tensor:
        """Boolean (V,) mask of the tokens that may follow ``ids``."""
        lines, pos = self.state(ids)
        mask = torch.zeros_like(self.char_V)
        if pos == self.chars:
            mask[self.comma_id if lines % 2 == 0 else self.stop_id] = True
        elif pos > 0 or lines % 2 == 1:
            mask |= self.char_V
        else:  # at the start, or after a couplet
            if lines >= self.min_lines and (self.exact is None or lines == self.exact):
                mask[self.eos_id] = True
            if lines < self.max_lines:
                mask |= self.char_V
        return mask

    def __call__(self, out_BN: torch.Tensor, logits_BV: torch.Tensor) -> torch.Tensor:
        for b, ids in enumerate(out_BN.tolist()):
            if self.eos_id in ids:
                continue
            keep = self.allowed(ids).to(logits_BV.device)
            logits_BV[b] = logits_BV[b].masked_fill(~keep, float("-inf"))
        return logits_BV


def format_poem(text: str, chars: int) -> str:
    """The generated text with one couplet a line."""
    out, line = [], ""
    for ch in text:
        line += ch
        if ch == FULL_STOP:
            out.append(line)
            line = ""
    if line:
        out.append(line)
    return "\n".join(out)


def write_poems(model, tok: M6Tokenizer, *, title: str, author: str | None = None, chars: int,
                lines: int | None = None, num_samples: int = 1, top_k: int = 20,
                temperature: float = 1.0, repetition_penalty: float = 1.2, greedy: bool = False,
                seed: int = 0) -> list[str]:
    """``num_samples`` poems for ``title``, each one couplet a line; all pass ``check_poem``."""
    from model.infer.generate import SamplingConfig, generate

    prompt = tok.encode(poem_prompt(title, author))
    budget = model.cfg.max_text_len - 1 - len(prompt)
    constraint = PoemConstraint(tok, chars=chars, lines=lines, budget=budget)
    sampling = SamplingConfig(max_new_tokens=budget, greedy=greedy, top_k=top_k,
                              temperature=temperature, repetition_penalty=repetition_penalty)
    outs = generate(model, prompt_ids=prompt, bos_id=tok.bos_id, eos_id=tok.eos_id,
                    banned_ids=(tok.pad_id, tok.bos_id, tok.mask_id), num_samples=num_samples,
                    sampling=sampling, seed=seed, logits_hook=constraint)
    return [format_poem(tok.decode(ids), chars) for ids in outs]
