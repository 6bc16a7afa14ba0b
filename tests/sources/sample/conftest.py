"""Shared sample-market fixtures: one seeded market and one written drop per test session."""

from __future__ import annotations

from datetime import date

import pytest

from sources.sample import SampleMarket, write_drop

DAY = date(2026, 11, 23)  # a Monday session


@pytest.fixture(scope="session")
def market() -> SampleMarket:
    return SampleMarket(seed=7)


@pytest.fixture(scope="session")
def drop(market, tmp_path_factory):
    out = tmp_path_factory.mktemp("drop")
    paths = write_drop(market, DAY, out)
    return out, paths
