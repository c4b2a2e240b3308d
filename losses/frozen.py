"""Base class for frozen pretrained feature extractors."""
import torch.nn as nn


class FrozenExtractor(nn.Module):
    """No parameter gradients, always in eval mode (a parent's .train() cannot switch it back)."""

    def freeze(self) -> "FrozenExtractor":
        self.requires_grad_(False)
        return self.eval()

    def train(self, mode: bool = True) -> "FrozenExtractor":
        return super().train(False)
