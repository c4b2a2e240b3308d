"""Contact sheet of a pairing: each row is a RAW's rendering beside its matched photo, with the cosine cost;
the best matches first, then the worst (what to look at when judging a pairing)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from common import atomic_write

LABEL_HEIGHT = 14


def _tile(image: np.ndarray, size: int) -> Image.Image:
    pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    scale = size / max(pil.size)
    pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.BILINEAR)
    canvas = Image.new("RGB", (size, size), (32, 32, 32))
    canvas.paste(pil, ((size - pil.width) // 2, (size - pil.height) // 2))
    return canvas


def contact_sheet(path, sections: list, size: int = 128) -> None:
    """sections: [(title, [(raw_image, photo_image, label), ...]), ...] -> one PNG; each section is a column of
    rows (RAW rendering | matched photo) under its title, the label below each row."""
    gap, column_width = 16, 2 * size + 4
    rows = max(len(items) for _, items in sections)
    sheet = Image.new("RGB", (len(sections) * (column_width + gap), LABEL_HEIGHT + rows * (size + LABEL_HEIGHT)),
                      (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for column, (title, items) in enumerate(sections):
        x = column * (column_width + gap)
        draw.text((x + 2, 1), title, fill=(0, 0, 0))
        for row, (raw_image, photo_image, label) in enumerate(items):
            y = LABEL_HEIGHT + row * (size + LABEL_HEIGHT)
            sheet.paste(_tile(raw_image, size), (x, y))
            sheet.paste(_tile(photo_image, size), (x + size + 4, y))
            draw.text((x + 2, y + size + 1), label, fill=(0, 0, 0))
    with atomic_write(path) as handle:
        sheet.save(handle, format="PNG")


def best_and_worst(costs: np.ndarray, count: int) -> tuple[list, list]:
    """Indices of the `count` lowest-cost and `count` highest-cost pairs (disjoint when possible)."""
    order = np.argsort(costs, kind="stable")
    best = order[:count].tolist()
    worst = [i for i in order[::-1][:count].tolist() if i not in best]
    return best, worst
