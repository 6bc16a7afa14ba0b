"""core.signal_evidence: per night, how each regime's following sessions behaved up to that night
(forward return, realized vol, drawdown, iron-condor break-even hit rate), point in time.

Pure numpy + polars: core.signals_daily in, frames out. No I/O, DuckDB, Prefect or sources import.
Method in docs/alvh.md.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from transforms.conventions import REGIMES
from transforms.signals import SignalParams

EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "regime": pl.String(),
    "horizon_sessions": pl.Int64(),
    "n_obs": pl.Int64(),
    "first_entry": pl.Date(),
    "last_entry": pl.Date(),
    "fwd_ret_pct_mean": pl.Float64(),
    "fwd_rv_pct_mean": pl.Float64(),
    "max_drawdown_pct_mean": pl.Float64(),
    "max_drawdown_pct_worst": pl.Float64(),
    "ic_hit_rate": pl.Float64(),
    "ic_be_sigma": pl.Float64(),
}


def forward_outcomes(close: np.ndarray, vix: np.ndarray, h: int, p: SignalParams) -> dict[str, np.ndarray]:
    """Per entry row i (needs rows i..i+h): forward return, realized vol, max drawdown (%), and
    whether every close i+1..i+h stayed inside the VIX-implied break-evens. NaN when unknown."""
    n = len(close)
    ret = np.full(n, np.nan)
    rv = np.full(n, np.nan)
    mdd = np.full(n, np.nan)
    hit = np.full(n, np.nan)
    if n <= h:
        return {"ret": ret, "rv": rv, "mdd": mdd, "hit": hit}
    with np.errstate(invalid="ignore", divide="ignore"):
        logc = np.log(close)
        win = np.lib.stride_tricks.sliding_window_view(close, h + 1)  # rows 0 .. n-h-1
        lwin = np.lib.stride_tricks.sliding_window_view(logc, h + 1)
        m = win.shape[0]
        ret[:m] = 100.0 * (win[:, -1] / win[:, 0] - 1.0)
        r = np.diff(lwin, axis=1)
        rv[:m] = r.std(axis=1, ddof=1) * math.sqrt(p.periods_per_year) * 100.0 if h >= 2 else \
            np.abs(r[:, 0]) * math.sqrt(p.periods_per_year) * 100.0
        peak = np.maximum.accumulate(win, axis=1)
        mdd[:m] = 100.0 * (win / peak - 1.0).min(axis=1)
        sig = vix[:m] / 100.0 * math.sqrt(h / p.periods_per_year) * p.ic_be_sigma
        lo, hi = win[:, 0] * (1 - sig), win[:, 0] * (1 + sig)
        inside = ((win[:, 1:] >= lo[:, None]) & (win[:, 1:] <= hi[:, None])).all(axis=1)
        hit[:m] = np.where(np.isfinite(sig) & np.isfinite(win).all(axis=1), inside.astype(float), np.nan)
    bad = ~np.isfinite(ret)
    for a in (rv, mdd, hit):
        a[bad] = np.nan
    return {"ret": ret, "rv": rv, "mdd": mdd, "hit": hit}


def signal_evidence(signals: pl.DataFrame, params: SignalParams | None = None) -> pl.DataFrame:
    """For each date D of `signals` and each regime (and 'all'), how the `h` sessions after every
    earlier entry in that regime behaved, using only entries whose h sessions ended on or before D
    (outcomes fully known by D's close). One row per as_of x regime x horizon."""
    p = params or SignalParams()
    if signals.is_empty():
        return pl.DataFrame(schema=EVIDENCE_SCHEMA)
    s = signals.sort("date")
    dates = s["date"].to_list()
    n = len(dates)
    close = s["spx_close"].fill_null(np.nan).to_numpy().astype(float)
    vix = s["vix"].fill_null(np.nan).to_numpy().astype(float) if "vix" in s.columns else np.full(n, np.nan)
    regime = np.array(s["regime"].fill_null("").to_list(), dtype=object)
    idx = np.arange(n)
    frames = []
    for h in p.horizons:
        out = forward_outcomes(close, vix, h, p)
        known = idx + h  # the row whose close completes the outcome
        valid = np.isfinite(out["ret"]) & (known < n)
        for reg in (*REGIMES, "all"):
            sel = valid & ((regime == reg) if reg != "all" else True)
            k = known[sel]

            def cum(values: np.ndarray, k=k) -> np.ndarray:
                return np.cumsum(np.bincount(k, weights=values, minlength=n))

            cnt = np.cumsum(np.bincount(k, minlength=n)).astype(np.int64)
            hit_ok = np.isfinite(out["hit"][sel])
            n_hit = np.cumsum(np.bincount(k[hit_ok], minlength=n))
            sums = {key: cum(out[key][sel]) for key in ("ret", "rv", "mdd")}
            hits = np.cumsum(np.bincount(k[hit_ok], weights=out["hit"][sel][hit_ok], minlength=n))
            worst = np.full(n, np.inf)
            np.minimum.at(worst, k, out["mdd"][sel])
            worst = np.minimum.accumulate(worst)
            first = np.full(n, n, dtype=np.int64)
            np.minimum.at(first, k, idx[sel])
            first = np.minimum.accumulate(first)
            last = np.full(n, -1, dtype=np.int64)
            np.maximum.at(last, k, idx[sel])
            last = np.maximum.accumulate(last)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = {key: np.where(cnt > 0, v / np.maximum(cnt, 1), np.nan) for key, v in sums.items()}
                rate = np.where(n_hit > 0, hits / np.maximum(n_hit, 1), np.nan)
            frames.append(pl.DataFrame({
                "as_of": dates, "regime": [reg] * n, "horizon_sessions": [h] * n,
                "n_obs": cnt,
                "first_entry": [dates[i] if 0 <= i < n and c > 0 else None for i, c in zip(first, cnt, strict=True)],
                "last_entry": [dates[i] if 0 <= i < n and c > 0 else None for i, c in zip(last, cnt, strict=True)],
                "fwd_ret_pct_mean": mean["ret"], "fwd_rv_pct_mean": mean["rv"],
                "max_drawdown_pct_mean": mean["mdd"],
                "max_drawdown_pct_worst": np.where(cnt > 0, worst, np.nan),
                "ic_hit_rate": rate, "ic_be_sigma": [p.ic_be_sigma] * n,
            }, schema=EVIDENCE_SCHEMA))
    out = pl.concat(frames).with_columns(
        [pl.col(c).fill_nan(None) for c, t in EVIDENCE_SCHEMA.items() if t == pl.Float64()])
    order = {r: i for i, r in enumerate((*REGIMES, "all"))}
    return (out.with_columns(_o=pl.col("regime").replace_strict(order, return_dtype=pl.Int64))
            .sort("as_of", "_o", "horizon_sessions").drop("_o"))
