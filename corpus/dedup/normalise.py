"""Normal forms for duplicate detection: the text both hashes and shingles see, and URL keys.

Text (``normalise_text``), in this order:

1. Unicode NFKC, so full-width forms and compatibility characters fold to their plain forms
   ("ＡＢＣ１２３" -> "ABC123", "，" -> ",");
2. ``str.casefold`` ("Hello" and "HELLO" are one text);
3. every character of the Unicode categories P* (punctuation), Z* (separators, so every kind of
   space), Cc (controls: tabs, newlines) and Cf (format: zero-width spaces and joiners, BOM) is
   removed. Letters, marks, digits and symbols (S*: "¥", "+", "★", emoji) stay.

So "你好，世界！" and "你好 世界" are the same text: two copies that differ only in whitespace,
punctuation, width or case are exact duplicates, and the character n-grams of the near-duplicate
stage are taken across the removed punctuation. ``text_hash`` is the 128-bit BLAKE2b digest of
the normal form (UTF-8, lone surrogates passed through), as 32 hex digits.

Speed (``normalise_texts``, a list at a time; ``normalise_text`` is a list of one). The plain
``unicodedata.normalize("NFKC", text).casefold().translate(drop)`` cost 90-130 us per 530-character
news text, most of the dedup stage's own time: Chinese text always holds full-width punctuation,
so NFKC's quick check fails and CPython decomposes and recomposes every character, and the
``translate`` looks each character up in a dict. Here the characters whose NFKD form is one
character that NFKC leaves alone (full-width forms, "ｶ" -> "カ") are first replaced by it through a
code point table in numpy. That cannot change the result (NFKC is composition after NFKD, and
NFKD of such a character is that one character), and it leaves most texts already in NFKC, which
``unicodedata.is_normalized`` checks in about 1 us; only texts still not normalised are normalised.
The category filter is a numpy look-up of ``keep_table`` over the texts at once.
``tests/corpus/dedup/test_normalise.py`` checks every code point and real texts against the plain
definition.

URLs (``normalise_url``): scheme ignored (http and https are one page), host lowercased without
a leading "www." and without a default port, path percent-encoding normalised and a trailing "/"
dropped, fragment dropped, tracking parameters dropped (``utm_*``, ``spm``, ``fbclid``, ``gclid``
and the others in ``TRACKING_PARAMS``) and the remaining query parameters sorted.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import unicodedata
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import numpy as np

from corpus.codepoints import code_points, text_of

DROP_CATEGORIES = ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Zs", "Zl", "Zp", "Cc", "Cf")

TRACKING_PARAMS = frozenset({
    "spm", "scm", "fbclid", "gclid", "dclid", "msclkid", "yclid", "_hsenc", "_hsmi", "mc_cid",
    "mc_eid", "from", "share_from", "share_source", "sessionid", "sid", "phpsessid", "jsessionid",
})
TRACKING_PREFIXES = ("utm_",)


@functools.lru_cache(maxsize=1)
def _drop_table() -> dict[int, None]:
    """``str.translate`` table deleting every code point of ``DROP_CATEGORIES`` (built once)."""
    drop = set(DROP_CATEGORIES)
    return {cp: None for cp in range(sys.maxunicode + 1)
            if unicodedata.category(chr(cp)) in drop}


@functools.lru_cache(maxsize=1)
def keep_table() -> np.ndarray:
    """Boolean array over all code points: True where ``normalise_text`` keeps the character."""
    keep = np.ones(sys.maxunicode + 1, dtype=bool)
    keep[np.fromiter(_drop_table(), dtype=np.int64)] = False
    return keep


@functools.lru_cache(maxsize=1)
def _nfkd_singles() -> np.ndarray:
    """uint32 over all code points: the one character a character's NFKD form is, when it is one
    character that NFKC leaves as it is ("Ａ" -> "A", "，" -> ","), else the character itself."""
    table = np.arange(sys.maxunicode + 1, dtype=np.uint32)
    for cp in range(sys.maxunicode + 1):
        if unicodedata.decomposition(chr(cp)):
            d = unicodedata.normalize("NFKD", chr(cp))
            if len(d) == 1 and unicodedata.normalize("NFKC", d) == d:
                table[cp] = ord(d)
    return table


def _cut(joined: str, lengths: np.ndarray) -> list[str]:
    ends = np.cumsum(lengths).tolist()
    return [joined[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def normalise_texts(texts: list[str]) -> list[str]:
    """``normalise_text`` of each of ``texts`` (faster a list at a time)."""
    if not texts:
        return []
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    mapped = _cut(text_of(_nfkd_singles()[code_points("".join(texts))]), lengths)
    is_nfkc, nfkc = unicodedata.is_normalized, unicodedata.normalize
    folded = [(t if is_nfkc("NFKC", t) else nfkc("NFKC", t)).casefold() for t in mapped]
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    cps = code_points("".join(folded))
    keep = keep_table()[cps]
    kept = np.zeros(len(folded), dtype=np.int64)
    nonempty = np.flatnonzero(lengths)
    if len(nonempty):
        kept[nonempty] = np.add.reduceat(keep, (np.cumsum(lengths) - lengths)[nonempty])
    return _cut(text_of(cps[keep]), kept)


def normalise_text(text: str) -> str:
    """The whitespace-, punctuation-, width- and case-insensitive form of ``text``:
    ``unicodedata.normalize("NFKC", text).casefold()`` without the characters of
    ``DROP_CATEGORIES``."""
    return normalise_texts([text])[0]


def text_hash(text: str) -> str:
    """32 hex digits identifying the normal form of ``text`` (exact-duplicate key)."""
    data = normalise_text(text).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def normalise_url(url: str) -> str | None:
    """The key under which two URLs are the same page, or None when ``url`` has no host.

    >>> normalise_url("HTTPS://WWW.Example.com:443/a/b/?utm_source=x&b=2&a=1#top")
    'example.com/a/b?a=1&b=2'
    """
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url if "//" in url else "//" + url)
        port = parts.port
    except ValueError:  # a malformed port or IPv6 literal: compare the raw string
        return url
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=~-._")
    path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k)]
    key = host + path
    if query:
        key += "?" + urlencode(sorted(query))
    return key
