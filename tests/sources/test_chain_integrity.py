"""A chain file holds one chain: its expiry column agrees with the OSI symbols, a second preamble
is an error naming its line, control bytes are refused with their line (sources/cboe_chain.py)."""

from __future__ import annotations

import pytest

from sources.base import SourceError
from sources.cboe_chain import parse
from sources.formats import parse_bytes

HEAD = (
    "\nS&P 500 INDEX,Last: 4500.25,Change:  -1.5\n"
    '"Date: February 7, 2022 at 3:45 PM EST",Bid: 1,Ask: 2,Size: 1*1,Volume: 0\n'
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
    "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest\n"
)


def row(strike: int, expiry: str = "Fri Feb 18 2022") -> str:
    return (f"{expiry},SPX220218C0{strike}000,1,0,1,2,3,0.2,0.5,0.001,100,{strike}.00,"
            f"SPX220218P0{strike}000,1,0,1,2,3,0.2,-0.5,0.001,100\n")


def test_expiry_column_must_match_the_symbol():
    text = HEAD + row(4500) + row(4505, "Fri Feb 25 2022") + row(4510)
    p = parse(text.encode(), "c.csv")
    assert p.rows.height == 4
    assert p.rejects.rows() == [(6, row(4505, "Fri Feb 25 2022").strip(),
                                 "expiration date Fri Feb 25 2022 does not match the symbol's date 220218")]


def test_a_second_chain_in_one_file_is_an_error_naming_its_line():
    text = HEAD + row(4500) + row(4505) + HEAD + row(4500)
    with pytest.raises(SourceError) as e:
        parse(text.encode(), "two.csv")
    # lines: 1 blank, 2 name, 3 date, 4 header, 5-6 rows, 7 blank, 8 the second 'Last:' line
    assert e.value.one_line().startswith("two.csv:8: a second chain starts here")


def test_a_control_byte_is_one_line_with_its_line_number():
    text = HEAD + row(4500) + row(4505).replace(",1,2,3,", ",1\x01,2,3,", 1)
    with pytest.raises(SourceError) as e:
        parse(text.encode(), "ctl.csv")
    msg = e.value.one_line()
    assert msg.startswith("ctl.csv:6: control byte 0x01 at column") and len(msg) < 200


def test_a_stray_quote_is_one_short_line():
    text = HEAD + row(4500) + row(4505).replace(",1,0,", ',"1,0,', 1) + row(4510)
    with pytest.raises(SourceError) as e:
        parse_bytes(text.encode(), "q.csv")
    msg = e.value.one_line()
    assert msg.startswith('q.csv:6: unbalanced double quote (")') and len(msg) < 200
