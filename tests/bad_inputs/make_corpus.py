"""Write the malformed-vendor-file corpus of tests/bad_inputs/files/ (deterministic; run it again
after changing a case: `.venv/bin/python tests/bad_inputs/make_corpus.py`).

Each file is a realistic vendor file with one thing wrong; EXPECTED.toml states what ingest must do
with it. Files are small (a few KB) but long enough that one bad row stays under the 1 % reject
ratio where the case is about quarantining rows rather than refusing the file.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).with_name("files")

# -- CBOE quotedata chains -----------------------------------------------------------------------

CHAIN_HEAD = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
              "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest")


def chain_lines(spot: float = 6005.25, expiries=(date(2026, 3, 6), date(2026, 3, 20)), n: int = 60) -> list[str]:
    out = []
    for e in expiries:
        dte = (e - date(2026, 3, 2)).days
        for i in range(n):
            k = 5250 + 25 * i
            m = math.log(k / spot)
            iv = 0.16 + 0.3 * m * m - 0.1 * m
            c_mid = max(spot - k, 0) + 8 + 0.2 * dte
            p_mid = max(k - spot, 0) + 8 + 0.2 * dte
            cd = max(min(0.5 - m * 8, 0.99), 0.01)
            sym = f"{e:%y%m%d}"
            out.append(
                f"{e:%a %b %d %Y},SPXW{sym}C0{k}000,{c_mid:.2f},0,{c_mid - 0.3:.2f},{c_mid + 0.3:.2f},{10 + i},"
                f"{iv:.4f},{cd:.4f},0.0012,{1000 + 10 * i},{k}.00,SPXW{sym}P0{k}000,{p_mid:.2f},0,"
                f"{p_mid - 0.3:.2f},{p_mid + 0.3:.2f},{20 + i},{iv:.4f},{cd - 1:.4f},0.0012,{2000 + 10 * i}")
    return out


def chain(lines: list[str], *, last: str = "6005.25", when: str = "March 2, 2026 at 4:15 PM EST",
          header: str = CHAIN_HEAD, name: str = "S&P 500 INDEX") -> str:
    pre = [f"{name},Last: {last},Change: 12.5", f'"Date: {when}",Bid: 0,Ask: 0,Size: 0*0,Volume: 0', header]
    return "\n".join(["", *pre, *lines]) + "\n"


def replace_field(line: str, index: int, value: str) -> str:
    f = line.split(",")
    f[index] = value
    return ",".join(f)


# -- Cboe index history, OHLC ----------------------------------------------------------------------

def sessions(start: date, n: int) -> list[date]:
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS", start="2020-01-01")
    days = [d.date() for d in cal.sessions if d.date() >= start]
    return days[:n]


def vix_rows(n: int = 250, start: date = date(2025, 1, 2)) -> list[tuple[date, float, float, float, float]]:
    out = []
    v = 16.0
    for i, d in enumerate(sessions(start, n)):
        v = max(10.0, v * (1 + 0.03 * math.sin(i / 7) + 0.01 * math.cos(i / 3)))
        out.append((d, v * 0.99, v * 1.04, v * 0.97, v))
    return out


def cboe_index(rows, *, fmt="{:.2f}") -> str:
    body = [f"{d:%m/%d/%Y}," + ",".join(fmt.format(x) for x in (o, h, lo, c)) for d, o, h, lo, c in rows]
    return "DATE,OPEN,HIGH,LOW,CLOSE\n" + "\n".join(body) + "\n"


def yahoo(rows) -> str:
    body = [f"{d:%Y-%m-%d},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{c:.2f},{1_000_000 + i}"
            for i, (d, o, h, lo, c) in enumerate(rows)]
    return "Date,Open,High,Low,Close,Adj Close,Volume\n" + "\n".join(body) + "\n"


def spx_rows(n: int = 250):
    return [(d, 5000 + i, 5010 + i, 4990 + i, 5005 + i) for i, (d, *_) in enumerate(vix_rows(n))]


# -- CFE VX history ---------------------------------------------------------------------------------

def vx_history(n: int = 150, expiry_label: str = "H (Mar 2026)", last: date = date(2026, 3, 17)) -> list[str]:
    days = [d for d in sessions(date(2025, 6, 2), 400) if d <= last][-n:]
    out = []
    for i, d in enumerate(days):
        p = 18 + 2 * math.sin(i / 9)
        out.append(f"{d:%Y-%m-%d},{expiry_label},{p:.4f},{p + 0.4:.4f},{p - 0.4:.4f},{p + 0.1:.4f},"
                   f"{p + 0.1:.4f},0.05,{1000 + i},0,{20000 + 10 * i}")
    return out


VX_HEAD = "Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest"


# -- funding ------------------------------------------------------------------------------------------

def binance_archive(n: int = 150, start: datetime = datetime(2026, 1, 1)) -> list[str]:
    out = []
    for i in range(n):
        ts = int((start + timedelta(hours=8 * i)).timestamp() * 1000) + (i % 3)
        out.append(f"{ts},8,{0.0001 + 0.00002 * math.sin(i / 5):.8f}")
    return out


def hyperliquid(n: int = 150, start: datetime = datetime(2026, 1, 1)) -> list[dict]:
    return [{"coin": "ETH", "fundingRate": f"{0.0000125 + 0.000002 * math.sin(i / 4):.7f}",
             "premium": "-0.00021", "time": int((start + timedelta(hours=i)).timestamp() * 1000) + 41}
            for i in range(n)]


def bybit(rows: list[dict], ret: int = 0) -> str:
    return json.dumps({"retCode": ret, "retMsg": "OK" if ret == 0 else "params error: symbol invalid",
                       "result": {"category": "linear", "list": rows}, "retExtInfo": {},
                       "time": 1767312000000}, indent=2) + "\n"


def bybit_rows(n: int = 150, start: datetime = datetime(2026, 1, 1)) -> list[dict]:
    return [{"symbol": "BTCUSDT", "fundingRate": f"{0.0001 - 0.00001 * (i % 4):.5f}",
             "fundingRateTimestamp": str(int((start + timedelta(hours=8 * i)).timestamp() * 1000))}
            for i in reversed(range(n))]


# -- breadth, macro ---------------------------------------------------------------------------------

BREADTH_HEAD = "date,exchange,advances,declines,unchanged,up_volume,down_volume,new_highs,new_lows"


def breadth_rows(n: int = 150) -> list[str]:
    return [f"{d:%Y-%m-%d},NYSE,{1500 + (i * 37) % 400},{1300 + (i * 53) % 500},{80 + i % 20},"
            f"{1.5e9 + i * 1e6:.0f},{1.3e9 + i * 1e6:.0f},{40 + i % 30},{20 + i % 25}"
            for i, (d, *_) in enumerate(vix_rows(n))]


def unicorn(n: int = 150) -> list[str]:
    return [f"{d:%Y%m%d}, {1500 + (i * 37) % 400}" for i, (d, *_) in enumerate(vix_rows(n, date(2014, 1, 2)))]


def fred(n: int = 150, series: str = "DTWEXBGS") -> list[str]:
    return [f"{d:%Y-%m-%d},{120 + math.sin(i / 10):.4f}" for i, (d, *_) in enumerate(vix_rows(n))]


def write(name: str, content: str | bytes) -> None:
    path = OUT / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    lines = chain_lines()

    # CBOE chains
    write("chain_truncated.csv", chain(lines)[:-60])  # cut inside the last row, no final newline
    write("chain_semicolon_delimited.csv", chain(lines).replace(",", ";"))
    write("chain_missing_open_interest.csv", chain(
        [",".join(x.split(",")[:10] + x.split(",")[11:21]) for x in lines],
        header=",".join(h for i, h in enumerate(CHAIN_HEAD.split(",")) if i not in (10, 21))))
    write("chain_strike_renamed.csv", chain(lines, header=CHAIN_HEAD.replace(",Strike,", ",Strike Price,")))
    bad = list(lines)
    bad[5] = replace_field(bad[5], 10, "-40")      # call open interest < 0
    bad[50] = replace_field(bad[50], 21, "-3")     # put open interest < 0
    write("chain_negative_open_interest.csv", chain(bad))
    bad = list(lines)
    bad[7] = replace_field(bad[7], 7, "NaN")
    write("chain_nan_iv.csv", chain(bad))
    bad = list(lines)
    bad[12] = replace_field(replace_field(bad[12], 4, "30.00"), 5, "29.00")  # call bid 30 > ask 29
    write("chain_crossed_quote.csv", chain(bad))
    write("chain_wrong_underlying_spot.csv", chain(lines, last="14.21"))  # a VIX level on an SPX chain
    write("chain_future_date.csv", chain(lines, when="June 1, 2026 at 4:15 PM EDT"))
    write("chain_far_future_date.csv", chain(lines, when="March 2, 2099 at 4:15 PM EST"))
    write("chain_duplicated_rows.csv", chain(lines[:30] + [lines[10], lines[11]] + lines[30:]))
    # Excel re-saved half of it: cp1252 bytes inside an otherwise UTF-8 file
    text = chain(lines, name="S&P 500 INDEX \u2013 Options").encode("utf-8")
    write("chain_mixed_encoding.csv", text.replace(b"S&P 500 INDEX \xe2\x80\x93", b"S&P 500 INDEX \x96"))
    write("chain_binary_garbage.csv", bytes((i * 97 + 13) % 256 for i in range(3000)))
    # Issue 14: one chain per file, expiry vs symbol, stray bytes, hostile numbers, error pages
    write("chain_two_chains_concatenated.csv", chain(lines) + chain(lines, last="6100.25"))
    bad = list(lines)
    bad[20] = bad[20].replace("Fri Mar 06 2026", "Fri Mar 13 2026", 1)  # symbol says 260306
    write("chain_expiry_vs_symbol.csv", chain(bad))
    bad = list(lines)
    bad[30] = bad[30].replace(",", ',"', 1)
    write("chain_stray_quote.csv", chain(bad))
    bad = list(lines)
    bad[30] = replace_field(bad[30], 4, "1\x01")
    write("chain_control_byte.csv", chain(bad))
    bad = list(lines)
    bad[40] = replace_field(bad[40], 9, "1e308")  # call gamma
    write("chain_gamma_1e308.csv", chain(bad))
    write("vendor_503_page.csv", "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title>"
          "</head><body><h1>Service Unavailable</h1></body></html>\n")
    write("chain_empty.csv", b"")
    write("chain_header_only.csv", chain([]))

    # Cboe index history
    rows = vix_rows()
    jump = list(rows)
    d, o, h, lo, c = jump[120]
    jump[120] = (d, o * 10, h * 10, lo * 10, c * 10)
    write("VIX_History_10x_jump.csv", cboe_index(jump))
    extra = list(rows)
    extra.insert(100, (date(2025, 5, 31), 18.0, 18.5, 17.5, 18.1))    # a Saturday
    extra.insert(200, (date(2025, 12, 25), 15.0, 15.5, 14.5, 15.1))   # Christmas
    write("VIX_History_non_trading_days.csv", cboe_index(sorted(extra)))
    write("VIX_History_future_row.csv", cboe_index([*rows, (date(2099, 1, 2), 15.0, 15.5, 14.5, 15.2)]))
    body = cboe_index(rows).splitlines()
    body[60] = body[60].rsplit(",", 1)[0] + ",n/a"
    write("VIX_History_non_numeric.csv", "\n".join(body) + "\n")
    write("VIX_History_x100.csv", cboe_index([(d, o * 100, h * 100, lo * 100, c * 100)
                                              for d, o, h, lo, c in vix_rows()]))
    write("VIX_History_truncated.csv", cboe_index(rows)[:-9])
    write("VIX_History_wrong_delimiter.csv", cboe_index(rows).replace(",", "\t"))
    write("SPX_History_duplicated_dates.csv",
          "DATE,SPX\n" + "\n".join(f"{d:%m/%d/%Y},{c:.2f}" for d, *_, c in [*rows[:50], rows[49], *rows[50:]]) + "\n")

    # CFE VX futures history
    vx = vx_history()
    write("CFE_H26_VX_missing_settle.csv",
          "Trade Date,Futures,Open,High,Low,Close,Change,Total Volume,EFP,Open Interest\n"
          + "\n".join(",".join(x.split(",")[:6] + x.split(",")[7:]) for x in vx) + "\n")
    bad = list(vx)
    bad[40] = replace_field(bad[40], 10, "-5")
    write("CFE_H26_VX_negative_open_interest.csv", VX_HEAD + "\n" + "\n".join(bad) + "\n")
    bad = list(vx)
    bad[70] = replace_field(bad[70], 6, "abc")
    write("CFE_H26_VX_non_numeric_settle.csv", VX_HEAD + "\n" + "\n".join(bad) + "\n")
    write("CFE_H26_VX_empty_body.csv", VX_HEAD + "\n")

    # Funding
    arch = binance_archive()
    bad = list(arch)
    bad[33] = bad[33].replace(",8,", ",3,")
    write("BTCUSDT-fundingRate-2026-01_interval_3h.csv",
          "calc_time,funding_interval_hours,last_funding_rate\n" + "\n".join(bad) + "\n")
    bad = list(arch)
    bad[90] = bad[90].rsplit(",", 1)[0] + ",0.05000000"  # 5 % per 8 h: above Binance's cap
    write("BTCUSDT-fundingRate-2026-01_rate_above_cap.csv",
          "calc_time,funding_interval_hours,last_funding_rate\n" + "\n".join(bad) + "\n")
    write("BTCUSDT-fundingRate-2026-01_renamed_columns.csv",
          "time,hours,rate\n" + "\n".join(arch) + "\n")
    pct = [f"{r.rsplit(',', 1)[0]},{float(r.rsplit(',', 1)[1]) * 100:.8f}" for r in arch]
    write("BTCUSDT-fundingRate-2026-01_percent.csv",  # percent written where a fraction belongs
          "calc_time,funding_interval_hours,last_funding_rate\n" + "\n".join(pct) + "\n")
    hl = hyperliquid()
    hl[20]["fundingRate"] = "abc"
    write("hyperliquid_fundingHistory_ETH_non_numeric.json", json.dumps(hl, indent=1) + "\n")
    write("hyperliquid_fundingHistory_ETH_truncated.json", json.dumps(hyperliquid(), indent=1)[:-400])
    write("bybit_funding_history_error.json", bybit([], ret=10001))
    rows_b = bybit_rows()
    write("bybit_funding_history_duplicates.json", bybit(rows_b[:60] + rows_b[59:61] + rows_b[61:]))

    # Breadth
    b = breadth_rows()
    bad = list(b)
    bad[30] = bad[30].split(",")[0] + ",NYSE,0,0,0,0,0,0,0"
    write("breadth_zero_issues.csv", BREADTH_HEAD + "\n" + "\n".join(bad) + "\n")
    bad = list(b)
    bad[75] = replace_field(bad[75], 2, "-12")
    write("breadth_negative_advances.csv", BREADTH_HEAD + "\n" + "\n".join(bad) + "\n")
    u = unicorn()
    u.insert(10, "20140118, 1234")  # a Saturday
    write("NYSE_advn_saturday.csv", "\n".join(u) + "\n")
    u = unicorn()
    u[40] = u[40].split(",")[0] + ", 10123456"  # ten million issues advancing
    write("NYSE_advn_ten_million.csv", "\n".join(u) + "\n")

    # Yahoo / Stooq
    jump = list(spx_rows())
    d, o, h, lo, c = jump[80]
    jump[80] = (d, o * 10, h * 10, lo * 10, c * 10)
    write("GSPC_yahoo_10x_jump.csv", yahoo(jump))
    write("GSPC_yahoo_missing_close.csv", "Date,Open,High,Low,Volume\n" + "\n".join(
        f"{d:%Y-%m-%d},{o:.2f},{h:.2f},{lo:.2f},100" for d, o, h, lo, c in spx_rows()) + "\n")
    write("spx_d_stooq_semicolons.csv", "Date;Open;High;Low;Close;Volume\n" + "\n".join(
        f"{d:%Y-%m-%d};{o:.2f};{h:.2f};{lo:.2f};{c:.2f};100" for d, o, h, lo, c in spx_rows()) + "\n")

    # FRED / macro calendar
    fr = fred()
    bad = list(fr)
    bad[44] = bad[44].split(",")[0] + ",twelve"
    write("DTWEXBGS_non_numeric.csv", "observation_date,DTWEXBGS\n" + "\n".join(bad) + "\n")
    write("DTWEXBGS_future_row.csv", "observation_date,DTWEXBGS\n" + "\n".join([*fr, "2099-01-02,121.5"]) + "\n")
    write("macro_events_impossible_dates.csv",
          "date,event,time_et\n2026-02-11,CPI,08:30\n2026-02-30,PPI,08:30\n2026-13-01,FOMC,14:00\n")


if __name__ == "__main__":
    main()
