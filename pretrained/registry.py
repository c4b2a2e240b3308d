"""The authors' published generator checkpoints and the paper's metrics for them (SPEC section 8)."""
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PublishedCheckpoint:
    name: str  # registry key, accepted wherever a checkpoint path is
    file: str  # file name as published
    backbone: str  # models.GENERATORS key
    dataset: str | None  # 'fujifilm' | 'zrr' | None (not stated for the demosaic pretraining)
    mode: str  # 'paired' | 'paired_wo_adv' | 'unpaired' | 'demosaic_pretrain'
    step: int
    subdir: str  # folder of the release layout ('Fujifilm', 'ZRR', '' for the top level)
    paper: dict | None = None  # PSNR, SSIM, MS-SSIM, LPIPS on the test set (Table 2 Fujifilm, Table 1 ZRR)


def _metrics(psnr, ssim, ms_ssim, lpips) -> dict:
    return {"psnr": psnr, "ssim": ssim, "ms_ssim": ms_ssim, "lpips": lpips}


_ENTRIES = [
    ("efficient_isp_demosaic_pretrain", "Efficient_ISP_demosaic_pretrain_step_20000.pth", "efficient_isp",
     None, "demosaic_pretrain", 20000, "", None),
    ("fujifilm_efficient_isp_paired_wo_adv", "Efficient_ISP_paired_wo_adv_losses_step_31190.pth", "efficient_isp",
     "fujifilm", "paired_wo_adv", 31190, "Fujifilm", _metrics(23.2692, 0.8273, 0.9374, 0.1851)),
    ("fujifilm_efficient_isp_paired", "Efficient_ISP_paired_step_37580.pth", "efficient_isp",
     "fujifilm", "paired", 37580, "Fujifilm", _metrics(23.6477, 0.8401, 0.9498, 0.1465)),
    ("fujifilm_efficient_isp_unpaired", "Efficient_ISP_unpaired_step_27220.pth", "efficient_isp",
     "fujifilm", "unpaired", 27220, "Fujifilm", _metrics(23.0711, 0.8300, 0.9449, 0.1614)),
    ("fujifilm_rmfa_tiny_paired_wo_adv", "RMFA_TINY_paired_wo_adv_losses_step_36120.pth", "rmfa_tiny",
     "fujifilm", "paired_wo_adv", 36120, "Fujifilm", _metrics(23.7468, 0.8321, 0.9360, 0.1545)),
    ("fujifilm_rmfa_tiny_paired", "RMFA_TINY_paired_step_31690.pth", "rmfa_tiny",
     "fujifilm", "paired", 31690, "Fujifilm", _metrics(24.5764, 0.8698, 0.9572, 0.1121)),
    ("fujifilm_rmfa_tiny_unpaired", "RMFA_TINY_unpaired_step_48270.pth", "rmfa_tiny",
     "fujifilm", "unpaired", 48270, "Fujifilm", _metrics(22.7739, 0.8451, 0.9452, 0.1586)),
    # The paper reports only the unpaired Robust ISP result.
    ("fujifilm_robust_isp_paired_wo_adv", "Robust_paired_wo_adv_losses_step_29030.pth", "robust_isp",
     "fujifilm", "paired_wo_adv", 29030, "Fujifilm", None),
    ("fujifilm_robust_isp_paired", "Robust_paired_step_31560.pth", "robust_isp",
     "fujifilm", "paired", 31560, "Fujifilm", None),
    ("fujifilm_robust_isp_unpaired", "Robust_unpaired_step_66090.pth", "robust_isp",
     "fujifilm", "unpaired", 66090, "Fujifilm", _metrics(22.9401, 0.8309, 0.9445, 0.1751)),
    ("zrr_efficient_isp_paired_wo_adv", "Efficient_ISP_paired_wo_adv_losses_step_57200.pth", "efficient_isp",
     "zrr", "paired_wo_adv", 57200, "ZRR", _metrics(19.667, 0.699, 0.831, 0.240)),
    ("zrr_efficient_isp_paired", "Efficient_ISP_paired_step_195100.pth", "efficient_isp",
     "zrr", "paired", 195100, "ZRR", _metrics(19.692, 0.699, 0.837, 0.198)),
    ("zrr_efficient_isp_unpaired", "Efficient_ISP_unpaired_step_30750.pth", "efficient_isp",
     "zrr", "unpaired", 30750, "ZRR", _metrics(19.448, 0.700, 0.832, 0.239)),
]

PUBLISHED: dict[str, PublishedCheckpoint] = {e[0]: PublishedCheckpoint(*e) for e in _ENTRIES}


def default_search_dirs() -> list[Path]:
    """$ISP_CHECKPOINTS (os.pathsep-separated), ./pretrained/checkpoints, ../shared/reference_checkpoints."""
    dirs = [Path(p) for p in os.environ.get("ISP_CHECKPOINTS", "").split(os.pathsep) if p]
    dirs += [Path.cwd() / "pretrained" / "checkpoints", REPO_ROOT / "pretrained" / "checkpoints",
             REPO_ROOT.parent / "shared" / "reference_checkpoints"]
    unique = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def find_published(name: str) -> PublishedCheckpoint | None:
    """Registry entry by key, file name, or file stem ('Efficient_ISP_paired_step_37580')."""
    if name in PUBLISHED:
        return PUBLISHED[name]
    base = Path(name).name
    return next((e for e in PUBLISHED.values() if base in (e.file, Path(e.file).stem)), None)


def _locate(entry: PublishedCheckpoint, search_dirs: list[Path]) -> Path | None:
    for root in search_dirs:
        if not root.is_dir():
            continue
        preferred = root / entry.subdir / entry.file
        if preferred.is_file():
            return preferred
        hits = sorted(root.rglob(entry.file))
        if hits:
            return hits[0]
    return None


def resolve_checkpoint(name_or_path, search_dirs=None) -> tuple[Path, str | None]:
    """An existing path (backbone known when its file name is a published one), or a registry name
    found in the search dirs. Raises FileNotFoundError saying where it looked and where to put files."""
    candidate = Path(name_or_path)
    entry = find_published(str(name_or_path))
    if candidate.is_file():
        return candidate, entry.backbone if entry else None
    if entry is None:
        raise FileNotFoundError(f"{name_or_path!r} is neither an existing checkpoint file nor a published "
                                f"checkpoint name; published names: {sorted(PUBLISHED)}")
    dirs = [Path(d) for d in search_dirs] if search_dirs is not None else default_search_dirs()
    found = _locate(entry, dirs)
    if found is None:
        raise FileNotFoundError(f"published checkpoint {entry.name!r} ({entry.file}) not found in "
                                f"{[str(d) for d in dirs]}; see pretrained/README.md for where to get it "
                                f"(put it in pretrained/checkpoints/{entry.subdir} or set $ISP_CHECKPOINTS)")
    return found, entry.backbone
