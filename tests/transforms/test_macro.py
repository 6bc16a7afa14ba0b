"""core.macro_daily (days to CPI/PPI/FOMC, windows) and core.macro_event_study (funding vs REER)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from pydantic import ValidationError

from transforms.macro import EventStudyParams, MacroParams, macro_daily, macro_event_study

# XNYS sessions 2024-01-08 .. 2024-02-16 (MLK day 2024-01-15 and weekends are not sessions).
SESSIONS = [d for d in (date(2024, 1, 8) + timedelta(days=i) for i in range(40))
            if d.weekday() < 5 and d != date(2024, 1, 15)]
EVENTS = pl.DataFrame({
    "date": [date(2024, 1, 11), date(2024, 2, 13), date(2024, 1, 12), date(2024, 2, 16),
             date(2024, 1, 31), date(2024, 3, 20), date(2024, 1, 5)],
    "event": ["CPI", "CPI", "PPI", "PPI", "FOMC", "FOMC", "NFP"],
    "time_et": ["08:30", "08:30", "08:30", "08:30", "14:00", "14:00", "08:30"],
})


def _row(out, d):
    return out.row(out["date"].to_list().index(d), named=True)


def test_days_to_next_release_trading_and_calendar():
    out = macro_daily(EVENTS, SESSIONS)
    assert out["date"].to_list() == SESSIONS
    fri = _row(out, date(2024, 1, 12))
    # next CPI 2024-02-13: 21 sessions later (Jan 16..Feb 13, MLK day skipped), 32 calendar days
    assert (fri["days_to_cpi_td"], fri["days_to_cpi_cd"]) == (21, 32)
    assert (fri["days_to_ppi_td"], fri["days_to_ppi_cd"]) == (0, 0)      # release day
    assert fri["days_since_cpi_td"] == 1
    thu = _row(out, date(2024, 1, 11))
    assert (thu["days_to_cpi_td"], thu["days_since_cpi_td"]) == (0, None)
    # across the MLK weekend: FOMC 01-31 is 12 sessions from Friday 01-12 (Jan 16 .. Jan 31)
    assert _row(out, date(2024, 1, 12))["days_to_fomc_td"] == 12
    assert _row(out, date(2024, 1, 16))["days_since_ppi_td"] == 1
    assert _row(out, date(2024, 1, 16))["days_to_fomc_cd"] == 15


def test_event_windows():
    out = macro_daily(EVENTS, SESSIONS, MacroParams(window_before=2, window_after=1))
    cpi = dict(zip(out["date"].to_list(), out["cpi_window"].to_list(), strict=True))
    # CPI on Thu 01-11: in window Tue 09 .. Fri 12 (2 before, 1 after)
    assert [cpi[date(2024, 1, d)] for d in (8, 9, 10, 11, 12, 16)] == [
        False, True, True, True, True, False]
    ppi = _row(out, date(2024, 1, 16))
    assert ppi["ppi_window"] is True                        # PPI 01-12 was one session ago
    assert ppi["event_window"] is True
    assert _row(out, date(2024, 1, 22))["event_window"] is False


def test_unscheduled_and_beyond_calendar_are_null():
    out = macro_daily(EVENTS, SESSIONS)
    last = _row(out, date(2024, 2, 16))
    assert last["days_to_cpi_td"] is None and last["days_to_cpi_cd"] is None   # none scheduled
    # FOMC 2024-03-20 is scheduled but beyond the sessions given: calendar days only
    assert last["days_to_fomc_cd"] == 33
    assert last["days_to_fomc_td"] is None
    assert _row(out, date(2024, 1, 8))["days_since_cpi_td"] is None


def test_release_on_a_non_session_day_is_traded_next_session():
    ev = pl.DataFrame({"date": [date(2024, 1, 13)], "event": ["CPI"]})   # a Saturday
    out = macro_daily(ev, SESSIONS)
    fri, tue = _row(out, date(2024, 1, 12)), _row(out, date(2024, 1, 16))
    assert (fri["days_to_cpi_td"], fri["days_to_cpi_cd"]) == (1, 1)
    assert tue["days_since_cpi_td"] == 0 and tue["cpi_window"] is True


def test_macro_params_validate():
    with pytest.raises(ValidationError):
        MacroParams(events=("CPI", "FOMC minutes"))
    out = macro_daily(EVENTS, SESSIONS, MacroParams(events=("CPI",)))
    assert [c for c in out.columns if "window" in c] == ["cpi_window", "event_window"]


# -- event study ---------------------------------------------------------------------------------

def _funding(days, basis=None, apr=None):
    n = len(days)
    return pl.DataFrame({
        "venue": "composite", "symbol": "ALL", "date": days,
        "basis_bps": basis if basis is not None else [float(i) for i in range(n)],
        "funding_apr": apr if apr is not None else [0.10 + 0.01 * i for i in range(n)],
    }, schema_overrides={"basis_bps": pl.Float64, "funding_apr": pl.Float64})


def _series(sid, obs):
    return pl.DataFrame({"series_id": sid, "date": [o[0] for o in obs], "value": [o[1] for o in obs]})


def test_event_study_window_anchor_and_reer_lag():
    days = SESSIONS
    cpi = pl.DataFrame({"date": [date(2024, 1, 25)], "event": ["CPI"]})   # session index 12
    reer = _series("DTWEXBGS", [(d, 100.0 + i) for i, d in enumerate(
        date(2024, 1, 1) + timedelta(days=k) for k in range(60))])
    p = EventStudyParams(k=2, reer_series_id="DTWEXBGS")
    out = macro_event_study(cpi, reer, _funding(days), p, sessions=days)
    assert out["rel_day"].to_list() == [-2, -1, 0, 1, 2]
    assert out["date"].to_list() == [date(2024, 1, 23), date(2024, 1, 24), date(2024, 1, 25),
                                     date(2024, 1, 26), date(2024, 1, 29)]
    i0 = days.index(date(2024, 1, 23))
    # anchor = the session before the window (rel -3 = 2024-01-22): changes are cumulative from it
    assert out["basis_chg_bps"].to_list() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert out["basis_bps"][0] == float(i0)
    assert out["funding_measure"].to_list() == ["basis_bps"] * 5
    assert out["funding_chg"].to_list() == out["basis_chg_bps"].to_list()
    # DTWEXBGS is usable 7 days after its date: on 01-23 the latest usable value is dated 01-16
    row = out.row(0, named=True)
    assert row["reer_asof"] == date(2024, 1, 16)
    assert row["reer"] == 100.0 + 15
    anchor_reer = 100.0 + 14                                  # 01-22 uses the 01-15 value
    assert row["reer_chg_pct"] == pytest.approx((115 / anchor_reer - 1) * 100)
    monday = out.row(4, named=True)                           # 01-29 after Friday 01-26
    assert monday["reer"] == 100.0 + 21
    assert monday["reer_day_chg_pct"] == pytest.approx((121 / 118 - 1) * 100)


def test_event_study_monthly_reer_and_funding_apr_fallback():
    days = SESSIONS
    ev = pl.DataFrame({"date": [date(2024, 2, 13), date(2024, 2, 16)], "event": ["CPI", "PPI"]})
    # RBUSBIS is monthly, dated the 1st, usable 45 days later: 2024-01-01's value from 02-15
    reer = _series("RBUSBIS", [(date(2023, 12, 1), 110.0), (date(2024, 1, 1), 111.1)])
    basis = [None] * len(days)                                 # no mark/index anywhere
    out = macro_event_study(ev, reer, _funding(days, basis=basis), EventStudyParams(k=3),
                            sessions=days)
    cpi = out.filter(pl.col("event") == "CPI")
    assert cpi["rel_day"].to_list() == [-3, -2, -1, 0, 1, 2, 3]
    assert cpi["funding_measure"].unique().to_list() == ["funding_apr"]
    assert cpi["funding_chg"].to_list() == pytest.approx([0.01 * k for k in range(1, 8)])
    assert cpi["reer_asof"].to_list() == [date(2023, 12, 1)] * 5 + [date(2024, 1, 1)] * 2
    assert cpi["reer_chg_pct"][-1] == pytest.approx(1.0)
    # rows stop at the last funding date (02-16): PPI on 02-16 has -3..0 only
    ppi = out.filter(pl.col("event") == "PPI")
    assert ppi["rel_day"].to_list() == [-3, -2, -1, 0]
    assert out.select("event", "event_date", "rel_day").rows() == sorted(
        out.select("event", "event_date", "rel_day").rows())


def test_event_study_without_sessions_uses_funding_dates_and_empty_inputs():
    days = SESSIONS[:10]
    ev = pl.DataFrame({"date": [date(2024, 1, 12)], "event": ["CPI"]})
    out = macro_event_study(ev, _series("RBUSBIS", []), _funding(days), EventStudyParams(k=1))
    assert out["date"].to_list() == [date(2024, 1, 11), date(2024, 1, 12), date(2024, 1, 16)]
    assert out["reer"].null_count() == 3
    empty = macro_event_study(ev, _series("RBUSBIS", []), _funding([]), EventStudyParams())
    assert empty.is_empty()
