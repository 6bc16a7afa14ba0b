"""Index bars from Yahoo, yfinance (3-row header), yahoo_fin and Stooq (English and Polish)."""

from __future__ import annotations

from datetime import date

import pytest

from sources.base import SourceError
from sources.formats import detect, parse_bytes, parse_file
from sources.index_ohlc import symbol_from_name


@pytest.mark.parametrize(("name", "symbol"), [
    ("^GSPC.csv", "SPX"), ("%5EGSPC.csv", "SPX"), ("spx_d.csv", "SPX"), ("^spx_d.csv", "SPX"),
    ("yahoo_GSPC_2001_excerpt.csv", "SPX"), ("stooq_polish_header_spx_d.csv", "SPX"),
    ("^VIX.csv", "VIX"), ("VXV.csv", "VIX3M"), ("AAPL.csv", "AAPL"), ("my prices.csv", None),
])
def test_symbol_from_file_name(name, symbol):
    assert symbol_from_name(name) == symbol


def test_classic_yahoo_null_row_refused(fixtures):
    p = parse_file(fixtures / "yahoo_csv" / "^GSPC.csv")
    assert p.format == "yahoo_csv" and p.meta["symbol_from"] == "file name"
    assert p.rows.select("symbol", "date", "open", "close", "volume").rows() == [
        ("SPX", date(2001, 1, 2), 1320.280029, 1283.27002, 1129400000.0),
        ("SPX", date(2001, 1, 3), 1283.27002, 1347.560059, 1880700000.0),
    ]
    assert p.rejects.select("line", "reason").rows() == [(4, "no prices on this row (null)")]


def test_yfinance_three_header_rows_two_tickers(fixtures):
    p = parse_file(fixtures / "yfinance_csv" / "yf_download_SPX_VIX.csv")
    assert p.format == "yfinance_csv" and p.meta["symbols"] == ["SPX", "VIX"]
    spx = p.rows.filter(symbol="SPX").sort("date").row(0, named=True)
    # yfinance orders Close,High,Low,Open: columns are read by name, not position
    assert (spx["open"], spx["high"], spx["low"], spx["close"], spx["line"]) == (
        4745.2001953125, 4754.330078125, 4722.669921875, 4742.830078125, 4)
    vix = p.rows.filter(symbol="VIX").sort("date")
    assert vix["close"].to_list() == [13.199999809265137, 14.039999961853027]
    assert p.rows.height == 4 and p.rejects.is_empty()


def test_yahoo_fin_lowercase_with_ticker_column(fixtures):
    p = parse_file(fixtures / "yahoo_fin_csv" / "yahoo_fin_spx.csv")
    assert p.format == "yahoo_fin_csv"
    assert p.rows.select("symbol", "date", "close").rows() == [
        ("SPX", date(2020, 1, 2), 3257.85009765625), ("SPX", date(2020, 1, 3), 3234.85009765625)]


def test_stooq_english_row_without_volume(fixtures):
    p = parse_file(fixtures / "stooq_csv" / "^spx_d.csv")
    assert p.format == "stooq_csv" and p.rejects.is_empty()
    assert p.rows["volume"].to_list() == [1504833333.0, None, 2477838889.0]
    assert set(p.rows["symbol"]) == {"SPX"}


def test_stooq_polish_header_bom_crlf_no_volume_column(fixtures):
    p = parse_file(fixtures / "stooq_csv" / "vix_d_polish_bom.csv")
    assert p.rows.select("symbol", "date", "high", "close", "volume", "line").rows() == [
        ("VIX", date(2020, 3, 16), 83.56, 82.69, None, 2),
        ("VIX", date(2020, 3, 17), 84.83, 75.91, None, 3)]


def test_unnamed_download_is_refused():
    with pytest.raises(SourceError, match="does not name its ticker"):
        parse_bytes(b"Date,Open,High,Low,Close,Adj Close,Volume\n2001-01-02,1,2,0.5,1.5,1.5,0\n",
                    "download (1).csv")


def test_bars_outside_their_range_are_flagged():
    p = parse_bytes(b"Date,Open,High,Low,Close,Volume\n2020-01-02,10,9,8,8.5,1\n", "spx_d.csv")
    assert p.rows["ohlc_flag"].to_list() == ["open outside [low, high]"]


@pytest.mark.realdata
def test_real_stooq_polish_header(realdata):
    path = realdata / "index_ohlc" / "stooq_polish_header_spx_d.csv"
    assert detect(path.read_bytes()).name == "stooq_csv"
    p = parse_file(path)
    assert p.rejects.is_empty() and p.rows.height == 2735 and set(p.rows["symbol"]) == {"SPX"}
    first, last = p.rows.row(0, named=True), p.rows.row(-1, named=True)
    assert (first["date"], first["open"], first["close"], first["volume"]) == (
        date(2015, 1, 2), 2058.9, 2058.2, 1504833333.0)
    assert (last["date"], last["close"]) == (date(2025, 11, 14), 6734.11)


@pytest.mark.realdata
def test_real_yahoo_gspc_2001(realdata):
    p = parse_file(realdata / "index_ohlc" / "yahoo_GSPC_2001_excerpt.csv")
    assert p.format == "yahoo_csv" and p.rejects.is_empty() and p.rows.height == 399
    assert p.rows.row(0, named=True)["close"] == 1283.27002
    assert set(p.rows["symbol"]) == {"SPX"}
