"""Plausibility checks, one small worked example each (expectations/plausibility.py)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from expectations.plausibility import (
    CRITICAL,
    WARNING,
    check_breadth,
    check_funding_rates,
    check_index_bars,
    check_option_quotes,
    check_vx_futures,
    critical,
)

D0, D1 = date(2026, 3, 2), date(2026, 3, 3)
EXP = date(2026, 4, 17)


def checks(findings, severity=CRITICAL) -> set[str]:
    return {f.check for f in findings if f.severity == severity}


# -- option chains -----------------------------------------------------------------------------
def chain(day=D1, spot=5000.0, oi=(1000, 2000, 1500, 900), vol=(50, 80, 60, 40), bid=None,
          gamma=0.001, strikes=(4950.0, 5000.0), expiry=EXP, line0=5) -> pl.DataFrame:
    """Two strikes x call/put of one expiry, priced near parity (forward ~ spot)."""
    rows = []
    bids = bid or {("C", 4950.0): 80.0, ("P", 4950.0): 30.0, ("C", 5000.0): 50.0, ("P", 5000.0): 50.0}
    i = 0
    for k in strikes:
        for r in ("C", "P"):
            b = bids.get((r, k), 10.0)
            rows.append({"quote_date": day, "root": "SPX", "expiry": expiry, "strike": k, "right": r,
                         "underlying": "SPX", "option_symbol": f"SPX260417{r}{int(k * 1000):08d}",
                         "spot": spot, "bid": b, "ask": b + 1.0, "last": b, "volume": vol[i],
                         "open_interest": oi[i], "iv": 0.18, "delta": 0.5 if r == "C" else -0.5,
                         "gamma": gamma, "expired": False, "line": line0 + i})
            i += 1
    return pl.DataFrame(rows)


def test_clean_chain_against_yesterday_has_no_finding():
    assert check_option_quotes(chain(), chain(day=D0), file="c.csv") == []


def test_open_interest_cannot_jump_without_trades():
    # 13,510 -> 999,999,999,999 on one call: far beyond 20 x volume + slack, and above 5M contracts
    today = chain(oi=(999_999_999_999, 2000, 1500, 900))
    f = check_option_quotes(today, chain(day=D0), file="c.csv")
    assert {"open_interest_vs_volume", "open_interest_bound"} <= checks(f)
    oi = next(x for x in f if x.check == "open_interest_vs_volume")
    assert oi.rows == (5,) and oi.line == 5 and "c.csv:5" in oi.one_line()
    # a move just past the allowance (20 x 50 + 2,000 = 3,000) is a warning, not a critical
    f = check_option_quotes(chain(oi=(4_500, 2000, 1500, 900)), chain(day=D0))
    assert checks(f, WARNING) == {"open_interest_vs_volume"} and not critical(f)


def test_premium_above_what_parity_allows():
    f = check_option_quotes(chain(bid={("P", 5000.0): 1e308}), None)
    assert "premium_under_underlying" in checks(f)


def test_vendor_gamma_within_a_factor_of_black_scholes():
    # peak BS gamma for K=5000, iv=0.18, T=45/365: 1/(5000*0.18*sqrt(2 pi 0.123)) ~ 0.00126
    assert "gamma_vs_black_scholes" in checks(check_option_quotes(chain(gamma=1e308), None))
    assert "gamma_vs_black_scholes" in checks(check_option_quotes(chain(gamma=0.05), None))
    assert not check_option_quotes(chain(gamma=0.002), None)


def test_spot_vs_parity_and_index_close():
    f = check_option_quotes(chain(spot=50_000.0), None)  # forward from parity ~ 5,000
    assert "spot_vs_parity" in checks(f)
    closes = pl.DataFrame({"symbol": ["SPX"], "date": [D1], "close": [3_000.0]})
    f = check_option_quotes(chain(), None, index_close=closes)
    assert checks(f) == {"spot_vs_index_close"}


def test_stale_chain_under_a_new_date():
    rows = pl.concat([chain(strikes=(k, k + 5)) for k in range(4800, 5200, 10)])
    prev = rows.with_columns(quote_date=pl.lit(D0))
    f = check_option_quotes(rows, prev)
    assert "stale_chain" in checks(f)


def test_missing_expiry_and_moved_strike_grid():
    prev = pl.concat([chain(day=D0), chain(day=D0, expiry=date(2026, 5, 15), line0=20)])
    f = check_option_quotes(chain(), prev)
    assert checks(f) == {"expiry_missing"}
    shifted = chain(strikes=(4955.0, 5005.0))
    assert "strike_grid_moved" in checks(check_option_quotes(shifted, chain(day=D0)))


def test_one_quote_date_and_spot_per_file():
    two = pl.concat([chain(), chain(spot=4000.0, line0=50)])
    assert "one_chain_per_file" in checks(check_option_quotes(two, None))


# -- index bars --------------------------------------------------------------------------------
def bars(symbol, closes, start=1, line0=2, ohlc=True):
    days = [date(2026, 3, d) for d in range(start, start + 10) if date(2026, 3, d).weekday() < 5][:len(closes)]
    f = pl.DataFrame({"symbol": symbol, "date": days, "close": closes,
                      "line": list(range(line0, line0 + len(closes)))})
    if ohlc:
        f = f.with_columns(open=pl.col("close") * 0.99, high=pl.col("close") * 1.02,
                           low=pl.col("close") * 0.97)
    return f


def test_vix_family_bounds_and_index_overflow():
    assert "vix_family_bounds" in checks(check_index_bars(bars("VIX", [1288.0, 2545.0])))
    assert "index_level_bounds" in checks(check_index_bars(bars("SPX", [5000.0, 1e308], ohlc=False)))
    assert not check_index_bars(bars("VIX", [15.0, 16.5]))


def test_close_step_vs_stored_history_and_restated_closes():
    hist = bars("SPX", [5000.0, 5010.0, 5020.0], ohlc=False)
    # a whole file x100: restates stored closes, and steps 100x from the last stored one
    new = bars("SPX", [500_000.0, 501_000.0, 502_000.0, 503_000.0], ohlc=False)
    assert "restates_stored_closes" in checks(check_index_bars(new, hist))
    # a one-row append 100x the last stored close
    append = bars("SPX", [5000.0, 5010.0, 5020.0, 502_000.0], ohlc=False).tail(1)
    assert checks(check_index_bars(append, hist)) == {"close_step_vs_history"}
    # a re-download of the same closes plus one new day is fine
    ok = bars("SPX", [5000.0, 5010.0, 5020.0, 5030.0], ohlc=False)
    assert check_index_bars(ok, hist) == []


def test_stale_bar_under_a_new_date():
    hist = bars("VIX", [15.0, 16.0])
    new = bars("VIX", [15.0, 16.0, 16.0]).with_columns(
        open=pl.Series([14.85, 15.84, 15.84]), high=pl.Series([15.3, 16.32, 16.32]),
        low=pl.Series([14.55, 15.52, 15.52]))
    assert "stale_bar" in checks(check_index_bars(new, hist))


# -- VX, funding, breadth ----------------------------------------------------------------------
def vx(day, settles, line0=2):
    exps = [date(2026, 3, 18), date(2026, 4, 15), date(2026, 5, 20)][:len(settles)]
    return pl.DataFrame({"trade_date": day, "expiry": exps, "settle": settles, "price_flag": None,
                         "line": list(range(line0, line0 + len(settles)))})


def test_vx_bounds_step_and_stale():
    hist = vx(D0, [16.0, 17.0, 18.0])
    assert "vx_price_bounds" in checks(check_vx_futures(vx(D1, [1e12, 17.2, 18.1]), hist))
    assert "settle_step_vs_history" in checks(check_vx_futures(vx(D1, [160.0, 170.0, 180.0]), hist))
    assert "stale_settlements" in checks(check_vx_futures(vx(D1, [16.0, 17.0, 18.0]), hist))
    assert check_vx_futures(vx(D1, [16.5, 17.1, 18.0]), hist) == []


def funding(rates, hours=(0, 8, 16), day=3, interval=8, line0=2):
    ts = [datetime(2026, 3, day, h) for h in hours]
    return pl.DataFrame({"venue": "binance", "symbol": "BTC", "funding_ts": ts, "interval_h": interval,
                         "rate": rates, "premium": None, "line": list(range(line0, line0 + len(rates)))},
                        schema_overrides={"premium": pl.Float64, "interval_h": pl.Int32})


def test_funding_in_percent_and_off_grid_stamps():
    hist = pl.concat([funding([1e-4, 1.2e-4, 0.8e-4], day=d) for d in (1, 2)])
    assert "funding_scale_vs_history" in checks(check_funding_rates(funding([1e-2, 1.2e-2, 0.8e-2]), hist))
    assert "funding_scale_bound" in checks(check_funding_rates(funding([1e-2, 1.2e-2, 0.8e-2]), None))
    assert "funding_grid" in checks(check_funding_rates(funding([1e-4] * 3, hours=(3, 11, 19)), hist))
    assert check_funding_rates(funding([1.1e-4, 0.9e-4, 1e-4]), hist) == []


def breadth(day, adv, dec, upv, dnv, line=1):
    return {"exchange": "NYSE", "date": day, "advances": adv, "declines": dec, "unchanged": 50,
            "up_volume": upv, "down_volume": dnv, "line": line}


# Five ordinary days: ~3,000 issues traded up or down, ~3.3e9 shares, ~1.1e6 shares per issue.
BREADTH_HIST = pl.DataFrame([breadth(date(2026, 2, d), a, 3000 - a, u, 3.3e9 - u)
                             for d, a, u in ((2, 1500, 1.6e9), (3, 1800, 2.0e9), (4, 1200, 1.3e9),
                                             (5, 1700, 1.9e9), (6, 1400, 1.5e9))])


def test_breadth_issue_counts_and_volume_units():
    new = pl.DataFrame({"exchange": "NYSE", "date": [D1], "advances": [10_000_000], "line": [1]})
    assert "issues_bound" in checks(check_breadth(new, None))
    # One field alone (its siblings not stored yet): only the wide bound, 100x the total.
    new = pl.DataFrame({"exchange": "NYSE", "date": [D1], "up_volume": [1.6e12], "line": [1]})
    assert "volume_scale_vs_history" in checks(check_breadth(new, BREADTH_HIST))
    new = pl.DataFrame({"exchange": "NYSE", "date": [D1], "up_volume": [0.4e9], "line": [1]})
    assert check_breadth(new, BREADTH_HIST) == []


def test_breadth_volume_judged_on_total_and_per_issue_not_one_side():
    # A day when almost everything fell: 20 advances with 2.2e7 shares (1/70 of the usual up
    # volume). Each side's volume per issue is ordinary (1.1e6 and 1.1e6): no finding.
    down_day = breadth(D1, 20, 2980, 2.2e7, 3.28e9)
    assert check_breadth(pl.DataFrame([down_day]), BREADTH_HIST) == []
    # The same day's up volume x1000 (2.2e10): under 100x the total (3.3e11), the total is 7.6x
    # its median (inside the band), but 1.1e9 shares per advancing issue is 1000x the usual.
    x1000 = pl.DataFrame([{**down_day, "up_volume": 2.2e10}])
    assert checks(check_breadth(x1000, BREADTH_HIST)) == {"volume_per_issue_vs_history"}
    # Down volume /1000 on an up day: the total falls to 2/3, per issue it is 1/1000.
    up_day = breadth(D1, 2000, 1000, 2.2e9, 1.1e9)
    assert check_breadth(pl.DataFrame([up_day]), BREADTH_HIST) == []
    div = pl.DataFrame([{**up_day, "down_volume": 1.1e6}])
    assert checks(check_breadth(div, BREADTH_HIST)) == {"volume_per_issue_vs_history"}
    # Both sides x1000: the total is 1000x its trailing median.
    both = pl.DataFrame([{**up_day, "up_volume": 2.2e12, "down_volume": 1.1e12}])
    assert "total_volume_vs_history" in checks(check_breadth(both, BREADTH_HIST))
    # At ingest a one-field file is completed by the fields of its date already stored.
    stored = pl.concat([BREADTH_HIST, pl.DataFrame([{**down_day, "up_volume": None}])],
                       how="vertical_relaxed")
    advv = pl.DataFrame({"exchange": "NYSE", "date": [D1], "up_volume": [2.2e10], "line": [1]})
    assert checks(check_breadth(advv, stored)) == {"volume_per_issue_vs_history"}
