"""Image embedders for semantic pseudo-pairing (docs/method.md §11), chosen by name.

Every embedder has `dim` and maps a list of float32 (H, W, 3) RGB images in [0, 1] to float32 rows of unit
length, so the cosine cost of two sets is 1 - A @ B.T. `settings` identifies what the embedder computes (the embedding
cache and pairing.csv key on it, weights included).

  colour_lab    weight-free: L and ab histograms in Lab (square-rooted, i.e. Hellinger) plus a low-pass Lab
                thumbnail with per-image standardised lightness; works offline, a few ms per image.
  dinov2_small  timm vit_small_patch14_dinov2.lvd142m (frozen DINOv2 ViT-S/14), 224x224 input.
  dinov2_base   timm vit_base_patch14_dinov2.lvd142m (ViT-B/14).
DINOv2 image level: "cls" (the global token) or "mean" (mean of the patch tokens); patch_grid=N also
appends the patch tokens average-pooled to an N x N grid (patch level, keeps the layout).
"""
from __future__ import annotations

import cv2
import numpy as np

from common.file_keys import file_identity

from .pairing_error import PairingError

DINOV2_MODELS = {"dinov2_small": "vit_small_patch14_dinov2.lvd142m", "dinov2_base": "vit_base_patch14_dinov2.lvd142m"}
EMBEDDERS = ("colour_lab", *DINOV2_MODELS)
IMAGE_LEVELS = ("cls", "mean")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # DINOv2's input normalisation


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


class ColourLabEmbedder:
    """Colour statistics and coarse layout in Lab: no weights, robust to noise (low-pass) and to a global
    tone change (lightness standardised per image in the thumbnail)."""

    def __init__(self, thumbnail: int = 8, l_bins: int = 16, ab_bins: int = 8, work_size: int = 64):
        self.thumbnail, self.l_bins, self.ab_bins, self.work_size = thumbnail, l_bins, ab_bins, work_size
        self.dim = l_bins + ab_bins ** 2 + 3 * thumbnail ** 2
        self.settings = {"embedder": "colour_lab", "thumbnail": thumbnail, "l_bins": l_bins, "ab_bins": ab_bins,
                         "work_size": work_size, "version": 1}

    def _one(self, rgb: np.ndarray) -> np.ndarray:
        small = cv2.resize(np.clip(rgb, 0, 1).astype(np.float32), (self.work_size, self.work_size),
                           interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).reshape(-1, 3)  # L in [0, 100], a/b in about [-128, 127]
        l_hist = np.histogram(lab[:, 0], bins=self.l_bins, range=(0, 100))[0]
        ab_hist = np.histogram2d(lab[:, 1], lab[:, 2], bins=self.ab_bins, range=((-64, 64), (-64, 64)))[0]
        thumb = cv2.resize(lab.reshape(self.work_size, self.work_size, 3), (self.thumbnail, self.thumbnail),
                           interpolation=cv2.INTER_AREA).reshape(-1, 3)
        light = (thumb[:, 0] - thumb[:, 0].mean()) / (thumb[:, 0].std() + 1.0)
        parts = [np.sqrt(l_hist.ravel()), np.sqrt(ab_hist.ravel()), light, thumb[:, 1:].ravel() / 32.0]
        return np.concatenate([unit_rows(np.asarray(p, np.float32)[None])[0] for p in parts])

    def embed(self, images: list) -> np.ndarray:
        return unit_rows(np.stack([self._one(image) for image in images]))


class DinoV2Embedder:
    """A frozen timm DINOv2 ViT; weights_path None = random weights (tests only)."""

    def __init__(self, name: str, weights_path=None, image_level: str = "cls", patch_grid: int = 0,
                 device: str = "cpu", batch_size: int = 32):
        import timm
        import torch

        if image_level not in IMAGE_LEVELS:
            raise PairingError(f"unknown pairing image level {image_level!r}; choose from {IMAGE_LEVELS}")
        self.torch, self.device, self.batch_size = torch, torch.device(device), batch_size
        weights = "random"
        if weights_path is None:
            self.model = timm.create_model(DINOV2_MODELS[name], pretrained=False, num_classes=0, img_size=224)
        else:  # timm's own loader resamples the 518-pixel position embedding of the hub file to 224
            self.model = _pretrained_model(timm, DINOV2_MODELS[name], weights_path)
            weights = file_identity(weights_path)
        self.model.eval().requires_grad_(False).to(self.device)
        self.image_level, self.patch_grid = image_level, int(patch_grid)
        self.dim = int(self.model.embed_dim) * (1 + self.patch_grid ** 2)
        self.settings = {"embedder": name, "timm": DINOV2_MODELS[name], "weights": weights,
                         "image_level": image_level, "patch_grid": self.patch_grid, "input": 224, "version": 1}

    def _tokens(self, batch: np.ndarray):
        torch = self.torch
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(self.device)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        with torch.no_grad():
            tokens = self.model.forward_features((x - mean) / std)
        prefix = int(getattr(self.model, "num_prefix_tokens", 1))
        return tokens[:, 0], tokens[:, prefix:]

    def _rows(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        cls, patches = self._tokens(batch)
        image = cls if self.image_level == "cls" else patches.mean(dim=1)
        parts = [torch.nn.functional.normalize(image, dim=-1)]
        if self.patch_grid:
            side = int(round(patches.shape[1] ** 0.5))
            grid = patches.transpose(1, 2).reshape(len(batch), -1, side, side)
            pooled = torch.nn.functional.adaptive_avg_pool2d(grid, self.patch_grid).flatten(2).transpose(1, 2)
            parts.append(torch.nn.functional.normalize(pooled, dim=-1).flatten(1) / self.patch_grid)
        return torch.cat(parts, dim=1).float().cpu().numpy()

    def embed(self, images: list) -> np.ndarray:
        resized = np.stack([cv2.resize(np.clip(im, 0, 1).astype(np.float32), (224, 224),
                                       interpolation=cv2.INTER_AREA) for im in images])
        rows = [self._rows(resized[i:i + self.batch_size]) for i in range(0, len(resized), self.batch_size)]
        return unit_rows(np.concatenate(rows))


def _pretrained_model(timm, model_name: str, path):
    try:
        return timm.create_model(model_name, pretrained=True, num_classes=0, img_size=224,
                                 pretrained_cfg_overlay={"file": str(path)})
    except Exception as error:  # any unreadable or foreign file: name it and the fix
        raise PairingError(f"{path}: cannot load {model_name} weights ({type(error).__name__}: {error}); delete it "
                           "and fetch it again with `python -m tools.weights download`") from None


def build_embedder(name: str, weights_path=None, image_level: str = "cls", patch_grid: int = 0,
                   device: str = "cpu"):
    """The embedder `name` (EMBEDDERS). DINOv2 needs weights_path (None only for random-weight tests)."""
    if name == "colour_lab":
        return ColourLabEmbedder()
    if name in DINOV2_MODELS:
        return DinoV2Embedder(name, weights_path, image_level, patch_grid, device)
    raise PairingError(f"unknown pairing embedder {name!r}; choose from {', '.join(EMBEDDERS)}")
