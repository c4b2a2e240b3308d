"""What a person looks at during a run: TensorBoard scalars, sample grids saved as PNG too."""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image


class Monitor:
    """Rank 0 logs; other ranks get an inert monitor so the loop has no rank checks."""

    def __init__(self, stage_dir: Path, enabled: bool):
        self.stage_dir = Path(stage_dir)
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter  # imported late: slow, rank 0 only
            self.writer = SummaryWriter(log_dir=str(self.stage_dir / "tb"))

    def scalars(self, step: int, values: dict) -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(key, value, step)

    def sample_grid(self, step: int, batch: dict, fake: torch.Tensor, max_images: int = 4) -> Path | None:
        """Rows: demosaiced reference (when the stage has one), generator output, target."""
        if self.writer is None:
            return None
        rows = [batch[k][:max_images] for k in ("reference",) if k in batch]
        rows += [fake[:max_images].detach().clamp(0, 1)]
        rows += [batch["target"][:max_images]] if "target" in batch else []
        n = rows[0].shape[0]
        rows = [torch.nn.functional.interpolate(r.float().cpu(), size=fake.shape[-2:], mode="bilinear",
                                                align_corners=False) for r in rows]
        grid = make_grid(torch.cat(rows), nrow=n, padding=2)
        path = self.stage_dir / "samples" / f"step_{step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        self.writer.add_image("samples/reference_output_target", grid, step)
        return path

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_nonfinite_report(stage_dir: Path, step: int, values: dict, names: list[str],
                           generator_state: dict) -> Path:
    """Keep what is needed to reproduce a non-finite loss: term values, batch files, weights."""
    folder = Path(stage_dir) / f"nonfinite_step_{step}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(
        {"step": step, "terms": {k: repr(v) for k, v in values.items()}, "batch_files": names}, indent=2))
    torch.save(generator_state, folder / "generator.pth")
    return folder
