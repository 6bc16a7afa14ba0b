"""Raw-table contracts, one rule at a time: a valid row passes, the same row broken one way fails
with that rule's check name (which is what audit.quarantine.check_name records)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from expectations.contracts import ContractError, RowContext, check_rows


def checks(table, make_frame, *changes, ctx=None) -> list[str]:
    """check_name of each refused row (in row order)."""
    good, bad = check_rows(table, make_frame(table, *changes), ctx)
    return bad["check_name"].to_list()


@pytest.mark.parametrize("table", ["raw.option_quotes", "raw.index_bars", "raw.vx_futures",
                                   "raw.funding_rates", "raw.breadth", "raw.macro_events",
                                   "raw.macro_series"])
def test_the_valid_row_of_every_raw_table_passes(table, make_frame):
    good, bad = check_rows(table, make_frame(table))
    assert bad.is_empty() and good.height == 1


# -- raw.option_quotes -------------------------------------------------------------------------

def test_ask_below_bid_is_refused_but_an_empty_offer_is_not(make_frame):
    assert checks("raw.option_quotes", make_frame, {"bid": 5.0, "ask": 4.0}) == ["ask_ge_bid"]
    assert checks("raw.option_quotes", make_frame, {"bid": 5.0, "ask": 0.0}) == []  # no offer prints 0


def test_expiry_before_the_quote_date_needs_the_expired_flag(make_frame):
    before = {"expiry": date(2026, 2, 27)}
    assert checks("raw.option_quotes", make_frame, before) == ["expiry_on_or_after_quote_date"]
    assert checks("raw.option_quotes", make_frame, {**before, "expired": True}) == []
    # and the flag may not be set on a live contract
    assert checks("raw.option_quotes", make_frame, {"expired": True}) == ["expired_flag_consistent"]


def test_negative_open_interest_and_nan_iv_are_refused(make_frame):
    assert checks("raw.option_quotes", make_frame, {"open_interest": -5}) == ["greater_than_or_equal_to(0)"]
    _, bad = check_rows("raw.option_quotes", make_frame("raw.option_quotes", {"iv": float("nan")}))
    assert bad.height == 1 and "iv=NaN" in bad["reason"][0]


def test_a_spot_of_another_underlying_is_refused(make_frame):
    # a VIX level on the Last: line of an SPX chain: strikes are 300x spot
    assert checks("raw.option_quotes", make_frame, {"spot": 18.5}) == ["strike_near_spot"]


def test_delta_sign_follows_the_right(make_frame):
    assert checks("raw.option_quotes", make_frame, {"right": "P", "delta": 0.4}) == ["delta_sign_matches_right"]
    assert checks("raw.option_quotes", make_frame, {"right": "P", "delta": -0.4}) == []


def test_a_duplicate_contract_fails_the_grain(make_frame):
    good, bad = check_rows("raw.option_quotes", make_frame("raw.option_quotes", {}, {"line": 8}))
    assert set(bad["check_name"]) == {"multiple_fields_uniqueness"} and good.is_empty()


# -- raw.index_bars / raw.vx_futures -----------------------------------------------------------

def test_high_below_low_is_refused_unless_the_reader_flagged_the_bar(make_frame):
    assert checks("raw.index_bars", make_frame, {"high": 16.0, "low": 17.0}) == ["high_ge_low"]
    assert checks("raw.index_bars", make_frame, {"high": 16.0, "low": 17.0, "ohlc_flag": "high < low"}) == []
    assert checks("raw.vx_futures", make_frame, {"high": 16.0, "low": 17.0}) == ["high_ge_low"]


def test_a_10x_close_is_refused_against_its_neighbours(make_frame):
    days = [date(2026, 3, d) for d in (2, 3, 4, 5, 6)]
    rows = [{"date": d, "close": c, "line": i + 2, "open": None, "high": None, "low": None}
            for i, (d, c) in enumerate(zip(days, [17.5, 17.9, 179.0, 18.2, 18.0], strict=True))]
    good, bad = check_rows("raw.index_bars", make_frame("raw.index_bars", *rows))
    assert bad["check_name"].to_list() == ["close_no_10x_jump"] and bad["line"].to_list() == [4]
    assert good.height == 4


def test_a_sparse_file_is_not_judged_across_a_gap(make_frame):
    # VIX 13.7 in January and 82.7 in March 2020 are both real: no neighbour within a week
    rows = [{"date": date(2020, 1, 2), "close": 13.7}, {"date": date(2020, 3, 16), "close": 82.69}]
    assert checks("raw.index_bars", make_frame, *rows) == []


def test_vx_traded_after_its_settlement_or_on_a_weekend_is_refused(make_frame):
    assert checks("raw.vx_futures", make_frame, {"trade_date": date(2026, 3, 19)}) == ["trade_date_on_or_before_expiry"]
    assert checks("raw.vx_futures", make_frame, {"trade_date": date(2026, 3, 7)}) == ["trade_date_weekday"]


# -- raw.funding_rates -------------------------------------------------------------------------

@pytest.mark.parametrize("interval_h, ok", [(1, True), (2, True), (4, True), (8, True), (3, False), (24, False)])
def test_funding_interval_is_one_of_1_2_4_8_hours(make_frame, interval_h, ok):
    assert checks("raw.funding_rates", make_frame, {"interval_h": interval_h}) == ([] if ok else ["isin([1, 2, 4, 8])"])


def test_funding_rate_is_capped_per_venue(make_frame):
    assert checks("raw.funding_rates", make_frame, {"rate": 0.031}) == ["rate_within_venue_cap"]  # binance 3 %
    assert checks("raw.funding_rates", make_frame, {"venue": "hyperliquid", "rate": 0.031}) == []  # 4 % / h
    assert checks("raw.funding_rates", make_frame, {"rate": -0.05}) == ["rate_within_venue_cap"]


def test_funding_timestamps_are_whole_hours(make_frame):
    assert checks("raw.funding_rates", make_frame, {"funding_ts": datetime(2026, 3, 2, 8, 0, 17)}) == ["whole_hour"]


# -- raw.breadth / macro ------------------------------------------------------------------------

def test_breadth_needs_some_issue_traded(make_frame):
    zero = {"advances": 0, "declines": 0, "unchanged": 0}
    assert checks("raw.breadth", make_frame, zero) == ["issues_traded"]
    # a one-column Unicorn file (unchanged only) is not judged on the sum
    assert checks("raw.breadth", make_frame, {"advances": None, "declines": None, "unchanged": 0}) == []


def test_macro_event_times_are_hh_mm(make_frame):
    assert checks("raw.macro_events", make_frame, {"time_et": "8:30am"}) == ["str_matches('^(?:[01]\\d|2[0-3]):[0-5]\\d$')"]


# -- context: the XNYS calendar and the future ----------------------------------------------------

def test_rows_on_a_non_session_or_in_the_future_are_refused(make_frame):
    sessions = frozenset({date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)})
    ctx = RowContext(sessions=sessions, not_after=date(2026, 3, 3))
    assert checks("raw.breadth", make_frame, {"date": date(2026, 3, 2)}, ctx=ctx) == []
    # a date inside the calendar's range that is not a session
    ctx2 = RowContext(sessions=sessions | {date(2026, 3, 9)}, not_after=date(2026, 3, 31))
    assert checks("raw.breadth", make_frame, {"date": date(2026, 3, 7)}, ctx=ctx2) == ["xnys_session"]
    assert checks("raw.breadth", make_frame, {"date": date(2026, 3, 4)}, ctx=ctx) == ["not_in_future"]
    # before the calendar starts (1990) nothing is judged
    assert checks("raw.breadth", make_frame, {"date": date(1985, 3, 2)}, ctx=ctx) == []


def test_the_macro_calendar_may_hold_future_releases(make_frame):
    ctx = RowContext(not_after=date(2026, 3, 3))
    assert checks("raw.macro_events", make_frame, {"date": date(2026, 12, 10)}, ctx=ctx) == []
    assert checks("raw.macro_series", make_frame, {"date": date(2026, 12, 10)}, ctx=ctx) == ["not_in_future"]


# -- the failure frame and frame-level errors ---------------------------------------------------

def test_failures_carry_the_source_line_the_row_and_every_reason(make_frame):
    f = make_frame("raw.option_quotes", {}, {"strike": 6025.0, "bid": 5.0, "ask": 4.0, "open_interest": -1, "line": 9})
    good, bad = check_rows("raw.option_quotes", f)
    assert good.height == 1
    r = bad.row(0, named=True)
    assert r["row"] == 1 and r["line"] == 9 and r["as_of"] == date(2026, 3, 2)
    assert r["check_name"] == "greater_than_or_equal_to(0)"  # column checks come first
    assert "open_interest=-1" in r["reason"] and "ask below bid" in r["reason"]
    assert '"strike":6025.0' in r["raw"]


def test_a_lazyframe_is_collected_so_data_checks_run(make_frame):
    lf = make_frame("raw.option_quotes", {"open_interest": -5}).lazy()
    _, bad = check_rows("raw.option_quotes", lf)
    assert bad.height == 1


def test_a_missing_not_null_column_or_an_extra_column_rejects_the_frame(make_frame):
    with pytest.raises(ContractError, match="spot: column missing"):
        check_rows("raw.option_quotes", make_frame("raw.option_quotes").drop("spot"))
    with pytest.raises(ContractError, match="column_in_schema"):
        check_rows("raw.option_quotes", make_frame("raw.option_quotes").with_columns(bogus=pl.lit(1)))


def test_an_absent_nullable_column_is_allowed(make_frame):
    good, bad = check_rows("raw.option_quotes", make_frame("raw.option_quotes").drop("gamma", "line"))
    assert good.height == 1 and bad.is_empty()


def test_a_dtype_that_cannot_be_coerced_rejects_the_frame(make_frame):
    f = make_frame("raw.option_quotes").with_columns(quote_date=pl.lit("yesterday"))
    with pytest.raises(ContractError):
        check_rows("raw.option_quotes", f)
