"""Macro side of the sample market: a plausible CPI / PPI / FOMC calendar and FRED series
(DTWEXBGS daily broad dollar index, RBUSBIS monthly real effective exchange rate).

The calendar is rule-based (deterministic, the same for every seed); the dollar is seeded and moves
a little more on CPI/PPI days. Returns text in the vendors' layouts; writes nothing.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import polars as pl

from sources.sample import expiries as ex
from sources.sample.market import ORIGIN, SampleMarket
from sources.sample.textfmt import dec, lines, scaled

CALENDAR_AHEAD_DAYS = 365  # the published calendar reaches a year ahead
STREAM_FX = 40
DOLLAR0 = 120.5  # DTWEXBGS at the origin (Jan 2006 = 100)
DOLLAR_SD = 0.0030  # daily log sd
DOLLAR_EVENT_SD = 0.0045  # extra sd on CPI/PPI days
REER0 = 110.0  # RBUSBIS level at the origin (2020 = 100)
# FOMC decision Wednesdays: (month, which Wednesday; -1 = the last)
FOMC_RULE = ((1, -1), (3, 3), (5, 1), (6, 2), (7, -1), (9, 3), (11, 1), (12, 2))


def _wednesdays(y: int, mth: int) -> list[date]:
    d = date(y, mth, 1)
    d += timedelta(days=(2 - d.weekday()) % 7)
    out = []
    while d.month == mth:
        out.append(d)
        d += timedelta(days=7)
    return out


def _hash(*xs: int) -> int:
    h = 0x345678
    for x in xs:
        h = (h * 1_000_003) ^ x
        h &= 0xFFFFFFFF
    return h


def events_for_month(y: int, mth: int) -> list[tuple[date, str, str]]:
    """CPI on a session between the 10th and 15th at 08:30, PPI one or two sessions later at
    08:30, FOMC decisions (second day of a two-day meeting) on Wednesdays at 14:00."""
    out = []
    cpi = ex.session_on_or_before(date(y, mth, 10 + _hash(y, mth) % 5) + timedelta(days=0))
    while cpi.day < 10 or not ex.is_session(cpi):
        cpi += timedelta(days=1)
    out.append((cpi, "CPI", "08:30"))
    ppi = cpi
    for _ in range(1 + _hash(y, mth, 7) % 2):
        ppi += timedelta(days=1)
        while not ex.is_session(ppi):
            ppi += timedelta(days=1)
    out.append((ppi, "PPI", "08:30"))
    for fm, k in FOMC_RULE:
        if fm == mth:
            weds = _wednesdays(y, mth)
            out.append((weds[k] if k < 0 else weds[k - 1], "FOMC", "14:00"))
    return out


@lru_cache(maxsize=1)
def _all_events() -> tuple[tuple[date, str, str], ...]:
    out = []
    y, mth = ORIGIN.year, ORIGIN.month
    while date(y, mth, 1) <= ex.HORIZON:
        out += events_for_month(y, mth)
        y, mth = ex.add_months(y, mth, 1)
    return tuple(sorted(out))


@lru_cache(maxsize=1)
def _event_dates() -> list[date]:
    return [e[0] for e in _all_events()]


def calendar_between(start: date, end: date) -> tuple[tuple[date, str, str], ...]:
    import bisect

    d = _event_dates()
    return _all_events()[bisect.bisect_left(d, start): bisect.bisect_right(d, end)]


def events_text(events) -> str:
    return "date,event,time_et\n" + "".join(f"{d.isoformat()},{ev},{t}\n" for d, ev, t in events)


def calendar_changes(day: date) -> bool:
    """The published calendar changes on a session when an event enters the year-ahead horizon."""
    prev = ex.previous_session(day)
    new = calendar_between(prev + timedelta(days=CALENDAR_AHEAD_DAYS + 1), day + timedelta(days=CALENDAR_AHEAD_DAYS))
    return bool(new)


def drop_calendar(day: date):
    """The forward calendar published on `day`: today to a year ahead."""
    return calendar_between(day, day + timedelta(days=CALENDAR_AHEAD_DAYS))


# -- FRED ---------------------------------------------------------------------------------------
def dollar(m: SampleMarket, upto: date) -> pl.DataFrame:
    """DTWEXBGS on every session from the origin through `upto` (cached per market)."""
    cache = m.cache("dollar")
    key = upto.year
    frame = cache.get(key)
    if frame is None:
        end = date(key, 12, 31)
        days = ex.sessions_between(ORIGIN, min(end, ex.HORIZON))
        n = len(days)
        rng = np.random.default_rng([m.seed, 0, STREAM_FX])
        z = rng.standard_normal(n)
        ev = {d for d, e, _ in calendar_between(ORIGIN, end) if e in ("CPI", "PPI")}
        is_ev = np.array([d in ev for d in days])
        f = m._sim.frame
        unwind = f["unwind"].to_numpy()[:n]
        # Mean-reverting log level, wider moves on CPI/PPI days, a safe-haven bid on unwind days.
        step = z * np.where(is_ev, math.hypot(DOLLAR_SD, DOLLAR_EVENT_SD), DOLLAR_SD) + 0.006 * unwind
        x = np.empty(n)
        acc = 0.0
        for i in range(n):
            acc = 0.998 * acc + step[i]
            x[i] = acc
        frame = cache[key] = pl.DataFrame({"date": days, "value": DOLLAR0 * np.exp(x)})
    return frame.filter(pl.col("date") <= upto)


def fred_daily_text(frame: pl.DataFrame, series: str = "DTWEXBGS") -> str:
    f = frame.select("date", v=pl.Series(scaled(frame["value"].to_numpy(), 4)))
    return f"observation_date,{series}\n" + lines(f, [pl.col("date").dt.strftime("%Y-%m-%d"),
                                                       dec("v", 4, strip=False)])


def reer(m: SampleMarket, upto: date) -> pl.DataFrame:
    """RBUSBIS: monthly average of the dollar, rescaled, plus a relative-inflation drift. A month's
    value is published on the first session on or after the 15th of the next month."""
    d = dollar(m, upto).with_columns(month=pl.col("date").dt.truncate("1mo"))
    mo = d.group_by("month", maintain_order=True).agg(pl.col("value").mean())
    mo = mo.with_columns(published=pl.col("month").map_elements(_publish_day, return_dtype=pl.Date))
    mo = mo.filter(pl.col("published") <= upto)
    k = np.arange(mo.height)
    val = REER0 * mo["value"].to_numpy() / DOLLAR0 * (1 + 0.0004 * k)
    return pl.DataFrame({"date": mo["month"], "value": val})


def _publish_day(month_start: date) -> date:
    y, mth = ex.add_months(month_start.year, month_start.month, 1)
    d = date(y, mth, 15)
    while not ex.is_session(d):
        d += timedelta(days=1)
    return d


def fred_monthly_text(frame: pl.DataFrame, series: str = "RBUSBIS") -> str:
    f = frame.select("date", v=pl.Series(scaled(frame["value"].to_numpy(), 2)))
    return f"observation_date,{series}\n" + lines(f, [pl.col("date").dt.strftime("%Y-%m-%d"),
                                                       dec("v", 2, strip=False)])


def reer_published_on(day: date) -> bool:
    prev = ex.previous_session(day)
    return any(prev < _publish_day(date(y, mth, 1)) <= day
               for y, mth in {ex.add_months(day.year, day.month, -1), ex.add_months(day.year, day.month, -2)})
