"""CBOE quotedata reader: one test per quirk of the real exports, then the real files themselves."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from sources.base import SourceError
from sources.cboe_chain import parse
from sources.formats import detect, parse_file

HEADER = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
          "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest")
ROW = ("Mon Feb 07 2022,SPXW220207C04500000,10,0,9.5,10.5,120,0.2101,0.5123,0.0021,1500,4500.00,"
       "SPXW220207P04500000,9,0,8.9,9.8,80,0.2201,-0.4877,0.0020,2100")


def chain(date_line: str = '"Date: February 7, 2022 at 3:45 PM EST"', rows: list[str] | None = None,
          *, blank: bool = True, name: str = "S&P 500 INDEX", spot: str = "4500.25",
          header: str = HEADER, end: str = "\n") -> bytes:
    lines = ([""] if blank else []) + [
        f"{name},Last: {spot},Change:  -1.5",
        f"{date_line},Bid: 4499.1,Ask: 4501.2,Size: 1*1,Volume: 0",
        header,
        *(rows if rows is not None else [ROW]),
    ]
    return (end.join(lines) + end).encode()


def test_one_line_gives_a_call_and_a_put_with_the_line_number():
    p = parse(chain(), "x.csv")
    assert p.rejects.is_empty() and p.fatal is None
    assert p.rows.select("right", "strike", "bid", "ask", "open_interest", "iv", "gamma", "line").rows() == [
        ("C", 4500.0, 9.5, 10.5, 1500, 0.2101, 0.0021, 5),
        ("P", 4500.0, 8.9, 9.8, 2100, 0.2201, 0.0020, 5),
    ]
    row = p.rows.row(0, named=True)
    assert (row["root"], row["underlying"], row["expiry"], row["spot"]) == ("SPXW", "SPX", date(2022, 2, 7), 4500.25)
    assert row["quote_date"] == date(2022, 2, 7)
    assert row["quote_ts"] == datetime(2022, 2, 7, 20, 45)  # 3:45 PM EST in UTC
    assert p.partition_by == ("quote_date", "root")


def test_header_found_by_content_with_or_without_the_leading_blank_line():
    a = parse(chain(blank=True), "a.csv")
    b = parse(chain(blank=False), "b.csv")
    assert a.rows.drop("line").equals(b.rows.drop("line"))
    assert b.rows["line"].to_list() == [4, 4]


def test_trailing_commas_on_preamble_lines_and_integer_strike():
    row = ROW.replace("4500.00", "4500")
    data = chain('"Date: July 12, 2022, 11:55 AM EDT",,,,', [row], blank=False, spot="3856.28,,,,,,")
    p = parse(data, "t.csv")
    assert p.rejects.is_empty()
    assert p.rows["strike"].to_list() == [4500.0, 4500.0]
    assert p.meta["spot"] == 3856.28


@pytest.mark.parametrize(
    ("date_line", "utc"),
    [
        ('"Date: February 5 2022, 8:09 PM EST"', datetime(2022, 2, 6, 1, 9)),
        ('"Date: July 12, 2022, 11:55 AM EDT"', datetime(2022, 7, 12, 15, 55)),
        ("Date: 14 March 2026 at 07:34 GMT-4", datetime(2026, 3, 14, 11, 34)),
        ('"Date: September 25, 2025 at 9:05 PM EDT"', datetime(2025, 9, 26, 1, 5)),
        ('"Date: January 9, 2022, 3:11 AM EST"', datetime(2022, 1, 9, 8, 11)),
        ("Date: December 12, 2022 at 8:30 PM EST", datetime(2022, 12, 13, 1, 30)),
        ('"Date: 14 April 2023, 19:12 UTC\u22124"', datetime(2023, 4, 14, 23, 12)),
        ('"Date: 11 April, 2023 à 22:23 UTC\u22124"', datetime(2023, 4, 12, 2, 23)),
        ('"Date: 23 de marzo de 2022, 10:11 GMT-4"', datetime(2022, 3, 23, 14, 11)),
        ('"Date: 9 декабря 2023 г. в 13:49 GMT-5"', datetime(2023, 12, 9, 18, 49)),
    ],
)
def test_locale_tolerant_date_line(date_line, utc):
    p = parse(chain(date_line), "d.csv")
    assert p.meta["quote_ts"] == utc


def test_missing_year_is_a_clear_error_naming_the_line():
    with pytest.raises(SourceError) as e:
        parse(chain('"Date: February 5, 8:09 PM EST"'), "noyear.csv")
    assert str(e.value).startswith("noyear.csv:3: unreadable quote date: no year")


def test_weekend_snapshot_belongs_to_fridays_session_and_keeps_its_printed_date():
    p = parse(chain('"Date: February 5 2022, 8:09 PM EST"'), "sat.csv")
    assert p.meta["snapshot_date"] == date(2022, 2, 5)
    assert p.rows["quote_date"].unique().to_list() == [date(2022, 2, 4)]


def test_expired_expiries_are_kept_and_flagged():
    old = ROW.replace("Mon Feb 07 2022", "Fri Mar 13 2026").replace("220207", "260313")
    new = ROW.replace("Mon Feb 07 2022", "Mon Mar 16 2026").replace("220207", "260316")
    p = parse(chain("Date: 14 March 2026 at 07:34 GMT-4", [old, new]), "e.csv")
    assert p.rejects.is_empty()
    assert p.rows.group_by("expiry").agg(pl.col("expired").all()).sort("expiry").rows() == [
        (date(2026, 3, 13), True), (date(2026, 3, 16), False)]


def test_iv_zero_rows_are_kept():
    row = ROW.replace("0.2101,0.5123,0.0021", "0,1,0")
    p = parse(chain(rows=[row]), "iv0.csv")
    assert p.rejects.is_empty()
    assert p.rows.filter(pl.col("right") == "C")["iv"].to_list() == [0.0]


def test_root_from_the_option_symbol_and_spx_spxw_share_a_strike():
    spx = ROW.replace("SPXW220207", "SPX220207")
    p = parse(chain(rows=[spx, ROW]), "roots.csv")
    assert sorted(p.rows["root"].unique().to_list()) == ["SPX", "SPXW"]
    assert p.rows.height == 4 and p.rows["underlying"].unique().to_list() == ["SPX"]


def test_half_strikes_and_thousands_separators():
    row = ("Wed Oct 01 2025,SPY251001C00657500,1.5,0,1.4,1.6,\"1,234\",0.15,0.5,0.05,\"12,001\",657.50,"
           "SPY251001P00657500,1.3,0,1.2,1.4,987,0.16,-0.5,0.05,4321")
    p = parse(chain('"Date: September 25, 2025 at 9:05 PM EDT"', [row], name="SPDR S&P 500 ETF Trust",
                    spot="658.05"), "spy.csv")
    assert p.rejects.is_empty()
    calls = p.rows.filter(pl.col("right") == "C").row(0, named=True)
    assert (calls["strike"], calls["volume"], calls["open_interest"], calls["underlying"]) == (657.5, 1234, 12001, "SPY")


def test_crlf_and_unicode_minus_in_numbers():
    row = ROW.replace("0.5123", "\u22120.5123")
    p = parse(chain(rows=[row], end="\r\n"), "crlf.csv")
    assert p.rejects.is_empty()
    assert p.rows["delta"].to_list()[0] == -0.5123


def test_garbled_rows_go_to_rejects_with_line_and_reason():
    bad_bid = ROW.replace(",9.5,", ",abc,")
    bad_symbol = ROW.replace("SPXW220207P04500000", "GARBAGE")
    bad_expiry = ROW.replace("Mon Feb 07 2022", "Feb 30 2022")
    p = parse(chain(rows=[ROW.replace("4500", "4510"), bad_bid, bad_symbol, bad_expiry]), "g.csv")
    assert p.rows.height == 2
    assert p.rejects.select("line", "reason").rows() == [
        (6, "Bid (calls): abc is not a number"),
        (7, "bad put symbol GARBAGE"),
        (8, "bad expiration date Feb 30 2022"),
    ]
    assert p.rejects["raw"][0] == bad_bid


def test_strike_that_disagrees_with_the_symbol_is_refused():
    p = parse(chain(rows=[ROW.replace("4500.00", "4505.00")]), "k.csv")
    assert p.rows.is_empty()
    assert p.rejects["reason"].to_list() == ["strike 4505.0 does not match symbol strike 4500.0"]
    assert p.fatal is not None  # nothing readable at all


def test_duplicate_contract_keeps_the_first_line():
    p = parse(chain(rows=[ROW, ROW]), "dup.csv")
    assert p.rows["line"].unique().to_list() == [5]
    assert p.rejects.select("line", "reason").rows() == [(6, "duplicate contract (SPXW220207C04500000 C): first seen on line 5")]


def test_repeated_lines_are_parsed_once_and_refused_with_their_first_copys_reason():
    # A runaway export repeats its lines (bounded memory: only first copies are parsed). A repeat
    # gets what it got when every line was parsed: the duplicate of its contract's first line,
    # or the first copy's own reason; layout lines (bare commas) stay layout.
    same_contract = ROW.replace(",9.5,", ",9.4,")  # another text of line 5's contract
    bad = ROW.replace(",9.5,", ",abc,").replace("4500", "4510")
    rows = [ROW, ",,,", same_contract, bad, ROW, ",,,", same_contract, bad, ROW]
    p = parse(chain(rows=rows), "rep.csv")
    first = "duplicate contract (SPXW220207C04500000 C): first seen on line 5"
    assert p.rows["line"].unique().to_list() == [5]
    assert p.rejects.select("line", "reason").rows() == [
        (7, first), (8, "Bid (calls): abc is not a number"), (9, first), (11, first),
        (12, "Bid (calls): abc is not a number"), (13, first)]
    assert p.meta["data_lines"] == 7 and p.rows_read == 2 + 6


def test_truncated_file_is_fatal_with_file_and_line():
    data = chain(rows=[ROW, ROW.replace("4500", "4510")])
    cut = data[: data.rindex(b",8.9")]  # the file ends in the middle of the last row
    p = parse(cut, "cut.csv")
    assert p.fatal is not None
    assert p.fatal.one_line() == "cut.csv:6: file is truncated: the last row has 15 of 22 fields"
    assert p.rejects["line"].to_list() == [6]


def test_not_a_chain_at_all():
    with pytest.raises(SourceError, match="no option-chain header"):
        parse(b"hello,world\n1,2\n", "nope.csv")


def test_header_without_rows_is_fatal():
    p = parse(chain(rows=[]), "empty.csv")
    assert p.fatal is not None and "no option rows" in p.fatal.reason


def test_detected_by_content_not_name():
    assert detect(chain(), "whatever.txt").name == "cboe_quotedata"


# -- conformance over the real exports (../shared/realdata/cboe_chains) -------------------------

REAL = {
    # file: (spot, snapshot date, session, data lines, roots, expired lines)
    "spx_2022-02-05.csv": (4500.5298, date(2022, 2, 5), date(2022, 2, 4), 10257, ["SPX", "SPXW"], 0),
    "spx_2022-07-12_no_leading_blank.csv": (3856.28, date(2022, 7, 12), date(2022, 7, 12), 9689, ["SPX", "SPXW"], 0),
    "spx_2026-03-14_expired_rows.csv": (6632.1899, date(2026, 3, 14), date(2026, 3, 13), 972, ["SPX", "SPXW"], 18),
    "spy_2025-09-25.csv": (658.05, date(2025, 9, 25), date(2025, 9, 25), 1858, ["SPY"], 0),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_chain(realdata, name):
    spot, snapshot, session, lines, roots, expired_lines = REAL[name]
    p = parse_file(realdata / "cboe_chains" / name)
    assert p.rejects.is_empty() and p.fatal is None
    assert p.meta["spot"] == spot
    assert p.meta["snapshot_date"] == snapshot
    assert p.rows["quote_date"].unique().to_list() == [session]
    assert p.meta["data_lines"] == lines and p.rows.height == 2 * lines
    assert sorted(p.rows["root"].unique().to_list()) == roots
    assert p.rows.filter("expired").height == 2 * expired_lines


@pytest.mark.realdata
def test_real_spx_and_spxw_share_expiry_strike_pairs(realdata):
    p = parse_file(realdata / "cboe_chains" / "spx_2022-02-05.csv")
    pairs = p.rows.filter(pl.col("right") == "C").group_by("expiry", "strike").agg(pl.col("root").n_unique())
    assert pairs.filter(pl.col("root") == 2).height == 1936


def test_a_date_beyond_the_exchange_calendar_is_a_clear_error():
    with pytest.raises(SourceError) as e:
        parse(chain('"Date: February 7, 2099 at 3:45 PM EST"'), "far.csv")
    assert str(e.value).startswith("far.csv:3: quote date 2099-02-07: ")
