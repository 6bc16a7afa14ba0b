"""CFE VX readers: per-contract history (legacy and modern) and the daily settlement CSV."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sources.base import SourceError
from sources.cfe_vx import (
    contract_expiry,
    monthly_expiry,
    parse_history,
    parse_settlement,
    weekly_expiry,
)
from sources.formats import parse_file

HIST, SETTLE = "cfe_vx_history", "cfe_settlement"


def _by_date(p):
    return {r["trade_date"]: r for r in p.rows.iter_rows(named=True)}


@pytest.mark.parametrize(("year", "month", "expiry"), [
    (2007, 4, date(2007, 4, 18)),   # J07: Wednesday 30 days before Fri 2007-05-18
    (2014, 12, date(2014, 12, 17)),
    (2024, 1, date(2024, 1, 17)),
    (2022, 3, date(2022, 3, 15)),   # Apr 15 2022 is Good Friday: the business day before Wed Mar 16
    (2019, 12, date(2019, 12, 18)),
])
def test_monthly_expiry_rule(year, month, expiry):
    assert monthly_expiry(year, month) == expiry


@pytest.mark.parametrize(("label", "expiry", "weekly"), [
    ("J (Apr 07)", date(2007, 4, 18), False),
    ("F (Jan 2024)", date(2024, 1, 17), False),
    ("VX/F4", date(2024, 1, 17), False),
    ("VX35/U6", date(2026, 9, 2), True),    # from CFE's settlement file
    ("VX04/F0", date(2020, 1, 29), True),
])
def test_contract_labels(label, expiry, weekly):
    assert contract_expiry(label, date(2023, 6, 1)) == (expiry, weekly)


def test_weekly_expiry_counts_weeks_from_the_first_monday():
    assert weekly_expiry(2026, 2) == date(2026, 1, 14)
    assert weekly_expiry(2020, 9) == date(2020, 3, 4)


def test_contract_label_whose_code_and_month_disagree():
    assert contract_expiry("F (Feb 2024)", date(2023, 6, 1)) == (
        "contract label 'F (Feb 2024)': month code F is not Feb")


def test_legacy_file_rescales_prices_before_2007_03_26(fixtures):
    p = parse_file(fixtures / HIST / "CFE_J07_VX.csv")
    rows = _by_date(p)
    before, after = rows[date(2007, 3, 23)], rows[date(2007, 3, 26)]
    assert before["settle"] == pytest.approx(13.33) and before["close"] == pytest.approx(13.35)
    assert "price /10" in before["price_flag"]
    assert after["settle"] == 13.38 and after["price_flag"] is None
    # The vendor's Change on 03/26 (-119.92) mixed the scales; rescaled, the day moved +0.05.
    assert after["settle"] - before["settle"] == pytest.approx(0.05)
    assert p.meta["rescaled_rows"] == 3 and p.meta["layout"] == "legacy"
    assert {r["expiry"] for r in rows.values()} == {date(2007, 4, 18)}


def test_placeholder_rows_are_quarantined_no_trade_rows_kept(fixtures):
    p = parse_file(fixtures / HIST / "CFE_J07_VX.csv")
    assert p.rejects.select("line", "reason").rows() == [
        (2, "placeholder row: every price is zero (no trade, no settlement)")]
    no_trade = _by_date(p)[date(2006, 10, 23)]
    assert (no_trade["open"], no_trade["close"], no_trade["settle"]) == (None, None, 15.53)
    assert "no trade: open/high/low/close are zero" in no_trade["price_flag"]


def test_expiry_day_keeps_the_settle_without_a_close(fixtures):
    p = parse_file(fixtures / HIST / "CFE_J07_VX.csv")
    last = _by_date(p)[date(2007, 4, 18)]
    assert (last["close"], last["settle"], last["open_interest"]) == (None, 12.03, 7745)
    assert last["price_flag"] == ("no trade: open/high/low/close are zero; "
                                  "final settlement day: settle is the final settlement value")
    assert last["line"] == 9  # CRLF file, header on line 1


def test_disclaimer_line_before_the_header_and_high_below_low(fixtures):
    p = parse_file(fixtures / HIST / "CFE_Z14_VX.csv")
    assert p.rejects.is_empty()
    first = p.rows.row(0, named=True)
    assert first["line"] == 3 and first["trade_date"] == date(2014, 3, 24)
    assert (first["open"], first["high"], first["low"], first["close"]) == (None, 16.05, 20.05, None)
    assert first["price_flag"] == "zero open/close read as missing; high<low"
    assert set(p.rows["expiry"]) == {date(2014, 12, 17)}


def test_trailing_commas_and_crlf(fixtures):
    p = parse_file(fixtures / HIST / "CFE_M07_VX_trailing_commas.csv")
    assert p.rejects.is_empty() and p.rows.height == 2
    assert p.rows["settle"].to_list() == [15.02, 15.24]
    assert set(p.rows["expiry"]) == {date(2007, 6, 20)}  # Wed 30 days before Fri 2007-07-20


def test_modern_file_iso_dates_and_final_settlement(fixtures):
    p = parse_file(fixtures / HIST / "VX_2024-01-17.csv")
    assert p.meta["layout"] == "modern" and p.meta["expiries"] == ["2024-01-17"]
    last = p.rows.row(-1, named=True)
    assert (last["trade_date"], last["close"], last["settle"]) == (date(2024, 1, 17), 14.60, 15.13)
    assert last["price_flag"] == "final settlement day: settle is the final settlement value"
    assert p.partition_by == ("trade_date", "expiry") and p.mode == "replace"
    assert p.rows["weekly"].to_list() == [False] * 4


def test_bad_history_rows_have_reasons(fixtures):
    p = parse_file(fixtures / HIST / "VX_2024-01-17_bad_rows.csv")
    assert p.rows["line"].to_list() == [2]
    assert p.rejects.select("line", "reason").rows() == [
        (3, "contract label 'F (FEB 2024)': month code F is not Feb"),
        (4, "high: x is not a number"),
        (5, "truncated row: 3 of 11 fields"),
        (6, "trade date after the contract's final settlement date 2024-01-17"),
        (7, "duplicate (trade_date, expiry): first seen on line 2"),
    ]


def test_settlement_csv_keeps_vx_monthlies_and_weeklies_only(fixtures):
    p = parse_file(fixtures / SETTLE / "cfe_settlement_2026-08-21.csv")
    assert p.format == "cfe_settlement" and p.mode == "merge"
    assert p.rejects.is_empty()  # other products are ignored, not quarantined
    assert p.meta["other_products"] == ["IBHY", "VA", "VXM"] and p.meta["other_products_ignored"] == 3
    assert set(p.rows["trade_date"]) == {date(2026, 8, 21)}
    got = p.rows.select("contract", "expiry", "weekly", "settle").rows()
    assert got[:3] == [("VX35/U6", date(2026, 9, 2), True, 17.2528),
                       ("VX36/U6", date(2026, 9, 9), True, 17.2528),
                       ("VX/U6", date(2026, 9, 16), False, 17.2528)]
    assert p.rows.height == 7 and p.rows["open"].null_count() == 7


def test_settlement_csv_needs_its_trade_date_in_the_name():
    data = b"Product,Symbol,Expiration Date,Price\nVX,VX/U6,2026-09-16,17.25\n"
    with pytest.raises(SourceError, match="does not print its trade date"):
        parse_settlement(data, "csv")


def test_settlement_csv_with_header_only_is_an_error():
    with pytest.raises(SourceError, match="no VX rows"):
        parse_settlement(b"Product,Symbol,Expiration Date,Price\n", "settle_2022-09-16.csv")


def test_settlement_row_checks():
    data = (b"Product,Symbol,Expiration Date,Price\nVX,VX/U6,2026-10-21,17.25\n"
            b"VX,VX/V6,2026-10-21,-1\nVX,VX/Q6,2026-08-19,16.9\nVX,garbage,2026-10-21,1\n")
    p = parse_settlement(data, "cfe_2026-08-21.csv")
    assert p.rejects.select("line", "reason").rows() == [
        (2, "symbol VX/U6 does not expire in the month of 2026-10-21"),
        (3, "price -1.0 is not positive"),
        (4, "contract expired (2026-08-19) before the trade date"),
        (5, "bad VX symbol garbage"),
    ]
    assert p.fatal is not None


def test_history_without_header_is_an_error():
    with pytest.raises(SourceError, match="not a CFE VX history file"):
        parse_history(b"hello\n", "x.csv")


@pytest.mark.realdata
def test_real_j07_rescaled_and_consistent(realdata):
    p = parse_file(realdata / "cfe_vx" / "CFE_J07_VX.csv")
    assert p.rows.height == 121 and p.rejects.height == 1  # the 10/20/2006 all-zero listing row
    rows = _by_date(p)
    assert rows[date(2007, 3, 23)]["settle"] == pytest.approx(13.33)
    assert rows[date(2007, 3, 26)]["settle"] == 13.38
    # No jump across the re-denomination: the largest day-over-day settle move is a normal one.
    s = p.rows.sort("trade_date")["settle"]
    assert (s.diff().abs().max()) < 2.0
    assert p.meta["rescaled_rows"] == 104
    assert set(p.rows["expiry"]) == {date(2007, 4, 18)}
    assert rows[date(2007, 4, 18)]["settle"] == 12.03 and rows[date(2007, 4, 18)]["close"] is None


@pytest.mark.realdata
def test_real_z14_disclaimer_skipped(realdata):
    p = parse_file(realdata / "cfe_vx" / "CFE_Z14_VX.csv")
    assert p.rejects.is_empty() and p.rows.height == 188
    assert p.rows["line"].min() == 3
    first = p.rows.sort("trade_date").row(0, named=True)
    assert "high<low" in first["price_flag"]
    last = p.rows.sort("trade_date").row(-1, named=True)
    assert (last["trade_date"], last["expiry"], last["settle"]) == (
        date(2014, 12, 17), date(2014, 12, 17), 24.09)


@pytest.mark.realdata
def test_real_modern_excerpt(realdata):
    p = parse_file(realdata / "cfe_vx" / "VX_2024-01-17_EXCERPT_head_tail.csv")
    assert p.rejects.is_empty() and p.rows.height == 24
    last = p.rows.filter(pl.col("trade_date") == date(2024, 1, 17)).row(0, named=True)
    assert (last["close"], last["settle"]) == (14.60, 15.13)
