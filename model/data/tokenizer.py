"""WordPiece tokenizer for M6 (paper section 3.1: "We apply WordPiece ... following BERT").

Built with the ``tokenizers`` library the way Chinese BERT is: the BERT normaliser puts spaces
around every CJK character (so each Chinese character is one token) and lower-cases English,
the BERT pre-tokeniser splits on whitespace and punctuation, and WordPiece cuts English words
into ``##`` pieces. Everything lives in the saved ``tokenizer.json``, so any reader can count
tokens with ``tokenizers.Tokenizer.from_file(path).encode(text).ids`` and get the same numbers
as training does (the corpus statistics do this without importing ``model``).

Special tokens have fixed ids: [PAD]=0 [UNK]=1 [BOS]=2 [EOS]=3 [SEP]=4 [MASK]=5.

``save`` also writes ``tokenizer_config.json`` and ``special_tokens_map.json`` beside the file (the
layout of a Hugging Face tokenizer folder), so ``transformers.AutoTokenizer.from_pretrained(folder)``
knows every special token and encodes the same ids as ``M6Tokenizer.encode``. M6 has no [CLS]:
its sequences start with [BOS] and segments are joined by [SEP] (``model/data``), so no
``cls_token`` is declared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, UNK, BOS, EOS, SEP, MASK = "[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, SEP, MASK)

# A space next to a CJK character or full-width punctuation is an artefact of one-token-per-
# character splitting, not of the text: decoding removes it.
# The ``transformers`` names of the special tokens (``PreTrainedTokenizerFast`` keyword arguments).
HF_SPECIAL_TOKENS = {"pad_token": PAD, "unk_token": UNK, "bos_token": BOS, "eos_token": EOS,
                     "sep_token": SEP, "mask_token": MASK}
HF_CONFIG_FILE = "tokenizer_config.json"
HF_SPECIAL_TOKENS_FILE = "special_tokens_map.json"

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_AFTER_CJK = re.compile(rf"(?<=[{_CJK}]) (?=\S)")
_SPACE_BEFORE_CJK = re.compile(rf"(?<=\S) (?=[{_CJK}])")


def _new_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2,
                    show_progress: bool = False) -> M6Tokenizer:
    """Train WordPiece on ``texts`` (any iterable of strings, streamed once); ``show_progress``
    draws the ``tokenizers`` trainer's own bars on stderr (they hide off a terminal)."""
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size {vocab_size} leaves no room beyond the special tokens")
    tok = _new_tokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        continuing_subword_prefix="##",
        # Chinese has thousands of characters: without a cap the alphabet alone can exceed the
        # requested size. Rarer characters than the cap allows become [UNK]. The trainer may
        # still add the ## form of kept characters, so a very small vocabulary can come out a
        # few percent larger than asked; at realistic sizes merges fill the budget exactly.
        limit_alphabet=vocab_size - len(SPECIAL_TOKENS),
        show_progress=show_progress,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return M6Tokenizer(tok)


class M6Tokenizer:
    """A trained WordPiece tokenizer with the special-token ids M6 uses."""

    def __init__(self, tok: Tokenizer):
        self.tok = tok
        ids = [tok.token_to_id(t) for t in SPECIAL_TOKENS]
        if ids != list(range(len(SPECIAL_TOKENS))):
            raise ValueError(
                f"tokenizer special tokens have ids {dict(zip(SPECIAL_TOKENS, ids))}, expected "
                f"{SPECIAL_TOKENS} as 0..{len(SPECIAL_TOKENS) - 1}: train it with m6 tokenizer train"
            )
        self.pad_id, self.unk_id, self.bos_id, self.eos_id, self.sep_id, self.mask_id = range(6)

    @classmethod
    def load(cls, path: str | Path) -> M6Tokenizer:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(
                f"no tokenizer at {p}: train one with "
                f"'m6 tokenizer train --input out/corpus --vocab-size 8000 --out {p}'"
            )
        return cls(Tokenizer.from_file(str(p)))

    def save(self, path: str | Path) -> None:
        """Write ``path`` (``tokenizers`` JSON) and the Hugging Face files beside it, atomically."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        self.tok.save(str(tmp))
        tmp.replace(p)
        write_hf_files(p.parent)

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def tokens(self, text: str) -> list[str]:
        return self.tok.encode(text, add_special_tokens=False).tokens

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> str:
        """Text of ``ids``; the spaces that splitting put between CJK characters are removed."""
        ids = [int(i) for i in ids]
        if skip_special:
            ids = [i for i in ids if i >= len(SPECIAL_TOKENS)]
        text = self.tok.decode(ids, skip_special_tokens=skip_special)
        text = _SPACE_AFTER_CJK.sub("", text)
        return _SPACE_BEFORE_CJK.sub("", text)

    def id_to_token(self, i: int) -> str:
        return self.tok.id_to_token(int(i))


def hf_tokenizer_config() -> dict:
    """``tokenizer_config.json`` of an M6 tokenizer folder, for ``transformers``."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **HF_SPECIAL_TOKENS,
        # Decoding is M6Tokenizer.decode's job (it removes the spaces between CJK characters);
        # transformers' own clean-up would change English spacing it does not know about.
        "clean_up_tokenization_spaces": False,
        "do_lower_case": True,  # the BERT normaliser in tokenizer.json lower-cases already
        "model_input_names": ["input_ids", "attention_mask"],
    }


def write_hf_files(folder: str | Path) -> None:
    """Write ``tokenizer_config.json`` and ``special_tokens_map.json`` into ``folder``."""
    folder = Path(folder)
    for name, data in ((HF_CONFIG_FILE, hf_tokenizer_config()),
                       (HF_SPECIAL_TOKENS_FILE, dict(HF_SPECIAL_TOKENS))):
        target = folder / name
        tmp = target.with_name(name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)


def iter_texts(files: Sequence[str], *, use_title: bool = True, batch_rows: int = 1024) -> Iterator[str]:
    """The ``text`` (and ``title``) column of Parquet shards, streamed batch by batch."""
    from schemas.listing import parquet_file

    for f in files:
        pf = parquet_file(f)
        cols = ["text"] + (["title"] if use_title and "title" in pf.schema_arrow.names else [])
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols, use_threads=False):
            for row in batch.to_pylist():
                if row.get("title"):
                    yield row["title"]
                if row["text"]:
                    yield row["text"]
