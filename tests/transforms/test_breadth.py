"""core.breadth_daily: worked examples of each formula, and McClellan over the real 2014 NYSE files."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from transforms.breadth import BreadthParams, breadth_daily, ema

# 40 sessions of advances / declines, typed by hand (no generator: the numbers are the fixture).
A = [1500, 1720, 1210, 980, 1840, 2010, 1650, 1300, 1120, 1990, 2230, 1870, 1405, 1010, 890, 1560,
     1780, 2105, 1950, 1230, 1100, 1675, 1820, 1490, 1015, 870, 1340, 1905, 2150, 1760, 1580, 1220,
     990, 1460, 1830, 2040, 1710, 1390, 1185, 1620]
D = [1480, 1250, 1790, 2030, 1150, 960, 1320, 1680, 1870, 1010, 760, 1120, 1590, 1980, 2110, 1420,
     1190, 880, 1040, 1750, 1890, 1300, 1160, 1510, 1970, 2120, 1640, 1070, 840, 1230, 1400, 1760,
     2000, 1530, 1150, 950, 1270, 1600, 1810, 1360]
DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(40)]


def _frame(adv=A, dec=D, days=DAYS, exchange="NYSE", **extra) -> pl.DataFrame:
    return pl.DataFrame({"exchange": exchange, "date": days, "advances": adv, "declines": dec, **extra})


def _spx(closes, days=DAYS) -> pl.DataFrame:
    return pl.DataFrame({"date": days[: len(closes)], "close": closes})


def _plain_mcclellan(adv, dec, fast=19, slow=39):
    """Independent reference: StockCharts' recipe written as a plain loop (SMA seed, then
    EMA = x * k + EMA_prev * (1 - k), k = 2 / (n + 1))."""
    rana = [(a - d) / (a + d) * 1000 for a, d in zip(adv, dec, strict=True)]

    def ema_loop(x, n):
        out = [None] * len(x)
        k = 2 / (n + 1)
        e = sum(x[:n]) / n
        out[n - 1] = e
        for i in range(n, len(x)):
            e = x[i] * k + e * (1 - k)
            out[i] = e
        return out

    f, s = ema_loop(rana, fast), ema_loop(rana, slow)
    osc = [None if s[i] is None else f[i] - s[i] for i in range(len(rana))]
    return rana, f, s, osc


def test_mcclellan_40_day_worked_example():
    out = breadth_daily(_frame(), _spx([]))
    # Hand-checked numbers, from the plain loop above (printed once, pasted here).
    assert out["rana"][18] == pytest.approx(304.34782608695656)     # (1950-1040)/(2990) x 1000
    assert out["rana"][19] == pytest.approx(-174.49664429530202)
    assert out["rana_ema_fast"][17] is None                         # EMA19 needs 19 values
    assert out["rana_ema_fast"][18] == pytest.approx(61.92155559399912)  # = SMA of days 1-19
    assert out["rana_ema_fast"][19] == pytest.approx(38.27973560506901)
    assert out["rana_ema_slow"][37] is None                         # EMA39 needs 39 values
    assert out["rana_ema_slow"][38] == pytest.approx(28.602934943840026)
    assert out["rana_ema_slow"][39] == pytest.approx(31.535204304030575)
    assert out["mcclellan_osc"][37] is None
    assert out["mcclellan_osc"][38] == pytest.approx(-10.249421608087026)
    assert out["mcclellan_osc"][39] == pytest.approx(-6.292210087087774)
    # summation = running sum of the oscillator from its first value
    assert out["mcclellan_sum"][38] == pytest.approx(-10.249421608087026)
    assert out["mcclellan_sum"][39] == pytest.approx(-16.5416316951748)
    # classic (not ratio-adjusted) oscillator on A - D
    assert out["mcclellan_osc_classic"][38] == pytest.approx(-30.346477018655207)
    assert out["mcclellan_osc_classic"][39] == pytest.approx(-18.54259854755891)
    # and the whole series agrees with the independent loop
    rana, f, s, osc = _plain_mcclellan(A, D)
    np.testing.assert_allclose(out["rana"].to_numpy(), rana)
    np.testing.assert_allclose(out["rana_ema_fast"].to_numpy()[18:], f[18:])
    np.testing.assert_allclose(out["mcclellan_osc"].to_numpy()[38:], osc[38:])


def test_ad_line_pct_and_new_highs():
    out = breadth_daily(
        _frame(A[:3], D[:3], DAYS[:3], unchanged=[20, None, 0], new_highs=[50, 10, 7],
               new_lows=[5, 30, 7]),
        _spx([]),
    )
    assert out["net_advances"].to_list() == [20, 470, -580]
    assert out["ad_line"].to_list() == [20, 490, -90]                # cumulative A - D
    assert out["ad_pct"][0] == pytest.approx(20 / 3000 * 100)       # (A-D)/(A+D+U) x 100
    assert out["ad_pct"][1] == pytest.approx(470 / 2970 * 100)      # U null counts as 0
    assert out["net_new_highs"].to_list() == [45, -20, 0]


def test_first_value_seed_matches_polars_ewm():
    p = BreadthParams(ema_seed="first")
    out = breadth_daily(_frame(), _spx([]), p)
    rana = pl.Series([(a - d) / (a + d) * 1000 for a, d in zip(A, D, strict=True)])
    ref = (rana.ewm_mean(alpha=2 / 20, adjust=False) - rana.ewm_mean(alpha=2 / 40, adjust=False))
    np.testing.assert_allclose(out["mcclellan_osc"].to_numpy(), ref.to_numpy())


def test_missing_day_skips_without_resetting_the_ema():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    got = ema(x, 2, "sma")
    k = 2 / 3
    e = 1.5                               # SMA of the first two valid values
    e4 = e + k * (4.0 - e)                # the NaN day leaves the state untouched
    e5 = e4 + k * (5.0 - e4)
    np.testing.assert_allclose(got, [np.nan, 1.5, np.nan, e4, e5])


def test_bearish_divergence_spx_new_high_ad_line_not_confirming():
    n = 5
    p = BreadthParams(divergence_days=n, fast=2, slow=3, corr_window=3)
    # SPX climbs to a new 5-day high on day 7; the A/D line peaked on day 4 and has not recovered.
    spx = [100, 101, 102, 103, 102, 101, 104, 103]
    adv = [1500, 1500, 1500, 1500, 1000, 1000, 1300, 1000]
    dec = [1000, 1000, 1000, 1000, 1500, 1500, 1200, 1500]
    out = breadth_daily(_frame(adv, dec, DAYS[:8]), _spx(spx), p)
    # ad_line: 500, 1000, 1500, 2000, 1500, 1000, 1100, 600
    assert out["ad_line"].to_list() == [500, 1000, 1500, 2000, 1500, 1000, 1100, 600]
    assert out["spx_at_high"].to_list()[:4] == [None] * 4           # window not full yet
    assert out["spx_at_high"][4] is False
    assert out["spx_at_high"][6] is True
    assert out["ad_divergence_bearish"].to_list()[4:] == [False, False, True, False]
    assert not any(out["ad_divergence_bullish"].to_list()[4:])


def test_bullish_divergence_spx_new_low_ad_line_above_its_low():
    n = 4
    p = BreadthParams(divergence_days=n, fast=2, slow=3, corr_window=3)
    spx = [100, 99, 98, 99, 97, 96]
    adv = [1000, 1000, 1000, 1500, 1400, 1300]
    dec = [1500, 1500, 1500, 1000, 1000, 1000]
    out = breadth_daily(_frame(adv, dec, DAYS[:6]), _spx(spx), p)
    # ad_line: -500, -1000, -1500, -1000, -600, -300: SPX makes new lows, the A/D line does not
    assert out["spx_at_low"].to_list()[3:] == [False, True, True]
    assert out["ad_divergence_bullish"].to_list()[3:] == [False, True, True]
    assert not any(out["ad_divergence_bearish"].to_list()[3:])


def test_rolling_correlation_of_ad_changes_and_spx_returns():
    p = BreadthParams(corr_window=5)
    spx = [100.0, 101, 100.5, 102, 101, 103, 102.5, 104, 103, 105]
    out = breadth_daily(_frame(A[:10], D[:10], DAYS[:10]), _spx(spx), p)
    ret = np.diff(spx) / np.array(spx[:-1])
    net = np.array(A[:10]) - np.array(D[:10])
    want = np.corrcoef(net[5:10], ret[4:9])[0, 1]                   # the last 5 rows
    assert out["ad_spx_corr"][9] == pytest.approx(want)
    assert out["ad_spx_corr"].to_list()[:5] == [None] * 5           # row 0 has no return


def test_exchanges_are_independent_and_rows_ordered_by_grain():
    both = pl.concat([_frame(exchange="NYSE"), _frame(exchange="NASDAQ")]).sample(
        fraction=1.0, shuffle=True, seed=1)
    out = breadth_daily(both, _spx([]))
    assert out.select("exchange", "date").rows() == sorted(out.select("exchange", "date").rows())
    nyse = out.filter(pl.col("exchange") == "NYSE")
    single = breadth_daily(_frame(), _spx([]))
    assert nyse.equals(single)


def test_symbol_column_in_spx_frame_is_filtered():
    bars = pl.DataFrame({"symbol": ["SPX", "VIX"], "date": [DAYS[0]] * 2, "close": [4000.0, 15.0]})
    out = breadth_daily(_frame(A[:1], D[:1], DAYS[:1]), bars)
    assert out["spx_close"].to_list() == [4000.0]


def test_params_validate():
    with pytest.raises(ValidationError):
        BreadthParams(fast=39, slow=19)
    with pytest.raises(ValidationError):
        BreadthParams(ema_seed="wilder")
    assert breadth_daily(_frame([], [], []), _spx([])).is_empty()


# -- conformance: Unicorn Research NYSE 2014 files (real) ---------------------------------------

def _read_unicorn(folder: Path, field: str) -> pl.DataFrame:
    """Unicorn per-field files: no header, `YYYYMMDD, value`. Read directly with polars: the
    sources/ breadth reader is written in parallel and this test must not depend on it."""
    return pl.read_csv(folder / f"NYSE_{field}_2014.csv", has_header=False,
                       new_columns=["d", field], infer_schema=False).select(
        date=pl.col("d").str.strip_chars().str.to_date("%Y%m%d"),
        value=pl.col(field).str.strip_chars().cast(pl.Int64),  # ", 1039": comma + space
    ).rename({"value": field})


@pytest.mark.realdata
def test_mcclellan_on_unicorn_nyse_2014(realdata):
    folder = realdata / "breadth"
    df = _read_unicorn(folder, "advn").join(_read_unicorn(folder, "decln"), on="date").join(
        _read_unicorn(folder, "unchn"), on="date").rename(
        {"advn": "advances", "decln": "declines", "unchn": "unchanged"}).with_columns(
        exchange=pl.lit("NYSE")).sort("date")
    assert df.height == 252
    out = breadth_daily(df, pl.DataFrame(schema={"date": pl.Date, "close": pl.Float64}))
    assert out.height == 252
    rana, f, s, osc = _plain_mcclellan(df["advances"].to_list(), df["declines"].to_list())
    np.testing.assert_allclose(out["mcclellan_osc"].to_numpy()[38:], osc[38:], rtol=1e-12)
    assert out["mcclellan_osc"].null_count() == 38
    assert out["ad_line"][-1] == int((df["advances"] - df["declines"]).sum())
    by_day = dict(zip(out["date"].to_list(), out["mcclellan_osc"].to_list(), strict=True))
    # Known 2014 tape: the slide into the mid-October low (SPX bottomed 2014-10-15) left the
    # ratio-adjusted oscillator deeply oversold (breadth troughed first, on 10-13), and the
    # V-shaped rally had it strongly positive by month end.
    october = [v for d, v in by_day.items() if date(2014, 10, 1) <= d <= date(2014, 10, 15)]
    assert min(october) < -60
    assert by_day[date(2014, 10, 16)] < 0 < by_day[date(2014, 10, 20)]
    assert by_day[date(2014, 10, 31)] > 50
    assert float(np.nanmax(np.abs(out["mcclellan_osc"].to_numpy()[38:]))) < 300


@pytest.mark.realdata
def test_unicorn_through_the_reader_gives_the_same_mcclellan(realdata):
    """The pipeline path: sources.formats reader (one column per file, merged on exchange x date)
    -> breadth_daily gives the numbers of the direct read above (a reader that no longer claims
    the Unicorn files fails here)."""
    from sources import formats

    folder = realdata / "breadth"
    merged = None
    for field in ("advn", "decln", "unchn"):
        parsed = formats.parse_file(folder / f"NYSE_{field}_2014.csv")
        cols = [c for c in parsed.rows.columns if c not in ("line",) and parsed.rows[c].null_count()
                < parsed.rows.height]
        rows = parsed.rows.select(cols)
        merged = rows if merged is None else merged.join(rows, on=["exchange", "date"], how="full",
                                                         coalesce=True)
    via_reader = breadth_daily(merged, pl.DataFrame(schema={"date": pl.Date, "close": pl.Float64}))
    direct = _read_unicorn(folder, "advn").join(_read_unicorn(folder, "decln"), on="date").rename(
        {"advn": "advances", "decln": "declines"}).with_columns(exchange=pl.lit("NYSE"))
    ref = breadth_daily(direct, pl.DataFrame(schema={"date": pl.Date, "close": pl.Float64}))
    assert via_reader["date"].to_list() == ref["date"].to_list()
    np.testing.assert_allclose(via_reader["mcclellan_osc"].to_numpy()[38:],
                               ref["mcclellan_osc"].to_numpy()[38:], rtol=1e-12)
    assert via_reader["ad_line"].to_list() == ref["ad_line"].to_list()
