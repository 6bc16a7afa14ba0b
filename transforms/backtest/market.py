"""Backtest market access: what a rule sees on one session (Day, Entry) and the point-in-time
quote book and settlement prices the trades are marked and settled on.

Pure polars + numpy; no I/O, DuckDB, Prefect or sources. Rules, fills, marks: docs/report.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from transforms.backtest.params import AM_SETTLED_ROOTS, OPTION_ROOTS_SPX, BacktestParams
from transforms.conventions import VX_ROOT

# -- market access --------------------------------------------------------------------------------

QUOTE_COLUMNS = ("quote_date", "root", "expiry", "strike", "right", "underlying", "spot", "bid",
                 "ask", "iv", "delta", "open_interest")


@dataclass
class Day:
    """What an entry rule may see on one session: that day's data only."""

    date: date
    spx: pl.DataFrame            # raw.option_quotes rows of SPX/SPXW quoted this session
    vix: pl.DataFrame            # raw.option_quotes rows of VIX/VIXW quoted this session
    vx: pl.DataFrame             # raw.vx_futures rows traded this session
    spot: float | None           # SPX spot of the chain snapshot (else the SPX close)
    vix_spot: float | None = None  # VIX level of the VIX chain snapshot (else the VIX close)
    signal: dict | None = None   # core.signals_daily row of this session
    prev_recommendation: dict | None = None  # the book's previous entry summary (ALVH rules)


@dataclass
class Entry:
    """A rule's decision: legs to trade (build_condor / recommendation_legs shape) and context."""

    legs: pl.DataFrame
    size: int = 1                # units when the legs carry no `quantity` (then ratio x size)
    regime: str | None = None
    score: float | None = None
    note: str = ""
    summary: dict | None = None  # the rule's own record (core.recommendations row), passed back as prev


EntryRule = Callable[[Day, BacktestParams], Entry | None]


def _mid(bid: float | None, ask: float | None) -> float | None:
    if ask is None or (isinstance(ask, float) and math.isnan(ask)):
        return None
    b = 0.0 if bid is None or (isinstance(bid, float) and math.isnan(bid)) else max(bid, 0.0)
    return (b + ask) / 2.0 if ask >= b else None


class _Quotes:
    """Per-session lookup of option quotes and VX settles, built lazily (one dict per day)."""

    def __init__(self, options: pl.DataFrame, vx: pl.DataFrame):
        self._opt = ({k[0]: v for k, v in options.partition_by("quote_date", as_dict=True).items()}
                     if options.height else {})
        self._vx = ({k[0]: v for k, v in vx.partition_by("trade_date", as_dict=True).items()}
                    if vx.height else {})
        self._cache: dict[date, dict] = {}
        self._curves: dict[tuple, tuple | None] = {}

    def chain(self, d: date) -> pl.DataFrame | None:
        return self._opt.get(d)

    def vx_day(self, d: date) -> pl.DataFrame | None:
        return self._vx.get(d)

    def book(self, d: date) -> dict:
        if d not in self._cache:
            book: dict = {}
            ch = self._opt.get(d)
            if ch is not None:
                # plain lists: iterating polars Series value by value costs ~10x more
                strikes = [float(k) for k in ch["strike"].to_list()]
                book.update(zip(zip(ch["root"].to_list(), ch["expiry"].to_list(), strikes,
                                    ch["right"].to_list(), strict=True),
                                zip(ch["bid"].to_list(), ch["ask"].to_list(), strict=True), strict=True))
            vx = self._vx.get(d)
            if vx is not None:
                for e, s in zip(vx["expiry"].to_list(), vx["settle"].to_list(), strict=True):
                    if s is not None and s > 0:
                        book[(VX_ROOT, e, None, None)] = (s, s)
            self._cache = {d: book}  # sessions are visited in order: keep one day
            self._curves = {}
        return self._cache[d]

    def interpolated_mid(self, d: date, root: str, expiry: date, strike: float, right: str,
                         spot: float | None) -> float | None:
        """A mid for a strike missing from tonight's chain: linear in strike between the nearest
        listed strikes of the same root, expiry and right; beyond the listed range, intrinsic
        value at tonight's spot (vendors list strikes out to where options are worth something).
        None when the expiry is not quoted at all tonight."""
        key = (root, expiry, right)
        if key not in self._curves:
            ch = self._opt.get(d)
            c = (ch.filter((pl.col("root") == root) & (pl.col("expiry") == expiry)
                           & (pl.col("right") == right) & pl.col("ask").is_not_null())
                 .with_columns(mid=(pl.col("bid").fill_null(0.0).clip(lower_bound=0.0)
                                    + pl.col("ask")) / 2.0).sort("strike")
                 if ch is not None else None)
            self._curves[key] = None if c is None or c.is_empty() else \
                (c["strike"].to_numpy(), c["mid"].to_numpy())
        curve = self._curves[key]
        if curve is None:
            return None
        ks, mids = curve
        if ks[0] <= strike <= ks[-1]:
            return float(np.interp(strike, ks, mids))
        if spot is None:
            return None
        return max(spot - strike, 0.0) if right == "C" else max(strike - spot, 0.0)


class _Settlement:
    """Expiry-day settlement values from raw.index_bars (SPX for SPX options, VIX for VIX/VX)."""

    def __init__(self, bars: pl.DataFrame, am: str):
        self._am = am
        self._bars: dict[str, tuple[list[date], list[float | None], list[float]]] = {}
        for sym in ("SPX", "VIX"):
            b = bars.filter(pl.col("symbol") == sym).sort("date")
            self._bars[sym] = (b["date"].to_list(), b["open"].to_list(), b["close"].to_list())

    def value(self, root: str, expiry: date, asof: date) -> tuple[float | None, str]:
        """(settlement price, basis) for a contract of `root` expiring `expiry`, known at `asof`."""
        sym = "SPX" if root in OPTION_ROOTS_SPX else "VIX"
        dates, opens, closes = self._bars[sym]
        i = int(np.searchsorted(np.array(dates, dtype="datetime64[D]"), np.datetime64(expiry),
                                side="right")) - 1 if dates else -1
        if i < 0 or dates[i] > asof:
            return None, "missing"
        exact = dates[i] == expiry
        if root in AM_SETTLED_ROOTS and self._am == "open" and exact and opens[i] is not None:
            return float(opens[i]), f"{sym} open"
        basis = f"{sym} close" if exact else f"{sym} close {dates[i]}"
        return float(closes[i]), basis
