"""Breadth readers: Unicorn per-field files (merged), the generic CSV, breadth from closes."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sources.base import SourceError
from sources.breadth import parse_constituents, parse_unicorn
from sources.calendar import sessions_between
from sources.formats import parse_bytes, parse_file
from warehouse.db import Warehouse


def test_unicorn_field_and_exchange_from_the_name_holidays_refused(fixtures):
    p = parse_file(fixtures / "unicorn_breadth" / "NYSE_advn.csv")
    assert p.mode == "merge" and p.partition_by == ("exchange", "date")
    assert p.meta["field"] == "advances" and p.meta["exchange"] == "NYSE"
    assert p.rows.select("exchange", "date", "advances", "declines", "line").rows() == [
        ("NYSE", date(2014, 1, 2), 1039, None, 1),
        ("NYSE", date(2014, 1, 3), 1974, None, 2),
        ("NYSE", date(2014, 1, 6), 1442, None, 5),
    ]
    assert p.rejects.select("line", "reason").rows() == [
        (3, "not an XNYS session (exchange holiday)"),  # MLK day 2014
        (4, "Saturday: not an XNYS session"),
    ]


def test_unicorn_volume_in_thousands_before_2002_06_20(fixtures):
    p = parse_file(fixtures / "unicorn_breadth" / "NYSE_declv_2002.csv")
    assert p.rows.select("date", "down_volume").rows() == [
        (date(2002, 6, 18), 812_345_000.0), (date(2002, 6, 19), 901_234_000.0),
        (date(2002, 6, 20), 987_654_321.0), (date(2002, 6, 21), 1_023_456_789.0)]
    assert p.meta["volume_in_thousands_rows"] == 2


def test_unicorn_needs_field_and_exchange_in_the_name():
    with pytest.raises(SourceError, match="name it <EXCHANGE>_<field>.csv"):
        parse_unicorn(b"20140102, 1039\n", "breadth.csv")
    with pytest.raises(SourceError):
        parse_unicorn(b"20140102, 1039\n", "advn.csv")


def test_unicorn_counts_must_be_whole_and_not_negative():
    p = parse_unicorn(b"20140102, 10.5\n20140103, -3\n20140106, 12\n", "NYSE_unchn.csv")
    assert p.rejects["reason"].to_list() == ["unchanged 10.5 is not a whole count",
                                            "unchanged -3 is negative"]


def test_unicorn_files_merge_into_one_row_per_day(fixtures):
    adv = parse_unicorn(b"20140102, 1039\n20140103, 1974\n", "NYSE_advn_2014.csv")
    dec = parse_unicorn(b"20140102, 2080\n20140106, 1674\n", "NYSE_decln_2014.csv")
    wh = Warehouse.memory()
    for p in (adv, dec):
        wh.write(p.table, p.rows, by=p.partition_by, mode=p.mode)
    got = wh.sql("select date, advances, declines from raw.breadth order by date").rows()
    assert got == [(date(2014, 1, 2), 1039, 2080), (date(2014, 1, 3), 1974, None),
                   (date(2014, 1, 6), None, 1674)]


def test_generic_breadth_csv(fixtures):
    p = parse_file(fixtures / "breadth_csv" / "breadth.csv")
    assert p.format == "breadth_csv" and p.mode == "replace"
    assert p.rows.height == 3
    first = p.rows.row(0, named=True)
    assert (first["exchange"], first["advances"], first["up_volume"], first["new_lows"]) == (
        "NYSE", 1200, 1.5e9, 60)
    assert p.rejects.select("line", "reason").rows() == [(5, "advances 1.5 is not a whole count")]


def test_generic_breadth_csv_with_some_columns_merges():
    p = parse_bytes(b"date,exchange,new_highs,new_lows\n2024-01-02,nasdaq,50,140\n", "b.csv")
    assert p.mode == "merge" and p.rows.select("exchange", "new_highs", "advances").row(0) == (
        "NASDAQ", 50, None)



def test_constituents_advances_declines_from_close_to_close(fixtures):
    p = parse_file(fixtures / "constituents_closes" / "SAMPLE500_closes.csv")
    assert p.format == "constituents_closes"
    assert p.rows.select("exchange", "date", "advances", "declines", "unchanged",
                         "new_highs").rows() == [
        ("SAMPLE500", date(2024, 1, 3), 1, 1, 1, None),   # the file's first day has no breadth
        ("SAMPLE500", date(2024, 1, 4), 2, 1, 0, None),
    ]
    assert p.meta["days_without_previous_close"] == 1
    assert p.rejects.select("line", "reason").rows() == [
        (11, "duplicate (date, symbol): first seen on line 10"),
        (12, "Saturday: not an XNYS session"),
    ]


def test_constituents_new_52_week_highs_and_lows_when_history_allows():
    days = sessions_between(date(2022, 1, 3), date(2023, 3, 1))[:254]
    lines = ["date,symbol,close,volume"]
    for i, d in enumerate(days):
        up = 100 + i                       # a new high every day once 252 closes exist
        down = 500 - i if i < 253 else 300  # a new low at day 252, then back inside the range
        lines += [f"{d},UP,{up},10", f"{d},DN,{down},20"]
    p = parse_constituents(("\n".join(lines) + "\n").encode(), "SAMPLE500_closes.csv")
    rows = {r["date"]: r for r in p.rows.iter_rows(named=True)}
    assert rows[days[251]]["new_highs"] is None  # 251 prior closes: not enough
    d252 = rows[days[252]]
    assert (d252["new_highs"], d252["new_lows"], d252["advances"], d252["declines"]) == (1, 1, 1, 1)
    assert (d252["up_volume"], d252["down_volume"]) == (10.0, 20.0)
    assert rows[days[253]]["new_lows"] == 0  # DN back inside its 52-week range
    assert rows[days[253]]["new_highs"] == 1


def test_constituents_universe_column_wins_over_the_name():
    data = b"date,symbol,close,exchange\n2024-01-02,A,1,xnys\n2024-01-03,A,2,xnys\n"
    p = parse_constituents(data, "closes.csv")
    assert p.rows["exchange"].to_list() == ["NYSE"]


@pytest.mark.realdata
def test_real_unicorn_2014_files_merge_to_the_full_year(realdata):
    files = sorted((realdata / "breadth").glob("NYSE_*_2014.csv"))
    assert len(files) == 5
    wh = Warehouse.memory()
    for f in files:
        p = parse_file(f)
        assert p.rejects.is_empty() and p.fatal is None and p.rows.height == 252
        wh.write(p.table, p.rows, by=p.partition_by, mode=p.mode)
    b = wh.table("raw.breadth", order_by="date")
    assert b.height == 252 and b["date"].min() == date(2014, 1, 2) and b["date"].max() == date(2014, 12, 31)
    first = b.row(0, named=True)
    assert (first["advances"], first["declines"], first["unchanged"]) == (1039, 2080, 67)
    assert (first["up_volume"], first["down_volume"]) == (975545995.0, 2011062500.0)
    # (no NYSE_unchv.csv among the real 2014 files: unchanged_volume stays null)
    filled = b.select(pl.exclude("new_highs", "new_lows", "unchanged_volume", "batch_id", "file_id"))
    assert filled.null_count().sum_horizontal().item() == 0
    # every row is an XNYS session of 2014
    assert b["date"].to_list() == sessions_between(date(2014, 1, 1), date(2014, 12, 31))


def test_unicorn_unchanged_volume_loads_like_the_other_fields(fixtures):
    """NYSE_unchv.csv (unchanged volume, shares after 2002-06-20) is read like advv/declv."""
    p = parse_file(fixtures / "unicorn_breadth" / "NYSE_unchv.csv")
    assert p.format == "unicorn_breadth" and p.mode == "merge" and p.rejects.is_empty()
    assert p.rows.select("exchange", "date", "unchanged_volume").row(0) == (
        "NYSE", date(2014, 1, 2), 21_734_000.0)
    assert p.rows["advances"].null_count() == p.rows.height  # one column per file
