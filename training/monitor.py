"""What a person looks at during a run: TensorBoard scalars, sample grids saved as PNG too."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image
from tqdm import tqdm

# DLA scales a term by 1 / (norm + eps): below LOW_NORM_FACTOR * eps the term reaches the generator with
# less than 10/11 of its share lambda, and with nothing once its norm is far below eps.
LOW_NORM_FACTOR = 10.0


class Monitor:
    """Rank 0 logs; other ranks get an inert monitor so the loop has no rank checks."""

    def __init__(self, stage_dir: Path, enabled: bool):
        self.stage_dir = Path(stage_dir)
        self.writer = None
        self.low_norm_terms: set[str] = set()  # DLA terms already warned about
        if enabled:
            from torch.utils.tensorboard import SummaryWriter  # imported late: slow, rank 0 only
            self.writer = SummaryWriter(log_dir=str(self.stage_dir / "tb"))

    def scalars(self, step: int, values: dict) -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(key, value, step)

    def warn_low_gradient_norms(self, step: int, norms: dict, eps: float) -> list[str]:
        """Warn once per term (stderr and TensorBoard text) when a DLA term's gradient norm falls below
        LOW_NORM_FACTOR * eps; returns the terms warned about now."""
        if self.writer is None:
            return []
        low = [k for k, n in norms.items() if k not in self.low_norm_terms and n < LOW_NORM_FACTOR * eps]
        for name in low:
            message = (f"DLA: term '{name}' has gradient norm {norms[name]:.3g} < {LOW_NORM_FACTOR:g} x dla_eps "
                       f"({eps:g}) at step {step}; its DLA scale 1/(norm + eps) is capped by eps, so it reaches "
                       f"the generator with {norms[name] / (norms[name] + eps):.2g} of its share lambda instead "
                       f"of 1 (random or saturated feature network?). Said once per term.")
            tqdm.write(f"WARNING: {message}", file=sys.stderr)
            self.writer.add_text(f"warnings/dla_low_gradient/{name}", message, step)
        self.low_norm_terms.update(low)
        return low

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
