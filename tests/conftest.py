"""Shared pytest fixtures. The repo root is put on sys.path so tests import the libraries as users do."""
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
SHARED_DIR = REPO_ROOT.parent / "shared"
REFERENCE_CHECKPOINTS = SHARED_DIR / "reference_checkpoints"


@pytest.fixture(scope="session")
def reference_checkpoints() -> Path:
    assert REFERENCE_CHECKPOINTS.is_dir(), f"missing {REFERENCE_CHECKPOINTS} (CI has ../shared beside the clone)"
    return REFERENCE_CHECKPOINTS
