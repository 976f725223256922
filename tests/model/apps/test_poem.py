"""Poems (section 4.5): the checker on real poems (Song regulated verse passes, the Shijing's
4-character odes fail), decoding under the vocabulary mask (every generated poem passes), and
``m6 poem`` both ways."""

from __future__ import annotations

import json
import re

import pytest
import torch

from model.apps.poem import (
    PoemConstraint,
    check_poem,
    poem_prompt,
    read_poems,
    split_lines,
    write_poems,
)
from model.apps.poem_cli import main as poem_main
from model.config import ImageConfig, ModelConfig
from model.data.tokenizer import M6Tokenizer
from model.nn.transformer import M6Model

from ..conftest import FIXTURES

POEMS = FIXTURES / "poems"


def _song():
    return json.loads((POEMS / "song_poems_200.json").read_text(encoding="utf-8"))


def _text(p):
    return "\n".join(p.get("paragraphs") or p["content"])


def test_checker_by_hand():
    assert check_poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。").ok
    assert check_poem("白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n").chars == 5
    r = check_poem("白日依山尽，黄河入海流。")
    assert r.reasons == ["too_few_lines: 2 < 4"]
    r = check_poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。登高望远")
    assert r.reasons == ["odd_line_count: 5",
                         "line_length: lines of [4] characters (allowed [5, 7])",
                         "unequal_lines: lines of [4, 5] characters"]
    r = check_poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。" * 5)
    assert r.reasons == ["too_many_lines: 20 > 16"]
    assert check_poem("白日依山尽，黄河入海1，欲穷千里目，更上一层楼").reasons[0].startswith("not_chinese")
    assert not check_poem("").ok and split_lines("一，二。三！四？") == ["一", "二", "三", "四"]


def test_real_song_poems():
    song = _song()
    results = [check_poem(_text(p)) for p in song]
    assert results[0].ok and results[0].chars == 7  # 日詩: 4 lines of 7
    assert results[31].ok and results[31].chars == 5  # 偈: 4 lines of 5
    assert results[1].reasons == ["too_few_lines: 2 < 4"]  # 句: a couplet
    assert results[52].reasons[0] == "too_many_lines: 20 > 16"  # 對御歌, irregular too
    assert any(r.startswith("unequal_lines") for r in results[41].reasons)
    # every regulated poem -- couplets "X，X。" with X of 5 (or 7) characters, 2 to 8 of them --
    # passes; the structure is read from the paragraphs here, not by the checker's splitting
    couplet = re.compile(r"^([\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。|[\u4e00-\u9fff]{7}，[\u4e00-\u9fff]{7}。)$")
    regular = [i for i, p in enumerate(song) if 2 <= len(p["paragraphs"]) <= 8
               and all(couplet.match(x) for x in p["paragraphs"])
               and len({len(x) for x in p["paragraphs"]}) == 1]
    assert len(regular) > 140
    assert all(results[i].ok for i in regular)
    assert sum(r.ok for r in results) == 153


def test_shijing_odes_fail():
    odes = json.loads((POEMS / "shijing_120.json").read_text(encoding="utf-8"))
    results = [(p["title"], check_poem(_text(p))) for p in odes]
    assert [t for t, r in results if r.ok] == ["十亩之间"]  # 5 characters: 十亩之间兮，...
    assert all(any(x.startswith("line_length") for x in r.reasons)
               for t, r in results if t != "十亩之间")
    title, first = results[0]
    assert title == "关雎" and first.reasons == [
        "too_many_lines: 20 > 16", "line_length: lines of [4] characters (allowed [5, 7])"]


def test_read_poems_text_format(tmp_path):
    f = tmp_path / "p.txt"
    f.write_text("# 登鹳雀楼 王之涣\n白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n\n"
                 "# 句\n白日依山尽，黄河入海流。\n", encoding="utf-8")
    poems = read_poems(f)
    assert [p.title for p in poems] == ["登鹳雀楼 王之涣", "句"]
    assert [check_poem(p.text).ok for p in poems] == [True, False]


@pytest.fixture(scope="module")
def poem_model(tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=tok.vocab_size, d_model=32, n_layers=2, n_heads=2, d_ff=64,
                      max_text_len=128, image=ImageConfig(image_size=32, patch_size=16,
                                                          cnn_channels=(8,)))
    model = M6Model(cfg).eval()
    with torch.no_grad():
        model.tok_emb.weight.mul_(30)  # a random model with strong, arbitrary preferences
    return model, tok


def test_constraint_states_by_hand(poem_model):
    _, tok = poem_model
    c = PoemConstraint(tok, chars=5, budget=120)
    ch = sorted(c.char_ids)[:5]
    comma, stop, eos = c.comma_id, c.stop_id, tok.eos_id

    def only(ids):
        return set(c.allowed(ids).nonzero().flatten().tolist())

    assert only([]) == c.char_ids  # a poem starts with a character
    assert only(ch) == {comma}  # five characters: the line ends with ，
    assert only(ch + [comma]) == c.char_ids
    couplet = ch + [comma] + ch + [stop]
    assert only(ch + [comma] + ch) == {stop}
    assert only(couplet) == c.char_ids  # 2 lines: too few to stop
    assert only(couplet * 2) == c.char_ids | {eos}  # 4 lines: stop or go on
    assert only(couplet * 8) == {eos}  # 16 lines: the limit
    assert PoemConstraint(tok, chars=5, budget=40).max_lines == 6  # 40 // 6 = 6 lines fit
    exact = PoemConstraint(tok, chars=7, lines=6, budget=120)
    assert exact.allowed(couplet * 2)[eos].item() is False
    assert exact.allowed(couplet * 3)[eos].item() is True
    assert not exact.allowed(couplet * 3)[ch[0]].item()


def test_bad_requests_are_errors(poem_model):
    _, tok = poem_model
    with pytest.raises(ValueError, match="5 or 7"):
        PoemConstraint(tok, chars=6, budget=100)
    with pytest.raises(ValueError, match="even"):
        PoemConstraint(tok, chars=5, lines=5, budget=100)
    with pytest.raises(ValueError, match="room for 20 tokens"):
        PoemConstraint(tok, chars=7, budget=20)
    with pytest.raises(ValueError, match="title"):
        poem_prompt(" ")
    assert poem_prompt("见情郎", "唐 李白") == "见情郎 作者：唐 李白 正文："


@pytest.mark.parametrize("chars", [5, 7])
def test_every_generated_poem_passes(poem_model, chars):
    model, tok = poem_model
    poems = write_poems(model, tok, title="春日", author="李白", chars=chars, num_samples=12,
                        top_k=0, temperature=1.5, repetition_penalty=1.0, seed=chars)
    poems += write_poems(model, tok, title="秋夜", chars=chars, greedy=True)
    results = [check_poem(p) for p in poems]
    assert all(r.ok for r in results), [(p, r.reasons) for p, r in zip(poems, results)]
    assert {r.chars for r in results} == {chars}


@pytest.mark.parametrize("favourite", ["eos", "punctuation", "non_chinese"])
def test_a_model_that_wants_to_break_the_format_cannot(poem_model, favourite):
    """Whatever the model prefers -- stopping at once, ending every line early, word pieces and
    symbols -- the mask leaves only legal tokens, so the poems still pass."""
    from model.infer.generate import SamplingConfig, generate

    model, tok = poem_model
    prompt = tok.encode(poem_prompt("春日"))
    budget = model.cfg.max_text_len - 1 - len(prompt)
    constraint = PoemConstraint(tok, chars=5, budget=budget)
    liked = {"eos": [tok.eos_id], "punctuation": [constraint.comma_id, constraint.stop_id],
             "non_chinese": [i for i in range(tok.vocab_size)
                             if i not in constraint.char_ids and i > 5]}[favourite]

    def hook(out_BN, logits_BV):
        logits_BV[:, liked] += 1e4  # the model's wish, then the format's mask
        return constraint(out_BN, logits_BV)

    outs = generate(model, prompt_ids=prompt, bos_id=tok.bos_id, eos_id=tok.eos_id,
                    banned_ids=(tok.pad_id, tok.bos_id, tok.mask_id), num_samples=4,
                    sampling=SamplingConfig(max_new_tokens=budget, top_k=0), seed=0,
                    logits_hook=hook)
    results = [check_poem(tok.decode(ids)) for ids in outs]
    assert all(r.ok and r.chars == 5 for r in results)
    if favourite == "eos":
        assert [len(r.lines) for r in results] == [4, 4, 4, 4]  # it stops at the first chance


def test_lines_fixes_the_length(poem_model):
    model, tok = poem_model
    poems = write_poems(model, tok, title="春日", chars=7, lines=6, num_samples=4, seed=1)
    assert [len(check_poem(p).lines) for p in poems] == [6, 6, 6, 6]
    assert all(p.count("\n") == 2 for p in poems)  # one couplet a line


def test_poem_cli_writes_then_checks(pretrained_ckpt, tmp_path, capsys):
    out = tmp_path / "poems.txt"
    # the micro model's decoder holds 31 tokens: 4 lines of 5 characters fit
    assert poem_main(["--checkpoint", str(pretrained_ckpt), "--title", "春", "--chars", "5",
                      "--num-samples", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("# 春") == 3 and out.read_text(encoding="utf-8") == printed
    assert poem_main(["--check", str(out)]) == 0
    assert "3 of 3 poems satisfy" in capsys.readouterr().out
    assert poem_main(["--check", str(POEMS / "shijing_120.json"), "--show", "2"]) == 1
    report = capsys.readouterr().out
    assert report.startswith("FAIL shijing_120.json[0] 关雎: too_many_lines: 20 > 16; line_length")
    assert "1 of 120 poems satisfy" in report
    assert poem_main(["--checkpoint", str(pretrained_ckpt), "--title", "春", "--chars", "7"]) == 2
    assert "room for" in capsys.readouterr().err
