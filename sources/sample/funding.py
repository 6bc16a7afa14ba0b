"""Perpetual funding of the sample market: Binance BTCUSDT/ETHUSDT (8-hourly) and Hyperliquid BTC/ETH
(hourly), driven by crowding and collapsing in unwinds, in the venues' own file formats.

A trading day's drop holds the funding events after the previous session's close up to this one's.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta

import numpy as np

from sources.dates import NEW_YORK
from sources.sample import expiries as ex
from sources.sample.market import SampleMarket
from sources.sample.textfmt import scaled

STREAM_FUNDING = 20  # + coin id
INTEREST_8H = 0.0001  # Binance / Hyperliquid interest component: 0.01 % per 8 h
CLAMP = 0.0005  # premium - interest is clamped to +-0.05 % per 8 h
COINS = {"BTC": 1, "ETH": 2}
BINANCE = {"BTCUSDT": "BTC", "ETHUSDT": "ETH"}
# Premium level per 8 h: calm ~0.5 bp, rising with crowding^2, collapsing after an unwind.
PREMIUM_BASE = 0.00005
PREMIUM_CROWD = {"BTC": 0.0011, "ETH": 0.0013}
UNWIND_PREMIUM = -0.0013
UNWIND_DECAY = 2.5  # sessions
AR_PHI = 0.85  # hourly premium noise: AR(1)
AR_SD = 0.00008


def session_close_utc(d: date) -> datetime:
    h = 13 if ex.is_early_close(d) else 16
    return datetime(d.year, d.month, d.day, h, tzinfo=NEW_YORK).astimezone(UTC)


def _level(m: SampleMarket, day: date, coin: str) -> float:
    st = m.state(day)
    lvl = PREMIUM_BASE + PREMIUM_CROWD[coin] * st["crowding"] ** 2
    s = st["sessions_since_unwind"]
    if 0 <= s <= 12:
        lvl += UNWIND_PREMIUM * math.exp(-s / UNWIND_DECAY)
    return lvl


def premium_hours(m: SampleMarket, day: date, coin: str) -> tuple[np.ndarray, np.ndarray]:
    """Hourly premium (per 8 h) for the hours h with prev_close < h <= close(day), as (ms, premium).
    The level moves linearly from the previous session's to this one's across the window."""
    cache = m.cache("premium")
    key = (day, coin)
    out = cache.get(key)
    if out is None:
        if len(cache) > 20_000:
            cache.clear()
        out = cache[key] = _premium_hours(m, day, coin)
    return out


def _premium_hours(m: SampleMarket, day: date, coin: str) -> tuple[np.ndarray, np.ndarray]:
    prev = ex.previous_session(day)
    t0, t1 = session_close_utc(prev), session_close_utc(day)
    n = int((t1 - t0).total_seconds() // 3600)
    start_ms = int(t0.timestamp() * 1000)
    hours = start_ms + 3_600_000 * np.arange(1, n + 1, dtype=np.int64)
    i = m.index_of(day)
    lv1 = _level(m, day, coin)
    lv0 = _level(m, prev, coin) if i > 0 else lv1
    frac = np.arange(1, n + 1) / n
    if m.state(day)["unwind"]:  # the gap happens overnight: funding collapses before the open
        frac = np.minimum(frac * 3.0, 1.0)
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_FUNDING + COINS[coin]])
    eps = rng.standard_normal(n + 1) * AR_SD
    noise = np.empty(n)
    x = eps[0] / math.sqrt(1 - AR_PHI**2)
    for k in range(n):
        x = AR_PHI * x + eps[k + 1]
        noise[k] = x
    return hours, lv0 + (lv1 - lv0) * frac + noise


def _rate(premium: np.ndarray) -> np.ndarray:
    """Funding per 8 h = premium + clamp(interest - premium, +-0.05 %)."""
    return premium + np.clip(INTEREST_8H - premium, -CLAMP, CLAMP)


def binance_events(m: SampleMarket, day: date, coin: str) -> tuple[np.ndarray, np.ndarray]:
    """8-hourly events (00, 08, 16 UTC) in this day's window: (calc_time ms with jitter, rate)."""
    prev = ex.previous_session(day)
    h_prev, p_prev = premium_hours(m, prev, coin) if m.index_of(day) > 0 else (np.array([], np.int64), np.array([]))
    h, p = premium_hours(m, day, coin)
    hh, pp = np.concatenate([h_prev, h]), np.concatenate([p_prev, p])
    is_event = (h // 3_600_000) % 8 == 0
    ev = h[is_event]
    rates = []
    for t in ev:
        window = (hh > t - 8 * 3_600_000) & (hh <= t)
        rates.append(_rate(np.array([pp[window].mean()]))[0])
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_FUNDING + 10 + COINS[coin]])
    jitter = rng.integers(0, 10, len(ev))
    return ev + jitter, np.array(rates)


def hyperliquid_events(m: SampleMarket, day: date, coin: str):
    """Hourly events: (time ms with jitter, hourly rate = 1/8 of the 8-hour formula, premium)."""
    h, p = premium_hours(m, day, coin)
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_FUNDING + 20 + COINS[coin]])
    return h + rng.integers(0, 120, len(h)), _rate(p) / 8.0, p


def binance_csv(times: np.ndarray, rates: np.ndarray) -> str:
    """data.binance.vision fundingRate archive layout: `1577836800000,8,-0.00012359`."""
    r8 = scaled(rates, 8)
    body = "".join(f"{t},8,{'-' if v < 0 else ''}{abs(v) // 10**8}.{abs(v) % 10**8:08d}\n"
                   for t, v in zip(times.tolist(), r8.tolist(), strict=True))
    return "calc_time,funding_interval_hours,last_funding_rate\n" + body


def _s8(v: int) -> str:
    t = f"{'-' if v < 0 else ''}{abs(v) // 10**8}.{abs(v) % 10**8:08d}".rstrip("0").rstrip(".")
    return "0.0" if t in ("0", "-0") else t


def hyperliquid_json(coin: str, times: np.ndarray, rates: np.ndarray, premium: np.ndarray) -> str:
    """Hyperliquid `fundingHistory` response: compact JSON, numbers as strings, time in ms."""
    r, p = scaled(rates, 10), scaled(premium, 8)
    items = [{"coin": coin, "fundingRate": _s10(a), "premium": _s8(b), "time": t}
             for t, a, b in zip(times.tolist(), r.tolist(), p.tolist(), strict=True)]
    return json.dumps(items, separators=(",", ":"))


def _s10(v: int) -> str:
    t = f"{'-' if v < 0 else ''}{abs(v) // 10**10}.{abs(v) % 10**10:010d}".rstrip("0").rstrip(".")
    return "0.0" if t in ("0", "-0") else t


def history(m: SampleMarket, days: list[date]) -> dict[str, dict[str, list]]:
    """Concatenated events of many sessions (bootstrap): venue key -> (times, rates[, premium])."""
    out: dict[str, dict[str, list]] = {}
    for sym, coin in BINANCE.items():
        t, r = zip(*(binance_events(m, d, coin) for d in days), strict=True) if days else ((), ())
        out[sym] = {"t": list(t), "r": list(r)}
    for coin in COINS:
        ev = [hyperliquid_events(m, d, coin) for d in days]
        out[coin] = {"t": [e[0] for e in ev], "r": [e[1] for e in ev], "p": [e[2] for e in ev]}
    return out


def month_key(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))).strftime("%Y-%m")
