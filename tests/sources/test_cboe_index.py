"""Cboe index history reader: one test per quirk, then the real VIX / VIX3M slices."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sources.base import SourceError
from sources.cboe_index import parse, sniff
from sources.formats import parse_file

FIX = "cboe_index_history"


def test_ohlc_symbol_from_file_name_and_flags_kept_not_dropped(fixtures):
    p = parse_file(fixtures / FIX / "VIX_History.csv")
    assert p.fatal is None and p.rejects.is_empty()
    assert p.partition_by == ("symbol", "date")
    assert set(p.rows["symbol"]) == {"VIX"}
    flags = dict(zip(p.rows["date"], p.rows["ohlc_flag"], strict=True))
    # O=H=L=C bars (Cboe's early history) are fine
    assert flags[date(1990, 1, 2)] is None
    # open 38.57 above high 38.09 (the full VIX file has 47 such bars): kept, flagged
    assert flags[date(2020, 11, 2)] == "open outside [low, high]"
    # open and close both below the low
    assert flags[date(2020, 11, 3)] == "open outside [low, high]; close outside [low, high]"
    assert p.rows.filter(pl.col("date") == date(2020, 3, 16))["close"].item() == 82.69
    assert p.rows["line"].to_list() == [2, 3, 4, 5, 6, 7]


def test_close_only_layout_names_its_symbol():
    p = parse(b"DATE,SKEW\n01/02/2019,118.480000\n", "anything.csv")
    assert p.rows.select("symbol", "date", "close", "open").row(0) == (
        "SKEW", date(2019, 1, 2), 118.48, None)


def test_close_only_spx_fixture(fixtures):
    p = parse_file(fixtures / FIX / "SPX_History.csv")
    assert p.rows["symbol"].unique().to_list() == ["SPX"]
    assert p.rows["close"].to_list() == [2510.03, 2447.89, 2531.94]


def test_legacy_vixcurrent_with_disclaimer_crlf_and_unpadded_dates(fixtures):
    p = parse_file(fixtures / FIX / "vixcurrent.csv")
    assert p.meta == {"symbol": "VIX", "layout": "legacy"}
    assert p.rows.select("date", "open", "close", "line").rows() == [
        (date(2004, 1, 2), 17.96, 18.22, 3), (date(2004, 1, 5), 18.45, 17.49, 4)]


def test_bad_rows_are_refused_with_reasons(fixtures):
    p = parse_file(fixtures / FIX / "VIX9D_History_bad_rows.csv")
    assert p.rows["date"].to_list() == [date(2011, 1, 4)]
    assert p.rejects.select("line", "reason").rows() == [
        (3, "OPEN: abc is not a number"),
        (4, "bad date 13/45/2011"),
        (5, "CLOSE 0.0 is not positive"),
        (6, "duplicate (date): first seen on line 2"),
    ]


def test_truncated_download_is_fatal(fixtures):
    p = parse_file(fixtures / FIX / "VIX3M_History_truncated.csv")
    assert p.fatal is not None and p.fatal.line == 4
    assert "truncated" in p.fatal.reason


def test_ohlc_without_a_symbol_in_the_name_is_refused():
    with pytest.raises(SourceError, match="does not name its index"):
        parse(b"DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2019,1,2,0.5,1.5\n", "download.csv")


@pytest.mark.parametrize("head", [
    "DATE,VIXCLS\n2020-01-02,12.47\n",          # FRED (ISO dates)
    "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n",  # Stooq without volume
    "DATE,OPEN,HIGH,LOW\n01/02/2019,1,2,3\n",
])
def test_sniffer_leaves_lookalikes_alone(head):
    assert not sniff(head)


@pytest.mark.realdata
def test_real_vix_and_vix3m_slices(realdata):
    vix = parse_file(realdata / "cboe_index" / "VIX_History_2019_2020.csv")
    v3m = parse_file(realdata / "cboe_index" / "VIX3M_History_2019_2020.csv")
    for p, sym in ((vix, "VIX"), (v3m, "VIX3M")):
        assert p.fatal is None and p.rejects.is_empty()
        assert p.rows.height == 505 and set(p.rows["symbol"]) == {sym}
        assert p.rows["date"].min() == date(2019, 1, 2) and p.rows["date"].max() == date(2020, 12, 31)
    first = vix.rows.row(0, named=True)
    assert (first["open"], first["high"], first["low"], first["close"], first["line"]) == (
        27.54, 28.53, 23.05, 23.22, 2)
    # the March 2020 peak close
    assert vix.rows.filter(pl.col("date") == date(2020, 3, 16))["close"].item() == 82.69
