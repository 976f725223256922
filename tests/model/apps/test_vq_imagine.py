"""Text-to-image (section 4.1): the VQ-VAE (codes, EMA codebook, restarts, training lowers the
held-out error), M6 extended with code embeddings, and ``m6 vq`` / ``m6 finetune imagine`` /
``m6 imagine`` / ``m6 eval imagine|vq`` end to end on the synthetic shapes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from model.apps.eval_cli import main as eval_main
from model.apps.finetune import load_app
from model.apps.finetune_cli import main as finetune_main
from model.apps.imagine import ImagineApp, sample_codes
from model.apps.imagine_cli import main as imagine_main
from model.apps.rows import open_rows
from model.apps.vq_cli import main as vq_main
from model.apps.vq_train import VQTrainConfig, evaluate_vq, heldout_images, load_vq, train_vq
from model.apps.vqvae import VQVAE, VQConfig
from model.data.batch import IGNORE_INDEX
from model.infer.pretrained import load_pretrained

SMALL = VQConfig(image_size=32, downsample=8, hidden=32, codebook_size=32, code_dim=16,
                 restart_after=5)


def test_config_checks():
    with pytest.raises(ValueError, match="power of two"):
        VQConfig(downsample=6)
    with pytest.raises(ValueError, match="multiple"):
        VQConfig(image_size=60, downsample=8)
    assert VQConfig().grid == 8 and VQConfig().n_codes == 64


def test_codes_are_nearest_entries_and_decode_back():
    torch.manual_seed(0)
    vq = VQVAE(SMALL).eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    codes = vq.encode(x)
    assert codes.shape == (3, 4, 4) and codes.dtype == torch.long
    z = vq.encoder(x).permute(0, 2, 3, 1).reshape(-1, SMALL.code_dim)
    brute = torch.cdist(z, vq.quantizer.codebook_KD).argmin(1)
    assert torch.equal(codes.flatten(), brute)
    assert vq.decode(codes).shape == (3, 3, 32, 32)
    recon, _, loss = vq(x)
    loss.backward()
    assert vq.encoder[0].weight.grad.abs().sum() > 0  # straight through the quantiser


def test_dead_codes_are_restarted_on_encoder_outputs():
    torch.manual_seed(0)
    vq = VQVAE(replace(SMALL, restart_after=1)).train()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    vq(x)
    vq(x)
    z = vq.encoder(x).permute(0, 2, 3, 1).reshape(-1, SMALL.code_dim).detach()
    restarted = (torch.cdist(vq.quantizer.codebook_KD, z).min(1).values < 1e-5).sum()
    assert restarted > 0 and int(vq.quantizer.unused_K.max()) <= 1


def test_training_lowers_the_heldout_error(shapes_dir, tmp_path):
    src = open_rows([shapes_dir])
    val = heldout_images(src, 32, 0.1)
    torch.manual_seed(0)
    before = evaluate_vq(VQVAE(SMALL), val)["mse"]
    figures = train_vq(src, tmp_path / "vq", SMALL,
                       VQTrainConfig(steps=80, batch_size=8, lr=1e-2, warmup_steps=2),
                       progress=False)
    after = figures["heldout"]
    assert after["images"] == len(val) > 0
    assert after["mse"] < 0.5 * before
    vq = load_vq(tmp_path / "vq")
    assert evaluate_vq(vq, val) == pytest.approx(after)  # the saved model is the trained one
    meta = json.loads((tmp_path / "vq" / "vq.json").read_text())
    assert meta["config"]["codebook_size"] == 32 and meta["heldout"]["mse"] == after["mse"]
    assert len((tmp_path / "vq" / "metrics.jsonl").read_text().splitlines()) == 80


@pytest.fixture(scope="module")
def vq_dir(shapes_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("vq")
    assert vq_main(["train", "--data", str(shapes_dir), "--output", str(out), "--steps", "10",
                    "--batch-size", "8", "--image-size", "32", "--hidden", "32",
                    "--codebook-size", "32", "--code-dim", "16", "--no-progress"]) == 0
    return out


def test_vq_cli_reconstructs_and_evaluates(vq_dir, shapes_dir, tmp_path, capsys):
    capsys.readouterr()
    image = sorted((shapes_dir / "images").iterdir())[0]
    assert vq_main(["reconstruct", "--checkpoint", str(vq_dir), "--image", str(image), "--out",
                    str(tmp_path / "r.png"), "--scale", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out[0].split()) == 4 and out[4].startswith("MSE ")  # a 4x4 grid of codes
    assert Image.open(tmp_path / "r.png").size == (2 * (2 * 32 + 6), 2 * (32 + 4))
    assert eval_main(["vq", "--checkpoint", str(vq_dir), "--data", str(shapes_dir), "--out",
                      str(tmp_path / "e.json")]) == 0
    r = json.loads((tmp_path / "e.json").read_text())
    expect = evaluate_vq(load_vq(vq_dir), heldout_images(open_rows([shapes_dir]), 32, 0.1))
    assert r["mse"] == pytest.approx(expect["mse"]) and r["images"] == expect["images"]


def test_imagine_app_extends_the_vocabulary(pretrained_ckpt, vq_dir, shapes_dir):
    pre = load_pretrained(pretrained_ckpt)
    v = pre.config.model.vocab_size
    app = ImagineApp.for_vq(str(vq_dir), v, max_text_tokens=16)
    assert (app.n_codes, app.grid) == (32, 4)
    cfg = app.model_config(pre.config.model)
    assert cfg.vocab_size == v + 32
    model = app.build_model(cfg)
    app.init_from(model, pre.model)
    assert torch.equal(model.tok_emb.weight[:v], pre.model.tok_emb.weight)
    assert torch.equal(model.blocks[0].attn.qkv.weight, pre.model.blocks[0].attn.qkv.weight)
    tok = pre.tokenizer
    image = sorted((shapes_dir / "images").iterdir())[0].read_bytes()
    item = app.prepare({"id": "x", "text": "红色的圆形", "image": image}, tok, 32)
    ids, codes = item
    assert len(codes) == 16 and all(0 <= c < 32 for c in codes)
    batch = app.collate([item], tok, 32, np.random.default_rng(0))
    assert batch.masked_ids_BM[0].tolist() == ids  # the text on the encoder side
    assert batch.target_ids_BT[0].tolist() == [tok.bos_id] + [v + c for c in codes]
    assert batch.labels_BT[0].tolist() == [v + c for c in codes] + [IGNORE_INDEX]
    # sampling only ever draws codes, exactly G*G of them, even from an untrained model
    grid = sample_codes(model, app, tok, "蓝色的三角形", num_samples=2, top_k=0, seed=1)
    assert grid.shape == (2, 4, 4) and grid.min() >= 0 and grid.max() < 32
    with pytest.raises(ValueError, match="max_text_len"):
        replace(app, grid=8).model_config(pre.config.model)


def test_finetune_imagine_then_imagine_and_eval(pretrained_ckpt, vq_dir, shapes_dir, tmp_path,
                                                capsys):
    out = tmp_path / "imagine"
    assert finetune_main(["imagine", "--checkpoint", str(pretrained_ckpt), "--data",
                          str(shapes_dir), "--vq", str(vq_dir), "--output", str(out),
                          "--steps", "3", "--batch-size", "4", "--no-progress"]) == 0
    assert (out / "vq" / "vq.safetensors").is_file()  # the run carries its autoencoder
    loaded = load_app(out, expect="imagine")
    assert loaded.app.vq == str(out / "vq") and loaded.app.grid == 4
    capsys.readouterr()
    png = tmp_path / "img.png"
    assert imagine_main(["--checkpoint", str(out), "--text", "白色背景上有一个红色的圆形",
                         "--num-samples", "3", "--out", str(png)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert Image.open(png).size == (3 * 32 + 4 * 2, 32 + 2 * 2)
    report = tmp_path / "i.json"
    assert eval_main(["imagine", "--checkpoint", str(out), "--data", str(shapes_dir), "--limit",
                      "6", "--out", str(report)]) == 0
    r = json.loads(report.read_text())
    assert r["pairs"] == 6 and r["code_perplexity"] == pytest.approx(np.exp(r["code_nll"]))
    assert 0 <= r["code_accuracy"] <= 1 and r["generated_mse"] > 0
