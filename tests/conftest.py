"""Shared fixtures: where the real vendor files are, and small helpers for fixture files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Prefect must never touch ~/.prefect or the network from tests: a private home per session,
# set before anything imports prefect.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="alvh-test-prefect-")
for _k, _v in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_UI_ENABLED": "false",
}.items():
    os.environ.setdefault(_k, _v)

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


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (about 7-12 s to start, once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh ALVH_HOME for one test."""
    h = tmp_path / "home"
    monkeypatch.setenv("ALVH_HOME", str(h))
    return h
