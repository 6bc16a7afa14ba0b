"""GEX MACD over the daily net GEX history: a worked example with short spans, the (12, 26, 9)
warm-up, per-underlying histories, and point in time (day D never depends on days after D)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from transforms.gamma import add_gex_macd


def history(values, underlying="SPX", start=date(2024, 1, 2)) -> pl.DataFrame:
    return pl.DataFrame({"date": [start + timedelta(days=i) for i in range(len(values))],
                         "underlying": underlying, "preset": "default",
                         "net_gex_usd_per_pct": [float(v) for v in values]})


def test_worked_example_fast_2_slow_3_signal_2():
    # EMA: e_t = e_{t-1} + α (x_t − e_{t-1}), α = 2/(n+1), seeded with the first value.
    # x          10     20       40        30
    # fast α=2/3 10     50/3     290/9     830/27
    # slow α=1/2 10     15       27.5      28.75
    # MACD       -      -        85/18     215/108        (needs 3 days)
    # signal     -      -        -         85/18 + 2/3 (215/108 − 85/18) = 470/162  (needs 2 MACDs)
    out = add_gex_macd(history([10, 20, 40, 30]), fast=2, slow=3, signal=2)
    assert out["gex_macd_usd"].to_list() == pytest.approx([None, None, 85 / 18, 215 / 108])
    assert out["gex_macd_signal_usd"].to_list() == pytest.approx([None, None, None, 470 / 162])
    assert out["gex_macd_hist_usd"].to_list() == pytest.approx([None, None, None, 215 / 108 - 470 / 162])


def test_default_spans_warm_up_after_26_and_34_days():
    out = add_gex_macd(history(range(40)))
    macd, signal = out["gex_macd_usd"], out["gex_macd_signal_usd"]
    assert macd.null_count() == 25 and macd[25] is not None
    assert signal.null_count() == 33 and signal[33] is not None
    assert (out["gex_macd_hist_usd"] - (macd - signal)).drop_nulls().abs().max() == 0.0


def test_point_in_time_day_d_uses_only_days_up_to_d():
    values = [(-1) ** i * 1e9 * (i % 7) + 3e8 * i for i in range(45)]
    full = add_gex_macd(history(values))
    for d in range(1, 45):
        prefix = add_gex_macd(history(values[:d]))
        assert prefix.row(d - 1) == full.row(d - 1)


def test_each_underlying_has_its_own_history_and_input_order_does_not_matter():
    spx, spy = history(range(30), "SPX"), history([v * -2 for v in range(30)], "SPY")
    both = add_gex_macd(pl.concat([spy, spx]).sample(fraction=1.0, shuffle=True, seed=1))
    for alone in (add_gex_macd(spx), add_gex_macd(spy)):
        und = alone["underlying"][0]
        assert both.filter(pl.col("underlying") == und).sort("date").equals(alone)


def test_recomputing_over_stored_rows_replaces_old_macd_columns():
    once = add_gex_macd(history(range(30)))
    assert add_gex_macd(once).equals(once)


def test_bad_spans_are_refused():
    with pytest.raises(ValueError, match="fast < slow"):
        add_gex_macd(history([1, 2]), fast=26, slow=12)
