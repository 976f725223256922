"""Near-copies of real text made by known edits: the labelled data of the dedup benchmark and tests.

A web page reappears as a repost with a few characters changed, a sentence dropped, different
punctuation or spacing, or a site's boilerplate around it. ``near_copy`` makes such a copy of a
text with a seeded ``random.Random`` and says what it did, so a benchmark knows which documents
were derived from which (``bench/bench_dedup.py``; ``docs/dedup.md``). Edits:

* ``insert``: characters drawn from the text itself inserted at random places;
* ``delete``: characters removed at random places;
* ``substitute``: characters replaced by characters drawn from the text;
* ``punct``: punctuation and spaces added, removed or swapped between full and half width (no
  change to the normal form, so an exact duplicate after normalisation);
* ``boilerplate``: a site header or footer (``BOILERPLATE``) added before or after.

``rate`` is the share of characters touched by the character edits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PUNCT = "，。！？、；：“”‘’（）《》…—,.!?;: \u3000\n"
BOILERPLATE = (
    "本文转载自网络，版权归原作者所有，如有侵权请联系删除。",
    "【免责声明】本站内容仅供参考，不构成任何建议。",
    "更多精彩内容请关注我们的公众号，每日更新。",
    "上一篇 下一篇 返回首页 加入收藏 联系我们",
)


@dataclass(frozen=True)
class Copy:
    """A derived text and the edits that made it."""

    text: str
    edits: tuple[str, ...]


def _char_edits(text: str, rng: random.Random, rate: float, kinds: tuple[str, ...]
                ) -> tuple[str, list[str]]:
    chars = list(text)
    if not chars:
        return text, []
    n = max(1, round(rate * len(chars)))
    done = []
    for _ in range(n):
        kind = rng.choice(kinds)
        pool = text or "的"
        if kind == "insert":
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(pool))
        elif kind == "delete" and len(chars) > 1:
            del chars[rng.randrange(len(chars))]
        elif kind == "substitute":
            chars[rng.randrange(len(chars))] = rng.choice(pool)
        else:
            continue
        done.append(kind)
    return "".join(chars), done


def _punct_edits(text: str, rng: random.Random) -> str:
    out = []
    swap = str.maketrans("，。！？；：", ",.!?;:")
    for ch in text:
        if ch in PUNCT and rng.random() < 0.5:
            continue  # drop this punctuation mark or space
        out.append(ch)
        if rng.random() < 0.05:
            out.append(rng.choice(PUNCT))
    result = "".join(out)
    return result.translate(swap) if rng.random() < 0.5 else result


def near_copy(text: str, rng: random.Random, *, rate: float = 0.02,
              kinds: tuple[str, ...] = ("insert", "delete", "substitute"),
              punct: bool = False, boilerplate: bool = False) -> Copy:
    """A copy of ``text`` with about ``rate * len(text)`` character edits of ``kinds``."""
    edits: list[str] = []
    out = text
    if rate > 0 and kinds:
        out, done = _char_edits(out, rng, rate, kinds)
        edits += sorted(set(done))
    if punct:
        out = _punct_edits(out, rng)
        edits.append("punct")
    if boilerplate:
        plate = rng.choice(BOILERPLATE)
        out = plate + out if rng.random() < 0.5 else out + plate
        edits.append("boilerplate")
    return Copy(out, tuple(edits))
