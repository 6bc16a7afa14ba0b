"""Point in time for the signal and recommendation tables: build with data through D, then with
data through D + 30 sessions; every row dated on or before D must be identical (signals, evidence,
and the night-by-night recommendations with their legs and payoff). A look-ahead variant of the
z-score is shown to fail the same comparison, so the test can see one."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sources.calendar import sessions_between
from transforms import signals as sg
from transforms.alvh import recommend
from transforms.evidence import signal_evidence
from transforms.signals import signals_daily

CAL = sessions_between(date(2024, 1, 2), date(2024, 9, 30))
D = CAL[110]
LATER = CAL[140]


def _market(seed: int = 5) -> dict[str, pl.DataFrame]:
    """Synthetic core inputs over CAL up to LATER: crowding cycles, two shocks."""
    rng = np.random.default_rng(seed)
    days = [d for d in CAL if d <= LATER]
    n = len(days)
    crowd = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(n) / 50)  # crowding cycles every 50 sessions
    ret = rng.normal(0.0004, 0.009, n)
    ret[[60, 118]] = [-0.035, -0.04]  # two shocks: one before D, one after
    close = 4800 * np.exp(np.cumsum(ret))
    vix = np.clip(14 + 20 * np.abs(ret) * 10 + rng.normal(0, 1, n), 9, 60)
    gex = 5e9 - 12e9 * crowd + rng.normal(0, 2e9, n)
    gamma = pl.DataFrame({"date": days, "underlying": "SPX", "preset": "default", "spot": close,
                          "net_gex_usd_per_pct": gex, "zero_gamma": close * (1 - 0.02 + 0.04 * crowd),
                          "gex_macd_hist_usd": [None] * 34 + rng.normal(0, 1e9, n - 34).tolist()},
                         schema_overrides={"gex_macd_hist_usd": pl.Float64})
    z = [None] * 20 + (3 * crowd[20:] - 1 + rng.normal(0, 0.5, n - 20)).tolist()
    funding = pl.DataFrame({"venue": "composite", "symbol": "ALL", "date": days,
                            "funding_apr": 0.1 + 0.2 * crowd, "funding_apr_z": z,
                            "funding_apr_pctile": [None if v is None else float(np.clip(50 + 20 * v, 0, 100)) for v in z],
                            "funding_spike": [None if v is None else v > 2 for v in z]},
                           schema_overrides={"funding_apr_z": pl.Float64, "funding_apr_pctile": pl.Float64})
    breadth = pl.DataFrame({"exchange": "NYSE", "date": days,
                            "ad_divergence_bearish": rng.random(n) < 0.1 * (1 + crowd),
                            "mcclellan_osc": rng.normal(0, 40, n)})
    vol = pl.DataFrame({"date": days, "spx_close": close, "vix": vix,
                        "vix_vix3m_ratio": 0.8 + vix / 100, "vix_vix3m_inverted": 0.8 + vix / 100 > 1,
                        "vx1_roll_yield": 0.08 - vix / 300})
    ahead = sessions_between(CAL[0], date(2024, 12, 31))
    releases = [d for d in ahead if d.day in (10, 11, 12)][::3]
    macro = pl.DataFrame({"date": ahead, "days_to_cpi_td": [
        next((i for i, r in enumerate(x for x in ahead if x >= d) if r in releases), None) for d in ahead]})
    return {"gamma": gamma, "funding": funding, "breadth": breadth, "vol": vol, "macro": macro}


def _through(m: dict[str, pl.DataFrame], end: date) -> dict[str, pl.DataFrame]:
    # the macro calendar is known ahead (a schedule fact), market data only up to `end`
    return {k: (f if k == "macro" else f.filter(pl.col("date") <= end)) for k, f in m.items()}


def _signals(m: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return signals_daily(m["gamma"], m["funding"], m["breadth"], m["vol"], m["macro"])


def _bs(s: float, k: np.ndarray, t: float, v: np.ndarray, call: bool) -> np.ndarray:
    sd = v * math.sqrt(t)
    d1 = (np.log(s / k) + 0.5 * sd * sd) / sd
    n = lambda x: 0.5 * np.vectorize(math.erfc)(-x / math.sqrt(2))  # noqa: E731
    return s * n(d1) - k * n(d1 - sd) if call else k * n(-(d1 - sd)) - s * n(-d1)


def _chain(day: date, spot: float, vix: float) -> pl.DataFrame:
    """A small SPXW chain: 3 weekly expiries, strikes every 25 points, skewed IV, 5 % spreads."""
    rows = []
    for weeks in (1, 2, 3):
        e = day + timedelta(days=7 * weeks)
        t = (e - day).days / 365
        k = np.arange(round(spot * 0.85 / 25) * 25, spot * 1.12, 25.0)
        iv = vix / 100 * (1 - 0.8 * np.log(k / spot))
        for right, call in (("C", True), ("P", False)):
            px = np.maximum(_bs(spot, k, t, iv, call), 0.05)
            rows.append(pl.DataFrame({"quote_date": day, "root": "SPXW", "expiry": e, "strike": k,
                                      "right": right, "underlying": "SPX", "spot": spot,
                                      "bid": np.round(px * 0.975, 2), "ask": np.round(px * 1.025 + 0.05, 2),
                                      "iv": iv, "delta": None},
                                     schema_overrides={"delta": pl.Float64}))
    return pl.concat(rows)


def _nights(sig: pl.DataFrame, nights: list[date]) -> dict[str, pl.DataFrame]:
    out: dict[str, list[pl.DataFrame]] = {"summary": [], "legs": [], "payoff": []}
    prev = None
    for d in nights:
        row = sig.filter(pl.col("date") == d).row(0, named=True)
        rec = recommend(d, _chain(d, row["spx_close"], row["vix"]), signals=row, prev=prev)
        prev = rec.row
        out["summary"].append(rec.summary)
        out["legs"].append(rec.legs)
        out["payoff"].append(rec.payoff)
    return {k: pl.concat(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def market() -> dict[str, pl.DataFrame]:
    return _market()


def test_signals_and_evidence_are_point_in_time(market):
    early, late = _signals(_through(market, D)), _signals(_through(market, LATER))
    assert early["date"].max() == D and late["date"].max() == LATER
    assert set(early["regime"]) >= {"unwinding"}  # the history exercises the state machine
    assert_frame_equal(early, late.filter(pl.col("date") <= D))
    ev_early, ev_late = signal_evidence(early), signal_evidence(late)
    assert_frame_equal(ev_early, ev_late.filter(pl.col("as_of") <= D))
    # evidence on D only uses entries whose outcome is complete by D
    last = ev_early.filter((pl.col("as_of") == D) & (pl.col("regime") == "all"))
    assert last.filter(pl.col("horizon_sessions") == 20)["last_entry"][0] == CAL[90]


def test_recommendations_are_point_in_time(market):
    early, late = _signals(_through(market, D)), _signals(_through(market, LATER))
    nights = [d for d in CAL if d <= D][-6:]
    a, b = _nights(early, nights), _nights(late.filter(pl.col("date") <= D), nights)
    for k in a:
        assert_frame_equal(a[k], b[k])
    assert (a["summary"]["status"] == "ok").all()
    assert (a["summary"]["widen_pct"] > 0).any()  # elevated nights (wider wings) are in the window
    assert set(a["legs"]["delta_source"].drop_nulls()) == {"model"}  # the chain has no vendor delta


def test_a_look_ahead_is_caught(market, monkeypatch):
    def centred(x, window, min_periods, floor):  # a centred window: uses rows after the row
        mean = x.rolling_mean(window, min_samples=min_periods, center=True)
        return (x - mean) / pl.max_horizontal(x.rolling_std(window, min_samples=min_periods, center=True),
                                              pl.lit(floor))

    monkeypatch.setattr(sg, "_trailing_z", centred)
    early, late = _signals(_through(market, D)), _signals(_through(market, LATER))
    with pytest.raises(AssertionError):
        assert_frame_equal(early, late.filter(pl.col("date") <= D))
