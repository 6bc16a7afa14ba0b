"""Market breadth of the sample market: 500 constituents from a factor model whose cap-weighted sum
is the simulated SPX, so crowding can lift the index while most names fall (breadth narrows).

Each session's draws come from its own seeded stream, so a drop rebuilds just the 52-week window it
needs; prints Unicorn-style per-field files (`YYYYMMDD, value`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from sources.sample import expiries as ex
from sources.sample.market import SampleMarket

N_NAMES = 500
N_SECTORS = 11
N_LEADERS = 30  # the largest names: where crowded money concentrates
EXCHANGE = "SAMPLE"  # file prefix / exchange code of the sample universe
FIELDS = ("advn", "decln", "unchn", "advv", "declv", "newhi", "newlo")
LEADER_DRIFT = 0.0022  # daily leaders-minus-rest spread at crowding 1 (scaled by crowding^2)
SPREAD_SD = 0.005  # daily leaders-minus-rest noise
SECTOR_SD = 0.004
IDIO_SD = 0.013
SHARES_PER_DAY = 1.1e9  # universe volume on an average day


STREAM_BREADTH = 30
WINDOW = 252  # 52 weeks of sessions


@dataclass(frozen=True)
class Universe:
    w: np.ndarray  # cap weights, largest first
    beta: np.ndarray
    sector: np.ndarray
    price0: np.ndarray  # price level at the origin
    base_vol: np.ndarray  # average shares per day
    leader: np.ndarray  # the N_LEADERS largest names


def universe(seed: int) -> Universe:
    rng = np.random.default_rng([seed, 0, 2])
    rank = np.arange(1, N_NAMES + 1)
    w = rank**-1.05
    w = w / w.sum()
    beta = np.clip(rng.normal(1.0, 0.25, N_NAMES), 0.4, 1.8)
    sector = rng.integers(0, N_SECTORS, N_NAMES)
    price0 = np.exp(rng.normal(4.0, 0.8, N_NAMES))
    base_vol = w**0.55 / (w**0.55).sum() * SHARES_PER_DAY
    return Universe(w, beta, sector, price0, base_vol, rank <= N_LEADERS)


def _returns(m: SampleMarket, idx: np.ndarray, u: Universe) -> tuple[np.ndarray, np.ndarray]:
    """Constituent log returns for sessions `idx` (rows) and a per-session volume factor. Each
    session's draws come from its own stream, so any window can be rebuilt without the history."""
    f = m._sim.frame
    dates = m._sim.dates
    spx = f["spx_close"].to_numpy()
    r_idx = np.log(spx[idx] / spx[np.maximum(idx - 1, 0)])
    c = f["crowding"].to_numpy()[idx]
    unwind = f["unwind"].to_numpy()[idx]
    since = f["sessions_since_unwind"].to_numpy()[idx]
    cache = m.cache("breadth_draws")
    if len(cache) > 4000:
        cache.clear()
    rows = []
    for i in idx.tolist():
        row = cache.get(i)
        if row is None:
            row = cache[i] = np.random.default_rng([m.seed, dates[i].toordinal(), STREAM_BREADTH]).standard_normal(
                N_NAMES + N_SECTORS + 2)
        rows.append(row)
    z = np.stack(rows)
    # Leaders-minus-rest spread: positive drift when crowded; the crowded leaders fall hardest in an
    # unwind and lag in the recovery.
    spread = LEADER_DRIFT * c**2 + SPREAD_SD * z[:, 0]
    spread = np.where(unwind, 0.6 * r_idx, spread)
    spread = spread - np.where((since > 0) & (since <= 15), 0.002, 0.0)
    wl = u.w[u.leader].sum()
    grp = np.where(u.leader[None, :], (r_idx + (1 - wl) * spread)[:, None], (r_idx - wl * spread)[:, None])
    r = u.beta[None, :] * grp + SECTOR_SD * z[:, 2: 2 + N_SECTORS][:, u.sector] + IDIO_SD * z[:, 2 + N_SECTORS:]
    # The cap-weighted return is the index return (weight drift ignored).
    r = r - ((r * u.w).sum(axis=1) - r_idx)[:, None]
    sd_idx = np.sqrt(f["variance"].to_numpy()[idx] / 252)
    vol_factor = (1 + 1.5 * unwind) * (1 + 8 * sd_idx) * np.exp(0.2 * z[:, 1])
    return r, vol_factor


def _rolling(a: np.ndarray, w: int, op) -> np.ndarray:
    """Causal rolling max/min over w rows (van Herk / Gil-Werman: O(n) whatever w)."""
    n, k = a.shape
    pad = (-n) % w
    fill = -np.inf if op is np.maximum else np.inf
    b = np.concatenate([np.full((pad, k), fill), a]).reshape(-1, w, k)
    pre = op.accumulate(b, axis=1).reshape(-1, k)
    suf = op.accumulate(b[:, ::-1], axis=1)[:, ::-1].reshape(-1, k)
    out = pre.copy()
    out[w - 1:] = op(suf[: len(pre) - w + 1], pre[w - 1:])
    return out[pad:]


def breadth_day(m: SampleMarket, day: date) -> pl.DataFrame:
    """One session's row. Rows are computed a calendar quarter at a time and cached: each depends
    only on sessions up to its own date, so the block size never changes a value."""
    cache = m.cache("breadth_rows")
    key = (day.year, (day.month - 1) // 3)
    rows = cache.get(key)
    if rows is None:
        if len(cache) > 16:
            cache.clear()
        q0 = date(day.year, 3 * key[1] + 1, 1)
        y1, m1 = (day.year + 1, 1) if key[1] == 3 else (day.year, 3 * key[1] + 4)
        block = ex.sessions_between(q0, min(date(y1, m1, 1), ex.HORIZON))
        block = [d for d in block if d < date(y1, m1, 1)]
        rows = cache[key] = breadth_rows(m, block)
    return rows.filter(pl.col("date") == day)


def breadth_rows(m: SampleMarket, days: list[date]) -> pl.DataFrame:
    """Advances, declines, unchanged, up/down volume and new 52-week highs/lows for `days`
    (consecutive sessions)."""
    if not days:
        return pl.DataFrame(schema={"date": pl.Date, **{k: pl.Int64 for k in FIELDS}})
    u = universe(m.seed)
    i0, i1 = m.index_of(days[0]), m.index_of(days[-1])
    lo = max(i0 - (WINDOW - 1), 0)
    idx = np.arange(lo, i1 + 1)
    r, vf = _returns(m, idx, u)
    cum = np.cumsum(r, axis=0)
    # Price level for tick rounding: the name's origin price moved with the index by its beta.
    spx = m._sim.frame["spx_close"].to_numpy()
    level = u.price0[None, :] * (spx[idx] / spx[0])[:, None] ** u.beta[None, :]
    chg = level * (1 - np.exp(-r))  # today's move in dollars
    up, down = chg >= 0.015, chg <= -0.015  # a close within a cent or so of yesterday's is unchanged
    hi = _rolling(cum, WINDOW, np.maximum)
    lo_ = _rolling(cum, WINDOW, np.minimum)
    full = (idx - WINDOW + 1) >= 0  # a 52-week extreme needs a year of sessions
    newhi = ((cum >= hi) & up & full[:, None]).sum(axis=1)
    newlo = ((cum <= lo_) & down & full[:, None]).sum(axis=1)
    vol = u.base_vol[None, :] * (1 + 2.0 * np.abs(r) / IDIO_SD) * vf[:, None]
    keep = idx >= i0
    out = pl.DataFrame({
        "date": [m._sim.dates[i] for i in idx[keep].tolist()],
        "advn": up.sum(axis=1)[keep], "decln": down.sum(axis=1)[keep],
        "unchn": (N_NAMES - up.sum(axis=1) - down.sum(axis=1))[keep],
        "advv": np.round((vol * up).sum(axis=1))[keep].astype(np.int64),
        "declv": np.round((vol * down).sum(axis=1))[keep].astype(np.int64),
        "newhi": newhi[keep], "newlo": newlo[keep],
    })
    return out.with_columns(pl.col(k).cast(pl.Int64) for k in FIELDS)


def field_text(rows: pl.DataFrame, fld: str) -> str:
    """Unicorn Research layout: no header, `20140102, 1039` (comma + space)."""
    if rows.height == 0:
        return ""
    return rows.select(pl.concat_str([pl.col("date").dt.strftime("%Y%m%d"),
                                      pl.col(fld).cast(pl.String)], separator=", ")
                       ).to_series().str.join("\n").item() + "\n"
