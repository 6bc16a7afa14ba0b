"""Shared pieces of the data-quality tests: one valid row per table (tests break it on purpose),
and a small warehouse home of synthetic sessions (quotes, index bars, gamma) for audit tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

VALID: dict[str, dict] = {
    "raw.option_quotes": dict(
        quote_date=date(2026, 3, 2), root="SPXW", expiry=date(2026, 3, 6), strike=6000.0, right="C",
        underlying="SPX", option_symbol="SPXW260306C06000000", quote_ts=datetime(2026, 3, 2, 21, 5),
        spot=6010.5, bid=55.1, ask=56.0, last=55.5, volume=120, open_interest=3400, iv=0.18,
        delta=0.52, gamma=0.0021, expired=False, line=7),
    "raw.index_bars": dict(symbol="VIX", date=date(2026, 3, 2), open=17.1, high=18.0, low=16.8,
                           close=17.5, volume=None, ohlc_flag=None, line=2),
    "raw.vx_futures": dict(trade_date=date(2026, 3, 2), expiry=date(2026, 3, 18), contract="H (Mar 2026)",
                           weekly=False, open=18.1, high=18.6, low=17.9, close=18.2, settle=18.25,
                           volume=51000, open_interest=120000, price_flag=None, line=3),
    "raw.funding_rates": dict(venue="binance", symbol="BTC", funding_ts=datetime(2026, 3, 2, 8),
                              interval_h=8, rate=0.0001, mark_price=65000.0, index_price=64990.0,
                              premium=None, open_interest_usd=None, line=2),
    "raw.breadth": dict(exchange="NYSE", date=date(2026, 3, 2), advances=1800, declines=1200,
                        unchanged=90, up_volume=2.1e9, down_volume=1.3e9, new_highs=80, new_lows=20, line=2),
    "raw.macro_events": dict(date=date(2026, 3, 11), event="CPI", time_et="08:30", line=2),
    "raw.macro_series": dict(series_id="DTWEXBGS", date=date(2026, 3, 2), value=121.3, line=2),
    "raw.perp_open_interest": dict(venue="binance", symbol="BTC", ts=datetime(2026, 3, 2, 0, 5),
                                   open_interest=81000.0, open_interest_usd=5.4e9,
                                   top_trader_long_short_ratio=1.1, account_long_short_ratio=1.9,
                                   taker_long_short_vol_ratio=1.0, line=2),
    "raw.perp_liquidations": dict(venue="binance", symbol="BTC", liq_ts=datetime(2026, 3, 2, 1), side="long",
                                  price=60000.0, base_amount=0.5, quote_usd=30000.0, line=1),
    "raw.constituent_fundamentals": dict(date=date(2026, 3, 2), ticker="AAPL", index_weight=0.07, price=227.5,
                                         ocf_per_share_ttm=7.6, line=2),
    "raw.dix_gex": dict(date=date(2026, 3, 2), price=6010.5, dix=0.45, gex_usd=3.1e9, line=2),
}


def frame(table: str, *changes: dict) -> pl.DataFrame:
    """Rows of `table`: the valid row with each dict of changes applied (one row per dict)."""
    from expectations.contracts import contract_for

    schema = {n: c.dtype.type for n, c in contract_for(table).schema.columns.items()}
    rows = [{**VALID[table], **ch} for ch in (changes or ({},))]
    cols = [c for c in schema if c in rows[0]]
    return pl.DataFrame(rows, schema={c: schema[c] for c in cols})


@pytest.fixture
def make_frame():
    return frame


# -- a small synthetic home ------------------------------------------------------------------------


def synthetic_quotes(day: date, spot: float, n_strikes: int = 15) -> pl.DataFrame:
    """An SPXW chain for `day`: the Friday expiries of the next four weeks (listed until they
    expire, as real chains), calls and puts around spot (canonical raw rows)."""
    rows = []
    strikes = [round(spot / 25) * 25 + 25 * k for k in range(-(n_strikes // 2), n_strikes // 2 + 1)]
    line = 5
    fridays = [day + timedelta(days=n) for n in range(1, 29) if (day + timedelta(days=n)).weekday() == 4]
    for expiry in fridays:
        dte = (expiry - day).days
        for k in strikes:
            m = np.log(k / spot)
            iv = 0.16 + 0.3 * m * m - 0.1 * m
            for right in ("C", "P"):
                intrinsic = max(0.0, (spot - k) if right == "C" else (k - spot))
                mid = intrinsic + spot * iv * np.sqrt(dte / 365) * 0.4 * np.exp(-abs(m) * 20)
                rows.append(dict(
                    quote_date=day, root="SPXW", expiry=expiry, strike=float(k), right=right,
                    underlying="SPX", option_symbol=f"SPXW{expiry:%y%m%d}{right}{int(k * 1000):08d}",
                    quote_ts=datetime.combine(day, datetime.min.time()) + timedelta(hours=21),
                    spot=spot, bid=round(max(mid - 0.5, 0.0), 2), ask=round(mid + 0.5, 2), last=None,
                    volume=100, open_interest=1000 + int(abs(k - spot)), iv=round(iv, 4),
                    delta=(0.5 if right == "C" else -0.5), gamma=0.001, expired=False, line=line,
                    file_id="synthetic", batch_id=f"night-{day}-synthetic"))
            line += 1
    return pl.DataFrame(rows)


def build_home(home: Path, days: list[date], history: list[date]) -> None:
    """raw.option_quotes for `days`, raw.index_bars (SPX, VIX) for history + days, core.gamma_* for
    `days` (the real gamma transform) - enough for every required table of the audit."""
    from transforms.gamma import GammaConventions, gamma_tables
    from warehouse.db import Warehouse

    rng = np.random.default_rng(3)
    all_days = [*history, *days]
    spx = 6000 * np.exp(np.cumsum(rng.normal(0, 0.006, len(all_days))))
    vix = 16 + np.cumsum(rng.normal(0, 0.3, len(all_days)))
    bars = pl.concat([
        pl.DataFrame({"symbol": s, "date": all_days, "open": v * 0.999, "high": v * 1.01,
                      "low": v * 0.99, "close": v, "volume": None, "ohlc_flag": None,
                      "line": list(range(2, len(all_days) + 2))},
                     schema_overrides={"volume": pl.Float64, "ohlc_flag": pl.String})
        for s, v in (("SPX", spx), ("VIX", vix))])
    home.mkdir(parents=True, exist_ok=True)
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        wh.write("raw.index_bars", bars, by=("symbol", "date"))
        conv = GammaConventions.preset("perfiliev")
        for i, d in enumerate(days):
            q = synthetic_quotes(d, float(spx[len(history) + i]))
            wh.write("raw.option_quotes", q, by=("quote_date", "root"))
            for table, f in gamma_tables(q, conv).items():
                wh.write(table, f, by=("date", "underlying", "preset"))


@pytest.fixture(scope="session")
def home_builder():
    """`build_home(home, days, history)`: a small synthetic warehouse home."""
    return build_home
