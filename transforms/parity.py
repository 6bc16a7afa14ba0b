"""core.parity_daily: put-call parity per quote_date x root x expiry (implied forward, discount,
carry, conversion/reversal residuals after costs) and the extrinsic value by tenor; the roll rule.

Pure polars + numpy: raw.option_quotes rows and ParityParams in, table rows out. No I/O, DuckDB,
Prefect or sources import. Formulas and conventions: docs/options.md.

Parity (European, index options): C - P = D (F - K), D = e^{-rT} the discount factor and F the
forward. Over the quoted pairs near the money, a weighted line C_mid - P_mid = a + b K gives
D = -b and F = a / D; implied rate r = -ln(D) / T, implied carry r - q = ln(F / S) / T.
Conversion (short call at bid, long put at ask, long forward at F): C_bid - P_ask - D (F - K) - cost.
Reversal (long call at ask, short put at bid, short forward): P_bid - C_ask + D (F - K) - cost.
A residual above 0 is an arbitrage at the quotes (normally none). All prices in index points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from transforms import greeks

AM_ROOTS = frozenset({"SPX", "VIX"})  # settled on the opening quotation (SOQ) of the expiry day
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # ATM option ~ S sigma sqrt(T) / sqrt(2 pi)


class ParityParams(BaseModel):
    """Every knob of core.parity_daily and the extrinsic roll rule (docs/options.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    underlying: str = "SPX"
    fit_band_pct: float = Field(5.0, gt=0, description="pairs with |K / F0 - 1| within this % fit "
                                "the parity line (F0: K + C - P at the pair with the smallest |C - P|)")
    fit_min_pairs: int = Field(5, ge=2, description="fewer pairs in the band: the nearest this many")
    min_rate_days: float = Field(7.0, ge=0, description="below this many calendar days the discount "
                                 "is under the quotes' rounding: D = 1, rate_implied null")
    discount_bounds: tuple[float, float] = Field((0.5, 1.5), description="a fitted D outside this "
                                                 "range is noise: fall back to D = 1")
    cost_per_pair_pts: float = Field(0.15, ge=0, description="costs of one conversion/reversal, "
                                     "index points: two SPX option fees (~0.03) + half an ES spread "
                                     "for the forward leg (0.125)")
    short_delta: float = Field(0.16, gt=0, lt=0.5, description="|delta| of the condor's short "
                               "strikes (AlvhParams.short_delta)")
    min_bid: float = Field(0.05, ge=0, description="a short strike needs at least this bid")
    # roll rule: front vs back ATM extrinsic, each as a vol equivalent (extrinsic_atm_vol_pct)
    front_dte: tuple[int, int, int] = Field((5, 14, 21), description="front tenor: (min, target, "
                                            "max) calendar days (the condor's tenor)")
    back_dte: tuple[int, int, int] = Field((28, 45, 90), description="back tenor: (min, target, max)")
    roll_max_front_rich: float = Field(1.10, gt=0, description="roll the widened shorts back in only "
                                       "while front/back extrinsic vol <= this (not fitted: a front "
                                       "10 % richer per unit of sqrt-time still prices near-term stress)")


SCHEMA: dict[str, pl.DataType] = {
    "quote_date": pl.Date(), "root": pl.String(), "expiry": pl.Date(), "underlying": pl.String(),
    "spot": pl.Float64(), "dte_days": pl.Int64(), "t_years": pl.Float64(),
    "pairs_quoted": pl.Int64(), "pairs_fit": pl.Int64(), "fit_method": pl.String(),
    "forward_implied": pl.Float64(), "forward_basis_pts": pl.Float64(),
    "discount_factor_implied": pl.Float64(), "rate_implied": pl.Float64(),
    "carry_implied": pl.Float64(), "dividend_yield_implied": pl.Float64(),
    "parity_fit_rmse_pts": pl.Float64(), "cost_per_pair_pts": pl.Float64(),
    "parity_residual_conversion_max_pts": pl.Float64(), "parity_residual_reversal_max_pts": pl.Float64(),
    "parity_arb_conversions": pl.Int64(), "parity_arb_reversals": pl.Int64(),
    "atm_strike": pl.Float64(), "extrinsic_atm_pts": pl.Float64(), "extrinsic_atm_vol_pct": pl.Float64(),
    "short_put_strike": pl.Float64(), "short_call_strike": pl.Float64(),
    "extrinsic_short_put_pts": pl.Float64(), "extrinsic_short_call_pts": pl.Float64(),
}


def t_years(quote_date: pl.Expr, expiry: pl.Expr, root: pl.Expr) -> pl.Expr:
    """ACT/365 years from the 16:00 New York close of quote_date to settlement: 16:00 on the expiry
    for PM roots, 09:30 (6.5 h earlier) for AM roots (the convention of transforms/alvh.py)."""
    hours = (expiry - quote_date).dt.total_days().cast(pl.Float64) * 24.0 \
        - pl.when(root.is_in(sorted(AM_ROOTS))).then(6.5).otherwise(0.0)
    return hours / (365.0 * 24.0)


def pairs(quotes: pl.DataFrame, params: ParityParams | None = None) -> pl.DataFrame:
    """raw.option_quotes rows -> one row per (quote_date, root, expiry, strike) with the call and put
    bid/ask/mid/delta side by side, `quoted` when both sides have a usable two-sided quote, and
    t_years; expiries already settled (t_years <= 0 or expired) are dropped."""
    p = params or ParityParams()
    q = quotes
    if "underlying" in q.columns:
        q = q.filter(pl.col("underlying") == p.underlying)
    if "expired" in q.columns:
        q = q.filter(~pl.col("expired").fill_null(False))
    for c in ("delta", "iv"):
        if c not in q.columns:
            q = q.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    q = q.with_columns(t_years=t_years(pl.col("quote_date"), pl.col("expiry"), pl.col("root"))) \
        .filter(pl.col("t_years") > 0)
    keys = ["quote_date", "root", "expiry", "strike"]
    side = {r: q.filter(pl.col("right") == r).select(
        *keys, "spot", "t_years", *(pl.col(c).alias(f"{r.lower()}_{c}") for c in ("bid", "ask", "delta", "iv")))
        for r in ("C", "P")}
    w = side["C"].join(side["P"].drop("spot", "t_years"), on=keys, how="inner")

    def two_sided(s: str) -> pl.Expr:
        return (pl.col(f"{s}_bid").is_not_null() & pl.col(f"{s}_ask").is_not_null()
                & (pl.col(f"{s}_bid") >= 0) & (pl.col(f"{s}_ask") > 0)
                & (pl.col(f"{s}_ask") >= pl.col(f"{s}_bid")))

    return w.with_columns(
        c_mid=(pl.col("c_bid") + pl.col("c_ask")) / 2.0,
        p_mid=(pl.col("p_bid") + pl.col("p_ask")) / 2.0,
        quoted=two_sided("c") & two_sided("p"),
    ).sort(keys)


def _wls(k: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least squares y = a + b k -> (a, b)."""
    sw = w.sum()
    km, ym = (w * k).sum() / sw, (w * y).sum() / sw
    var = (w * (k - km) ** 2).sum()
    b = (w * (k - km) * (y - ym)).sum() / var if var > 0 else 0.0
    return ym - b * km, b


def fit_parity(k: np.ndarray, c_mid: np.ndarray, p_mid: np.ndarray, spread: np.ndarray,
               t: float, params: ParityParams | None = None) -> dict:
    """Forward and discount factor of one expiry from its quoted pairs (arrays by strike).

    Pairs within fit_band_pct of the first guess F0 (else the fit_min_pairs nearest) fit
    C - P = D (F - K) by least squares weighted 1 / (call spread + put spread), after dropping the
    pairs off a robust (Theil-Sen) line by more than their half spreads + 4 median absolute
    residuals. Under min_rate_days, or with D outside discount_bounds, D = 1 and F is the weighted
    mean of K + C - P ('unit_discount')."""
    p = params or ParityParams()
    out = {"forward_implied": None, "discount_factor_implied": None, "pairs_fit": 0,
           "parity_fit_rmse_pts": None, "fit_method": None}
    if len(k) < 2:
        return out
    y = c_mid - p_mid
    i0 = int(np.argmin(np.abs(y)))
    f0 = k[i0] + y[i0]
    dist = np.abs(k / f0 - 1.0)
    sel = dist <= p.fit_band_pct / 100.0
    if sel.sum() < p.fit_min_pairs:
        sel = np.zeros(len(k), dtype=bool)
        sel[np.argsort(dist, kind="stable")[:p.fit_min_pairs]] = True
    kk, yy, ss = k[sel], y[sel], spread[sel]
    unit = t * 365.0 < p.min_rate_days
    lo, hi = p.discount_bounds

    def solve(kk, yy, ww, robust: bool):
        if not unit and len(kk) >= 3:
            if robust:  # Theil-Sen: the median pairwise slope, then the median intercept
                i, j = np.triu_indices(len(kk), 1)
                ok = kk[j] != kk[i]
                b = float(np.median((yy[j] - yy[i])[ok] / (kk[j] - kk[i])[ok])) if ok.any() else 0.0
                a = float(np.median(yy - b * kk))
            else:
                a, b = _wls(kk, yy, ww)
            if lo < -b < hi:
                return a / -b, -b, "wls"
        if robust:
            return float(np.median(kk + yy)), 1.0, "unit_discount"
        return float((ww * (kk + yy)).sum() / ww.sum()), 1.0, "unit_discount"

    # A pair whose mid sits off the robust line by more than its own half spreads (+ 4 median
    # absolute residuals) is out of line with the others: it is measured against them, not fitted.
    f, d, _ = solve(kk, yy, None, robust=True)
    res = yy - d * (f - kk)
    keep = np.abs(res) <= ss / 2.0 + 4.0 * float(np.median(np.abs(res))) + 1e-9
    if keep.sum() >= 2:
        kk, yy, ss = kk[keep], yy[keep], ss[keep]
    f, d, how = solve(kk, yy, 1.0 / np.maximum(ss, 0.01), robust=False)
    res = yy - d * (f - kk)
    out.update(forward_implied=float(f), discount_factor_implied=float(d), pairs_fit=int(len(kk)),
               parity_fit_rmse_pts=float(np.sqrt(np.mean(res ** 2))), fit_method=how)
    return out


def _short_strike(g: pl.DataFrame, right: str, spot: float, t: float, p: ParityParams) -> tuple:
    """(strike, mid) of the OTM option with |delta| nearest short_delta and bid >= min_bid; the
    vendor delta, or Black-Scholes from the vendor IV (r = q = 0) when the vendor has none."""
    s = right.lower()
    otm = (pl.col("strike") < spot) if right == "P" else (pl.col("strike") > spot)
    c = g.filter(otm & pl.col(f"{s}_bid").is_not_null() & (pl.col(f"{s}_bid") >= max(p.min_bid, 1e-9))
                 & pl.col(f"{s}_ask").is_not_null())
    if c.is_empty():
        return None, None
    vendor = c[f"{s}_delta"].to_numpy().astype(float)
    iv = c[f"{s}_iv"].fill_null(0.0).to_numpy().astype(float)
    model = greeks.delta(spot, c["strike"].to_numpy(), t, iv, right == "C")
    has_iv = iv > 0
    d = np.where(np.isfinite(vendor) & (vendor != 0), vendor, np.where(has_iv, model, np.nan))
    gap = np.abs(np.abs(d) - p.short_delta)
    if not np.isfinite(gap).any():
        return None, None
    i = int(np.nanargmin(gap))
    return float(c["strike"][i]), float((c[f"{s}_bid"][i] + c[f"{s}_ask"][i]) / 2.0)


def _expiry_row(g: pl.DataFrame, p: ParityParams) -> dict:
    first = g.row(0, named=True)
    spot, t = float(first["spot"]), float(first["t_years"])
    row = {c: None for c in SCHEMA}
    row.update(quote_date=first["quote_date"], root=first["root"], expiry=first["expiry"],
               underlying=p.underlying, spot=spot, t_years=t,
               dte_days=(first["expiry"] - first["quote_date"]).days,
               cost_per_pair_pts=p.cost_per_pair_pts, pairs_fit=0)
    qd = g.filter(pl.col("quoted"))
    row["pairs_quoted"] = qd.height
    k = qd["strike"].to_numpy().astype(float)
    cm, pm = qd["c_mid"].to_numpy().astype(float), qd["p_mid"].to_numpy().astype(float)
    spread = (qd["c_ask"] - qd["c_bid"] + qd["p_ask"] - qd["p_bid"]).to_numpy().astype(float)
    row.update(fit_parity(k, cm, pm, spread, t, p))
    f, d = row["forward_implied"], row["discount_factor_implied"]
    if f is not None and f > 0 and spot > 0:
        row["forward_basis_pts"] = f - spot
        row["carry_implied"] = math.log(f / spot) / t
        if row["fit_method"] == "wls":
            row["rate_implied"] = -math.log(d) / t
            row["dividend_yield_implied"] = row["rate_implied"] - row["carry_implied"]
        cb, ca = qd["c_bid"].to_numpy().astype(float), qd["c_ask"].to_numpy().astype(float)
        pb, pa = qd["p_bid"].to_numpy().astype(float), qd["p_ask"].to_numpy().astype(float)
        conv = cb - pa - d * (f - k) - p.cost_per_pair_pts
        rev = pb - ca + d * (f - k) - p.cost_per_pair_pts
        row.update(parity_residual_conversion_max_pts=float(conv.max()),
                   parity_residual_reversal_max_pts=float(rev.max()),
                   parity_arb_conversions=int((conv > 0).sum()), parity_arb_reversals=int((rev > 0).sum()))
        i = int(np.argmin(np.abs(k - f)))
        ka = float(k[i])
        ext = 0.5 * ((cm[i] - max(spot - ka, 0.0)) + (pm[i] - max(ka - spot, 0.0)))
        row.update(atm_strike=ka, extrinsic_atm_pts=ext,
                   extrinsic_atm_vol_pct=100.0 * ext / (_INV_SQRT_2PI * spot * math.sqrt(t)))
    else:
        row.update(parity_arb_conversions=0, parity_arb_reversals=0)
    if spot > 0:
        # OTM strikes: the whole mid is extrinsic (intrinsic against spot is 0).
        row["short_put_strike"], row["extrinsic_short_put_pts"] = _short_strike(g, "P", spot, t, p)
        row["short_call_strike"], row["extrinsic_short_call_pts"] = _short_strike(g, "C", spot, t, p)
    return row


def parity_daily(quotes: pl.DataFrame, params: ParityParams | None = None) -> pl.DataFrame:
    """raw.option_quotes rows (any number of sessions) -> core.parity_daily rows, one per
    quote_date x root x expiry that has at least one call/put pair and time left."""
    p = params or ParityParams()
    w = pairs(quotes, p)
    if w.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    rows = [_expiry_row(g, p) for _, g in
            w.group_by(["quote_date", "root", "expiry"], maintain_order=True)]
    return pl.DataFrame(rows, schema=SCHEMA).sort("quote_date", "root", "expiry")


def _pick_tenor(night: pl.DataFrame, lo: int, target: int, hi: int, roots: Sequence[str]) -> dict | None:
    c = night.filter(pl.col("dte_days").is_between(lo, hi) & pl.col("extrinsic_atm_vol_pct").is_not_null())
    if c.is_empty():
        return None
    rank = {r: i for i, r in enumerate(roots)}
    rows = c.iter_rows(named=True)
    return min(rows, key=lambda r: (abs(r["dte_days"] - target), r["dte_days"], rank.get(r["root"], 99)))


def extrinsic_term(night: pl.DataFrame, params: ParityParams | None = None,
                   roots: Sequence[str] = ("SPXW", "SPX")) -> dict:
    """One night's core.parity_daily rows -> the front/back ATM extrinsic (as vol equivalents), their
    ratio and the roll verdict: roll_ok = ratio <= roll_max_front_rich (None when a tenor is missing)."""
    p = params or ParityParams()
    front = _pick_tenor(night, *p.front_dte, roots)
    back = _pick_tenor(night, *p.back_dte, roots)
    if front is None or back is None or not back["extrinsic_atm_vol_pct"]:
        return {"extrinsic_term_ratio": None, "extrinsic_roll_ok": None,
                "extrinsic_roll_max": p.roll_max_front_rich,
                "front_expiry": front and front["expiry"], "back_expiry": back and back["expiry"]}
    ratio = front["extrinsic_atm_vol_pct"] / back["extrinsic_atm_vol_pct"]
    return {"extrinsic_term_ratio": ratio, "extrinsic_roll_ok": ratio <= p.roll_max_front_rich,
            "extrinsic_roll_max": p.roll_max_front_rich, "front_expiry": front["expiry"], "back_expiry": back["expiry"]}
