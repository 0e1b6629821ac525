"""Shared fixtures: the offline data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_path() -> Path:
    """``$PATHOLOGIES_DATA``, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("PATHOLOGIES_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests that need it are skipped when it is absent."""
    path = shared_data_path()
    if not path.is_dir():
        pytest.skip(f"shared data folder not found: set PATHOLOGIES_DATA or put the data at {path}")
    return path
