"""A vector-quantised image autoencoder (VQ-VAE, van den Oord et al. 2017): an image becomes a
grid of discrete codes and back -- the first stage of text-to-image (paper section 4.1,
"transforming images into sequences of discrete codes ... VQVAE [41] and VQGAN [9]").

- Encoder: ``log2(downsample)`` stride-2 4x4 convolutions with ReLU, a residual block, and a
  1x1 convolution to ``code_dim``: a ``image_size / downsample`` square grid of vectors.
- Quantiser: each vector is replaced by its nearest codebook entry (Euclidean). The codebook
  starts as encoder outputs of the first training batch (a data initialisation, as SoundStream
  does with k-means; a random codebook far from the data leaves all but a few entries unused
  for hundreds of steps), follows the encoder outputs by exponential moving averages (the
  VQ-VAE paper's appendix; more stable than a codebook loss on small data), and an entry unused
  for a while is restarted at a random encoder output of the batch (dead-code restart, as in
  Jukebox / SoundStream), so the whole codebook stays in use. Gradients pass the quantiser
  straight through.
- Decoder: the mirror image with transposed convolutions, to pixels in [-1, 1].
- Loss: mean squared reconstruction error + ``beta`` times the commitment loss
  ``||z_e - sg(z_q)||^2``.

Pixels are in [-1, 1] here; ``reconstruction_error`` reports the mean squared error on the
[0, 1] scale and the PSNR, the figures ``m6 eval vq`` prints.

Legend: B batch, C channels, H/W pixels, G grid side, D code dimension, K codebook size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from model.data.image import IMAGENET_MEAN, IMAGENET_STD, load_image


@dataclass(frozen=True, kw_only=True)
class VQConfig:
    image_size: int = 64
    downsample: int = 8  # image side / grid side, a power of two
    hidden: int = 128
    codebook_size: int = 512
    code_dim: int = 64
    beta: float = 0.25  # commitment weight
    ema_decay: float = 0.99
    restart_after: int = 50  # steps an entry may go unused before it is restarted

    def __post_init__(self) -> None:
        if self.downsample < 2 or self.downsample & (self.downsample - 1):
            raise ValueError(f"downsample must be a power of two >= 2, got {self.downsample}")
        if self.image_size % self.downsample:
            raise ValueError(f"image_size {self.image_size} is not a multiple of downsample "
                             f"{self.downsample}")

    @property
    def grid(self) -> int:
        return self.image_size // self.downsample

    @property
    def n_codes(self) -> int:
        """Codes per image (the grid, row-major)."""
        return self.grid * self.grid


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(c, c, 1))

    def forward(self, x):
        return x + self.body(x)


class Quantizer(nn.Module):
    """Nearest-neighbour codebook with EMA updates and dead-code restarts."""

    def __init__(self, k: int, d: int, decay: float, restart_after: int):
        super().__init__()
        self.decay, self.restart_after = decay, restart_after
        self.register_buffer("codebook_KD", torch.randn(k, d) * 0.1)
        self.register_buffer("ema_count_K", torch.ones(k))
        self.register_buffer("ema_sum_KD", self.codebook_KD.clone())
        self.register_buffer("unused_K", torch.zeros(k, dtype=torch.long))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def codes(self, z_NC: torch.Tensor) -> torch.Tensor:
        cb = self.codebook_KD
        dist = z_NC.pow(2).sum(1, keepdim=True) - 2 * z_NC @ cb.T + cb.pow(2).sum(1)[None]
        return dist.argmin(1)

    @torch.no_grad()
    def _init_from(self, z_ND: torch.Tensor) -> None:
        k = self.codebook_KD.shape[0]
        pick = torch.randperm(z_ND.shape[0], device=z_ND.device)
        pick = pick.repeat(-(-k // len(pick)))[:k]
        self.codebook_KD.copy_(z_ND[pick])
        self.ema_sum_KD.copy_(z_ND[pick])
        self.ema_count_K.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _update(self, z_ND: torch.Tensor, idx_N: torch.Tensor) -> None:
        k = self.codebook_KD.shape[0]
        onehot_NK = F.one_hot(idx_N, k).to(z_ND.dtype)
        count_K = onehot_NK.sum(0)
        self.ema_count_K.mul_(self.decay).add_(count_K, alpha=1 - self.decay)
        self.ema_sum_KD.mul_(self.decay).add_(onehot_NK.T @ z_ND, alpha=1 - self.decay)
        n = self.ema_count_K.sum()
        smoothed = (self.ema_count_K + 1e-5) / (n + k * 1e-5) * n  # Laplace smoothing
        self.codebook_KD.copy_(self.ema_sum_KD / smoothed[:, None])
        self.unused_K.add_(1).masked_fill_(count_K > 0, 0)
        dead = (self.unused_K >= self.restart_after).nonzero().flatten()
        if len(dead):
            pick = torch.randint(0, z_ND.shape[0], (len(dead),), device=z_ND.device)
            self.codebook_KD[dead] = z_ND[pick]
            self.ema_sum_KD[dead] = z_ND[pick]
            self.ema_count_K[dead] = 1.0
            self.unused_K[dead] = 0

    def forward(self, z_BDGG: torch.Tensor):
        """(quantised z with straight-through gradient, codes B x G x G, commitment loss)."""
        b, d, g, _ = z_BDGG.shape
        z_ND = z_BDGG.permute(0, 2, 3, 1).reshape(-1, d)
        if self.training and not bool(self.initialised):
            self._init_from(z_ND.detach().float())
        idx_N = self.codes(z_ND.detach().float())
        if self.training:
            self._update(z_ND.detach().float(), idx_N)
        q_ND = self.codebook_KD[idx_N].to(z_ND.dtype)
        commit = F.mse_loss(z_ND, q_ND.detach())
        q_ND = z_ND + (q_ND - z_ND).detach()
        q_BDGG = q_ND.view(b, g, g, d).permute(0, 3, 1, 2)
        return q_BDGG, idx_N.view(b, g, g), commit

    def lookup(self, codes_BGG: torch.Tensor) -> torch.Tensor:
        return self.codebook_KD[codes_BGG].permute(0, 3, 1, 2)


class VQVAE(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        n_down = int(math.log2(cfg.downsample))
        enc: list[nn.Module] = []
        c_in = 3
        for i in range(n_down):
            c = h if i == n_down - 1 else max(h // 2, 32)
            enc += [nn.Conv2d(c_in, c, 4, stride=2, padding=1), nn.ReLU()]
            c_in = c
        enc += [nn.Conv2d(c_in, h, 3, padding=1), ResBlock(h), nn.ReLU(), nn.Conv2d(h, cfg.code_dim, 1)]
        self.encoder = nn.Sequential(*enc)
        self.quantizer = Quantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay, cfg.restart_after)
        dec: list[nn.Module] = [nn.Conv2d(cfg.code_dim, h, 3, padding=1), ResBlock(h), nn.ReLU()]
        c_in = h
        for i in range(n_down):
            last = i == n_down - 1
            c = 3 if last else max(h // 2, 32)
            dec.append(nn.ConvTranspose2d(c_in, c, 4, stride=2, padding=1))
            if not last:
                dec.append(nn.ReLU())
            c_in = c
        self.decoder = nn.Sequential(*dec)

    def forward(self, x_B3HW: torch.Tensor):
        """(reconstruction, codes, loss) of images in [-1, 1]."""
        q, codes, commit = self.quantizer(self.encoder(x_B3HW))
        recon = self.decoder(q)
        loss = F.mse_loss(recon, x_B3HW) + self.cfg.beta * commit
        return recon, codes, loss

    @torch.no_grad()
    def encode(self, x_B3HW: torch.Tensor) -> torch.Tensor:
        """Codes (B, G, G) of images in [-1, 1]."""
        z = self.encoder(x_B3HW).permute(0, 2, 3, 1)
        return self.quantizer.codes(z.reshape(-1, z.shape[-1]).float()).view(z.shape[:3])

    @torch.no_grad()
    def decode(self, codes_BGG: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] from codes (B, G, G)."""
        return self.decoder(self.quantizer.lookup(codes_BGG)).clamp(-1, 1)


def vq_input(data: bytes, size: int) -> torch.Tensor:
    """Image bytes -> (3, size, size) in [-1, 1] (decoded, upright, short side resized and
    centre-cropped as for the model's own input, ``model.data.image.load_image``)."""
    x = load_image(data, size)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return ((x * std + mean) * 2 - 1).clamp(-1, 1)


def to_uint8(x_3HW: torch.Tensor) -> torch.Tensor:
    """[-1, 1] (3, H, W) -> uint8 (H, W, 3) for saving as an image."""
    return ((x_3HW.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0)


def reconstruction_error(x_B3HW: torch.Tensor, recon_B3HW: torch.Tensor) -> dict[str, float]:
    """Mean squared error and PSNR on the [0, 1] pixel scale."""
    mse = float(((x_B3HW.clamp(-1, 1) - recon_B3HW.clamp(-1, 1)) / 2).pow(2).mean())
    return {"mse": mse, "psnr": 10 * math.log10(1.0 / mse) if mse > 0 else float("inf")}
