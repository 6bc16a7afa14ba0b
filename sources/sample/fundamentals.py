"""Constituent fundamentals of the sample market: the 50 largest of the 500 breadth constituents with
index weight, price and operating cash flow per share (TTM), in the documented P/CF CSV layout.

Prices follow the index by each name's beta (as sample/breadth.py levels them); cash flow grows
steadily and steps each quarter, so crowding that lifts prices shows up as a richer P/CF.
Writes text only; deterministic per seed.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from sources.sample.breadth import universe
from sources.sample.market import ORIGIN, SampleMarket

TOP_N = 50
PCF_ORIGIN = 14.0          # median P/CF of a name at the origin
PCF_DISPERSION = 0.35      # log sd of the names' P/CF at the origin
CF_GROWTH = 0.06           # a year, on average; per name +- 3 %


def _names(seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    u = universe(seed)
    rng = np.random.default_rng([seed, 0, 5])
    pcf0 = PCF_ORIGIN * np.exp(PCF_DISPERSION * rng.standard_normal(TOP_N))
    growth = CF_GROWTH + 0.03 * rng.standard_normal(TOP_N)
    tickers = [f"S{k:03d}" for k in range(1, TOP_N + 1)]
    w = u.w[:TOP_N]
    return tickers, w, u.price0[:TOP_N], u.beta[:TOP_N], pcf0, growth  # weights in the 500-name index


def rows(m: SampleMarket, day: date) -> list[tuple[str, float, float, float]]:
    """(ticker, index weight, price, OCF per share TTM) for `day`."""
    tickers, w, price0, beta, pcf0, growth = _names(m.seed)
    spx = m.state(day)["spx_close"] / m.state(ORIGIN)["spx_close"]
    price = price0 * spx ** beta
    # TTM cash flow moves at quarter ends only (a report a quarter): years to the last quarter end
    q_end = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    years = (q_end - ORIGIN).days / 365.25
    ocf = price0 / pcf0 * np.exp(growth * max(years, 0.0))
    return [(t, float(a), float(b), float(c)) for t, a, b, c in zip(tickers, w, price, ocf, strict=True)]


def csv_text(day: date, data: list[tuple[str, float, float, float]]) -> str:
    body = "".join(f"{day.isoformat()},{t},{w:.6f},{p:.2f},{c:.4f}\n" for t, w, p, c in data)
    return "date,ticker,index_weight,price,ocf_per_share_ttm\n" + body
