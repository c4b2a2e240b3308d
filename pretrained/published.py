"""The authors' published generator checkpoints, the paper's metrics for them (docs/method.md §8), and
their resolution to a file in the checkpoint cache, downloaded and verified when missing.

Cache folder: the `cache_dir` argument (fit.py: config key `checkpoint_dir`), else $ISP_CHECKPOINTS,
else $XDG_CACHE_HOME/isp/checkpoints (~/.cache/isp/checkpoints). Files keep the release layout there
(Fujifilm/..., ZRR/..., the demosaic pretraining at the top level) and their published names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError

from .download_cache import DownloadError, fetch_verified

CACHE_ENV = "ISP_CHECKPOINTS"
MIRROR_ENV = "ISP_CHECKPOINT_URL"  # another base URL holding the same release layout (a local mirror)
DOWNLOAD_COMMAND = "python -m tools.weights download"  # fetches backbone files and published checkpoints
# The authors' code release (the paper's footnote). The registry records no per-file URLs, so files are
# fetched by their release path (<subdir>/<file>) under this raw-file prefix of the repository.
RELEASE_BASE_URL = ("https://raw.githubusercontent.com/AndreiiArhire/"
                    "Learned-Lightweight-Smartphone-ISP-with-Unpaired-Data/main/")


class MissingCheckpointError(UserError, FileNotFoundError):
    """A published checkpoint is neither in the cache nor downloadable; the message says what to run."""


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

    @property
    def release_path(self) -> str:
        return f"{self.subdir}/{self.file}" if self.subdir else self.file

    @property
    def sha256(self) -> str:
        return SHA256[self.release_path]


# sha256 of the published files (measured on the authors' files; a download must match).
SHA256 = {
    "Efficient_ISP_demosaic_pretrain_step_20000.pth":
        "e3afd5102c696fb31e1ed7559d69c81d8e409340291b90de2baef56e8ca1a20c",
    "Fujifilm/Efficient_ISP_paired_step_37580.pth":
        "978bb03eda7e4dba1800b2565da640df2437492162e8762c40c975f8902f1326",
    "Fujifilm/Efficient_ISP_paired_wo_adv_losses_step_31190.pth":
        "32f43a95fe62e8b935208005530e8b48e3cd63c3cc3b36f82a86a21db497e2c3",
    "Fujifilm/Efficient_ISP_unpaired_step_27220.pth":
        "69bf8ed24aa6eb961e745232959ed71b32803761ee2c15d5ffcf76a57f1d6980",
    "Fujifilm/RMFA_TINY_paired_step_31690.pth":
        "3d969480088c517e9388ec7e288977802a4c4486ec3141c4ec9b378778ef90c4",
    "Fujifilm/RMFA_TINY_paired_wo_adv_losses_step_36120.pth":
        "120da8bbdcec5db815c820a18b1ef50b6ae989f70f6b72d632d5d66858397d94",
    "Fujifilm/RMFA_TINY_unpaired_step_48270.pth":
        "7ca427c8a53dbcfcfcb297baff31f4da80da70fcd99f69054f562fd10e8a8553",
    "Fujifilm/Robust_paired_step_31560.pth":
        "3b9d4154341354066f9d58750fba51046e7de533c457f54c683bd1ea639a03c5",
    "Fujifilm/Robust_paired_wo_adv_losses_step_29030.pth":
        "a6482b07dc7bbd553434932899c090799d37816b58b9215dac1c8f4deca811f8",
    "Fujifilm/Robust_unpaired_step_66090.pth":
        "9199ca7f0b26fe4de23c4fb85ea2dc07e20e72ea2aa0d50fbcc21261d3ab8c3c",
    "ZRR/Efficient_ISP_paired_step_195100.pth":
        "cda901b993398ea0598e31acd14737c44d4609aa0598db00422089170e231e98",
    "ZRR/Efficient_ISP_paired_wo_adv_losses_step_57200.pth":
        "a32580141f90f53b73435ecc6b693e8a4203932c1e2fbf21cddf208634765fc1",
    "ZRR/Efficient_ISP_unpaired_step_30750.pth":
        "5b8c436fe6590e8aee8f32b4ad9ed117c31c876dd38190afeb582fb353d63c08",
}


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


def checkpoint_cache_dir(cache_dir: os.PathLike | str | None = None) -> Path:
    """The given folder, else $ISP_CHECKPOINTS, else $XDG_CACHE_HOME/isp/checkpoints (~/.cache/...)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "isp" / "checkpoints"


def find_published(name: str) -> PublishedCheckpoint | None:
    """Registry entry by key, file name, or file stem ('Efficient_ISP_paired_step_37580')."""
    if name in PUBLISHED:
        return PUBLISHED[name]
    base = Path(name).name
    return next((e for e in PUBLISHED.values() if base in (e.file, Path(e.file).stem)), None)


def cached_path(entry: PublishedCheckpoint, cache_dir=None) -> Path | None:
    """The entry's file in the cache: at its release path, else anywhere below the folder."""
    root = checkpoint_cache_dir(cache_dir)
    if (root / entry.release_path).is_file():
        return root / entry.release_path
    hits = sorted(root.rglob(entry.file)) if root.is_dir() else []
    return hits[0] if hits else None


def release_base_url() -> str:
    return os.environ.get(MIRROR_ENV) or RELEASE_BASE_URL


def download_checkpoint(entry: PublishedCheckpoint, cache_dir=None, base_url: str | None = None,
                        progress: bool = True) -> Path:
    """Fetch the entry into the cache at its release path, sha256-checked (from $ISP_CHECKPOINT_URL
    when set, else the authors' repository)."""
    root = checkpoint_cache_dir(cache_dir)
    base_url = base_url or release_base_url()
    try:
        return fetch_verified(base_url + entry.release_path, entry.sha256, root / entry.release_path,
                              progress=progress)
    except DownloadError as err:
        raise MissingCheckpointError(
            f"published checkpoint {entry.name!r} ({entry.file}) is not in {root} and {err}; fetch it with "
            f"`{DOWNLOAD_COMMAND} --only {entry.name}` when online, or put the file at {root / entry.release_path} "
            f"(folder: --set checkpoint_dir=... or ${CACHE_ENV})") from None


def resolve_checkpoint(name_or_path, cache_dir=None, download: bool = True,
                       base_url: str | None = None) -> tuple[Path, str | None]:
    """An existing path (backbone known when its file name is a published one), or a registry name
    found in the checkpoint cache, downloaded there first when missing (download=True)."""
    candidate = Path(name_or_path)
    entry = find_published(str(name_or_path))
    if candidate.is_file():
        return candidate, entry.backbone if entry else None
    if entry is None:
        raise MissingCheckpointError(f"{name_or_path!r} is neither an existing checkpoint file nor a published "
                                     f"checkpoint name; published names: {', '.join(sorted(PUBLISHED))}")
    found = cached_path(entry, cache_dir)
    if found is None and download:
        found = download_checkpoint(entry, cache_dir, base_url)
    if found is None:
        root = checkpoint_cache_dir(cache_dir)
        raise MissingCheckpointError(f"published checkpoint {entry.name!r} ({entry.file}) is not in {root}; "
                                     f"fetch it with `{DOWNLOAD_COMMAND} --only {entry.name}`")
    return found, entry.backbone


