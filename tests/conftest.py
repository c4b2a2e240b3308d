"""Shared pytest fixtures. The repo root is put on sys.path so tests import the libraries as users do.

The checkpoint cache ($ISP_CHECKPOINTS) points at ../shared/reference_checkpoints beside the clone (the
authors' published files, which CI provides), so published names resolve without a download.
"""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
REFERENCE_CHECKPOINTS = REPO_ROOT.parent / "shared" / "reference_checkpoints"
RELEASE_LAYOUT = REPO_ROOT.parent / "shared" / "release_layout"  # the same files at the authors' repository paths


def pytest_configure(config):
    os.environ["ISP_CHECKPOINTS"] = str(REFERENCE_CHECKPOINTS)
    # A checkpoint missing from the cache is "downloaded" from a closed loopback port: no test ever
    # reaches outside this machine (tests that exercise a real download serve it on 127.0.0.1 themselves).
    os.environ.setdefault("ISP_CHECKPOINT_URL", "http://127.0.0.1:9/")


@pytest.fixture(scope="session")
def reference_checkpoints() -> Path:
    """The published checkpoints; tests that need them skip when ../shared is not beside the clone."""
    if not REFERENCE_CHECKPOINTS.is_dir():
        pytest.skip(f"published checkpoints not found at {REFERENCE_CHECKPOINTS} (CI has ../shared beside the clone)")
    return REFERENCE_CHECKPOINTS


@pytest.fixture(scope="session")
def release_layout() -> Path:
    """The published checkpoints at their paths in the authors' repository (pretrained/models/..., checkpoint/...);
    tests that need them skip when ../shared is not beside the clone."""
    if not RELEASE_LAYOUT.is_dir():
        pytest.skip(f"authors' repository layout not found at {RELEASE_LAYOUT} (CI has ../shared beside the clone)")
    return RELEASE_LAYOUT


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
