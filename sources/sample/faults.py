"""Planted vendor faults for the corruption benchmark and tests: each takes one night's drop (file
name -> bytes, plus the previous night's drop) and returns the drop with one kind of damage.

Writes nothing and reads nothing: bytes in, bytes out. Deterministic (no randomness).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

Drop = dict[str, bytes]
CHAIN = "spx_quotedata.csv"
VIX_CHAIN = "vix_quotedata.csv"


@dataclass(frozen=True)
class Fault:
    name: str
    family: str  # chain | index | vx | funding | breadth | bytes
    target: str  # file name, or a regex over names
    plant: Callable[[bytes, Drop], bytes | None]  # (tonight's bytes, yesterday's drop) -> damaged


def _lines(b: bytes) -> list[str]:
    return b.decode("utf-8").split("\n")


def _join(lines: list[str]) -> bytes:
    return "\n".join(lines).encode("utf-8")


def _chain_split(b: bytes) -> tuple[list[str], int, list[str]]:
    ls = _lines(b)
    h = next(i for i, ln in enumerate(ls) if ln.startswith("Expiration Date"))
    return ls, h, ls[h].split(",")


def _body_rows(ls: list[str], h: int) -> list[int]:
    return [i for i in range(h + 1, len(ls)) if ls[i].count(",") > 10]


def _pick_row(ls: list[str], h: int, want=lambda f: True) -> int:
    rows = _body_rows(ls, h)
    good = [i for i in rows if want(ls[i].split(","))]
    return good[len(good) // 2]


def _edit_field(b: bytes, col: int, value: str, want=lambda f: True) -> bytes:
    ls, h, _ = _chain_split(b)
    i = _pick_row(ls, h, want)
    f = ls[i].split(",")
    f[col] = value
    ls[i] = ",".join(f)
    return _join(ls)


# Column positions in the quotedata layout (Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,
# Delta,Gamma,Open Interest,Strike,Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest)
C_LAST, C_BID, C_ASK, C_VOL, C_IV, C_DELTA, C_GAMMA, C_OI, STRIKE = 2, 4, 5, 6, 7, 8, 9, 10, 11
P_LAST, P_BID, P_ASK, P_OI, P_GAMMA = 13, 15, 16, 21, 20


def _oi_big(f: list[str]) -> bool:
    return f[C_OI].isdigit() and int(f[C_OI]) > 1000


def oi_spike(b: bytes, prev: Drop) -> bytes:
    return _edit_field(b, C_OI, "999999999999", _oi_big)


def gamma_1e308(b: bytes, prev: Drop) -> bytes:
    return _edit_field(b, C_GAMMA, "1e308", _oi_big)


def bid_ask_1e308(b: bytes, prev: Drop) -> bytes:
    ls, h, _ = _chain_split(b)
    i = _pick_row(ls, h, _oi_big)
    f = ls[i].split(",")
    f[P_BID], f[P_ASK] = "1e308", "1e308"
    ls[i] = ",".join(f)
    return _join(ls)


def last_1e308(b: bytes, prev: Drop) -> bytes:
    return _edit_field(b, C_LAST, "1e308", _oi_big)


def _scale_spot(b: bytes, k: float) -> bytes:
    ls = _lines(b)
    for i, ln in enumerate(ls[:5]):
        m = re.search(r"Last: ([0-9.]+)", ln)
        if m:
            ls[i] = ln.replace(m.group(0), f"Last: {float(m.group(1)) * k:.4f}")
            break
    return _join(ls)


def spot_x10(b: bytes, prev: Drop) -> bytes:
    return _scale_spot(b, 10.0)


def spot_div10(b: bytes, prev: Drop) -> bytes:
    return _scale_spot(b, 0.1)


def expiry_vs_symbol(b: bytes, prev: Drop) -> bytes:
    """The Expiration Date text of one expiry moved a week (the symbols keep the true date)."""
    ls, h, _ = _chain_split(b)
    rows = _body_rows(ls, h)
    exps = list(dict.fromkeys(ls[i].split(",")[0] for i in rows))
    target = exps[len(exps) // 2]
    from datetime import datetime, timedelta
    moved = (datetime.strptime(target, "%a %b %d %Y") + timedelta(days=7)).strftime("%a %b %d %Y")
    for i in rows:
        if ls[i].startswith(target + ","):
            ls[i] = moved + ls[i][len(target):]
    return _join(ls)


def two_chains(b: bytes, prev: Drop) -> bytes:
    return b.rstrip(b"\n") + b"\n" + prev[CHAIN]


def stale_chain(b: bytes, prev: Drop) -> bytes:
    """Yesterday's chain re-sent with tonight's date line."""
    date_line = next(ln for ln in _lines(b)[:5] if "Date:" in ln)
    ls = _lines(prev[CHAIN])
    for i, ln in enumerate(ls[:5]):
        if "Date:" in ln:
            ls[i] = date_line
    return _join(ls)


def swap_bid_ask(b: bytes, prev: Drop) -> bytes:
    ls, h, _ = _chain_split(b)
    for i in _body_rows(ls, h):
        f = ls[i].split(",")
        f[C_BID], f[C_ASK], f[P_BID], f[P_ASK] = f[C_ASK], f[C_BID], f[P_ASK], f[P_BID]
        ls[i] = ",".join(f)
    return _join(ls)


def swap_call_put(b: bytes, prev: Drop) -> bytes:
    """The call and put blocks exchanged (symbols included)."""
    ls, h, _ = _chain_split(b)
    for i in _body_rows(ls, h):
        f = ls[i].split(",")
        ls[i] = ",".join([f[0], *f[12:22], f[11], *f[1:11]])
    return _join(ls)


def missing_expiry(b: bytes, prev: Drop) -> bytes:
    """The second-largest expiry by open interest left out."""
    ls, h, _ = _chain_split(b)
    oi: dict[str, int] = {}
    for i in _body_rows(ls, h):
        f = ls[i].split(",")
        oi[f[0]] = oi.get(f[0], 0) + int(f[C_OI]) + int(f[P_OI])
    target = sorted(oi, key=oi.get)[-2]
    return _join([ln for ln in ls if not ln.startswith(target + ",")])


def strike_shift5(b: bytes, prev: Drop) -> bytes:
    ls, h, _ = _chain_split(b)
    for i in _body_rows(ls, h):
        f = ls[i].split(",")
        k = float(f[STRIKE]) + 5
        f[STRIKE] = f"{k:.2f}"
        for j in (1, 12):
            f[j] = f[j][:-8] + f"{round(k * 1000):08d}"
        ls[i] = ",".join(f)
    return _join(ls)


def stray_quote(b: bytes, prev: Drop) -> bytes:
    ls, h, _ = _chain_split(b)
    i = _pick_row(ls, h)
    ls[i] = ls[i].replace(",", ',"', 1)
    return _join(ls)


def control_byte(b: bytes, prev: Drop) -> bytes:
    ls, h, _ = _chain_split(b)
    i = _pick_row(ls, h)
    f = ls[i].split(",")
    f[C_BID] = f[C_BID] + "\x01"
    ls[i] = ",".join(f)
    return _join(ls)


def truncated(b: bytes, prev: Drop) -> bytes:
    return b[: len(b) * 2 // 3].rsplit(b",", 3)[0]


def http_503(b: bytes, prev: Drop) -> bytes:
    return (b"<html><head><title>503 Service Unavailable</title></head><body><h1>Service "
            b"Unavailable</h1></body></html>\n")


def empty(b: bytes, prev: Drop) -> bytes:
    return b""


def vix_chain_oi_spike(b: bytes, prev: Drop) -> bytes:
    return _edit_field(b, P_OI, "50000000", lambda f: f[P_OI].isdigit() and int(f[P_OI]) > 100)


# -- Cboe index history ------------------------------------------------------------------------
def _index_map(b: bytes, fn, last_only: bool = False) -> bytes:
    ls = _lines(b)
    body = [i for i in range(1, len(ls)) if ls[i].strip()]
    for i in (body[-1:] if last_only else body):
        f = ls[i].split(",")
        ls[i] = ",".join([f[0], *fn(f[1:])])
    return _join(ls)


def index_x100(b: bytes, prev: Drop) -> bytes:
    return _index_map(b, lambda v: [f"{float(x) * 100:.6f}" for x in v])


def index_div10(b: bytes, prev: Drop) -> bytes:
    return _index_map(b, lambda v: [f"{float(x) / 10:.6f}" for x in v])


def close_1e308(b: bytes, prev: Drop) -> bytes:
    return _index_map(b, lambda v: [*v[:-1], "1e308"], last_only=True)


def index_stale(b: bytes, prev: Drop) -> bytes:
    """Tonight's row repeats the previous session's values (a stale file under a new date)."""
    ls = _lines(b)
    body = [i for i in range(1, len(ls)) if ls[i].strip()]
    last, before = body[-1], body[-2]
    ls[last] = ls[last].split(",")[0] + "," + ",".join(ls[before].split(",")[1:])
    return _join(ls)


def index_shifted(b: bytes, prev: Drop) -> bytes:
    """Yesterday's file re-sent with every date moved one session later."""
    ls = _lines(b)
    body = [i for i in range(1, len(ls)) if ls[i].strip()]
    vals = [ls[i].split(",")[1:] for i in body]
    for k, i in enumerate(body):
        src = vals[k - 1] if k else vals[0]
        ls[i] = ls[i].split(",")[0] + "," + ",".join(src)
    return _join(ls)


# -- CFE VX settlements ------------------------------------------------------------------------
def _vx_map(b: bytes, fn, first_only: bool = False) -> bytes:
    ls = _lines(b)
    body = [i for i in range(1, len(ls)) if ls[i].strip()]
    for i in (body[:1] if first_only else body):
        f = ls[i].split(",")
        f[-1] = fn(f[-1])
        ls[i] = ",".join(f)
    return _join(ls)


def vx_settle_1e12(b: bytes, prev: Drop) -> bytes:
    return _vx_map(b, lambda x: "1000000000000", first_only=True)


def vx_x10(b: bytes, prev: Drop) -> bytes:
    return _vx_map(b, lambda x: f"{float(x) * 10:.4f}")


def vx_stale(b: bytes, prev: Drop) -> bytes:
    """Yesterday's settlement prices under tonight's file (same contracts, same prices)."""
    old = {ln.split(",")[1]: ln.split(",")[-1] for ln in _lines(_prev_named(prev, "cfe_settlement"))[1:]
           if ln.strip()}
    return _vx_map(b, lambda x: x) if not old else _join([
        ln if i == 0 or not ln.strip() or ln.split(",")[1] not in old
        else ",".join([*ln.split(",")[:-1], old[ln.split(",")[1]]])
        for i, ln in enumerate(_lines(b))])


def _prev_named(prev: Drop, prefix: str) -> bytes:
    return next(v for k, v in prev.items() if k.startswith(prefix))


# -- funding -----------------------------------------------------------------------------------
def binance_percent(b: bytes, prev: Drop) -> bytes:
    ls = _lines(b)
    for i in range(1, len(ls)):
        if ls[i].strip():
            f = ls[i].split(",")
            f[2] = f"{float(f[2]) * 100:.8f}"
            ls[i] = ",".join(f)
    return _join(ls)


def binance_tz(b: bytes, prev: Drop) -> bytes:
    """Timestamps written in New York time as if UTC (5 hours early in winter, 4 in summer)."""
    ls = _lines(b)
    for i in range(1, len(ls)):
        if ls[i].strip():
            f = ls[i].split(",")
            f[0] = str(int(f[0]) - 5 * 3600 * 1000)
            ls[i] = ",".join(f)
    return _join(ls)


def binance_above_cap(b: bytes, prev: Drop) -> bytes:
    ls = _lines(b)
    f = ls[1].split(",")
    f[2] = "0.5"
    ls[1] = ",".join(f)
    return _join(ls)


def hyperliquid_percent(b: bytes, prev: Drop) -> bytes:
    rows = json.loads(b)
    for r in rows:
        r["fundingRate"] = f"{float(r['fundingRate']) * 100:.8f}"
    return json.dumps(rows, separators=(",", ":")).encode()


def hyperliquid_tz(b: bytes, prev: Drop) -> bytes:
    rows = json.loads(b)
    for r in rows:
        r["time"] = int(r["time"]) - 5 * 3600 * 1000
    return json.dumps(rows, separators=(",", ":")).encode()


# -- breadth ----------------------------------------------------------------------------------
def _unicorn(b: bytes, k: float) -> bytes:
    ls = _lines(b)
    for i, ln in enumerate(ls):
        if ln.strip():
            d, v = ln.split(", ")
            ls[i] = f"{d}, {round(float(v) * k)}"
    return _join(ls)


def advances_x10000(b: bytes, prev: Drop) -> bytes:
    """Ten million issues added (a multiple would leave a count of 0, common for `unchanged`
    in the 500-stock sample, unchanged: no fault at all)."""
    ls = _lines(b)
    for i, ln in enumerate(ls):
        if ln.strip():
            d, v = ln.split(", ")
            ls[i] = f"{d}, {round(float(v)) + 10_000_000}"
    return _join(ls)


def volume_x1000(b: bytes, prev: Drop) -> bytes:
    return _unicorn(b, 1000.0)


def volume_div1000(b: bytes, prev: Drop) -> bytes:
    return _unicorn(b, 0.001)


FAULTS: tuple[Fault, ...] = (
    Fault("oi_spike_one_contract", "chain", CHAIN, oi_spike),
    Fault("vendor_gamma_1e308", "chain", CHAIN, gamma_1e308),
    Fault("bid_ask_1e308", "chain", CHAIN, bid_ask_1e308),
    Fault("last_sale_1e308", "chain", CHAIN, last_1e308),
    Fault("spot_x10", "chain", CHAIN, spot_x10),
    Fault("spot_div10", "chain", CHAIN, spot_div10),
    Fault("expiry_column_vs_symbol", "chain", CHAIN, expiry_vs_symbol),
    Fault("two_chains_in_one_file", "chain", CHAIN, two_chains),
    Fault("stale_chain_new_date", "chain", CHAIN, stale_chain),
    Fault("swapped_bid_ask", "chain", CHAIN, swap_bid_ask),
    Fault("swapped_call_put", "chain", CHAIN, swap_call_put),
    Fault("missing_expiry", "chain", CHAIN, missing_expiry),
    Fault("strike_grid_shift_5", "chain", CHAIN, strike_shift5),
    Fault("stray_quote", "chain", CHAIN, stray_quote),
    Fault("control_byte", "chain", CHAIN, control_byte),
    Fault("truncated_chain", "chain", CHAIN, truncated),
    Fault("http_503_page", "bytes", CHAIN, http_503),
    Fault("empty_file", "bytes", CHAIN, empty),
    Fault("vix_chain_oi_spike", "chain", VIX_CHAIN, vix_chain_oi_spike),
    Fault("vix_spot_x10", "chain", VIX_CHAIN, spot_x10),
    Fault("vix_index_x100", "index", "VIX_History.csv", index_x100),
    Fault("vix3m_index_div10", "index", "VIX3M_History.csv", index_div10),
    Fault("spx_index_x100", "index", "SPX_History.csv", index_x100),
    Fault("vix_close_1e308", "index", "VIX_History.csv", close_1e308),
    Fault("spx_close_1e308", "index", "SPX_History.csv", close_1e308),
    Fault("vix_stale_bar", "index", "VIX_History.csv", index_stale),
    Fault("vix_dates_shifted", "index", "VIX_History.csv", index_shifted),
    Fault("vx_settle_1e12", "vx", r"cfe_settlement_.*", vx_settle_1e12),
    Fault("vx_settle_x10", "vx", r"cfe_settlement_.*", vx_x10),
    Fault("vx_stale_settlements", "vx", r"cfe_settlement_.*", vx_stale),
    Fault("binance_funding_percent", "funding", r"BTCUSDT-fundingRate-.*", binance_percent),
    Fault("binance_funding_wrong_tz", "funding", r"ETHUSDT-fundingRate-.*", binance_tz),
    Fault("binance_rate_above_cap", "funding", r"BTCUSDT-fundingRate-.*", binance_above_cap),
    Fault("hyperliquid_funding_percent", "funding", r"hyperliquid_BTC_.*", hyperliquid_percent),
    Fault("hyperliquid_funding_wrong_tz", "funding", r"hyperliquid_ETH_.*", hyperliquid_tz),
    Fault("advances_10_million", "breadth", r".*_advn\.csv", advances_x10000),
    Fault("unchanged_10_million", "breadth", r".*_unchn\.csv", advances_x10000),
    Fault("up_volume_x1000", "breadth", r".*_advv\.csv", volume_x1000),
    Fault("down_volume_div1000", "breadth", r".*_declv\.csv", volume_div1000),
)


def target_of(fault: Fault, drop: Drop) -> str | None:
    """The file name in `drop` the fault damages (None when tonight has no such file)."""
    if fault.target in drop:
        return fault.target
    return next((k for k in sorted(drop) if re.fullmatch(fault.target, k)), None)


def plant(fault: Fault, drop: Drop, prev: Drop) -> tuple[str, bytes] | None:
    """(file name, damaged bytes) for tonight, or None when the fault does not apply."""
    name = target_of(fault, drop)
    if name is None:
        return None
    if fault.plant in (vx_stale,) and not any(k.startswith("cfe_settlement") for k in prev):
        return None
    if fault.plant in (two_chains, stale_chain) and CHAIN not in prev:
        return None
    return name, fault.plant(drop[name], prev)
