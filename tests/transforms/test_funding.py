"""core.funding_daily: day assignment around the 16:00 New York close, APR per interval, z-score,
basis and the composite; conformance over the real Binance / Hyperliquid slices."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from transforms.funding import FundingParams, assign_sessions, funding_daily, sessions_frame

# Weekday sessions of early March 2024 (no holidays); US DST began Sunday 2024-03-10.
MARCH = [date(2024, 3, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15)]


def _events(rows, venue="binance", symbol="BTC", **cols) -> pl.DataFrame:
    """rows: (funding_ts UTC, interval_h, rate)."""
    df = pl.DataFrame({
        "venue": venue, "symbol": symbol,
        "funding_ts": [r[0] for r in rows], "interval_h": [r[1] for r in rows],
        "rate": [r[2] for r in rows],
    }, schema_overrides={"funding_ts": pl.Datetime("us")})
    return df.with_columns(**{k: pl.Series(v) for k, v in cols.items()})


def _hourly(start: datetime, end: datetime, interval_h: int, rate: float):
    out, t = [], start
    while t <= end:
        out.append((t, interval_h, rate))
        t += timedelta(hours=interval_h)
    return out


def test_close_is_16_new_york_in_utc_across_dst():
    s = sessions_frame(MARCH)
    closes = dict(zip(s["date"].to_list(), s["close_ts"].to_list(), strict=True))
    assert closes[date(2024, 3, 8)] == datetime(2024, 3, 8, 21, 0)    # EST: UTC-5
    assert closes[date(2024, 3, 11)] == datetime(2024, 3, 11, 20, 0)  # EDT: UTC-4


def test_day_assignment_around_the_close_incl_dst_change():
    ev = _events([
        (datetime(2024, 3, 7, 21, 0), 1, 1e-5),   # Thu 16:00 EST exactly: Thursday (inclusive)
        (datetime(2024, 3, 7, 22, 0), 1, 1e-5),   # Thu 17:00 EST: Friday
        (datetime(2024, 3, 8, 20, 0), 1, 1e-5),   # Fri 15:00 EST: Friday
        (datetime(2024, 3, 8, 21, 0), 1, 1e-5),   # Fri 16:00 EST close: Friday
        (datetime(2024, 3, 8, 22, 0), 1, 1e-5),   # Fri 17:00 EST: Monday (after the weekend)
        (datetime(2024, 3, 10, 12, 0), 1, 1e-5),  # Sunday: Monday
        (datetime(2024, 3, 11, 20, 0), 1, 1e-5),  # Mon 16:00 EDT close: Monday
        (datetime(2024, 3, 11, 21, 0), 1, 1e-5),  # Mon 17:00 EDT: Tuesday. A fixed 21:00 UTC
                                                  # close (EST all year) would call this Monday.
    ])
    got = assign_sessions(ev, MARCH)["date"].to_list()
    assert got == [date(2024, 3, 7), date(2024, 3, 8), date(2024, 3, 8), date(2024, 3, 8),
                   date(2024, 3, 11), date(2024, 3, 11), date(2024, 3, 11), date(2024, 3, 12)]


def test_day_assignment_on_the_autumn_dst_change():
    # DST ended Sunday 2024-11-03: Friday's close is 20:00 UTC, Monday's 21:00 UTC.
    days = [date(2024, 10, 31), date(2024, 11, 1), date(2024, 11, 4), date(2024, 11, 5)]
    ev = _events([(datetime(2024, 11, 1, 20, 0), 1, 1e-5), (datetime(2024, 11, 1, 21, 0), 1, 1e-5),
                  (datetime(2024, 11, 4, 21, 0), 1, 1e-5), (datetime(2024, 11, 4, 22, 0), 1, 1e-5)])
    assert assign_sessions(ev, days)["date"].to_list() == [
        date(2024, 11, 1), date(2024, 11, 4), date(2024, 11, 4), date(2024, 11, 5)]


def test_tz_aware_timestamps_are_read_as_instants():
    ev = _events([(datetime(2024, 3, 11, 21, 0), 1, 1e-5)]).with_columns(
        pl.col("funding_ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo"))
    assert assign_sessions(ev, MARCH)["date"].to_list() == [date(2024, 3, 12)]


def test_first_session_only_opens_the_window_and_late_events_wait():
    ev = _events([(datetime(2024, 3, 4, 12, 0), 8, 1e-4),    # before the first close: dropped
                  (datetime(2024, 3, 5, 8, 0), 8, 1e-4),     # Tuesday
                  (datetime(2024, 3, 16, 0, 0), 8, 1e-4)])   # after the last close: dropped
    out = funding_daily(ev, MARCH)
    venue = out.filter(pl.col("venue") == "binance")
    assert venue["date"].to_list() == [date(2024, 3, 5)]


@pytest.mark.parametrize(("interval_h", "rate", "apr", "per_8h_bps"), [
    (1, 1.25e-5, 1.25e-5 * 8760, 1.0),     # hourly (Hyperliquid): x 8760
    (4, 5e-5, 5e-5 * 2190, 1.0),           # 4 h: x 2190
    (8, 1e-4, 1e-4 * 1095, 1.0),           # 8 h (Binance default): x 1095
])
def test_apr_and_8h_rate_from_interval(interval_h, rate, apr, per_8h_bps):
    # One Wednesday (Tue 16:00 EST close -> Wed 16:00 EST) of events every interval_h hours.
    ev = _events(_hourly(datetime(2024, 3, 5, 22, 0), datetime(2024, 3, 6, 21, 0), interval_h, rate))
    row = funding_daily(ev, MARCH).filter(pl.col("venue") == "binance").row(0, named=True)
    assert row["date"] == date(2024, 3, 6)
    assert row["funding_apr"] == pytest.approx(apr)
    assert row["funding_apr"] == pytest.approx(0.1095)           # 1 bp per 8 h, whatever the interval
    assert row["funding_8h_bps"] == pytest.approx(per_8h_bps)
    assert row["n_events"] == 24 // interval_h
    assert row["hours_covered"] == 24
    assert row["window_h"] == 24.0
    assert row["funding_paid_bps"] == pytest.approx(rate * (24 // interval_h) * 1e4)  # 3 bp a day


def test_mixed_intervals_weigh_by_hours_covered():
    # Binance switches a symbol from 8 h to 4 h mid-day: 1 x 8 h at 2 bp, 4 x 4 h at 0.5 bp.
    ev = _events([(datetime(2024, 3, 6, 0, 0), 8, 2e-4)]
                 + [(datetime(2024, 3, 6, h, 0), 4, 5e-5) for h in (4, 8, 12, 16)])
    row = funding_daily(ev, MARCH).filter(pl.col("venue") == "binance").row(0, named=True)
    per_hour = (2e-4 + 4 * 5e-5) / (8 + 16)
    assert row["funding_apr"] == pytest.approx(per_hour * 8760)
    assert row["funding_8h_bps"] == pytest.approx(per_hour * 8 * 1e4)
    assert row["funding_paid_bps"] == pytest.approx(4.0)
    assert row["interval_h"] == 4


def test_weekend_monday_holds_72_hours_and_gap_days_are_rows():
    ev = _events(_hourly(datetime(2024, 3, 7, 0, 0), datetime(2024, 3, 11, 16, 0), 8, 1e-4)
                 + [(datetime(2024, 3, 13, 8, 0), 8, 1e-4)])   # nothing on Tuesday 12th
    venue = funding_daily(ev, MARCH).filter(pl.col("venue") == "binance")
    by = {r["date"]: r for r in venue.iter_rows(named=True)}
    assert by[date(2024, 3, 11)]["n_events"] == 9                  # Sat, Sun, Mon x 3
    assert by[date(2024, 3, 11)]["window_h"] == 71.0               # Fri 21:00 -> Mon 20:00 UTC
    assert by[date(2024, 3, 11)]["funding_paid_bps"] == pytest.approx(9.0)
    assert by[date(2024, 3, 12)]["n_events"] == 0                  # gap day: a row, no rate
    assert by[date(2024, 3, 12)]["funding_apr"] is None
    assert venue["date"].to_list() == [date(2024, 3, d) for d in (7, 8, 11, 12, 13)]


def test_z_score_and_percentile_use_strictly_prior_sessions():
    days = [date(2024, 1, 2) + timedelta(days=i) for i in range(40)]   # a synthetic calendar
    rng = np.random.default_rng(7)
    apr = 0.10 + rng.normal(0, 0.03, 40)
    apr[-1] = 0.40                                                      # the spike
    ev = _events([(datetime.combine(d, datetime.min.time()) + timedelta(hours=12), 8, a / 1095)
                  for d, a in zip(days[1:], apr[1:], strict=True)])
    p = FundingParams(z_window=30, z_min_periods=10)
    out = funding_daily(ev, days, p).filter(pl.col("venue") == "binance")
    x = out["funding_apr"].to_numpy()
    prior = x[-31:-1]                                                   # 30 sessions before
    want_z = (x[-1] - prior.mean()) / prior.std(ddof=1)
    assert out["funding_apr_z"][-1] == pytest.approx(want_z)
    assert out["funding_apr_pctile"][-1] == 100.0
    assert out["funding_spike"][-1] is True
    assert out["funding_apr_z"].to_list()[:10] == [None] * 10           # fewer than 10 prior days
    assert out["funding_apr_z"][10] is not None
    # today is not in its own baseline: including it shrinks the spike's z
    incl = funding_daily(ev, days, p.model_copy(update={"z_include_today": True}))
    assert incl.filter(pl.col("venue") == "binance")["funding_apr_z"][-1] < want_z


@pytest.mark.parametrize("include_today", [False, True])
def test_trailing_stats_match_a_plain_loop_with_gaps(include_today):
    from transforms.funding import _trailing_stats

    rng = np.random.default_rng(5)
    x = 0.1 + rng.normal(0, 0.03, 60)
    x[[3, 17, 18, 40]] = np.nan                                  # gap days
    p = FundingParams(z_window=20, z_min_periods=8, z_include_today=include_today)
    z, pct = _trailing_stats(x, p)
    lag = 0 if include_today else 1
    for i, xi in enumerate(x):
        win = x[max(0, i + 1 - lag - 20): i + 1 - lag]
        win = win[~np.isnan(win)]
        if np.isnan(xi) or len(win) < 8:
            assert np.isnan(z[i]) and np.isnan(pct[i])
            continue
        assert z[i] == pytest.approx((xi - win.mean()) / max(win.std(ddof=1), 0.01))
        assert pct[i] == pytest.approx(100 * ((win < xi).sum() + 0.5 * (win == xi).sum()) / len(win))


def test_flat_regime_mid_rank_percentile_and_std_floor():
    days = [date(2024, 1, 2) + timedelta(days=i) for i in range(25)]
    rates = [1e-4] * 23 + [1.2e-4]
    ev = _events([(datetime.combine(d, datetime.min.time()) + timedelta(hours=12), 8, r)
                  for d, r in zip(days[1:], rates, strict=True)])
    out = funding_daily(ev, days, FundingParams(z_min_periods=20)).filter(pl.col("venue") == "binance")
    assert out["funding_apr_pctile"][-2] == 50.0        # ties count half: flat = median
    assert out["funding_apr_z"][-2] == pytest.approx(0.0, abs=1e-9)
    # std of a flat window is 0: the 0.01 APR floor keeps z finite (0.0219 APR jump -> z 2.19)
    assert out["funding_apr_z"][-1] == pytest.approx((1.2e-4 - 1e-4) * 1095 / 0.01)
    assert out["funding_spike"][-1] is True


def test_basis_from_mark_and_index_else_premium():
    ev = _events(
        [(datetime(2024, 3, 6, 0, 0), 8, 1e-4), (datetime(2024, 3, 6, 8, 0), 8, 1e-4),
         (datetime(2024, 3, 6, 16, 0), 8, 1e-4), (datetime(2024, 3, 7, 0, 0), 8, 1e-4)],
        mark_price=[100.0, 101.0, None, None], index_price=[100.0, 100.0, None, None],
        premium=[None, None, None, 0.0003],
    )
    venue = funding_daily(ev, MARCH).filter(pl.col("venue") == "binance")
    wed, thu = venue.row(0, named=True), venue.row(1, named=True)
    assert wed["basis_bps"] == pytest.approx(100.0)          # last event with both: 101/100 - 1
    assert wed["basis_source"] == "mark_index"
    assert wed["mark_price"] == 101.0
    assert thu["basis_bps"] == pytest.approx(3.0)
    assert thu["basis_source"] == "premium"


def test_composite_oi_weighted_when_known_else_equal():
    t = datetime(2024, 3, 6, 12, 0)
    ev = pl.concat([
        _events([(t, 8, 1e-4)], venue="binance", symbol="BTC", open_interest_usd=[3e9]),
        _events([(t, 1, 2e-5)], venue="hyperliquid", symbol="BTC", open_interest_usd=[1e9]),
        _events([(t, 8, 2e-4)], venue="binance", symbol="ETH", open_interest_usd=[None]),
    ], how="diagonal_relaxed")
    out = funding_daily(ev, MARCH)
    comp = {r["symbol"]: r for r in out.filter(pl.col("venue") == "composite").iter_rows(named=True)}
    apr_bin, apr_hl, apr_eth = 1e-4 * 1095, 2e-5 * 8760, 2e-4 * 1095
    assert comp["BTC"]["weighting"] == "oi"
    assert comp["BTC"]["funding_apr"] == pytest.approx((3 * apr_bin + 1 * apr_hl) / 4)
    assert comp["BTC"]["open_interest_usd"] == 4e9
    assert comp["BTC"]["members"] == 2
    assert comp["ETH"]["funding_apr"] == pytest.approx(apr_eth)
    # ALL: ETH has no OI, so the three series weigh equally that day
    assert comp["ALL"]["weighting"] == "equal"
    assert comp["ALL"]["funding_apr"] == pytest.approx((apr_bin + apr_hl + apr_eth) / 3)
    assert comp["ALL"]["open_interest_usd"] is None
    assert comp["ALL"]["n_events"] == 3
    assert out.select("venue", "symbol", "date").rows() == sorted(out.select("venue", "symbol", "date").rows())
    only_all = funding_daily(ev, MARCH, FundingParams(composite_per_symbol=False))
    assert only_all.filter(pl.col("venue") == "composite")["symbol"].to_list() == ["ALL"]


def test_sessions_frame_close_override_and_validation():
    s = sessions_frame(pl.DataFrame({"date": [date(2024, 11, 29)],
                                     "close_ts": [datetime(2024, 11, 29, 18, 0)]}))
    assert s["close_ts"].to_list() == [datetime(2024, 11, 29, 18, 0)]   # 13:00 EST early close
    with pytest.raises(ValidationError):
        FundingParams(z_window=1)
    assert funding_daily(_events([]), MARCH).is_empty()


# -- conformance over real slices ----------------------------------------------------------------

@pytest.mark.realdata
def test_binance_rest_excerpt_days_and_apr(realdata):
    """100 real BTCUSDT 8-hourly events (ms epochs with jitter, floored to the hour as the reader
    does). Read directly: the funding readers in sources/ are written in parallel."""
    from sources.calendar import sessions_between

    raw = pl.read_csv(realdata / "funding" / "binance_rest_BTCUSDT_fundingTime_excerpt.csv")
    ev = raw.select(
        venue=pl.lit("binance"), symbol=pl.lit("BTC"),
        funding_ts=pl.from_epoch(pl.col("funding_time") // 3_600_000 * 3600, time_unit="s"),
        interval_h=pl.lit(8), rate=pl.col("funding_rate").cast(pl.Float64),
    )
    assert ev["funding_ts"].dt.hour().unique().sort().to_list() == [0, 8, 16]
    first, last = ev["funding_ts"].min().date(), ev["funding_ts"].max().date()
    sessions = sessions_between(first - timedelta(days=7), last + timedelta(days=7))
    out = funding_daily(ev, sessions).filter(pl.col("venue") == "binance")
    assert out["n_events"].sum() == 100                           # every event lands on one day
    full = out.filter(pl.col("hours_covered") == pl.col("window_h").round(0).cast(pl.Int64))
    # 00/08/16 UTC events: 3 per ordinary day, 9 on Mondays, 12 after a Monday holiday (MLK 2023-01-16)
    counts = dict(zip(full["date"].to_list(), full["n_events"].to_list(), strict=True))
    assert {d.weekday() for d, n in counts.items() if n == 9} == {0}
    assert all(n == 3 for d, n in counts.items() if d.weekday() in (2, 3, 4))
    ref = ev.with_columns(d=pl.col("funding_ts").dt.date())
    one = out.filter(pl.col("date") == date(2023, 1, 19)).row(0, named=True)
    # Thursday 2023-01-19's window: Wed 21:00 UTC -> Thu 21:00 UTC = Thu 00, 08, 16 UTC
    rates = ref.filter(pl.col("d") == date(2023, 1, 19))["rate"].to_list()
    assert one["funding_apr"] == pytest.approx(sum(rates) / 3 * 1095)
    assert one["funding_paid_bps"] == pytest.approx(sum(rates) * 1e4)


@pytest.mark.realdata
def test_binance_vision_and_hyperliquid_rates_annualise_from_interval(realdata):
    vision = pl.read_csv(realdata / "funding" / "binance_vision_fundingRate_quoted_rows.csv",
                         comment_prefix="#")
    assert set(vision["funding_interval_hours"].to_list()) == {8}
    ev = vision.select(venue=pl.lit("binance"), symbol=pl.lit("BTC"),
                       funding_ts=pl.from_epoch(pl.col("calc_time") // 1000, time_unit="s"),
                       interval_h=pl.col("funding_interval_hours"), rate=pl.col("last_funding_rate"))
    # Hyperliquid snapshots: hourly rate 1.25e-05 per hour == 0.01 % per 8 h (README).
    hl = pl.read_csv(realdata / "funding" / "hyperliquid_snapshot_excerpt.csv")
    hl_ev = hl.filter(pl.col("symbol") == "BTC").with_columns(
        ts=pl.col("timestamp").str.to_datetime(time_zone="UTC").dt.truncate("1h")
    ).unique("ts", keep="first").select(
        venue=pl.lit("hyperliquid"), symbol=pl.lit("BTC"), funding_ts=pl.col("ts"),
        interval_h=pl.lit(1), rate=pl.col("funding_rate"), mark_price=pl.col("mark_price"))
    from sources.calendar import sessions_between

    out = funding_daily(ev, sessions_between(date(2019, 12, 20), date(2024, 1, 10)))
    row = out.filter(pl.col("venue") == "binance", pl.col("date") == date(2024, 1, 2)).row(0, named=True)
    # 2024-01-01 00:00 and 08:00 and 16:00 UTC fall after Friday 2023-12-29's close and before
    # Tuesday's (Monday 2024-01-01 is a holiday): 3 quoted rows, per-interval x 1095.
    assert row["n_events"] == 3
    assert row["funding_apr"] == pytest.approx((3.7409e-4 + 2.7213e-4 + 3.3601e-4) / 3 * 1095)
    hl_out = funding_daily(hl_ev, sessions_between(date(2026, 2, 2), date(2026, 2, 10)))
    first = hl_out.filter(pl.col("venue") == "hyperliquid", pl.col("date") == date(2026, 2, 5))
    assert first["funding_8h_bps"][0] == pytest.approx(1.0)
    assert first["funding_apr"][0] == pytest.approx(0.1095)


@pytest.mark.realdata
def test_binance_rest_through_the_reader_matches_the_direct_read(realdata):
    """The pipeline path: sources.formats reader -> funding_daily gives the direct read's rows
    (a reader that no longer claims the file fails here)."""
    from sources import formats
    from sources.calendar import sessions_between

    path = realdata / "funding" / "binance_rest_BTCUSDT_fundingTime_excerpt.csv"
    parsed = formats.parse_file(path)
    raw = pl.read_csv(path)
    direct = raw.select(
        venue=pl.lit("binance"), symbol=pl.lit("BTC"),
        funding_ts=pl.from_epoch(pl.col("funding_time") // 3_600_000 * 3600, time_unit="s"),
        interval_h=pl.lit(8), rate=pl.col("funding_rate").cast(pl.Float64),
    )
    sessions = sessions_between(date(2023, 1, 6), date(2023, 2, 24))
    a = funding_daily(parsed.rows.drop("line"), sessions)
    b = funding_daily(direct, sessions)
    cols = ["venue", "symbol", "date", "n_events", "funding_paid_bps", "funding_apr", "funding_apr_z"]
    assert a.height == b.height > 0
    assert a.select(cols).equals(b.select(cols))
