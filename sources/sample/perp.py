"""Perp positioning of the sample market: Binance `metrics` 5-minute files (open interest, long/short
ratios) and ccxt liquidation records, driven by the same crowding as the funding (sample/funding.py).

Crowded longs build open interest and the long/short ratio while funding rises; an unwind forces a
liquidation cascade of longs and open interest drops. Writes text only; deterministic per seed.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import numpy as np

from sources.sample import expiries as ex
from sources.sample.funding import BINANCE, COINS, session_close_utc
from sources.sample.market import ORIGIN, SampleMarket

STREAM_PERP = 40  # + coin id (funding uses 20-39)
OI_BASE_USD = {"BTC": 6.0e9, "ETH": 3.0e9}   # open interest at zero crowding
OI_CROWD = 0.8                               # +80 % at crowding 1
PRICE = {"BTC": 20_000.0, "ETH": 1_000.0}     # USD per coin at the origin, scaled by SPX / its origin
UNWIND_OI_DROP = 0.22                        # share of OI forced out on an unwind day
LIQ_DAILY = 0.0006                           # ordinary liquidations a day, share of OI per side
LIQ_RECORDS = 12                             # liquidation records a day per coin
STEP_MS = 300_000                            # 5 minutes


def _oi_level(m: SampleMarket, day: date, coin: str) -> float:
    st = m.state(day)
    lvl = OI_BASE_USD[coin] * (1.0 + OI_CROWD * st["crowding"])
    s = st["sessions_since_unwind"]
    if 0 <= s <= 12:  # the flush, rebuilt over a couple of weeks
        lvl *= 1.0 - UNWIND_OI_DROP * math.exp(-s / 4.0)
    return lvl


def _price(m: SampleMarket, day: date, coin: str) -> float:
    st = m.state(day)
    return PRICE[coin] * st["spx_close"] / m.state(ORIGIN)["spx_close"]


def metrics_rows(m: SampleMarket, day: date, coin: str) -> list[tuple]:
    """5-minute rows (ms, oi_base, oi_usd, top-trader account ratio, top-trader position ratio,
    account ratio, taker ratio) for prev_close < t <= close(day)."""
    prev = ex.previous_session(day)
    t0, t1 = (int(session_close_utc(d).timestamp() * 1000) for d in (prev, day))
    n = (t1 - t0) // STEP_MS
    times = t0 + STEP_MS * np.arange(1, n + 1, dtype=np.int64)
    i = m.index_of(day)
    lv1, p1 = _oi_level(m, day, coin), _price(m, day, coin)
    lv0, p0 = (_oi_level(m, prev, coin), _price(m, prev, coin)) if i > 0 else (lv1, p1)
    frac = np.arange(1, n + 1) / n
    if m.state(day)["unwind"]:  # the flush happens overnight, like the funding collapse
        frac = np.minimum(frac * 3.0, 1.0)
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_PERP + COINS[coin]])
    noise = np.cumsum(rng.standard_normal(n)) * 0.0015
    oi_usd = (lv0 + (lv1 - lv0) * frac) * np.exp(noise)  # a random walk around the crowding level
    price = p0 + (p1 - p0) * frac
    crowd = m.state(day)["crowding"]
    acct = 1.0 + 1.6 * crowd + 0.05 * rng.standard_normal(n)
    top_pos = 1.0 + 0.9 * crowd + 0.04 * rng.standard_normal(n)
    top_acct = 1.0 + 1.2 * crowd + 0.04 * rng.standard_normal(n)
    taker = np.exp(0.08 * rng.standard_normal(n))
    return list(zip(times.tolist(), (oi_usd / price).tolist(), oi_usd.tolist(), top_acct.tolist(),
                    top_pos.tolist(), acct.tolist(), taker.tolist(), strict=True))


def metrics_csv(symbol: str, rows: list[tuple]) -> str:
    head = ("create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,"
            "sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio\n")
    body = "".join(
        f"{datetime.fromtimestamp(t / 1000, UTC):%Y-%m-%d %H:%M:%S},{symbol},{a:.4f},{v:.8f},"
        f"{ta:.4f},{tp:.5f},{ac:.4f},{tk:.4f}\n" for t, a, v, ta, tp, ac, tk in rows)
    return head + body


def liquidations(m: SampleMarket, day: date, coin: str) -> list[dict]:
    """ccxt `fetch_liquidations` records of the funding day: ordinary two-sided flow, and on an
    unwind (and the two sessions after) a cascade of long liquidations."""
    prev = ex.previous_session(day)
    t0, t1 = (int(session_close_utc(d).timestamp() * 1000) for d in (prev, day))
    st = m.state(day)
    oi, px = _oi_level(m, day, coin), _price(m, day, coin)
    rng = np.random.default_rng([m.seed, day.toordinal(), STREAM_PERP + 10 + COINS[coin]])
    s = st["sessions_since_unwind"]
    cascade = UNWIND_OI_DROP * 0.25 * math.exp(-s / 1.0) if 0 <= s <= 2 else 0.0
    long_usd = oi * (LIQ_DAILY * (0.5 + st["crowding"]) * rng.gamma(2.0, 0.5) + cascade)
    short_usd = oi * LIQ_DAILY * (1.2 - st["crowding"]) * rng.gamma(2.0, 0.5)
    times = np.sort(rng.integers(t0 + 1, t1, LIQ_RECORDS))
    sides = np.where(np.arange(LIQ_RECORDS) % 3 == 2, "buy", "sell")  # one in three: shorts
    share = rng.dirichlet(np.ones(LIQ_RECORDS))
    out = []
    for k, (t, side) in enumerate(zip(times.tolist(), sides.tolist(), strict=True)):
        total, n_side = (long_usd, (sides == "sell").sum()) if side == "sell" else (short_usd, (sides == "buy").sum())
        w = share[k] / share[sides == side].sum()
        usd = round(float(total * w), 2)
        price = round(px * (1 + (0.002 if side == "buy" else -0.002) + 0.001 * rng.standard_normal()), 1)
        amount = round(usd / price, 3)
        if amount <= 0 or n_side == 0:
            continue
        out.append({"info": {"s": f"{coin}USDT", "S": side.upper(), "o": "LIMIT", "T": t},
                    "symbol": f"{coin}/USDT:USDT", "timestamp": t,
                    "datetime": datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z",
                    "price": price, "baseValue": amount, "quoteValue": round(price * amount, 2),
                    "contracts": amount, "contractSize": 1.0, "side": side})
    return out


def liquidations_json(records: list[dict]) -> str:
    return json.dumps(records, separators=(",", ":"))


SYMBOLS = BINANCE  # BTCUSDT -> BTC, ETHUSDT -> ETH
