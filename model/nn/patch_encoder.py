"""Image -> a sequence of patch features with 2-D positions (paper section 3.1).

"We split an image into patches and extract features of the 2D patches with a trained feature
extractor, say ResNet-50. Then we line up the representations to a sequence by their positions."

Each patch runs through a backbone on its own (a batch of B*P small images), is pooled to one
feature vector, projected to the model width, and gets a row embedding plus a column embedding:
a factorised 2-D position, so neighbouring patches share a row or a column code.

Backbones:
- ``cnn`` (default): three stride-2 3x3 convolutions with GELU and global average pooling;
  trained with the model. Small enough for CPU runs.
- ``resnet50``: torchvision's ResNet-50 up to its pooled 2048-d feature, with weights from a
  local file (``ImageConfig.resnet_weights``: a ``.safetensors`` file, or a ``.pth`` state dict
  loaded with ``weights_only=True``); frozen unless ``freeze_backbone`` is off. torchvision is
  not a dependency of m6: this path needs it installed next to the matching torch.

Legend: B batch, P patches, C channels, D model width, F backbone feature width.
"""

from __future__ import annotations

import torch
from torch import nn

from model.config import ImageConfig
from model.data.image import patchify


class SmallCNN(nn.Module):
    """Stride-2 3x3 convolutions + GELU, then global average pooling."""

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in channels:
            layers += [nn.Conv2d(c_in, c, kernel_size=3, stride=2, padding=1), nn.GELU()]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.out_dim = c_in

    def forward(self, x_NCHW: torch.Tensor) -> torch.Tensor:
        return self.body(x_NCHW).mean(dim=(2, 3))


def resnet50_features(weights: str | None, freeze: bool) -> tuple[nn.Module, int]:
    """torchvision ResNet-50 without its classifier, loaded from a local weights file."""
    try:
        import torchvision  # noqa: F401
        from torchvision.models import resnet50
    except ImportError as e:
        raise RuntimeError(
            "image encoder 'resnet50' needs torchvision, which is not installed: install the "
            "torchvision release that matches your torch, or use ImageConfig(encoder='cnn')"
        ) from e
    if not weights:
        raise ValueError(
            "image encoder 'resnet50' needs ImageConfig.resnet_weights: a local .safetensors or "
            ".pth file of torchvision ResNet-50 weights (nothing is downloaded)"
        )
    net = resnet50(weights=None)
    if weights.endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(weights)
    else:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise ValueError(
            f"{weights} is not a torchvision ResNet-50 state dict: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    net.fc = nn.Identity()
    if freeze:
        net.requires_grad_(False)
        net.eval()
    return net, 2048


class PatchEncoder(nn.Module):
    """(B, 3, H, W) images -> (B, P, D) patch embeddings with 2-D positions."""

    def __init__(self, cfg: ImageConfig, d_model: int):
        super().__init__()
        self.cfg = cfg
        if cfg.encoder == "cnn":
            self.backbone: nn.Module = SmallCNN(cfg.cnn_channels)
            feat = self.backbone.out_dim
        else:
            self.backbone, feat = resnet50_features(cfg.resnet_weights, cfg.freeze_backbone)
        self.frozen = cfg.encoder == "resnet50" and cfg.freeze_backbone
        self.proj = nn.Linear(feat, d_model)
        self.row_emb = nn.Embedding(cfg.grid, d_model)
        self.col_emb = nn.Embedding(cfg.grid, d_model)

    def train(self, mode: bool = True) -> PatchEncoder:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()  # keep frozen batch-norm statistics fixed
        return self

    def forward(self, images_B3HW: torch.Tensor) -> torch.Tensor:
        b = images_B3HW.shape[0]
        patches = patchify(images_B3HW, self.cfg.patch_size)  # B, P, 3, p, p
        p = patches.shape[1]
        flat = patches.reshape(b * p, *patches.shape[2:])
        if self.frozen:
            with torch.no_grad():
                feat_NF = self.backbone(flat)
        else:
            feat_NF = self.backbone(flat)
        x_BPD = self.proj(feat_NF.to(self.proj.weight.dtype)).reshape(b, p, -1)
        g = self.cfg.grid
        rows = torch.arange(g, device=x_BPD.device).repeat_interleave(g)
        cols = torch.arange(g, device=x_BPD.device).repeat(g)
        return x_BPD + self.row_emb(rows) + self.col_emb(cols)
