"""Text-to-image (paper section 4.1): M6 learns to write an image's VQ codes after its text;
sampling codes with top-k and decoding them with the VQ-VAE gives an image.

"In the finetuning, we add code embedding and output layers to the pretrained M6. We concat the
word sequence and the aforementioned generated code sequence as the input, and we set the
objective of autoregressive language modeling." Here the K codes of the VQ-VAE
(``model/apps/vqvae.py``) become K new rows of the (tied) word embedding, ids ``V .. V+K-1``
after the V words: the added rows are both the code embedding and the code output layer, and
the pretrained rows are kept. The text goes on the encoder side (bidirectional, as the masked
text of pretraining, nothing masked); the decoder writes the G x G codes in raster order with
the loss on the codes only. At inference every step masks the words out (only codes can be
sampled), exactly G x G codes are drawn with top-k sampling, and the VQ-VAE decodes them.

The VQ-VAE used for training is copied into the fine-tuning run (``<run>/vq``), so a
checkpoint carries everything ``m6 imagine`` needs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.apps.finetune import App, LoadedApp
from model.apps.rows import RowSource, image_key
from model.apps.vq_train import load_vq
from model.apps.vqvae import VQVAE, reconstruction_error, vq_input
from model.config import ModelConfig
from model.data.batch import IGNORE_INDEX, Batch, Example, collate
from model.data.image import ImageDecodeError
from model.data.tasks import TASK_ID
from model.data.tokenizer import M6Tokenizer
from model.infer.generate import SamplingConfig, generate

TASK = TASK_ID["text_denoise"]  # text on the encoder side, the decoder writes: the same layout


@dataclass(frozen=True, kw_only=True)
class ImagineApp(App):
    name: str = "imagine"
    vq: str = "vq"  # the VQ-VAE folder (resolved against the run folder when loading)
    base_vocab: int = 0  # V: words; codes are ids V .. V + n_codes - 1
    n_codes: int = 0  # K: the VQ-VAE's codebook size
    grid: int = 0  # G: codes per image side

    @cached_property
    def vq_model(self) -> VQVAE:
        return load_vq(self.vq)

    @classmethod
    def for_vq(cls, vq_path: str, base_vocab: int, **kw) -> ImagineApp:
        vq = load_vq(vq_path)
        return cls(vq=str(vq_path), base_vocab=base_vocab, n_codes=vq.cfg.codebook_size,
                   grid=vq.cfg.grid, **kw)

    def resolve(self, ckpt: Path) -> ImagineApp:
        """This app with ``vq`` pointing at an existing VQ folder near checkpoint ``ckpt``."""
        for cand in (ckpt / "vq", ckpt.parent.parent / "vq", Path(self.vq)):
            if (cand / "vq.safetensors").is_file():
                return dataclasses.replace(self, vq=str(cand))
        raise FileNotFoundError(f"no VQ-VAE for {ckpt}: expected {ckpt.parent.parent / 'vq'}")

    # ------------------------------------------------------------------ model
    def model_config(self, pretrained: ModelConfig) -> ModelConfig:
        if pretrained.vocab_size != self.base_vocab:
            raise ValueError(f"pretrained vocabulary {pretrained.vocab_size} != {self.base_vocab}")
        need = self.grid * self.grid + 1
        if need > pretrained.max_text_len:
            raise ValueError(
                f"{self.grid}x{self.grid} codes + [BOS] need {need} decoder positions; the model "
                f"has max_text_len {pretrained.max_text_len}: use a VQ-VAE with a smaller grid"
            )
        return dataclasses.replace(pretrained, vocab_size=self.base_vocab + self.n_codes)

    def init_from(self, model: nn.Module, pretrained: nn.Module) -> None:
        state = pretrained.state_dict()
        emb = model.tok_emb.weight.detach().clone()  # new code rows keep their random init
        emb[: self.base_vocab] = state["tok_emb.weight"]
        state["tok_emb.weight"] = emb
        model.load_state_dict(state)

    # ------------------------------------------------------------------ data
    @cached_property
    def _codes_cache(self) -> dict[str, list[int]]:
        return {}

    def image_codes(self, data: bytes) -> list[int]:
        x = vq_input(data, self.vq_model.cfg.image_size)
        return self.vq_model.encode(x[None])[0].flatten().tolist()

    def prepare(self, row, tok: M6Tokenizer, image_size: int):
        ids = tok.encode(row.get("text") or "")[: self.max_text_tokens]
        if not ids or not row.get("image"):
            return None
        key = image_key(row)
        codes = self._codes_cache.get(key)
        if codes is None:
            try:
                codes = self.image_codes(row["image"])
            except ImageDecodeError:
                return None
            self._codes_cache[key] = codes
        return ids, codes

    def collate(self, items, tok: M6Tokenizer, image_size: int, rng: np.random.Generator) -> Batch:
        v = self.base_vocab
        batch = collate([Example(task=TASK, masked_ids=ids, target_ids=[v + c for c in codes])
                         for ids, codes in items],
                        pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                        image_size=image_size)
        batch.labels_BT[batch.labels_BT == tok.eos_id] = IGNORE_INDEX  # exactly G*G codes
        return batch

    # ------------------------------------------------------------------ sampling
    def code_mask_hook(self):
        v = self.base_vocab

        def hook(out_BN: torch.Tensor, logits_BV: torch.Tensor) -> torch.Tensor:
            logits_BV[:, :v] = float("-inf")
            return logits_BV

        return hook


def sample_codes(model, app: ImagineApp, tok: M6Tokenizer, text: str, *, num_samples: int = 1,
                 top_k: int = 4, temperature: float = 1.0, seed: int = 0) -> torch.Tensor:
    """(num_samples, G, G) codes for ``text``, drawn with top-k sampling."""
    ids = tok.encode(text)[: app.max_text_tokens]
    if not ids:
        raise ValueError("the text has no tokens")
    n = app.grid * app.grid
    out = generate(model, prompt_ids=[], masked_ids=ids, bos_id=tok.bos_id, eos_id=tok.eos_id,
                   num_samples=num_samples, seed=seed, logits_hook=app.code_mask_hook(),
                   sampling=SamplingConfig(max_new_tokens=n, top_k=top_k, temperature=temperature))
    codes = torch.tensor(out, dtype=torch.long) - app.base_vocab
    if codes.shape[1] != n or codes.min() < 0:
        raise RuntimeError(f"sampled {codes.shape[1]} codes, expected {n}")
    return codes.view(num_samples, app.grid, app.grid)


def imagine(loaded: LoadedApp, text: str, *, num_samples: int = 1, top_k: int = 4,
            temperature: float = 1.0, seed: int = 0) -> torch.Tensor:
    """(num_samples, 3, H, W) images in [-1, 1] generated for ``text``."""
    app = loaded.app
    codes = sample_codes(loaded.model, app, loaded.tokenizer, text, num_samples=num_samples,
                         top_k=top_k, temperature=temperature, seed=seed)
    return app.vq_model.decode(codes)


def save_grid(images_B3HW: torch.Tensor, path: str | Path, *, cols: int | None = None,
              pad: int = 2, scale: int = 1) -> Path:
    """Save images in [-1, 1] side by side (``cols`` per row) as one PNG."""
    from PIL import Image

    from model.apps.vqvae import to_uint8

    b, _, h, w = images_B3HW.shape
    cols = cols or b
    rows = math.ceil(b / cols)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, dtype=np.uint8)
    for i in range(b):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y : y + h, x : x + w] = to_uint8(images_B3HW[i]).numpy()
    im = Image.fromarray(canvas)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


@torch.no_grad()
def evaluate_imagine(loaded: LoadedApp, source: RowSource, *, split: str = "val",
                     val_fraction: float | None = None, limit: int | None = None,
                     top_k: int = 4, batch_size: int = 16) -> dict[str, Any]:
    """Held-out code likelihood (teacher-forced) and pixel error of one sampled image per
    held-out text, beside the error of an unrelated held-out image (the chance level)."""
    vf = loaded.val_fraction if val_fraction is None else val_fraction
    app: ImagineApp = loaded.app
    tok, model = loaded.tokenizer, loaded.model.eval()
    size = loaded.config.model.image.image_size
    items, images, texts = [], [], []
    for row in source.rows(split, val_fraction=vf, limit=limit):
        item = app.prepare(row, tok, size)
        if item is None:
            continue
        items.append(item)
        texts.append(row["text"])
        images.append(vq_input(row["image"], app.vq_model.cfg.image_size))
    if not items:
        raise ValueError(f"no {split} pairs in {source.description} (val_fraction {vf})")
    nll = n_tok = correct = 0.0
    for s in range(0, len(items), batch_size):
        batch = app.collate(items[s : s + batch_size], tok, size, np.random.default_rng(0))
        batch = batch.to(next(model.parameters()).device)
        logits = model(batch).logits_BTV.float()
        logits[..., : app.base_vocab] = float("-inf")
        mask = batch.labels_BT != IGNORE_INDEX
        nll += float(F.cross_entropy(logits[mask], batch.labels_BT[mask], reduction="sum"))
        correct += float((logits[mask].argmax(-1) == batch.labels_BT[mask]).sum())
        n_tok += int(mask.sum())
    generated = torch.cat([imagine(loaded, t, top_k=top_k, seed=i).cpu()
                           for i, t in enumerate(texts)])
    real = torch.stack(images)
    recon = app.vq_model.decode(torch.tensor([c for _, c in items]).view(-1, app.grid, app.grid))
    out = {"app": "imagine", "split": split, "pairs": len(items),
           "code_nll": nll / n_tok, "code_perplexity": math.exp(nll / n_tok),
           "code_accuracy": correct / n_tok, "codebook_size": app.n_codes,
           "generated_mse": reconstruction_error(real, generated)["mse"],
           "vq_reconstruction_mse": reconstruction_error(real, recon)["mse"]}
    if len(items) > 1:
        shifted = torch.roll(real, 1, 0)
        out["unrelated_image_mse"] = reconstruction_error(real, shifted)["mse"]
    return out
