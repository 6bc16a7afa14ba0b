"""Trailing-window statistics shared by the market and signal tables (z-scores, percentiles).

Pure numpy over one series in time order; must not look at rows after the row it scores.
"""

from __future__ import annotations

import numpy as np


def trailing_window(x: np.ndarray, window: int, *, include_today: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, present, count) of each row's window: the `window` values before it, or the
    `window` values ending with it when `include_today`. NaN means no value (it is not counted)."""
    lag = 0 if include_today else 1
    # row i's window is x[i + 1 - lag - w : i + 1 - lag]; the front is padded with NaN (= no data)
    padded = np.concatenate([np.full(window + lag, np.nan), np.asarray(x, dtype=float)])
    win = np.lib.stride_tricks.sliding_window_view(padded, window)[1: len(x) + 1]
    ok = ~np.isnan(win)
    return win, ok, ok.sum(axis=1)


def trailing_z(x: np.ndarray, window: int, min_periods: int, floor: float, *,
               include_today: bool = False) -> np.ndarray:
    """(x - mean) / max(std, floor) against the trailing window (std with ddof 1); NaN where the
    window holds fewer than `min_periods` values or x is NaN."""
    x = np.asarray(x, dtype=float)
    win, ok, n = trailing_window(x, window, include_today=include_today)
    vals = np.where(ok, win, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = vals.sum(axis=1) / n
        var = (np.where(ok, win - mean[:, None], 0.0) ** 2).sum(axis=1) / (n - 1)
        sd = np.maximum(np.sqrt(var), floor)
        z = (x - mean) / sd
    bad = (n < min_periods) | np.isnan(x) | ~(sd > 0)
    return np.where(bad, np.nan, z)


def trailing_pctile(x: np.ndarray, window: int, min_periods: int, *,
                    include_today: bool = False) -> np.ndarray:
    """Mid-rank percentile (0-100) of x in its trailing window: ties count half, so a flat regime
    sits at the 50th percentile, not the 100th. NaN as for `trailing_z`."""
    x = np.asarray(x, dtype=float)
    win, ok, n = trailing_window(x, window, include_today=include_today)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = (ok & (win < x[:, None])).sum(axis=1)
        equal = (ok & (win == x[:, None])).sum(axis=1)
        pct = 100.0 * (below + 0.5 * equal) / n
    return np.where((n < min_periods) | np.isnan(x), np.nan, pct)
