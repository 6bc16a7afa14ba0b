"""Backtest P&L worked by hand: a four-leg condor on a small inline chain over a few sessions.

Every expected number is computed in the comments from the quotes in the test, not by the code.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from transforms.backtest import BacktestParams, Entry, Inputs, book_irr, simulate, xirr

D0, D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)
EXPIRY = date(2026, 4, 17)  # 46 calendar days after D0: the 21-DTE exit never triggers here
STRIKES = [(5800.0, "P"), (5850.0, "P"), (6150.0, "C"), (6200.0, "C")]


def chain(day: date, quotes: list[tuple[float, float]], *, root: str = "SPXW",
          expiry: date = EXPIRY, spot: float = 6000.0) -> pl.DataFrame:
    """One session's quotes for the four condor strikes: [(bid, ask)] in STRIKES order."""
    return pl.DataFrame({
        "quote_date": [day] * 4, "root": [root] * 4, "expiry": [expiry] * 4,
        "strike": [k for k, _ in STRIKES], "right": [r for _, r in STRIKES],
        "underlying": ["SPX"] * 4, "spot": [spot] * 4,
        "bid": [b for b, _ in quotes], "ask": [a for _, a in quotes],
        "iv": [0.2] * 4, "delta": [-0.1, -0.16, 0.16, 0.1], "open_interest": [100] * 4,
    })


def condor_legs(root: str = "SPXW", expiry: date = EXPIRY) -> pl.DataFrame:
    """Long 5800 P, short 5850 P, short 6150 C, long 6200 C (build_condor's shape)."""
    return pl.DataFrame({
        "layer": ["condor"] * 4, "leg_no": [1, 2, 3, 4], "root": [root] * 4,
        "expiry": [expiry] * 4, "strike": [k for k, _ in STRIKES], "right": [r for _, r in STRIKES],
        "side": ["buy", "sell", "sell", "buy"], "ratio": [1] * 4, "multiplier": [100.0] * 4,
    })


def enter_once(on: date, legs: pl.DataFrame | None = None):
    def rule(day, params):
        return Entry(condor_legs() if legs is None else legs) if day.date == on else None
    return rule


def bars(closes: dict[date, float], opens: dict[date, float] | None = None,
         symbol: str = "SPX") -> pl.DataFrame:
    ds = sorted(closes)
    return pl.DataFrame({"symbol": [symbol] * len(ds), "date": ds,
                         "open": [(opens or {}).get(d) for d in ds],
                         "close": [closes[d] for d in ds]},
                        schema={"symbol": pl.String, "date": pl.Date, "open": pl.Float64,
                                "close": pl.Float64})


SPX = bars({date(2026, 2, 27): 5990.0, D0: 6000.0, D1: 6030.0, D2: 6010.0, D3: 6020.0})
# a $10,000 account keeps the worked returns readable (the default is $1,000,000)
PARAMS = BacktestParams(strategies=("plain_ic",), commission_per_contract_usd=1.0, capital_usd=10_000.0)

QUOTES = pl.concat([
    # D0 mids 10, 15, 12, 7: buy 5800P at 10.20, sell 5850P at 14.80, sell 6150C at 11.80,
    # buy 6200C at 7.20 -> credit 14.80 + 11.80 - 10.20 - 7.20 = 9.20 points = $920.
    chain(D0, [(9.8, 10.2), (14.8, 15.2), (11.8, 12.2), (6.8, 7.2)]),
    # D1 mids 8, 12, 13, 7.5: cost to close at mid 12 + 13 - 8 - 7.5 = 9.50 > 9.20 (loss 0.30).
    chain(D1, [(7.8, 8.2), (11.8, 12.2), (12.8, 13.2), (7.3, 7.7)]),
    # D2 mids 4, 6, 6, 3.5: cost 6 + 6 - 4 - 3.5 = 4.50, profit 4.70 >= 50 % x 9.20 = 4.60: close,
    # buying the shorts at the ask (6.20, 6.20) and selling the wings at the bid (3.80, 3.30).
    chain(D2, [(3.8, 4.2), (5.8, 6.2), (5.8, 6.2), (3.3, 3.7)]),
    chain(D3, [(3.0, 3.4), (5.0, 5.4), (5.0, 5.4), (2.8, 3.2)]),
])


@pytest.fixture(scope="module")
def take_profit():
    return simulate(Inputs(spx_quotes=QUOTES, index_bars=SPX), {"plain_ic": enter_once(D0)}, PARAMS)


def test_take_profit_trade_worked_by_hand(take_profit):
    t = take_profit["core.backtest_trades"].row(0, named=True)
    assert t["credit_pts"] == pytest.approx(9.20)
    assert t["credit_usd"] == pytest.approx(920.0)
    # max loss: wing 50 - credit 9.20 = 40.80 points = $4,080 (the capital at risk)
    assert t["max_loss_usd"] == pytest.approx(4080.0)
    assert t["capital_at_risk_usd"] == pytest.approx(4080.0)
    assert (t["exit_date"], t["exit_reason"], t["status"]) == (D2, "take_profit", "closed")
    # exit debit 6.20 + 6.20 - 3.80 - 3.30 = 5.30 points = $530; commissions 8 x $1.
    assert t["commissions_usd"] == pytest.approx(8.0)
    assert t["pnl_usd"] == pytest.approx(920.0 - 530.0 - 8.0)  # 382
    assert (t["short_put"], t["long_put"], t["short_call"], t["long_call"]) == (5850, 5800, 6150, 6200)
    assert t["days_held"] == 2 and t["stale_marks"] == 0


def test_daily_pnl_marks_at_mid_and_sums_to_the_trade(take_profit):
    d = take_profit["core.backtest_daily"].filter(pl.col("strategy") == "plain_ic").sort("date")
    # D0: cash 920 - 4 = 916; legs at mid: -1500 + 1000 - 1200 + 700 = -1000 -> value -84
    #     (half the spread on four legs, 4 x 0.20 x 100 = 80, plus $4 commission).
    # D1: 916 + (-1200 + 800 - 1300 + 750) = -34 -> +50.   D2: 382 - (-34) = +416.   D3: flat.
    assert d["pnl_usd"].to_list() == pytest.approx([-84.0, 50.0, 416.0, 0.0])
    assert d["cum_pnl_usd"][-1] == pytest.approx(382.0)
    assert d["capital_at_risk_usd"].to_list() == pytest.approx([4080.0, 4080.0, 4080.0, 0.0])
    # A fixed $10,000 account: value after each session 9,916, 9,966, 10,382, 10,382; each
    # return is the session's P&L over the value before it (no rate series: idle cash earns 0).
    r = [-84 / 10_000, 50 / 9_916, 416 / 9_966, 0.0]
    assert d["daily_return"].to_list() == pytest.approx(r)
    assert d["capital_called_usd"].to_list() == pytest.approx([10_000.0] * 4)
    assert d["book_value_usd"].to_list() == pytest.approx([9_916.0, 9_966.0, 10_382.0, 10_382.0])
    assert d["interest_usd"].to_list() == pytest.approx([0.0] * 4)
    # equity is the account value over the capital, exactly the compounded returns
    assert d["equity"][-1] == pytest.approx(1.0382)
    assert d["equity"][-1] == pytest.approx((1 + r[0]) * (1 + r[1]) * (1 + r[2]))
    # the low point is D0: $84 below the $10,000 peak (the starting capital)
    assert d["drawdown"].min() == pytest.approx(-84 / 10_000)
    assert d["entries"].to_list() == [1, 0, 0, 0] and d["exits"].to_list() == [0, 0, 1, 0]


def test_irr_of_the_account_discounts_its_capital(take_profit):
    d = take_profit["core.backtest_daily"].filter(pl.col("strategy") == "plain_ic")
    irr = book_irr(d)
    # money in: the $10,000 account on D0; money out: its value 10,382 on D3 (3 days later)
    npv = -10_000 + 10_382 / (1 + irr) ** (3 / 365)
    assert npv == pytest.approx(0.0, abs=1e-6) and irr > 1.0


def test_xirr_of_a_one_year_ten_percent_loan():
    assert xirr(np.array([0.0, 365.0]), np.array([-100.0, 110.0])) == pytest.approx(0.10)
    assert xirr(np.array([0.0, 365.0]), np.array([100.0, 110.0])) is None  # no sign change


def test_benchmark_rows_are_spx_close_to_close(take_profit):
    b = take_profit["core.backtest_daily"].filter(pl.col("strategy") == "spx").sort("date")
    assert b["daily_return"].to_list() == pytest.approx(
        [6000 / 5990 - 1, 6030 / 6000 - 1, 6010 / 6030 - 1, 6020 / 6010 - 1])
    assert b["equity"][-1] == pytest.approx(6020 / 5990)


def test_stop_loss_at_twice_the_credit():
    quotes = pl.concat([
        chain(D0, [(9.8, 10.2), (14.8, 15.2), (11.8, 12.2), (6.8, 7.2)]),  # credit 9.20
        # D1 SPX rallies: mids 2, 3, 40, 30 -> cost 3 + 40 - 2 - 30 = 11.00, loss 1.80: hold.
        chain(D1, [(1.8, 2.2), (2.8, 3.2), (39.5, 40.5), (29.5, 30.5)]),
        # D2: mids 1, 1.5, 60, 40 -> cost 1.5 + 60 - 1 - 40 = 20.50, loss 11.30 < 18.40: hold.
        chain(D2, [(0.8, 1.2), (1.3, 1.7), (59.5, 60.5), (39.5, 40.5)]),
        # D3: mids 0.5, 1, 80, 51 -> cost 1 + 80 - 0.5 - 51 = 29.50, loss 20.30 >= 2 x 9.20: stop.
        # Fill: buy 5850P 1.20, buy 6150C 80.50, sell 5800P 0.30, sell 6200C 50.50 -> 30.90.
        chain(D3, [(0.3, 0.7), (0.8, 1.2), (79.5, 80.5), (50.5, 51.5)]),
    ])
    out = simulate(Inputs(spx_quotes=quotes, index_bars=SPX), {"plain_ic": enter_once(D0)}, PARAMS)
    t = out["core.backtest_trades"].row(0, named=True)
    assert (t["exit_date"], t["exit_reason"]) == (D3, "stop_loss")
    assert t["pnl_usd"] == pytest.approx((9.20 - 30.90) * 100 - 8.0)  # -2,178


def test_held_to_expiry_settles_am_roots_on_the_open_and_pm_roots_on_the_close():
    exp = D2
    legs = condor_legs(root="SPX", expiry=exp)
    quotes = pl.concat([
        chain(D0, [(9.8, 10.2), (14.8, 15.2), (11.8, 12.2), (6.8, 7.2)], root="SPX", expiry=exp),
        chain(D1, [(7.8, 8.2), (11.8, 12.2), (12.8, 13.2), (7.3, 7.7)], root="SPX", expiry=exp),
    ])
    # Expiry day D2: SPX opens at 5830 (the SOQ proxy) and closes at 6010.
    spx = bars({D0: 6000.0, D1: 6030.0, D2: 6010.0}, opens={D2: 5830.0})
    hold = PARAMS.model_copy(update={"take_profit_pct": None, "stop_loss_x_credit": None,
                                     "exit_dte": None})
    out = simulate(Inputs(spx_quotes=quotes, index_bars=spx, sessions=[D0, D1, D2]),
                   {"plain_ic": enter_once(D0, legs)}, hold)
    t = out["core.backtest_trades"].row(0, named=True)
    # AM settlement at 5830: short 5850 P pays 20, the rest expire worthless; no exit commission.
    assert (t["exit_date"], t["exit_reason"], t["settle_basis"]) == (D2, "expiry", "SPX open")
    assert t["pnl_usd"] == pytest.approx((9.20 - 20.0) * 100 - 4.0)
    # The same condor on the PM root settles on the close, 6010: everything expires worthless.
    pm = quotes.with_columns(root=pl.lit("SPXW"))
    out = simulate(Inputs(spx_quotes=pm, index_bars=spx, sessions=[D0, D1, D2]),
                   {"plain_ic": enter_once(D0, legs.with_columns(root=pl.lit("SPXW")))}, hold)
    t = out["core.backtest_trades"].row(0, named=True)
    assert t["settle_basis"] == "SPX close" and t["pnl_usd"] == pytest.approx(920.0 - 4.0)


def test_twenty_one_dte_exit():
    near = date(2026, 3, 24)  # 21 calendar days after D1
    q = pl.concat([chain(D0, [(9.8, 10.2), (14.8, 15.2), (11.8, 12.2), (6.8, 7.2)], expiry=near),
                   chain(D1, [(9.8, 10.2), (14.8, 15.2), (11.8, 12.2), (6.8, 7.2)], expiry=near)])
    out = simulate(Inputs(spx_quotes=q, index_bars=SPX),
                   {"plain_ic": enter_once(D0, condor_legs(expiry=near))}, PARAMS)
    t = out["core.backtest_trades"].row(0, named=True)
    # unchanged quotes: pay the spread twice, 4 x 0.40 x 100 = 160, plus 8 x $1
    assert (t["exit_date"], t["exit_reason"], t["pnl_usd"]) == (D1, "dte", pytest.approx(-168.0))


def test_missing_quote_is_interpolated_between_listed_strikes_and_counted():
    # D1 lists 6100 C (20.0 / 21.0) but not 6150 C: its mid is read halfway between the 6100 C
    # mid 20.50 and the 6200 C mid 7.50 = 14.00 (the quoted 13 was 1 lower).
    extra = pl.DataFrame({"quote_date": [D1], "root": ["SPXW"], "expiry": [EXPIRY],
                          "strike": [6100.0], "right": ["C"], "underlying": ["SPX"],
                          "spot": [6000.0], "bid": [20.0], "ask": [21.0], "iv": [0.2],
                          "delta": [0.25], "open_interest": [100]})
    q = pl.concat([QUOTES.filter(~((pl.col("quote_date") == D1) & (pl.col("strike") == 6150.0))),
                   extra])
    out = simulate(Inputs(spx_quotes=q, index_bars=SPX), {"plain_ic": enter_once(D0)}, PARAMS)
    t = out["core.backtest_trades"].row(0, named=True)
    d = out["core.backtest_daily"].filter(pl.col("strategy") == "plain_ic").sort("date")
    # D1 value: 916 + (-1200 + 800 - 1400 + 750) = -134, so -50 on the day (was +50 quoted)
    assert d["pnl_usd"][1] == pytest.approx(-134.0 - (-84.0))
    assert t["stale_marks"] == 1 and t["pnl_usd"] == pytest.approx(382.0)


def test_missing_quote_beyond_the_listed_strikes_is_worth_its_intrinsic_value():
    # D1 lists no call below 6200: the 6150 C is outside the listed range -> intrinsic at spot
    # 6000 = 0; value 916 + (-1200 + 800 - 0 + 750) = 1,266, a +1,350 day (take profit off).
    q = QUOTES.filter(~((pl.col("quote_date") == D1) & (pl.col("strike") == 6150.0)))
    out = simulate(Inputs(spx_quotes=q, index_bars=SPX), {"plain_ic": enter_once(D0)},
                   PARAMS.model_copy(update={"take_profit_pct": None}))
    d = out["core.backtest_daily"].filter(pl.col("strategy") == "plain_ic").sort("date")
    assert d["pnl_usd"][1] == pytest.approx(1266.0 - (-84.0))


def test_no_entry_when_a_leg_has_no_bid_to_sell():
    q = QUOTES.with_columns(bid=pl.when((pl.col("strike") == 5850.0) & (pl.col("quote_date") == D0))
                            .then(None).otherwise(pl.col("bid")))
    out = simulate(Inputs(spx_quotes=q, index_bars=SPX), {"plain_ic": enter_once(D0)}, PARAMS)
    assert out["core.backtest_trades"].is_empty()
    assert out["core.backtest_daily"].filter(pl.col("strategy") == "plain_ic")["pnl_usd"].sum() == 0


def test_vx_hedge_leg_is_marked_at_the_settle_with_slippage_and_commission():
    legs = pl.concat([condor_legs(), pl.DataFrame({
        "layer": ["vx_roll"], "leg_no": [5], "root": ["VX"], "expiry": [date(2026, 3, 18)],
        "strike": [None], "right": [None], "side": ["buy"], "ratio": [1], "multiplier": [1000.0]},
        schema_overrides={"strike": pl.Float64, "right": pl.String})], how="vertical_relaxed")
    vx = pl.DataFrame({"trade_date": [D0, D1, D2, D3], "expiry": [date(2026, 3, 18)] * 4,
                       "settle": [15.00, 16.00, 15.50, 15.50], "weekly": [False] * 4})
    out = simulate(Inputs(spx_quotes=QUOTES, index_bars=SPX, vx_futures=vx),
                   {"alvh": enter_once(D0, legs)}, PARAMS.model_copy(update={"strategies": ("alvh",)}))
    d = out["core.backtest_daily"].filter(pl.col("strategy") == "alvh").sort("date")
    # Buy 1 VX at 15.00 + 0.05 slippage, $2.50 commission: D0 hedge P&L -0.05 x 1000 - 2.5 = -52.5;
    # D1 +1.00 x 1000 = +1000; D2 (closed with the condor at the settle - 0.05): 15.45 - 16.00
    # = -550 - 2.5 commission.
    assert d["hedge_pnl_usd"].to_list() == pytest.approx([-52.5, 1000.0, -552.5, 0.0])
    t = out["core.backtest_trades"].row(0, named=True)
    assert t["hedge_pnl_usd"] == pytest.approx(-52.5 + 1000 - 552.5)  # 395
    assert t["pnl_usd"] == pytest.approx(382.0 + 395.0)
    # capital: condor 4,080 + VX margin 10,000
    assert t["capital_at_risk_usd"] == pytest.approx(14080.0)


def test_entries_respect_the_cadence_and_the_open_trade_cap():
    every = lambda day, p: Entry(condor_legs())  # noqa: E731 - wants a trade every session
    p = PARAMS.model_copy(update={"entry_every_sessions": 2, "max_open_trades": 1,
                                  "take_profit_pct": None})
    out = simulate(Inputs(spx_quotes=QUOTES, index_bars=SPX), {"plain_ic": every}, p)
    assert out["core.backtest_trades"]["entry_date"].to_list() == [D0]  # one at a time
    p2 = p.model_copy(update={"max_open_trades": 5})
    out = simulate(Inputs(spx_quotes=QUOTES, index_bars=SPX), {"plain_ic": every}, p2)
    assert out["core.backtest_trades"]["entry_date"].to_list() == [D0, D2]


def test_frames_write_into_the_ddl_tables(take_profit):
    from transforms.backtest import backtest_metrics
    from warehouse.db import Warehouse

    wh = Warehouse.memory()
    metrics = backtest_metrics(take_profit["core.backtest_daily"],
                               take_profit["core.backtest_trades"], [D2, D3])
    for table, frame in [*take_profit.items(), ("core.backtest_metrics", metrics)]:
        assert wh.columns(table) == frame.columns
        wh.append(table, frame)
        assert wh.table(table).height == frame.height
    assert metrics.filter(pl.col("as_of") == D2)["trades_closed"].to_list() == [1, None]


def test_exit_label_comes_from_the_whole_book():
    from transforms.backtest.simulate import book_exit_reason

    # the condor took its profit but the hedge legs lost more: the book's label says so
    assert book_exit_reason("take_profit", -4_500.0, has_hedges=True) == "hedge_loss"
    assert book_exit_reason("take_profit", 1_200.0, has_hedges=True) == "take_profit"
    assert book_exit_reason("stop_loss", 800.0, has_hedges=True) == "hedge_gain"
    assert book_exit_reason("stop_loss", -800.0, has_hedges=False) == "stop_loss"
    assert book_exit_reason("dte", -100.0, has_hedges=True) == "dte"


def test_trade_row_carries_the_condors_reason_beside_the_books(take_profit):
    t = take_profit["core.backtest_trades"].row(0, named=True)
    # no hedges: the book is the condor
    assert (t["exit_reason"], t["condor_exit_reason"]) == ("take_profit", "take_profit")
