"""Question answering in forum style (section 4.4): ``m6 generate``'s length and repetition
controls and the stop at [EOS] (``model.infer.generate.apply_controls`` and the ``logits_hook``)."""

from __future__ import annotations

import pytest
import torch

from model.cli.generate import main as generate_main
from model.config import ImageConfig, ModelConfig
from model.infer.generate import SamplingConfig, apply_controls, generate
from model.nn.transformer import M6Model

EOS = 3
CFG = ModelConfig(vocab_size=40, d_model=32, n_layers=2, n_heads=2, d_ff=64, max_text_len=64,
                  image=ImageConfig(image_size=32, patch_size=16, cnn_channels=(8,)))


def _model():
    torch.manual_seed(0)
    model = M6Model(CFG).eval()
    with torch.no_grad():  # sharper logits than the 0.02 init
        model.tok_emb.weight.mul_(20)
    return model


def _eos_bias(bias: float):
    """A hook that makes [EOS] the model's favourite (bias > 0) or never chosen (bias < 0); it
    runs after the controls, so a forbidden [EOS] stays forbidden."""

    def hook(out_BN, logits_BV):
        logits_BV[:, EOS] += bias
        return logits_BV

    return hook


def _gen(model, bias: float = 0.0, **sampling):
    return generate(model, prompt_ids=[10, 11], bos_id=2, eos_id=EOS, banned_ids=(0, 2, 5),
                    sampling=SamplingConfig(greedy=True, **sampling), num_samples=2, seed=0,
                    logits_hook=_eos_bias(bias))


def test_generation_stops_at_eos_and_min_new_tokens_holds_it_back():
    model = _model()
    assert _gen(model, 1e4, max_new_tokens=10) == [[], []]  # [EOS] first: nothing after it
    out = _gen(model, 1e4, max_new_tokens=10, min_new_tokens=4)
    assert [len(o) for o in out] == [4, 4]  # [EOS] allowed from the 5th token and taken
    assert EOS not in out[0]


def test_max_new_tokens_caps_length():
    out = _gen(_model(), -1e4, max_new_tokens=7)
    assert [len(o) for o in out] == [7, 7]


def test_repetition_penalty_by_hand():
    logits = torch.tensor([[2.0, -1.0, 3.0, 0.5]])
    out = apply_controls(logits.clone(), torch.tensor([[0, 1]]), 2,
                         SamplingConfig(repetition_penalty=2.0), eos_id=3)
    assert out.tolist() == [[1.0, -2.0, 3.0, 0.5]]  # seen tokens 0 and 1 penalised


def test_no_repeat_ngram_bans_the_completing_token():
    logits = torch.zeros(1, 10)
    seq = torch.tensor([[4, 5, 6, 4, 5]])  # "4 5" was followed by 6: 6 is banned now
    out = apply_controls(logits.clone(), seq, 5, SamplingConfig(no_repeat_ngram=3), eos_id=3)
    assert torch.isinf(out[0, 6]) and torch.isfinite(out[0, [0, 1, 2, 3, 4, 5, 7, 8, 9]]).all()


def test_no_repeat_ngram_generation_never_repeats():
    model = _model()
    plain = _gen(model, -1e4, max_new_tokens=30)[0]
    seq = [10, 11] + _gen(model, -1e4, max_new_tokens=30, no_repeat_ngram=2)[0]
    grams = [tuple(seq[i : i + 2]) for i in range(len(seq) - 1)]
    assert len(grams) == len(set(grams))
    full = [10, 11] + plain
    assert len({tuple(full[i : i + 2]) for i in range(len(full) - 1)}) < len(full) - 1  # it would


def test_logits_hook_sees_the_generated_ids():
    seen = []

    def only_seven(out_BN, logits_BV):
        seen.append(out_BN.shape[1])
        logits_BV[:, :7] = float("-inf")
        logits_BV[:, 8:] = float("-inf")
        return logits_BV

    out = generate(_model(), prompt_ids=[10], bos_id=2, eos_id=EOS,
                   sampling=SamplingConfig(max_new_tokens=5, top_k=5), logits_hook=only_seven)
    assert out == [[7] * 5] and seen == [0, 1, 2, 3, 4]


def test_bad_controls_are_errors():
    with pytest.raises(ValueError, match="repetition_penalty"):
        SamplingConfig(repetition_penalty=0)
    with pytest.raises(ValueError):
        SamplingConfig(no_repeat_ngram=-1)


def test_generate_cli_takes_the_controls(pretrained_ckpt, capsys):
    prompt = "出国留学的理由是什么？回答："
    assert generate_main(["--checkpoint", str(pretrained_ckpt), "--prompt", prompt,
                          "--min-new-tokens", "6", "--max-new-tokens", "6",
                          "--repetition-penalty", "1.3", "--no-repeat-ngram", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(prompt) and len(line) > len(prompt)
