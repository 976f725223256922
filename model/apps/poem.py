"""Poems under format constraints (paper section 4.5): a checker, and decoding that cannot break
the format because the vocabulary is masked at every step.

The paper's constraints: "The poem shall be consisted of at least 4 lines. The total number of
lines shall be even. Each line must have exactly 5 or 7 words. All lines shall have the same
number of words", and generation stops at [EOS] "or the number of lines exceeds a limit of 16".
A *line* is a run of characters between punctuation marks (，。！？；： and their ASCII forms)
or line breaks; a *word* of classical Chinese verse is one character, and a line must hold only
Chinese characters.

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

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model.data.tokenizer import M6Tokenizer

MIN_LINES, MAX_LINES, LINE_CHARS = 4, 16, (5, 7)
_SEPARATORS = re.compile(r"[，。！？；：、,.!?;:\s]+")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
COMMA, FULL_STOP = "，", "。"


def poem_prompt(title: str, author: str | None = None) -> str:
    """The paper's prompt: ``见情郎 作者：唐 李白 正文：``."""
    title = title.strip()
    if not title:
        raise ValueError("a poem needs a title")
    if author and author.strip():
        return f"{title} 作者：{author.strip()} 正文："
    return f"{title} 正文："


def split_lines(text: str) -> list[str]:
    return [s for s in _SEPARATORS.split(text) if s]


@dataclass
class PoemCheck:
    ok: bool
    lines: list[str]
    reasons: list[str] = field(default_factory=list)

    @property
    def chars(self) -> int | None:
        lengths = {len(x) for x in self.lines}
        return lengths.pop() if len(lengths) == 1 else None


def check_poem(text: str, *, min_lines: int = MIN_LINES, max_lines: int = MAX_LINES,
               line_chars: tuple[int, ...] = LINE_CHARS) -> PoemCheck:
    """Whether ``text`` satisfies the paper's format constraints, with the reasons it does not."""
    lines = split_lines(text)
    reasons = []
    n = len(lines)
    if not n:
        return PoemCheck(False, lines, ["empty: no lines"])
    bad = [x for x in lines if len(_CJK_CHAR.findall(x)) != len(x)]
    if bad:
        reasons.append(f"not_chinese: line {bad[0]!r} holds other characters")
    if n < min_lines:
        reasons.append(f"too_few_lines: {n} < {min_lines}")
    if n % 2:
        reasons.append(f"odd_line_count: {n}")
    if n > max_lines:
        reasons.append(f"too_many_lines: {n} > {max_lines}")
    lengths = sorted({len(x) for x in lines})
    off = [k for k in lengths if k not in line_chars]
    if off:
        reasons.append(f"line_length: lines of {off} characters (allowed {list(line_chars)})")
    if len(lengths) > 1:
        reasons.append(f"unequal_lines: lines of {lengths} characters")
    return PoemCheck(not reasons, lines, reasons)


# ---------------------------------------------------------------------- reading poems


@dataclass
class Poem:
    title: str
    text: str
    author: str = ""
    where: str = ""  # file and position, for reports


def read_poems(path: str | Path) -> list[Poem]:
    """Poems of a file: JSON in chinese-poetry's format (a list of objects with ``paragraphs``
    or ``content``), or text with poems separated by blank lines and ``#`` title lines (what
    ``m6 poem`` prints)."""
    path = Path(path)
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(raw)
        if isinstance(data, dict):
            data = [data]
        poems = []
        for i, obj in enumerate(data):
            body = obj.get("paragraphs") or obj.get("content")
            if not isinstance(body, list):
                raise ValueError(f"{path}: poem {i} has no 'paragraphs' or 'content' list")
            poems.append(Poem(str(obj.get("title", "")), "\n".join(body),
                              str(obj.get("author", "")), f"{path.name}[{i}]"))
        return poems
    return list(_text_poems(raw, path.name))


def _text_poems(raw: str, name: str) -> Iterator[Poem]:
    title, body, start = "", [], 0
    for lineno, line in enumerate(raw.splitlines() + [""], 1):
        s = line.strip()
        if s.startswith("#"):
            title = s.lstrip("#").strip()
            start = start or lineno
        elif s:
            body.append(s)
            start = start or lineno
        elif body:
            yield Poem(title, "\n".join(body), "", f"{name}:{start}")
            title, body, start = "", [], 0


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
            if i < v and _CJK_CHAR.fullmatch(token):
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
