"""Recorded API payloads (tests/fixtures/live, written by make_payloads.py) served without network."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sources.live.recorded import RecordedSession
from sources.live.run import LivePlan

LIVE = Path(__file__).resolve().parents[2] / "fixtures" / "live"
NIGHT = date(2026, 5, 20)


class Sessions:
    """A SessionFactory over the recordings; `offline` hosts fail like DNS does on this machine."""

    def __init__(self, offline: set[str] | bool = False, extra: list | None = None):
        self.offline, self.extra = offline, extra or []
        self.made: dict[str, RecordedSession] = {}

    def __call__(self, provider: str) -> RecordedSession:
        s = RecordedSession.from_dir(LIVE)
        s.routes[:0] = self.extra  # routes a test adds win over the recordings
        s.offline = self.offline
        self.made[provider] = s
        return s

    def requests(self, provider: str) -> list:
        return self.made[provider].requests if provider in self.made else []


class FakeTime:
    """A clock that only sleeping moves (token buckets and backoff without waiting)."""

    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(round(s, 6))
        self.now += s


@pytest.fixture
def sessions() -> Sessions:
    return Sessions()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def plan(tmp_path) -> LivePlan:
    return LivePlan(funding_days=12, history_days=200, yahoo_max_expiries=3, backoff_s=0.5,
                    cache_dir=tmp_path / "yfinance-cache")


@pytest.fixture
def make_sessions():
    """Sessions(offline=..., extra=[Route ...]) -> a SessionFactory over the recordings."""
    return Sessions


@pytest.fixture
def live_dir() -> Path:
    return LIVE


@pytest.fixture
def night() -> date:
    return NIGHT


@pytest.fixture(autouse=True)
def no_ccxt_pauses(monkeypatch):
    """ccxt's enableRateLimit sleeps between requests; recorded answers need no pacing (the
    throttle being on is asserted in test_funding.py)."""
    import ccxt

    calls: list[float] = []
    monkeypatch.setattr(ccxt.Exchange, "throttle", lambda self, cost=None: calls.append(cost or 1))
    return calls
