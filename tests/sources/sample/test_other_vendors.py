"""VIX chain, CFE VX, funding, breadth, macro calendar and FRED files of a sample drop."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from sources.cboe_chain import parse
from sources.sample import expiries as ex
from sources.sample import vx
from sources.sample.funding import session_close_utc

from .conftest import DAY


def test_vix_chain_parses_and_settles_on_vx_expiries(drop):
    out, _ = drop
    path = out / "vix_quotedata.csv"
    p = parse(path.read_bytes(), str(path))
    assert p.fatal is None and p.rejects.height == 0
    assert p.meta["name"] == "CBOE VOLATILITY INDEX"
    assert set(p.rows["root"]) == {"VIX", "VIXW"}
    vx_days = set(ex.vx_monthlies(DAY, 9)) | set(ex.vx_weeklies(DAY, 6))
    assert set(p.rows["expiry"]) <= vx_days
    assert set(p.rows.filter(pl.col("root") == "VIX")["expiry"]) <= set(ex.vx_monthlies(DAY, 9))
    # Wednesdays, except 30 days before a Thursday SPX expiry (May 2027: Juneteenth on the Friday).
    assert set(p.rows["expiry"].dt.weekday()) <= {2, 3}
    assert date(2027, 5, 18) in set(p.rows["expiry"])


def test_vx_expiry_rule():
    # Wednesdays 30 days before the next month's SPX 3rd Friday (CFE published dates).
    assert ex.vx_expiry(2024, 1) == date(2024, 1, 17)
    assert ex.vx_expiry(2026, 9) == date(2026, 9, 16)
    assert ex.vx_expiry(2026, 1) == date(2026, 1, 21)
    # March 2024: 3rd Friday of April is the 19th -> Wednesday March 20... CFE listed 2024-03-20.
    assert ex.vx_expiry(2024, 3) == date(2024, 3, 20)


def test_cfe_settlement_layout(drop):
    out, _ = drop
    text = (out / f"cfe_settlement_{DAY.isoformat()}.csv").read_text()
    rows = [r.split(",") for r in text.splitlines()]
    assert rows[0] == ["Product", "Symbol", "Expiration Date", "Price"]
    monthly = [r for r in rows[1:] if r[0] == "VX" and r[1].startswith("VX/")]
    weekly = [r for r in rows[1:] if r[0] == "VX" and not r[1].startswith("VX/")]
    assert len(monthly) >= 8 and weekly
    assert monthly[0][1] == "VX/Z6" and monthly[0][2] == "2026-12-16"
    assert all(r[1][2:4].isdigit() for r in weekly)
    assert {r[0] for r in rows[1:]} >= {"VX", "VXM"} and len({r[0] for r in rows[1:]}) >= 3


def _curve(market, d):
    e = ex.vx_monthlies(d, 3)
    e = [x for x in e if x > d][:2]
    i = market.index_of(d)
    return vx.vx_curve(market, np.full(2, i), np.array([x.toordinal() for x in e]))


def test_vx_contango_when_calm_backwardation_in_stress(market):
    p = market.path(date(2017, 1, 1), date(2026, 11, 20))
    calm = p.filter((pl.col("vix") < 14) & (pl.col("regime") != "unwind"))["date"].to_list()[::10]
    stress = p.filter(pl.col("unwind") | (pl.col("vix") > 30))["date"].to_list()
    assert calm and stress
    assert np.mean([np.diff(_curve(market, d))[0] > 0 for d in calm]) > 0.95
    assert np.mean([np.diff(_curve(market, d))[0] < 0 for d in stress]) > 0.9


def test_vx_history_layout_and_agreement_with_the_settlement_file(market, tmp_path):
    text = vx.contract_history_text(market, date(2026, 12, 16), date(2025, 1, 1), DAY)
    lines = text.splitlines()
    assert lines[0] == "Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest"
    first = lines[1].split(",")
    assert first[1] == "Z (Dec 2026)" and first[2] == "0.0000" and float(first[3]) < float(first[4])
    last = lines[-1].split(",")
    assert last[0] == DAY.isoformat()
    settle = vx.settlement_text(market, DAY)
    assert f"VX,VX/Z6,2026-12-16,{last[6]}" in settle or float(last[6]) == float(
        next(r for r in settle.splitlines() if "VX/Z6" in r).split(",")[3])


def test_funding_intervals_and_windows(drop):
    out, _ = drop
    t0, t1 = session_close_utc(date(2026, 11, 20)), session_close_utc(DAY)
    lines = (out / f"BTCUSDT-fundingRate-{DAY.isoformat()}.csv").read_text().splitlines()
    assert lines[0] == "calc_time,funding_interval_hours,last_funding_rate"
    t = np.array([int(r.split(",")[0]) for r in lines[1:]])
    assert all(r.split(",")[1] == "8" for r in lines[1:])
    assert all(len(r.split(",")[2].split(".")[1]) == 8 for r in lines[1:])
    hours = t // 3_600_000
    assert (np.diff(hours) == 8).all() and (t % 3_600_000 < 30).all()
    assert len(t) == 9  # Friday close -> Monday close: three days of 8-hourly events
    assert t0.timestamp() * 1000 < t.min() and t.max() <= t1.timestamp() * 1000 + 30
    hl = json.loads((out / f"hyperliquid_BTC_fundingHistory_{DAY.isoformat()}.json").read_text())
    assert set(hl[0]) == {"coin", "fundingRate", "premium", "time"} and hl[0]["coin"] == "BTC"
    ht = np.array([h["time"] for h in hl]) // 3_600_000
    assert (np.diff(ht) == 1).all() and len(ht) == 72
    assert all(isinstance(h["fundingRate"], str) for h in hl)


def test_funding_rises_with_crowding_and_collapses_in_unwinds(market):
    from sources.sample.funding import binance_events

    p = market.path(date(2024, 1, 1), date(2026, 11, 20))
    crowded = p.filter(pl.col("crowding") > 0.75)["date"].to_list()[::5]
    calm = p.filter((pl.col("crowding") < 0.25) & (pl.col("sessions_since_unwind") > 20))["date"].to_list()[::5]
    unwinds = p.filter(pl.col("unwind"))["date"].to_list()
    mean = lambda days: np.mean([binance_events(market, d, "BTC")[1].mean() for d in days])  # noqa: E731
    assert mean(crowded) > 0.00015 > mean(calm) - 0.00002
    nxt = [ex.next_sessions(d, 1)[0] for d in unwinds]
    assert mean(nxt) < 0


def test_breadth_files(drop):
    out, _ = drop
    vals = {}
    for fld in ("advn", "decln", "unchn", "advv", "declv", "newhi", "newlo"):
        text = (out / f"SAMPLE_{fld}.csv").read_text()
        d, v = text.rstrip("\n").split(", ")
        assert d == "20261123" and v.isdigit()
        vals[fld] = int(v)
    assert vals["advn"] + vals["decln"] + vals["unchn"] == 500


def test_breadth_narrows_when_crowded(market):
    from sources.sample.breadth import breadth_rows

    days = market.sessions(date(2023, 1, 3), date(2026, 11, 20))
    b = breadth_rows(market, days).join(market.path(days[0], days[-1]), on="date")
    b = b.with_columns(r=pl.col("spx_close").log().diff(),
                       ad=(pl.col("advn") - pl.col("decln")) / 500)
    up = b.filter(pl.col("r") > 0)
    neg_share = lambda f: f.filter(pl.col("ad") < 0).height / f.height  # noqa: E731
    assert neg_share(up.filter(pl.col("crowding") > 0.6)) > neg_share(up.filter(pl.col("crowding") < 0.3)) + 0.05
    assert b.filter(pl.col("unwind"))["ad"].max() < -0.5


def test_macro_calendar_and_fred(market, tmp_path):
    from sources.sample import write_bootstrap

    paths = write_bootstrap(market, DAY, tmp_path, years=1.0, sources=["macro"])
    assert {p.name for p in paths} == {"macro_events.csv", "DTWEXBGS.csv", "RBUSBIS.csv"}
    ev = pl.read_csv(tmp_path / "macro_events.csv", try_parse_dates=True)
    assert ev.columns == ["date", "event", "time_et"]
    assert ev["date"].max() > date(2027, 10, 1)
    per_year = ev.filter(pl.col("date").dt.year() == 2026)
    assert per_year.filter(pl.col("event") == "FOMC").height == 8
    assert (per_year.filter(pl.col("event") == "FOMC")["date"].dt.weekday() == 3).all()
    cpi = per_year.filter(pl.col("event") == "CPI")["date"]
    assert cpi.len() == 12 and cpi.dt.day().is_between(10, 17).all()
    assert set((tmp_path / "macro_events.csv").read_text().replace("\n", ",").split(",")[5::3]) <= {"08:30", "14:00"}
    fred = (tmp_path / "DTWEXBGS.csv").read_text().splitlines()
    assert fred[0] == "observation_date,DTWEXBGS" and fred[-1].startswith("2026-11-20,")
    assert (tmp_path / "RBUSBIS.csv").read_text().startswith("observation_date,RBUSBIS\n")


def test_bootstrap_writes_every_history_but_no_chains(market, tmp_path):
    from sources.sample import write_bootstrap

    first = date(2025, 6, 2)
    paths = write_bootstrap(market, first, tmp_path, years=1.0)
    names = {p.name for p in paths}
    assert not any("quotedata" in n for n in names)
    assert {"SPX_History.csv", "VIX_History.csv", "SAMPLE_advn.csv", "macro_events.csv",
            "DTWEXBGS.csv", "BTCUSDT-fundingRate-2025-05.csv"} <= names
    assert any(n.startswith("VX_2025-") for n in names)
    assert any(n.startswith("hyperliquid_ETH_fundingHistory_2024-") for n in names)
    last = max(int(r.split(",")[0]) for r in (tmp_path / "BTCUSDT-fundingRate-2025-05.csv")
               .read_text().splitlines()[1:])
    assert datetime.fromtimestamp(last / 1000, UTC) <= session_close_utc(date(2025, 5, 30))
