"""Normal forms: exact-duplicate keys are whitespace, punctuation, width and case insensitive;
URL keys ignore scheme, www, default ports, fragments and tracking parameters."""

from __future__ import annotations

import pytest

from corpus.dedup.normalise import (
    DROP_CATEGORIES,
    keep_table,
    normalise_text,
    normalise_texts,
    normalise_url,
    text_hash,
)


def test_normal_form_drops_punctuation_space_and_folds_width_and_case():
    assert normalise_text("你好，世界！ ＡＢＣ１２３\u200b Hello\tWORLD\n") == "你好世界abc123helloworld"


def test_symbols_digits_and_marks_stay():
    assert normalise_text("价格¥100+★") == "价格¥100+★"
    assert normalise_text("café") == "café"


def test_copies_differing_only_in_punctuation_and_spacing_hash_alike(reviews):
    text = reviews[1]
    respaced = text.replace("，", ", ").replace("。", ".\n") + "  "
    assert respaced != text
    assert text_hash(respaced) == text_hash(text)
    assert text_hash(text + "再") != text_hash(text)
    assert len(text_hash(text)) == 32


def test_keep_table_agrees_with_normalise_text(reviews):
    table = keep_table()
    for text in reviews[:50] + ["\u3000「引号」…—～", "a\u00a0b\u2028c"]:
        import unicodedata

        folded = unicodedata.normalize("NFKC", text).casefold()
        assert "".join(c for c in folded if table[ord(c)]) == normalise_text(text)


def _plain(text: str) -> str:
    """The definition, character by character: NFKC, casefold, drop the categories."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold()
                   if unicodedata.category(c) not in DROP_CATEGORIES)


def test_the_fast_normal_form_is_the_definition_on_every_code_point():
    """The full-width table and the skipped NFKC must not change one character anywhere."""
    import sys

    everything = [chr(cp) for cp in range(sys.maxunicode + 1)]
    assert normalise_texts(everything) == [_plain(c) for c in everything]


def test_the_fast_normal_form_is_the_definition_on_real_and_tricky_texts(reviews):
    tricky = [
        "e\u200d\u0301",  # a joiner between a letter and its accent blocks composition
        "Ａ\u0301", "ｶﾞ", "ｶ\u3099", "\uff76\uff9e",  # full width, half width + voiced marks
        "가\u11a8", "\u1100\u1161\u11a8",  # Hangul syllable and jamo
        "ﬁ⑴⒈", "İstanbul ß Ω\u0345", "a\u0328\u0301", "ＡＢＣ\u0308", "\ud800 lone",
        "", "，。！", "你好，世界！ ＡＢＣ１２３\u200b Hello\tWORLD\n",
    ]
    texts = reviews[:300] + tricky
    assert normalise_texts(texts) == [_plain(t) for t in texts]
    assert [normalise_text(t) for t in tricky] == [_plain(t) for t in tricky]


@pytest.mark.parametrize("url, key", [
    ("HTTPS://WWW.Example.com:443/a/b/?utm_source=x&b=2&a=1#top", "example.com/a/b?a=1&b=2"),
    ("http://example.com/a/b", "example.com/a/b"),
    ("http://example.com:8080/a", "example.com:8080/a"),
    ("https://item.taobao.com/item.htm?id=1&spm=a1z10", "item.taobao.com/item.htm?id=1"),
    ("http://example.com/%E4%BD%A0%E5%A5%BD", "example.com/%E4%BD%A0%E5%A5%BD"),
    ("http://example.com/你好", "example.com/%E4%BD%A0%E5%A5%BD"),
    ("example.com/x", "example.com/x"),
])
def test_url_keys(url, key):
    assert normalise_url(url) == key


def test_url_without_host_has_no_key():
    assert normalise_url("") is None
    assert normalise_url("/relative/path") is None
