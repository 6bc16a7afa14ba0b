"""Shared fixtures: where the real vendor files are, and small helpers for fixture files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
# Real vendor files live beside the repo, never inside it (see ../shared/realdata/README.md).
REALDATA = Path(os.environ.get("ALVH_REALDATA", REPO.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real vendor files; tests using this fixture skip (with the reason) when absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real vendor files not found at {REALDATA} (set ALVH_REALDATA to run conformance)")
    return REALDATA


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES
