"""Contact sheet of a pairing: each row is a RAW's rendering beside its matched photo, with the cosine cost;
the best matches first, then the worst (what to look at when judging a pairing)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from common import atomic_write

LABEL_HEIGHT = 14


def _tile(image: np.ndarray, size: int) -> Image.Image:
    pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    pil.thumbnail((size, size))
    canvas = Image.new("RGB", (size, size), (32, 32, 32))
    canvas.paste(pil, ((size - pil.width) // 2, (size - pil.height) // 2))
    return canvas


def contact_sheet(path, sections: list, size: int = 128) -> None:
    """sections: [(title, [(raw_image, photo_image, label), ...]), ...] -> one PNG, two tiles per row."""
    rows = sum(1 + len(items) for _, items in sections)
    sheet = Image.new("RGB", (2 * size + 8, rows * (size + LABEL_HEIGHT)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = 0
    for title, items in sections:
        draw.text((4, y + size // 2), title, fill=(0, 0, 0))
        y += size + LABEL_HEIGHT
        for raw_image, photo_image, label in items:
            sheet.paste(_tile(raw_image, size), (0, y))
            sheet.paste(_tile(photo_image, size), (size + 8, y))
            draw.text((2, y + size), label, fill=(0, 0, 0))
            y += size + LABEL_HEIGHT
    with atomic_write(path) as handle:
        sheet.save(handle, format="PNG")


def best_and_worst(costs: np.ndarray, count: int) -> tuple[list, list]:
    """Indices of the `count` lowest-cost and `count` highest-cost pairs (disjoint when possible)."""
    order = np.argsort(costs, kind="stable")
    best = order[:count].tolist()
    worst = [i for i in order[::-1][:count].tolist() if i not in best]
    return best, worst
