"""Point in time for every market table: build with data through D, append 30 later sessions of
data, rebuild - every row dated on or before D must be identical. Plus the table contracts: each
frame has exactly its DDL columns (warehouse/ddl/30_core_market.sql), a unique grain, and loads."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sources.calendar import sessions_between
from transforms.breadth import breadth_daily
from transforms.funding import funding_daily
from transforms.macro import EventStudyParams, macro_daily, macro_event_study
from transforms.perp_positioning import add_positioning, positioning_daily
from transforms.vol import vol_daily

CAL = sessions_between(date(2023, 5, 1), date(2024, 6, 28))   # the XNYS calendar, known ahead
D = CAL[180]                                                   # 2024-01-19
LATER = CAL[210]                                               # D + 30 sessions
NY = ZoneInfo("America/New_York")

GRAINS = {
    "core.breadth_daily": ("exchange", "date"),
    "core.funding_daily": ("venue", "symbol", "date"),
    "core.vol_daily": ("date",),
    "core.macro_daily": ("date",),
    "core.macro_event_study": ("event", "event_date", "rel_day"),
}


def _market(seed: int = 11) -> dict[str, pl.DataFrame]:
    """A small synthetic market over CAL (seeded): every raw table the transforms read."""
    rng = np.random.default_rng(seed)
    days = [d for d in CAL if d <= LATER]
    n = len(days)
    breadth = pl.concat([
        pl.DataFrame({"exchange": ex, "date": days,
                      "advances": rng.integers(600, 2600, n), "declines": rng.integers(600, 2600, n),
                      "unchanged": rng.integers(40, 200, n),
                      "new_highs": rng.integers(0, 300, n), "new_lows": rng.integers(0, 300, n)})
        for ex in ("NYSE", "NASDAQ")
    ])
    spx = 4200 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n)))
    vix = np.clip(15 + np.cumsum(rng.normal(0, 0.6, n)), 9, 80)
    bars = pl.concat([
        pl.DataFrame({"symbol": s, "date": days, "close": v})
        for s, v in (("SPX", spx), ("VIX", vix), ("VIX9D", vix * rng.uniform(0.85, 1.1, n)),
                     ("VIX3M", vix * rng.uniform(0.95, 1.2, n)))
    ])
    # monthly VX expiries: the Wednesday of the third week, 2023-05 .. 2024-12
    expiries = []
    for y, m in [(2023 + (k + 4) // 12, (k + 4) % 12 + 1) for k in range(20)]:
        first = date(y, m, 1)
        expiries.append(first + timedelta(days=(2 - first.weekday()) % 7 + 14))
    vx_rows = []
    for d, v in zip(days, vix, strict=True):
        for k, e in enumerate([e for e in expiries if e >= d][:4]):
            vx_rows.append((d, e, float(round(v + 0.8 * (k + 1) + rng.normal(0, 0.2), 2)),
                            False, f"VX {e:%b %Y}"))
        vx_rows.append((d, d + timedelta(days=7), float(v), True, "weekly"))
    vx = pl.DataFrame(vx_rows, schema=["trade_date", "expiry", "settle", "weekly", "contract"],
                      orient="row")
    # funding: binance BTC every 8 h with mark/index/OI, hyperliquid BTC hourly, binance ETH 4 h
    start = datetime(2023, 5, 1)
    stop = datetime.combine(LATER, time(20))
    hours = int((stop - start).total_seconds() // 3600)
    ts = [start + timedelta(hours=h) for h in range(hours)]
    def leg(venue, symbol, every, scale, oi):
        t = ts[::every]
        rate = scale * every * (1 + 0.5 * np.sin(np.arange(len(t)) / 40.0) + rng.normal(0, 0.3, len(t)))
        mark = 30000 * np.exp(np.cumsum(rng.normal(0, 0.002, len(t))))
        return pl.DataFrame({
            "venue": venue, "symbol": symbol, "funding_ts": t, "interval_h": every, "rate": rate,
            "mark_price": mark, "index_price": mark * (1 - rng.normal(2e-4, 1e-4, len(t))),
            "open_interest_usd": oi,
        }, schema_overrides={"open_interest_usd": pl.Float64})
    funding = pl.concat([leg("binance", "BTC", 8, 1.25e-5, 5e9), leg("hyperliquid", "BTC", 1, 1.3e-5, 1e9),
                         leg("binance", "ETH", 4, 1.1e-5, None)])
    # the macro schedule is published ahead: it is the same in both builds
    events = []
    for y, m in sorted({(d.year, d.month) for d in CAL}):
        events += [(date(y, m, 12), "CPI"), (date(y, m, 14), "PPI")]
        if m % 2 == 1:
            events.append((date(y, m, 20), "FOMC"))
    macro_events = pl.DataFrame(events, schema=["date", "event"], orient="row")
    series = pl.concat([
        pl.DataFrame({"series_id": "DTWEXBGS", "date": days,
                      "value": 120 + np.cumsum(rng.normal(0, 0.2, n))}),
        pl.DataFrame({"series_id": "RBUSBIS",
                      "date": sorted({d.replace(day=1) for d in days}),
                      "value": 105 + rng.normal(0, 1, len({d.replace(day=1) for d in days}))}),
    ])
    return {"breadth": breadth, "bars": bars, "vx": vx, "funding": funding,
            "events": macro_events, "series": series}


def _through(m: dict[str, pl.DataFrame], last: date) -> dict[str, pl.DataFrame]:
    """What the warehouse holds after the night of `last`: market data dated up to `last` only."""
    close_utc = datetime.combine(last, time(16), NY).astimezone(UTC).replace(tzinfo=None)
    return {
        "breadth": m["breadth"].filter(pl.col("date") <= last),
        "bars": m["bars"].filter(pl.col("date") <= last),
        "vx": m["vx"].filter(pl.col("trade_date") <= last),
        "funding": m["funding"].filter(pl.col("funding_ts") <= close_utc),
        "events": m["events"],
        "series": m["series"].filter(pl.col("date") <= last),
        "sessions": [d for d in CAL if d <= last],
    }


def _build(x: dict) -> dict[str, pl.DataFrame]:
    # as flows/build.py: the positioning columns (no OI / liquidation feed in this market: empty)
    fund = add_positioning(funding_daily(x["funding"], x["sessions"]),
                           positioning_daily(None, None, x["sessions"]))
    ahead = CAL   # macro counts need the calendar ahead of the dates (XNYS publishes it)
    return {
        "core.breadth_daily": breadth_daily(x["breadth"], x["bars"]),
        "core.funding_daily": fund,
        "core.vol_daily": vol_daily(x["bars"], x["vx"], fund),
        "core.macro_daily": macro_daily(x["events"], ahead),
        "core.macro_event_study": macro_event_study(
            x["events"], x["series"], fund, EventStudyParams(reer_series_id="DTWEXBGS"), sessions=ahead),
    }


@pytest.fixture(scope="module")
def builds():
    m = _market()
    return _build(_through(m, D)), _build(_through(m, LATER))


@pytest.mark.parametrize("table", list(GRAINS))
def test_rows_up_to_d_do_not_change_when_later_data_arrives(builds, table):
    early, late = builds
    a = early[table].filter(pl.col("date") <= D)
    b = late[table].filter(pl.col("date") <= D)
    assert a.height > 0
    if table in ("core.macro_daily",):
        assert early[table]["date"].max() > D     # the calendar runs ahead; only <= D is compared
    assert_frame_equal(a, b)
    # and the later build really has more (so the comparison is not vacuous)
    assert late[table].filter(pl.col("date") > D).height > 0 or table == "core.macro_daily"


def test_the_later_days_actually_move_the_rolling_figures(builds):
    _, late = builds
    f = late["core.funding_daily"].filter(pl.col("venue") == "composite", pl.col("symbol") == "ALL",
                                          pl.col("date") > D)
    assert f["funding_apr_z"].null_count() == 0
    v = late["core.vol_daily"].filter(pl.col("date") > D)
    assert v.select("vx1", "vx_cm30", "spx_rv20_vol_pts", "spx_rsi14", "funding_vol_premium").null_count().row(0) \
        == (0, 0, 0, 0, 0)
    b = late["core.breadth_daily"].filter(pl.col("date") > D)
    assert b["mcclellan_osc"].null_count() == 0


@pytest.mark.parametrize("table", list(GRAINS))
def test_frames_match_their_ddl_and_load(builds, table):
    from warehouse.db import Warehouse

    _, late = builds
    frame = late[table]
    assert frame.select(GRAINS[table]).is_duplicated().sum() == 0
    assert frame.select(GRAINS[table]).rows() == sorted(frame.select(GRAINS[table]).rows())
    with Warehouse.memory() as wh:
        assert wh.columns(table) == frame.columns
        assert wh.write(table, frame, by=GRAINS[table]) == frame.height
        back = wh.table(table, order_by=", ".join(GRAINS[table]))
        assert back.height == frame.height
        for c in frame.columns:
            if frame.schema[c].is_float():
                np.testing.assert_allclose(back[c].to_numpy().astype(float),
                                           frame[c].to_numpy().astype(float), equal_nan=True)
            else:
                assert back[c].to_list() == frame[c].to_list(), c
