"""Shared pytest fixtures. The repo root is put on sys.path so tests import the libraries as users do.

The checkpoint cache ($ISP_CHECKPOINTS) points at ../shared/reference_checkpoints beside the clone (the
authors' published files, which CI provides), so published names resolve without a download. Only the checks
on the authors' own files need them (`reference_checkpoints` fixture); every other test runs on small generated
checkpoints (`generated_checkpoints`). ISP_TEST_NO_SHARED=1 runs the suite as a clone without ../shared does:
the checkpoint cache is an empty folder and `reference_checkpoints` skips.
"""
import os
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
NO_SHARED = os.environ.get("ISP_TEST_NO_SHARED", "") not in ("", "0")
REFERENCE_CHECKPOINTS = REPO_ROOT.parent / "shared" / "reference_checkpoints"
RELEASE_LAYOUT = REPO_ROOT.parent / "shared" / "release_layout"  # the same files at the authors' repository paths


def pytest_configure(config):
    cache = tempfile.mkdtemp(prefix="isp_empty_checkpoint_cache_") if NO_SHARED else REFERENCE_CHECKPOINTS
    os.environ["ISP_CHECKPOINTS"] = str(cache)
    # A checkpoint missing from the cache is "downloaded" from a closed loopback port: no test ever
    # reaches outside this machine (tests that exercise a real download serve it on 127.0.0.1 themselves).
    os.environ.setdefault("ISP_CHECKPOINT_URL", "http://127.0.0.1:9/")


@pytest.fixture(scope="session")
def reference_checkpoints() -> Path:
    """The published checkpoints; tests that need them skip when ../shared is not beside the clone."""
    if NO_SHARED:
        pytest.skip("ISP_TEST_NO_SHARED is set: the authors' published checkpoints are not used")
    if not REFERENCE_CHECKPOINTS.is_dir():
        pytest.skip(f"published checkpoints not found at {REFERENCE_CHECKPOINTS} (CI has ../shared beside the clone)")
    return REFERENCE_CHECKPOINTS


@pytest.fixture(scope="session")
def release_layout() -> Path:
    """The published checkpoints at their paths in the authors' repository (pretrained/models/..., checkpoint/...);
    tests that need them skip when ../shared is not beside the clone."""
    if NO_SHARED:
        pytest.skip("ISP_TEST_NO_SHARED is set: the authors' repository layout is not used")
    if not RELEASE_LAYOUT.is_dir():
        pytest.skip(f"authors' repository layout not found at {RELEASE_LAYOUT} (CI has ../shared beside the clone)")
    return RELEASE_LAYOUT


@pytest.fixture(scope="session")
def generated_checkpoints(tmp_path_factory) -> Path:
    """A checkpoint cache laid out as the published one (same folders and file names), holding freshly
    initialised generators of each entry's backbone (seeded): for tests where the authors' weights are
    incidental (resume, DDP, export, tiling, scoring), so they run without ../shared."""
    import torch

    from models import build_generator
    from pretrained import PUBLISHED

    root = tmp_path_factory.mktemp("generated_checkpoints")
    for entry in PUBLISHED.values():
        torch.manual_seed(zlib.crc32(entry.file.encode()))  # a seed per file name, whatever the registry's order
        path = root / entry.repo_path
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(build_generator(entry.backbone).state_dict(), path)
    return root


# Tiny synthetic datasets in the real layouts, generated once per test session (a second or two).
TINY_RAW_SIZE = 64


@pytest.fixture(scope="session")
def tiny_fujifilm_root(tmp_path_factory) -> Path:
    """Fujifilm layout: train/val/test with 6/3/3 pairs of 64x64 RAW (16-bit PNG) and 64x64 PNG targets."""
    from data import make_synthetic_dataset

    root = tmp_path_factory.mktemp("tiny_synthetic") / "fujifilm"
    return make_synthetic_dataset(root, "fujifilm", counts={"train": 6, "val": 3, "test": 3},
                                  size=TINY_RAW_SIZE, seed=0)


@pytest.fixture(scope="session")
def tiny_zrr_root(tmp_path_factory) -> Path:
    """ZRR layout: train/test with 6/3 pairs of 64x64 RAW (16-bit PNG) and 64x64 JPG targets (same size, as ZRR)."""
    from data import make_synthetic_dataset

    root = tmp_path_factory.mktemp("tiny_synthetic") / "zrr"
    return make_synthetic_dataset(root, "zrr", counts={"train": 6, "test": 3}, size=TINY_RAW_SIZE, seed=0)


@pytest.fixture(params=["generated", "published"])
def checkpoint_cache(request) -> Path:
    """Run a test on the generated stand-ins and, when ../shared is there, on the authors' files too.
    Find a file in it by its published name: next(cache.rglob(name))."""
    return request.getfixturevalue("generated_checkpoints" if request.param == "generated" else "reference_checkpoints")
