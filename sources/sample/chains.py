"""SPX, SPY and VIX option chains of one sample session, in CBOE delayed-quotes `quotedata.csv` layout.

Builds numeric chains with numpy (surface, Black-Scholes/Black-76, persistent open interest) and
prints them byte-stably; knows nothing about folders or other vendors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

from sources.dates import NEW_YORK
from sources.sample import expiries as ex
from sources.sample import pricing as px
from sources.sample.market import SampleMarket, expected_avg_var
from sources.sample.textfmt import as_decimal, dec, lines, num, scaled

HEADER = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
          "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest")

# Per-day random streams: default_rng([seed, day.toordinal(), STREAM]).
STREAM_SPX = 11
STREAM_VIX = 12
STREAM_SPY = 13  # SPY draws from its own stream: adding it changed no SPX or VIX number

# Open-interest weight of an expiry by kind (before time-to-expiry and moneyness shaping).
KIND_WEIGHT = {"monthly": 1.0, "leap": 0.5, "eom": 0.25, "weekly": 0.12, "daily": 0.05}
SPXW_ON_MONTHLY = 0.20  # the PM-settled twin of a monthly holds less OI than the AM contract
ROUND_WEIGHT = ((100, 5.0), (50, 2.2), (25, 1.4))  # 100 >> 50 >> 25 > 5
OI_SCALE = 1400.0  # contracts at weight 1 (calibrated: spot GEX of order +-$5-20bn per 1 %)
ROOT_ID = {"SPX": 1, "SPXW": 2, "VIX": 3, "VIXW": 4, "SPY": 5}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def snapshot_time(day: date) -> datetime:
    """The chain snapshot: 15 minutes before the session close, New York time (3:45 PM; 12:45 PM on
    early-close days), so 0DTE contracts still have 15 minutes to run."""
    close_h = 13 if ex.is_early_close(day) else 16
    return datetime(day.year, day.month, day.day, close_h - 1, 45)


def date_line(ts: datetime, bid: float, ask: float) -> str:
    zone = ts.replace(tzinfo=NEW_YORK).tzname()  # EST / EDT
    h12 = ts.hour % 12 or 12
    ampm = "PM" if ts.hour >= 12 else "AM"
    return (f'"Date: {_MONTHS[ts.month - 1]} {ts.day}, {ts.year} at {h12}:{ts.minute:02d} {ampm} {zone}",'
            f"Bid: {_f32(bid)},Ask: {_f32(ask)},Size: 1*1,Volume: 0")


def _f32(x: float) -> str:
    """CBOE prints index levels through float32 with 4 decimals (6632.19 -> 6632.1899)."""
    t = f"{float(np.float32(x)):.4f}".rstrip("0").rstrip(".")
    return "0" if t in ("-0", "") else t


@dataclass
class Chain:
    name: str  # first field of the "Last:" line
    spot: float
    change: float
    ts: datetime
    index_bid: float
    index_ask: float
    frame: pl.DataFrame  # one row per (expiry, root, strike) with call_* and put_* columns

    def text(self) -> str:
        head = (f"\n{self.name},Last: {_f32(self.spot)},Change:  {_f32(self.change)}\n"
                f"{date_line(self.ts, self.index_bid, self.index_ask)}\n{HEADER}\n")
        f = self.frame
        decimals = {"last": 2, "net": 2, "bid": 2, "ask": 2, "iv": 4, "delta": 4, "gamma": 4}
        f = f.with_columns(pl.Series(f"{side}_{k}_x", as_decimal(f[f"{side}_{k}"].to_numpy(), d))
                           for side in ("call", "put") for k, d in decimals.items())
        cols: list[pl.Expr] = [pl.col("exp_text"), pl.col("call_symbol")]
        side_cols = lambda s: [  # noqa: E731
            num(f"{s}_last_x"), num(f"{s}_net_x"), num(f"{s}_bid_x"), num(f"{s}_ask_x"),
            pl.col(f"{s}_volume").cast(pl.String), num(f"{s}_iv_x"), num(f"{s}_delta_x"),
            num(f"{s}_gamma_x"), pl.col(f"{s}_oi").cast(pl.String)]
        cols += side_cols("call")
        cols += [dec("strike_c", 2, strip=False), pl.col("put_symbol")]
        cols += side_cols("put")
        return head + lines(f, cols)


def _strike_grid(S: float, sd: float, kind: str) -> np.ndarray:
    """Strikes: every 5 points near the money, then 25, 50 and 100 further out; the range widens
    with the expiry's standard deviation and reaches further on the put side."""
    band5 = S * min(max(0.6 * sd, 0.006), 0.015 if sd < 0.08 else 0.008)
    band25 = S * min(max(1.8 * sd, 0.015), 0.06)
    band50 = S * min(max(3.2 * sd, 0.03), 0.12)
    lo = S * (1 - min(max(5.0 * sd, 0.05), 0.50))
    hi = S * (1 + min(max(2.6 * sd, 0.03), 0.30))
    if kind == "leap":
        band5, band25 = 0.0, min(band25, S * 0.04)
    k = np.arange(math.floor(lo / 100) * 100, math.ceil(hi / 5) * 5 + 5, 5, dtype=np.int64)
    d = np.abs(k - S)
    keep = (d <= band5) | ((k % 25 == 0) & (d <= band25)) | ((k % 50 == 0) & (d <= band50)) | (
        (k % 100 == 0) & (k >= lo - 100) & (k <= hi))
    return k[keep]


def spx_chain(m: SampleMarket, day: date) -> Chain:
    st = m.state(day)
    p = m.params
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_SPX])
    ts = snapshot_time(day)
    sd_day = math.sqrt(st["variance"] / 252.0)
    # The snapshot is 15 minutes before the close: spot differs from the close by that much noise.
    spot = round(st["spx_close"] * math.exp(0.2 * sd_day * rng.standard_normal()), 2)
    change = spot - st["prev_close"]
    v_q = st["variance_q"]
    crowd = st["crowding_oi"]
    anchor = st["oi_anchor"]
    level_noise = math.exp(0.015 * rng.standard_normal())
    skew_mult = math.exp(0.05 * rng.standard_normal()) * (1.0 + 0.15 * st["crowding"])

    exps: list[tuple[date, str, str]] = []
    parts: list[tuple[np.ndarray, float, float, float]] = []
    for e, root, kind in ex.spx_expiries(day):
        am = root == "SPX"
        settle_h, settle_m = (9, 30) if am else ((13, 0) if ex.is_early_close(e) else (16, 0))
        minutes = (datetime(e.year, e.month, e.day, settle_h, settle_m) - ts).total_seconds() / 60
        T = minutes / px.MIN_YEAR
        if T <= 0:
            continue
        atm = math.sqrt(float(expected_avg_var(v_q, T, p, st["spike_q"]))) * 0.93 * level_noise
        sd = atm * math.sqrt(max(T, 1 / 365))
        w = KIND_WEIGHT[kind] * (SPXW_ON_MONTHLY if (kind == "monthly" and not am) else 1.0)
        quarterly = e.month in (3, 6, 9, 12)
        if kind == "eom" and quarterly:
            w *= 3.0
        if kind == "monthly" and T > 0.25:
            w *= 1.0 if quarterly else 0.25
        exps.append((e, root, kind))
        parts.append((_strike_grid(spot, sd, kind), T, atm, w))
    sizes = [len(pt[0]) for pt in parts]
    eidx = np.repeat(np.arange(len(parts)), sizes)
    K = np.concatenate([pt[0] for pt in parts]).astype(float)
    T = np.repeat([pt[1] for pt in parts], sizes)
    atm = np.repeat([pt[2] for pt in parts], sizes)
    w_kind = np.repeat([pt[3] for pt in parts], sizes)
    # Row order as in real files: expiry, then strike, then root (SPX before SPXW).
    exp_ord_e = np.array([e.toordinal() for e, _, _ in exps], dtype=np.int64)
    root_id_e = np.array([1 if r == "SPX" else 2 for _, r, _ in exps], dtype=np.int64)
    order = np.lexsort((root_id_e[eidx], K, exp_ord_e[eidx]))
    eidx, K, T, atm, w_kind = eidx[order], K[order], T[order], atm[order], w_kind[order]
    exp_ord = exp_ord_e[eidx]
    root_id = root_id_e[eidx]
    nrow = len(K)
    fwd = spot * np.exp((px.R - px.Q) * T)
    k = np.log(K / fwd)
    iv = px.spx_iv(k, T, atm, skew_mult)
    # A call and a put of one strike share most of their IV noise: market makers quote them off one
    # forward, so put-call parity holds inside the spreads (independent noise would let ~100 pairs
    # a night cross it: core.parity_daily, docs/options.md).
    z_c, z_p = rng.standard_normal(nrow), rng.standard_normal(nrow)
    iv_c = iv * np.exp(0.004 * z_c)
    iv_p = iv * np.exp(0.004 * (0.95 * z_c + 0.31 * z_p))
    call, _, dc, _, gc = px.bs(spot, K, T, iv_c)
    _, put, _, dp, gp = px.bs(spot, K, T, iv_p)

    # Quotes: spreads widen with price, vol level, AM-settled root and tenor.
    stress = 1.0 + 3.0 * max(atm[0] - 0.16, 0.0)
    root_mult = np.where(root_id == 1, 1.5, 1.0) * (1 + 0.4 * np.minimum(T, 1.0)) * stress
    jit = np.exp(0.15 * rng.standard_normal((2, nrow)))
    cb, ca = px.round_quotes(call, (0.05 + 0.0075 * call) * root_mult * jit[0])
    pb, pa = px.round_quotes(put, (0.05 + 0.0075 * put) * root_mult * jit[1])

    # Open interest: persistent per contract (hash), round strikes, near-dated/monthly expiries,
    # centred on where spot has been (20-session mean), put OI near/below spot grows with crowding.
    s_t = 0.16 * np.sqrt(np.maximum(T, 0.02))
    za = np.log(K / anchor) / s_t
    rnd = np.ones(nrow)
    for step, wgt in reversed(ROUND_WEIGHT):
        rnd = np.where(K % step == 0, wgt, rnd)
    w_t = w_kind / np.sqrt(1.0 + T / 0.25)
    call_prof = np.exp(-0.5 * ((za - 0.6) / 1.3) ** 2)
    put_prof = np.exp(-0.5 * ((za + 1.2) / 1.7) ** 2) + 0.25 * np.exp(-0.5 * ((za + 3.0) / 1.5) ** 2)
    near_put = np.exp(-0.5 * ((za + 0.4) / 0.9) ** 2)
    call_crowd = 1.25 - 0.55 * crowd
    put_crowd = 0.55 + 0.45 * crowd
    put_prof = put_prof * put_crowd + near_put * 1.0 * crowd**2
    call_prof = call_prof * call_crowd
    eo = exp_ord
    hc = px.uniform_to_normal(px.contract_uniform(m.seed, eo, K, np.zeros(nrow, np.int64), root_id, 1))
    hp = px.uniform_to_normal(px.contract_uniform(m.seed, eo, K, np.ones(nrow, np.int64), root_id, 1))
    oi_c = OI_SCALE * w_t * rnd * call_prof * np.exp(0.7 * hc - 0.245)
    oi_p = OI_SCALE * w_t * rnd * put_prof * np.exp(0.7 * hp - 0.245)
    # Odd 5-point strikes far from the money are often never traded.
    z_now = np.abs(np.log(K / spot)) / s_t
    dead = (K % 25 != 0) & (z_now > 2.0)
    uc = px.contract_uniform(m.seed, eo, K, np.zeros(nrow, np.int64), root_id, 2)
    up = px.contract_uniform(m.seed, eo, K, np.ones(nrow, np.int64), root_id, 2)
    oi_c = np.where(dead & (uc < 0.5), 0.0, np.floor(oi_c))
    oi_p = np.where(dead & (up < 0.5), 0.0, np.floor(oi_p))

    # Volume: a fraction of OI plus fresh flow, heavy near the money and in 0DTE.
    zz = np.log(K / spot) / (atm * np.sqrt(np.maximum(T, 1 / 365)))
    near = np.exp(-0.5 * zz * zz)
    is0 = T < 1 / 365
    frac = 0.02 + 0.25 * near
    fresh = np.where(is0, 2500.0 * np.exp(-0.5 * zz * zz / 4), 60.0 * near * w_t)
    g = rng.gamma(1.5, 1 / 1.5, (2, nrow))
    vol_c = np.floor((oi_c * frac * np.where(is0, 3.0, 1.0) + fresh) * g[0] * (0.7 + 0.6 * near))
    vol_p = np.floor((oi_p * frac * np.where(is0, 3.0, 1.0) + fresh * 1.2) * g[1] * (0.7 + 0.6 * near))
    vol_c = np.where(vol_c < 1, 0, vol_c)
    vol_p = np.where(vol_p < 1, 0, vol_p)

    # Last sale: today's trade if any volume, else an older print for some open contracts.
    z2 = rng.standard_normal((4, nrow))
    stale_c = (vol_c == 0) & (oi_c > 0) & (uc > 0.6)
    stale_p = (vol_p == 0) & (oi_p > 0) & (up > 0.6)
    last_c = np.where(vol_c > 0, call * np.exp(0.01 * z2[0]), np.where(stale_c, call * np.exp(0.15 * z2[1]), 0.0))
    last_p = np.where(vol_p > 0, put * np.exp(0.01 * z2[2]), np.where(stale_p, put * np.exp(0.15 * z2[3]), 0.0))
    last_c = np.where(last_c > 0, np.maximum(np.round(last_c / 0.05) * 0.05, 0.05), 0.0)
    last_p = np.where(last_p > 0, np.maximum(np.round(last_p / 0.05) * 0.05, 0.05), 0.0)
    net_c = np.where((vol_c > 0) & (last_c > 0), np.maximum(dc * change, 0.05 - last_c), 0.0)
    net_p = np.where((vol_p > 0) & (last_p > 0), np.maximum(dp * change, 0.05 - last_p), 0.0)

    # Vendor quirks: deep in-the-money long-dated rows print IV 0 (and gamma 0).
    iv0_c = (K < 0.55 * spot) & (T > 0.08)  # noqa: SIM300
    iv0_p = (K > 1.22 * spot) & (T > 0.25)  # noqa: SIM300
    gc4 = np.where(iv0_c, 0, scaled(gc, 4))
    gp4 = np.where(iv0_p, 0, scaled(gp, 4))

    exp_text = np.array([e.strftime("%a %b %d %Y") for e, _, _ in exps], dtype=object)[eidx]
    sym = np.array([r + e.strftime("%y%m%d") for e, r, _ in exps], dtype=object)[eidx]
    f = pl.DataFrame({
        "expiry": pl.Series(exp_ord - 719163, dtype=pl.Int32).cast(pl.Date),  # ordinal -> epoch days
        "root": pl.Series(np.where(root_id == 1, "SPX", "SPXW")),
        "kind": pl.Series(np.array([k for _, _, k in exps], dtype=object)[eidx], dtype=pl.String),
        "strike": K, "T": T,
        "exp_text": pl.Series(exp_text, dtype=pl.String),
        "strike_c": (K * 100).astype(np.int64),
        "sym": pl.Series(sym, dtype=pl.String),
        "k8": pl.Series(K.astype(np.int64) * 1000).cast(pl.String).str.zfill(8),
        "call_last": scaled(last_c, 2), "call_net": scaled(net_c, 2),
        "call_bid": cb, "call_ask": ca, "call_volume": vol_c.astype(np.int64),
        "call_iv": np.where(iv0_c, 0, scaled(iv_c, 4)), "call_delta": scaled(dc, 4),
        "call_gamma": gc4, "call_oi": oi_c.astype(np.int64),
        "put_last": scaled(last_p, 2), "put_net": scaled(net_p, 2),
        "put_bid": pb, "put_ask": pa, "put_volume": vol_p.astype(np.int64),
        "put_iv": np.where(iv0_p, 0, scaled(iv_p, 4)), "put_delta": scaled(dp, 4),
        "put_gamma": gp4, "put_oi": oi_p.astype(np.int64),
    }).with_columns(
        call_symbol=pl.concat_str([pl.col("sym"), pl.lit("C"), pl.col("k8")]),
        put_symbol=pl.concat_str([pl.col("sym"), pl.lit("P"), pl.col("k8")]),
    )
    half = round(0.00007 * spot + 0.15 * rng.random(), 2)
    return Chain(name="S&P 500 INDEX", spot=spot, change=change, ts=ts,
                 index_bid=spot - half, index_ask=spot + half, frame=f)


def spot_gex(chain: Chain) -> dict[str, float]:
    """Spot GEX in USD per 1 % move from the printed vendor gamma (dealers long calls, short puts):
    gamma x OI x 100 x S^2 x 0.01, calls +, puts -."""
    f = chain.frame
    s2 = chain.spot**2 * 100 * 0.01
    call = float((f["call_gamma"].to_numpy() / 1e4 * f["call_oi"].to_numpy()).sum() * s2)
    put = -float((f["put_gamma"].to_numpy() / 1e4 * f["put_oi"].to_numpy()).sum() * s2)
    return {"call": call, "put": put, "net": call + put}


VIX_STRIKES = np.array([*range(9, 31), 32.5, 35, 37.5, 40, 42.5, 45, 47.5, 50, 55, 60, 65, 70, 75,
                        80, 90, 100], dtype=float)
VIX_OI_SCALE = 9000.0


def vix_chain(m: SampleMarket, day: date) -> Chain:
    """VIX (monthly) and VIXW (weekly) options, Black-76 on the VX future of the same expiry (VIX
    options settle on VX expiries, AM, so the expiry-day series is already gone at 3:45 PM)."""
    from sources.sample import vx

    st = m.state(day)
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_VIX])
    ts = snapshot_time(day)
    i = st["i"]
    spot = round(st["vix"] * math.exp(0.01 * rng.standard_normal()), 2)
    change = spot - st["prev_vix"]
    exps = [(e, r) for e, r in ex.vix_option_expiries(day) if e > day]
    eo = np.array([e.toordinal() for e, _ in exps], dtype=np.int64)
    fut = vx.vx_curve(m, np.full(len(exps), i), eo)
    parts = []
    for (e, root), F in zip(exps, fut, strict=True):
        T = (datetime(e.year, e.month, e.day, 9, 30) - ts).total_seconds() / 60 / px.MIN_YEAR
        ks = VIX_STRIKES[(max(9.0, 0.62 * F) <= VIX_STRIKES) & (max(3.4 * F, 40.0) >= VIX_STRIKES)]
        if root == "VIXW":
            ks = ks[(ks <= 2.2 * F) & ((ks <= 30) | (ks % 5 == 0))]
        parts.append((e, root, F, T, ks))
    sizes = [len(pt[4]) for pt in parts]
    eidx = np.repeat(np.arange(len(parts)), sizes)
    K = np.concatenate([pt[4] for pt in parts])
    F = np.repeat([pt[2] for pt in parts], sizes)
    T = np.repeat([pt[3] for pt in parts], sizes)
    root_id = np.repeat([3 if pt[1] == "VIX" else 4 for pt in parts], sizes)
    n = len(K)
    # VIX vol-of-vol: high at the front and when VIX is low relative to its mean (spike risk).
    atm = (0.55 + 0.55 * np.exp(-T / 0.12)) * (1 + 0.25 * np.clip(18.0 / F - 1, -0.5, 0.6))
    atm = atm * math.exp(0.03 * rng.standard_normal())
    iv = px.vix_iv(np.log(K / F), T, atm)
    iv_c = iv * np.exp(0.006 * rng.standard_normal(n))
    iv_p = iv * np.exp(0.006 * rng.standard_normal(n))
    call, _, dc, _, gc = px.black76(F, K, T, iv_c)
    _, put, _, dp, gp = px.black76(F, K, T, iv_p)
    jit = np.exp(0.15 * rng.standard_normal((2, n)))
    cb, ca = px.round_quotes(call, (0.04 + 0.02 * call) * jit[0])
    pb, pa = px.round_quotes(put, (0.04 + 0.02 * put) * jit[1])
    eo_r = eo[eidx]
    w = np.where(root_id == 3, 1.0, 0.15) / np.sqrt(1 + T / 0.2)
    rnd = np.where(K % 5 == 0, 2.5, 1.0)
    zk = np.log(K / F)
    hc = px.uniform_to_normal(px.contract_uniform(m.seed, eo_r, K, np.zeros(n, np.int64), root_id, 1))
    hp = px.uniform_to_normal(px.contract_uniform(m.seed, eo_r, K, np.ones(n, np.int64), root_id, 1))
    # VIX calls are the popular hedge: call OI peaks out of the money, put OI near the money.
    oi_c = np.floor(VIX_OI_SCALE * w * rnd * np.exp(-0.5 * ((zk - 0.35) / 0.35) ** 2) * np.exp(0.6 * hc))
    oi_p = np.floor(0.5 * VIX_OI_SCALE * w * rnd * np.exp(-0.5 * ((zk + 0.05) / 0.18) ** 2) * np.exp(0.6 * hp))
    g = rng.gamma(1.2, 1 / 1.2, (2, n))
    vol_c = np.floor(oi_c * 0.08 * g[0])
    vol_p = np.floor(oi_p * 0.06 * g[1])
    last_c = np.where(vol_c > 0, np.maximum(np.round(call / 0.05) * 0.05, 0.05), 0.0)
    last_p = np.where(vol_p > 0, np.maximum(np.round(put / 0.05) * 0.05, 0.05), 0.0)
    dF = F - vx.vx_curve(m, np.full(n, max(i - 1, 0)), eo_r)
    net_c = np.where(last_c > 0, np.maximum(dc * dF, 0.05 - last_c), 0.0)
    net_p = np.where(last_p > 0, np.maximum(dp * dF, 0.05 - last_p), 0.0)
    exp_text = np.array([e.strftime("%a %b %d %Y") for e, *_ in parts], dtype=object)[eidx]
    sym = np.array([r + e.strftime("%y%m%d") for e, r, *_ in parts], dtype=object)[eidx]
    kc = scaled(K, 3)  # strike x 1000 in the symbol (32.5 -> 00032500)
    f = pl.DataFrame({
        "expiry": pl.Series(eo_r - 719163, dtype=pl.Int32).cast(pl.Date),
        "root": pl.Series(np.where(root_id == 3, "VIX", "VIXW")),
        "strike": K, "T": T, "future": F,
        "exp_text": pl.Series(exp_text, dtype=pl.String),
        "strike_c": scaled(K, 2),
        "sym": pl.Series(sym, dtype=pl.String),
        "k8": pl.Series(kc).cast(pl.String).str.zfill(8),
        "call_last": scaled(last_c, 2), "call_net": scaled(net_c, 2),
        "call_bid": cb, "call_ask": ca, "call_volume": vol_c.astype(np.int64),
        "call_iv": scaled(iv_c, 4), "call_delta": scaled(dc, 4),
        "call_gamma": scaled(gc, 4), "call_oi": oi_c.astype(np.int64),
        "put_last": scaled(last_p, 2), "put_net": scaled(net_p, 2),
        "put_bid": pb, "put_ask": pa, "put_volume": vol_p.astype(np.int64),
        "put_iv": scaled(iv_p, 4), "put_delta": scaled(dp, 4),
        "put_gamma": scaled(gp, 4), "put_oi": oi_p.astype(np.int64),
    }).sort("expiry", "strike", "root").with_columns(
        call_symbol=pl.concat_str([pl.col("sym"), pl.lit("C"), pl.col("k8")]),
        put_symbol=pl.concat_str([pl.col("sym"), pl.lit("P"), pl.col("k8")]),
    )
    half = 0.05
    return Chain(name="CBOE VOLATILITY INDEX", spot=spot, change=change, ts=ts,
                 index_bid=spot - half, index_ask=spot + half, frame=f)


# -- SPY: the ETF on the same simulated path ------------------------------------------------------
SPY_PER_SPX = 0.1      # SPY trades near SPX / 10
SPY_DIV_YIELD = 0.012  # SPY's own yield (quarterly dividends, priced as a continuous yield)
# ETF contracts are a tenth of SPX's notional and more numerous: ~3x the contracts gives a SPY GEX
# near 0.3x SPX's, the order of the real ratio (../shared/realdata: SPY -3.9 bn, SPX -13 to -19 bn).
SPY_OI_SCALE = 3.0 * OI_SCALE


def _spx_snapshot_spot(m: SampleMarket, day: date) -> float:
    """The SPX chain's snapshot price: the first draw of the SPX stream replayed on a generator of
    its own (the SPX chain's stream is not touched), so SPY's snapshot sits on the same path."""
    st = m.state(day)
    z = np.random.default_rng([m.seed, day.toordinal(), STREAM_SPX]).standard_normal()
    return round(st["spx_close"] * math.exp(0.2 * math.sqrt(st["variance"] / 252.0) * z), 2)


def spy_chain(m: SampleMarket, day: date) -> Chain:
    """SPY options (root SPY: PM-settled, physically settled, American; priced Black-Scholes with
    SPY's own dividend yield) on SPX's snapshot / 10: the SPX expiries without the LEAPs, strikes on
    SPX's grid / 10 (0.5 points near the money), penny quotes. Its own random stream (STREAM_SPY)."""
    st = m.state(day)
    p = m.params
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_SPY])
    ts = snapshot_time(day)
    spot = round(_spx_snapshot_spot(m, day) * SPY_PER_SPX, 2)
    change = spot - round(st["prev_close"] * SPY_PER_SPX, 2)
    v_q, crowd, anchor = st["variance_q"], st["crowding_oi"], st["oi_anchor"] * SPY_PER_SPX
    level_noise = math.exp(0.015 * rng.standard_normal())
    skew_mult = math.exp(0.05 * rng.standard_normal()) * (1.0 + 0.15 * st["crowding"])

    kinds: dict[date, str] = {}
    for e, root, kind in ex.spx_expiries(day):
        if kind != "leap" and (root == "SPXW" or e not in kinds):
            kinds[e] = kind  # one PM series per date (SPY has no AM twin)
    exps, parts = [], []
    for e in sorted(kinds):
        close_h = 13 if ex.is_early_close(e) else 16
        T = (datetime(e.year, e.month, e.day, close_h, 0) - ts).total_seconds() / 60 / px.MIN_YEAR
        if T <= 0:
            continue
        atm = math.sqrt(float(expected_avg_var(v_q, T, p, st["spike_q"]))) * 0.93 * level_noise
        sd = atm * math.sqrt(max(T, 1 / 365))
        exps.append(e)
        parts.append((_strike_grid(spot / SPY_PER_SPX, sd, kinds[e]) * SPY_PER_SPX, T, atm,
                      KIND_WEIGHT[kinds[e]]))
    sizes = [len(pt[0]) for pt in parts]
    eidx = np.repeat(np.arange(len(parts)), sizes)
    K = np.round(np.concatenate([pt[0] for pt in parts]).astype(float), 2)
    T = np.repeat([pt[1] for pt in parts], sizes)
    atm = np.repeat([pt[2] for pt in parts], sizes)
    w_t = np.repeat([pt[3] for pt in parts], sizes) / np.sqrt(1.0 + T / 0.25)
    eo = np.array([e.toordinal() for e in exps], dtype=np.int64)[eidx]
    n = len(K)
    iv = px.spx_iv(np.log(K / (spot * np.exp((px.R - SPY_DIV_YIELD) * T))), T, atm, skew_mult)
    z_c, z_p = rng.standard_normal(n), rng.standard_normal(n)
    iv_c = iv * np.exp(0.004 * z_c)
    iv_p = iv * np.exp(0.004 * (0.95 * z_c + 0.31 * z_p))
    call, _, dc, _, gc = px.bs(spot, K, T, iv_c, q=SPY_DIV_YIELD)
    _, put, _, dp, gp = px.bs(spot, K, T, iv_p, q=SPY_DIV_YIELD)
    jit = np.exp(0.15 * rng.standard_normal((2, n)))
    # penny quotes: the spread widens with price, at least a cent
    cb = np.floor(np.maximum(call - (0.01 + 0.004 * call) * jit[0], 0.0) * 100).astype(np.int64)
    ca = np.maximum(np.ceil((call + (0.01 + 0.004 * call) * jit[0]) * 100), cb + 1).astype(np.int64)
    pb = np.floor(np.maximum(put - (0.01 + 0.004 * put) * jit[1], 0.0) * 100).astype(np.int64)
    pa = np.maximum(np.ceil((put + (0.01 + 0.004 * put) * jit[1]) * 100), pb + 1).astype(np.int64)

    # Open interest: the SPX shapes (persistent per contract, round strikes, crowding in puts)
    s_t = 0.16 * np.sqrt(np.maximum(T, 0.02))
    za = np.log(K / anchor) / s_t
    rnd = np.where(K % 5 == 0, 3.0, np.where(K % 1 == 0, 1.5, 1.0))
    call_prof = np.exp(-0.5 * ((za - 0.6) / 1.3) ** 2) * (1.25 - 0.55 * crowd)
    put_prof = (np.exp(-0.5 * ((za + 1.2) / 1.7) ** 2) + 0.25 * np.exp(-0.5 * ((za + 3.0) / 1.5) ** 2)) \
        * (0.55 + 0.45 * crowd) + np.exp(-0.5 * ((za + 0.4) / 0.9) ** 2) * crowd**2
    root_id = np.full(n, ROOT_ID["SPY"], dtype=np.int64)
    hc = px.uniform_to_normal(px.contract_uniform(m.seed, eo, K, np.zeros(n, np.int64), root_id, 1))
    hp = px.uniform_to_normal(px.contract_uniform(m.seed, eo, K, np.ones(n, np.int64), root_id, 1))
    oi_c = np.floor(SPY_OI_SCALE * w_t * rnd * call_prof * np.exp(0.7 * hc - 0.245))
    oi_p = np.floor(SPY_OI_SCALE * w_t * rnd * put_prof * np.exp(0.7 * hp - 0.245))

    # Volume and last sale: a fraction of OI plus fresh flow near the money.
    zz = np.log(K / spot) / (atm * np.sqrt(np.maximum(T, 1 / 365)))
    near = np.exp(-0.5 * zz * zz)
    g = rng.gamma(1.5, 1 / 1.5, (2, n))
    vol_c = np.floor((oi_c * (0.02 + 0.3 * near) + 200.0 * near) * g[0])
    vol_p = np.floor((oi_p * (0.02 + 0.3 * near) + 240.0 * near) * g[1])
    last_c = np.where(vol_c > 0, np.maximum(np.round(call, 2), 0.01), 0.0)
    last_p = np.where(vol_p > 0, np.maximum(np.round(put, 2), 0.01), 0.0)
    net_c = np.where(last_c > 0, np.maximum(dc * change, 0.01 - last_c), 0.0)
    net_p = np.where(last_p > 0, np.maximum(dp * change, 0.01 - last_p), 0.0)

    exp_text = np.array([e.strftime("%a %b %d %Y") for e in exps], dtype=object)[eidx]
    sym = np.array(["SPY" + e.strftime("%y%m%d") for e in exps], dtype=object)[eidx]
    f = pl.DataFrame({
        "expiry": pl.Series(eo - 719163, dtype=pl.Int32).cast(pl.Date),
        "root": pl.Series(["SPY"] * n, dtype=pl.String),
        "strike": K, "T": T,
        "exp_text": pl.Series(exp_text, dtype=pl.String),
        "strike_c": scaled(K, 2),
        "sym": pl.Series(sym, dtype=pl.String),
        "k8": pl.Series(scaled(K, 3)).cast(pl.String).str.zfill(8),
        "call_last": scaled(last_c, 2), "call_net": scaled(net_c, 2),
        "call_bid": cb, "call_ask": ca, "call_volume": vol_c.astype(np.int64),
        "call_iv": scaled(iv_c, 4), "call_delta": scaled(dc, 4),
        "call_gamma": scaled(gc, 4), "call_oi": oi_c.astype(np.int64),
        "put_last": scaled(last_p, 2), "put_net": scaled(net_p, 2),
        "put_bid": pb, "put_ask": pa, "put_volume": vol_p.astype(np.int64),
        "put_iv": scaled(iv_p, 4), "put_delta": scaled(dp, 4),
        "put_gamma": scaled(gp, 4), "put_oi": oi_p.astype(np.int64),
    }).sort("expiry", "strike").with_columns(
        call_symbol=pl.concat_str([pl.col("sym"), pl.lit("C"), pl.col("k8")]),
        put_symbol=pl.concat_str([pl.col("sym"), pl.lit("P"), pl.col("k8")]),
    )
    return Chain(name="SPDR S&P 500 ETF Trust", spot=spot, change=change, ts=ts,
                 index_bid=spot - 0.01, index_ask=spot + 0.01, frame=f)
