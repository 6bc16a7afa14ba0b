"""core.signal_evidence: per night, how each regime's following sessions behaved up to that night
(forward return, realized vol, drawdown, iron-condor break-even hit rate), point in time; and the
score in the sessions before real SPX drawdowns versus all other sessions (research mode).

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


# -- the score before real drawdowns (research mode, docs/research.md) ----------------------------

DRAWDOWN_EPISODE_SCHEMA: dict[str, pl.DataType] = {
    "onset": pl.Date(), "trough": pl.Date(), "drawdown_pct": pl.Float64(), "sessions_to_trough": pl.Int64(),
    "score_mean_before": pl.Float64(), "score_max_before": pl.Float64(), "coverage_mean_before": pl.Float64(),
    "sessions_with_score": pl.Int64(),
}


def drawdown_onsets(dates: list, close: np.ndarray, threshold_pct: float = 5.0, within: int = 10
                    ) -> list[tuple[int, int, float]]:
    """SPX drawdowns of more than `threshold_pct` % within `within` sessions: each episode as
    (onset row, trough row, drawdown %). A row i qualifies when some close in rows i+1..i+within
    is more than threshold_pct % below close[i]; a run of qualifying rows is one episode whose onset
    is the run's first row (the last close before the fall) and whose trough is the lowest close
    within `within` sessions of any row of the run. A new episode starts only after the previous
    trough (a fall already under way is not a new one). Rows without `within` sessions ahead do
    not qualify (the outcome is unknown)."""
    n = len(close)
    if n <= within:
        return []
    win = np.lib.stride_tricks.sliding_window_view(close, within + 1)
    fwd_min = win[:, 1:].min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dd = 100.0 * (fwd_min / win[:, 0] - 1.0)
    qual = np.zeros(n, dtype=bool)
    qual[: len(dd)] = np.nan_to_num(dd, nan=0.0) < -threshold_pct
    out = []
    i = 0
    while i < n:
        if not qual[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and qual[j + 1]:
            j += 1
        seg = close[i: min(j + within, n - 1) + 1]
        t = i + int(np.nanargmin(seg))
        out.append((i, t, 100.0 * (close[t] / close[i] - 1.0)))
        i = max(j, t) + 1
    return out


def drawdown_evidence(signals: pl.DataFrame, threshold_pct: float = 5.0, within: int = 10,
                      before: int = 10, elevated: float = 50.0, score_col: str = "unwind_score"
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The unwind score before every SPX drawdown of more than `threshold_pct` % within `within`
    sessions versus all other sessions.

    `signals`: date, spx_close, unwind_score, coverage (core.signals_daily shape), one row per
    session; `score_col` names the score judged (unwind_score_raw: the components present,
    without the coverage shrinkage). "Before" = the `before` sessions ending at the onset (the score known at each close
    before the fall). Returns (episodes: DRAWDOWN_EPISODE_SCHEMA, summary: one row per group
    'before_drawdown' / 'other' with sessions, sessions_with_score, score mean/median/p90, share of
    sessions with the score >= `elevated`, mean coverage) and, on the 'before_drawdown' row, the
    AUC: the probability that a pre-drawdown session's score exceeds another session's (0.5 = no
    information; ties count half)."""
    s = signals.sort("date").filter(pl.col("spx_close").is_not_null())
    dates = s["date"].to_list()
    close = s["spx_close"].to_numpy().astype(float)
    score = s[score_col].fill_null(np.nan).to_numpy().astype(float)
    cov = (s["coverage"].fill_null(np.nan).to_numpy().astype(float) if "coverage" in s.columns
           else np.full(len(dates), np.nan))
    eps = drawdown_onsets(dates, close, threshold_pct, within)
    in_before = np.zeros(len(dates), dtype=bool)
    rows = []
    for i, t, dd in eps:
        lo = max(0, i - before + 1)
        in_before[lo: i + 1] = True
        sc = score[lo: i + 1]
        ok = np.isfinite(sc)
        rows.append({"onset": dates[i], "trough": dates[t], "drawdown_pct": dd, "sessions_to_trough": t - i,
                     "score_mean_before": float(sc[ok].mean()) if ok.any() else None,
                     "score_max_before": float(sc[ok].max()) if ok.any() else None,
                     "coverage_mean_before": float(np.nanmean(cov[lo: i + 1])) if np.isfinite(cov[lo: i + 1]).any()
                     else None,
                     "sessions_with_score": int(ok.sum())})
    episodes = pl.DataFrame(rows, schema=DRAWDOWN_EPISODE_SCHEMA)

    def group(name: str, mask: np.ndarray) -> dict:
        sc = score[mask]
        ok = sc[np.isfinite(sc)]
        c = cov[mask]
        return {"score": score_col, "group": name, "episodes": len(eps), "sessions": int(mask.sum()), "sessions_with_score": ok.size,
                "score_mean": float(ok.mean()) if ok.size else None,
                "score_median": float(np.median(ok)) if ok.size else None,
                "score_p90": float(np.quantile(ok, 0.9)) if ok.size else None,
                "share_elevated": float((ok >= elevated).mean()) if ok.size else None,
                "coverage_mean": float(np.nanmean(c)) if np.isfinite(c).any() else None}

    pre, other = group("before_drawdown", in_before), group("other", ~in_before)
    a, b = score[in_before & np.isfinite(score)], score[~in_before & np.isfinite(score)]
    auc = None
    if a.size and b.size:
        # rank statistic (Mann-Whitney U / (n_a n_b)); ties count half
        from scipy.stats import rankdata
        r = rankdata(np.concatenate([a, b]))
        auc = float((r[: a.size].sum() - a.size * (a.size + 1) / 2) / (a.size * b.size))
    pre["auc"], other["auc"] = auc, None
    summary = pl.DataFrame([pre, other], schema={
        "score": pl.String, "group": pl.String, "episodes": pl.Int64, "sessions": pl.Int64, "sessions_with_score": pl.Int64,
        "score_mean": pl.Float64, "score_median": pl.Float64, "score_p90": pl.Float64,
        "share_elevated": pl.Float64, "coverage_mean": pl.Float64, "auc": pl.Float64})
    return episodes, summary
