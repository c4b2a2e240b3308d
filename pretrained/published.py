"""The authors' published generator checkpoints: the one home of their facts (path in the authors' repository,
sha256, backbone, dataset, training mode, pick step, the paper's metrics; docs/method.md §6 and §8) and their
resolution to a file in the checkpoint cache, downloaded and verified when missing.

Cache folder: the `cache_dir` argument (fit.py: config key `checkpoint_dir`), else $ISP_CHECKPOINTS, else
$XDG_CACHE_HOME/isp/checkpoints (~/.cache/isp/checkpoints). A file is found there at its path in the authors'
repository (so a clone of that repository is a complete cache), at the path this project's earlier cache layout
used (Fujifilm/<file>, ZRR/<file>, the demosaic pretraining under its old name at the top), or anywhere below
the folder. Downloads land at the repository path.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from common.errors import UserError

from .download_cache import DownloadError, fetch_verified

CACHE_ENV = "ISP_CHECKPOINTS"
MIRROR_ENV = "ISP_CHECKPOINT_URL"  # a base URL laid out like the authors' repository (a mirror of it)
DOWNLOAD_COMMAND = "python -m tools.weights download"  # fetches backbone files and published checkpoints
# The authors' code release (the paper's footnote), branch main; files are fetched at <base>/<repository path>.
RELEASE_REPOSITORY = "AndreiiArhire/Learned-Lightweight-Smartphone-ISP-with-Unpaired-Data"
RELEASE_BASE_URL = f"https://raw.githubusercontent.com/{RELEASE_REPOSITORY}/main/"
METRICS = ("psnr", "ssim", "ms_ssim", "lpips")
PAPER_DECIMALS = {"fujifilm": 4, "zrr": 3}  # as the paper prints them (Table 2 Fujifilm, Table 1 ZRR)


class MissingCheckpointError(UserError, FileNotFoundError):
    """A published checkpoint is neither in the cache nor downloadable; the message says what to run."""


@dataclass(frozen=True)
class PublishedCheckpoint:
    name: str  # registry key, accepted wherever a checkpoint path is
    repo_path: str  # path in the authors' repository (docs/method.md §6)
    sha256: str  # of the published file; a download must match
    backbone: str  # models.GENERATORS key
    dataset: str | None  # 'fujifilm' | 'zrr' | None (not stated for the demosaic pretraining)
    mode: str  # the training stage that made it (training/stages.py): pretrain | unpaired | paired | paired_no_adv
    paper: dict | None = None  # PSNR, SSIM, MS-SSIM, LPIPS on the test set (Table 2 Fujifilm, Table 1 ZRR)
    old_names: tuple[str, ...] = ()  # registry names used before (still resolve)
    old_cache_path: str = ""  # where this project's earlier cache layout kept it; "" = repo_path without prefix

    @property
    def file(self) -> str:
        """File name as published."""
        return PurePosixPath(self.repo_path).name

    @property
    def step(self) -> int:
        """The pick's step, as the published file name carries it (docs/method.md §6: updates + 99)."""
        return int(re.search(r"(\d+)\.pth$", self.file).group(1))

    @property
    def cache_paths(self) -> tuple[str, ...]:
        """Paths below the cache folder where the file is looked for, in order."""
        old = self.old_cache_path or self.repo_path.removeprefix("pretrained/models/")
        return (self.repo_path, old) if old != self.repo_path else (self.repo_path,)


def _metrics(psnr, ssim, ms_ssim, lpips) -> dict:
    return dict(zip(METRICS, (psnr, ssim, ms_ssim, lpips)))


_FUJI, _ZRR = "pretrained/models/Fujifilm/", "pretrained/models/ZRR/"
_ENTRIES = (
    PublishedCheckpoint(
        "efficient_isp_pretrain", "checkpoint/pretrained_20000.pth",
        "e3afd5102c696fb31e1ed7559d69c81d8e409340291b90de2baef56e8ca1a20c", "efficient_isp", None, "pretrain",
        old_names=("efficient_isp_demosaic_pretrain",),
        old_cache_path="Efficient_ISP_demosaic_pretrain_step_20000.pth"),
    PublishedCheckpoint(
        "fujifilm_efficient_isp_paired_no_adv", _FUJI + "Efficient_ISP_paired_wo_adv_losses_step_31190.pth",
        "32f43a95fe62e8b935208005530e8b48e3cd63c3cc3b36f82a86a21db497e2c3", "efficient_isp", "fujifilm",
        "paired_no_adv", _metrics(23.2692, 0.8273, 0.9374, 0.1851),
        old_names=("fujifilm_efficient_isp_paired_wo_adv",)),
    PublishedCheckpoint(
        "fujifilm_efficient_isp_paired", _FUJI + "Efficient_ISP_paired_step_37580.pth",
        "978bb03eda7e4dba1800b2565da640df2437492162e8762c40c975f8902f1326", "efficient_isp", "fujifilm",
        "paired", _metrics(23.6477, 0.8401, 0.9498, 0.1465)),
    PublishedCheckpoint(
        "fujifilm_efficient_isp_unpaired", _FUJI + "Efficient_ISP_unpaired_step_27220.pth",
        "69bf8ed24aa6eb961e745232959ed71b32803761ee2c15d5ffcf76a57f1d6980", "efficient_isp", "fujifilm",
        "unpaired", _metrics(23.0711, 0.8300, 0.9449, 0.1614)),
    PublishedCheckpoint(
        "fujifilm_rmfa_tiny_paired_no_adv", _FUJI + "RMFA_TINY_paired_wo_adv_losses_step_36120.pth",
        "120da8bbdcec5db815c820a18b1ef50b6ae989f70f6b72d632d5d66858397d94", "rmfa_tiny", "fujifilm",
        "paired_no_adv", _metrics(23.7468, 0.8321, 0.9360, 0.1545),
        old_names=("fujifilm_rmfa_tiny_paired_wo_adv",)),
    PublishedCheckpoint(
        "fujifilm_rmfa_tiny_paired", _FUJI + "RMFA_TINY_paired_step_31690.pth",
        "3d969480088c517e9388ec7e288977802a4c4486ec3141c4ec9b378778ef90c4", "rmfa_tiny", "fujifilm",
        "paired", _metrics(24.5764, 0.8698, 0.9572, 0.1121)),
    PublishedCheckpoint(
        "fujifilm_rmfa_tiny_unpaired", _FUJI + "RMFA_TINY_unpaired_step_48270.pth",
        "7ca427c8a53dbcfcfcb297baff31f4da80da70fcd99f69054f562fd10e8a8553", "rmfa_tiny", "fujifilm",
        "unpaired", _metrics(22.7739, 0.8451, 0.9452, 0.1586)),
    # The paper reports only the unpaired Robust ISP result.
    PublishedCheckpoint(
        "fujifilm_robust_isp_paired_no_adv", _FUJI + "Robust_paired_wo_adv_losses_step_29030.pth",
        "a6482b07dc7bbd553434932899c090799d37816b58b9215dac1c8f4deca811f8", "robust_isp", "fujifilm",
        "paired_no_adv", old_names=("fujifilm_robust_isp_paired_wo_adv",)),
    PublishedCheckpoint(
        "fujifilm_robust_isp_paired", _FUJI + "Robust_paired_step_31560.pth",
        "3b9d4154341354066f9d58750fba51046e7de533c457f54c683bd1ea639a03c5", "robust_isp", "fujifilm",
        "paired"),
    PublishedCheckpoint(
        "fujifilm_robust_isp_unpaired", _FUJI + "Robust_unpaired_step_66090.pth",
        "9199ca7f0b26fe4de23c4fb85ea2dc07e20e72ea2aa0d50fbcc21261d3ab8c3c", "robust_isp", "fujifilm",
        "unpaired", _metrics(22.9401, 0.8309, 0.9445, 0.1751)),
    PublishedCheckpoint(
        "zrr_efficient_isp_paired_no_adv", _ZRR + "Efficient_ISP_paired_wo_adv_losses_step_57200.pth",
        "a32580141f90f53b73435ecc6b693e8a4203932c1e2fbf21cddf208634765fc1", "efficient_isp", "zrr",
        "paired_no_adv", _metrics(19.667, 0.699, 0.831, 0.240),
        old_names=("zrr_efficient_isp_paired_wo_adv",)),
    PublishedCheckpoint(
        "zrr_efficient_isp_paired", _ZRR + "Efficient_ISP_paired_step_195100.pth",
        "cda901b993398ea0598e31acd14737c44d4609aa0598db00422089170e231e98", "efficient_isp", "zrr",
        "paired", _metrics(19.692, 0.699, 0.837, 0.198)),
    PublishedCheckpoint(
        "zrr_efficient_isp_unpaired", _ZRR + "Efficient_ISP_unpaired_step_30750.pth",
        "5b8c436fe6590e8aee8f32b4ad9ed117c31c876dd38190afeb582fb353d63c08", "efficient_isp", "zrr",
        "unpaired", _metrics(19.448, 0.700, 0.832, 0.239)),
)

PUBLISHED: dict[str, PublishedCheckpoint] = {e.name: e for e in _ENTRIES}
OLD_NAMES: dict[str, str] = {old: e.name for e in _ENTRIES for old in e.old_names}  # old registry name -> name


def checkpoint_cache_dir(cache_dir: os.PathLike | str | None = None) -> Path:
    """The given folder, else $ISP_CHECKPOINTS, else $XDG_CACHE_HOME/isp/checkpoints (~/.cache/...)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "isp" / "checkpoints"


def find_published(name: str) -> PublishedCheckpoint | None:
    """Registry entry by key (or an old key), file name, or file stem ('Efficient_ISP_paired_step_37580'),
    the demosaic pretraining's old file name included."""
    name = str(name)
    if name in PUBLISHED or name in OLD_NAMES:
        return PUBLISHED[OLD_NAMES.get(name, name)]
    base = Path(name).name
    return next((e for e in _ENTRIES for path in e.cache_paths
                 if base in (PurePosixPath(path).name, PurePosixPath(path).stem)), None)


def cached_path(entry: PublishedCheckpoint, cache_dir=None) -> Path | None:
    """The entry's file in the cache: at its repository path, at its old cache path, else anywhere below."""
    root = checkpoint_cache_dir(cache_dir)
    for relative in entry.cache_paths:
        if (root / relative).is_file():
            return root / relative
    names = dict.fromkeys(PurePosixPath(p).name for p in entry.cache_paths)
    hits = sorted(hit for name in names for hit in root.rglob(name)) if root.is_dir() else []
    return hits[0] if hits else None


def release_base_url() -> str:
    return os.environ.get(MIRROR_ENV) or RELEASE_BASE_URL


def download_url(entry: PublishedCheckpoint, base_url: str | None = None) -> str:
    """<base>/<repository path>; base: the argument, else $ISP_CHECKPOINT_URL, else the authors' repository."""
    return (base_url or release_base_url()).rstrip("/") + "/" + entry.repo_path


def download_checkpoint(entry: PublishedCheckpoint, cache_dir=None, base_url: str | None = None,
                        progress: bool = True) -> Path:
    """Fetch the entry into the cache at its repository path, sha256-checked."""
    root = checkpoint_cache_dir(cache_dir)
    try:
        return fetch_verified(download_url(entry, base_url), entry.sha256, root / entry.repo_path, progress=progress)
    except DownloadError as err:
        raise MissingCheckpointError(
            f"published checkpoint {entry.name!r} ({entry.file}) is not in {root} and {err}; fetch it with "
            f"`{DOWNLOAD_COMMAND} --only {entry.name}` when online, or put the file at {root / entry.repo_path} "
            f"(folder: --set checkpoint_dir=... or ${CACHE_ENV}; a clone of {RELEASE_REPOSITORY} works as "
            f"the folder)") from None


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


def paper_figures(entry: PublishedCheckpoint) -> list[str]:
    """The entry's paper metrics as the paper prints them ('-' where it reports none)."""
    paper = entry.paper or {}
    return [f"{paper[m]:.{PAPER_DECIMALS[entry.dataset]}f}" if m in paper else "-" for m in METRICS]


def registry_table_markdown() -> str:
    """pretrained/README.md's table, written from the registry (tests/test_pretrained.py keeps them in step)."""
    rows = ["| name | repository path | backbone | dataset | mode | step | PSNR | SSIM | MS-SSIM | LPIPS |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for e in _ENTRIES:
        rows.append(f"| `{e.name}` | `{e.repo_path}` | {e.backbone} | {e.dataset or '-'} | {e.mode} | {e.step} | "
                    + " | ".join(paper_figures(e)) + " |")
    return "\n".join(rows)
