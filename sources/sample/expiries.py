"""Listing and expiry rules of the sample market: XNYS sessions to a fixed horizon, SPX/SPXW option
expiries, CFE VX futures expiries and VIX option expiries.

Pure date arithmetic over the exchange calendar; no prices, no I/O.
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from functools import lru_cache

from sources import calendar as xnys

# The sample market runs on its own copy of the XNYS rules out to a FIXED horizon, so a far expiry's
# holiday adjustment (and hence a file's bytes) never depends on the day the code happens to run.
# sources.calendar (about a year ahead of today) agrees with it wherever both exist (tested).
HORIZON = date(2040, 12, 31)
CAL_START = date(2010, 1, 4)


@lru_cache(maxsize=1)
def all_sessions() -> tuple[date, ...]:
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS", start=CAL_START.isoformat(), end=HORIZON.isoformat())
    return tuple(d.date() for d in cal.sessions)


@lru_cache(maxsize=1)
def _session_set() -> frozenset[date]:
    return frozenset(all_sessions())


@lru_cache(maxsize=1)
def _early_closes() -> frozenset[date]:
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS", start=CAL_START.isoformat(), end=HORIZON.isoformat())
    return frozenset(d.date() for d in cal.early_closes)


def is_session(d: date) -> bool:
    if d > HORIZON:
        return d.weekday() < 5
    return d in _session_set()


def is_early_close(d: date) -> bool:
    return d in _early_closes()


def sessions_between(start: date, end: date) -> list[date]:
    """XNYS sessions in [start, end]: sources.calendar where it reaches, the fixed-horizon copy beyond."""
    if end <= xnys.last_session_date():
        return xnys.sessions_between(start, end)
    s = all_sessions()
    return list(s[bisect.bisect_left(s, start): bisect.bisect_right(s, end)])


def previous_session(d: date) -> date:
    s = all_sessions()
    return s[bisect.bisect_left(s, d) - 1]


def next_sessions(d: date, n: int) -> list[date]:
    """The n sessions strictly after d."""
    s = all_sessions()
    i = bisect.bisect_right(s, d)
    return list(s[i: i + n])


def session_on_or_before(d: date) -> date:
    return d if is_session(d) else previous_session(d)


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def monthly_expiry(year: int, month: int) -> date:
    """SPX standard (AM-settled) expiry: the 3rd Friday, the Thursday before when Friday is a holiday."""
    return session_on_or_before(third_friday(year, month))


def add_months(year: int, month: int, k: int) -> tuple[int, int]:
    m = year * 12 + (month - 1) + k
    return m // 12, m % 12 + 1


def last_session_of_month(year: int, month: int) -> date:
    y, m = add_months(year, month, 1)
    return session_on_or_before(date(y, m, 1) - timedelta(days=1))


def vx_expiry(year: int, month: int) -> date:
    """CFE VX monthly final settlement date for contract month (year, month): the Wednesday 30 days
    before the 3rd Friday of the FOLLOWING month (the SPX expiry it references); when that Friday is
    a holiday, 30 days before the business day preceding it; if the Wednesday is itself a holiday,
    the business day before."""
    ny, nm = add_months(year, month, 1)
    f = third_friday(ny, nm)
    if not is_session(f):
        f = session_on_or_before(f)
    return session_on_or_before(f - timedelta(days=30))


# CFE month codes.
MONTH_CODE = "FGHJKMNQUVXZ"


def vx_monthlies(after: date, n: int) -> list[date]:
    """The next n VX monthly expiries on or after `after`."""
    out: list[date] = []
    y, m = after.year, after.month
    y, m = add_months(y, m, -1)
    while len(out) < n:
        e = vx_expiry(y, m)
        if e >= after:
            out.append(e)
        y, m = add_months(y, m, 1)
    return out


def vx_weeklies(after: date, n_weeks: int) -> list[date]:
    """VX weekly expiries: the Wednesdays (prior session if a holiday) of the next n_weeks weeks that
    are not monthly expiry weeks."""
    monthly = set(vx_monthlies(after - timedelta(days=40), 6))
    monthly_weeks = {e.isocalendar()[:2] for e in monthly}
    wed = after + timedelta(days=(2 - after.weekday()) % 7)
    out: list[date] = []
    for k in range(n_weeks):
        w = wed + timedelta(days=7 * k)
        if w.isocalendar()[:2] in monthly_weeks:
            continue
        e = session_on_or_before(w)
        if e >= after:
            out.append(e)
    return out


def spx_expiries(day: date) -> list[tuple[date, str, str]]:
    """SPX/SPXW expiries listed on session `day`: (expiry, root, kind), kind in
    daily|weekly|eom|monthly|leap. SPX (AM-settled) rows exist only for monthlies/LEAPs and not on
    their own expiry day (they settled at the open); SPXW (PM-settled) exist for all others and ALSO
    on monthly dates, so SPX and SPXW share expiries and strikes there, as in real files."""
    out: dict[tuple[date, str], str] = {}
    # Dailies: today (0DTE) and the next 17 sessions (three and a half weeks).
    for d in [day, *next_sessions(day, 17)]:
        out[(d, "SPXW")] = "daily"
    # Weekly Fridays (Thursday on holiday weeks) out to ~10 weeks.
    fri = day + timedelta(days=(4 - day.weekday()) % 7)
    for k in range(0, 11):
        e = session_on_or_before(fri + timedelta(days=7 * k))
        if e >= day and (e, "SPXW") not in out:
            out[(e, "SPXW")] = "weekly"
    # Standard monthlies out to a year; end-of-month SPXW out to a year.
    for k in range(0, 13):
        y, m = add_months(day.year, day.month, k)
        e = monthly_expiry(y, m)
        if day <= e <= day + timedelta(days=370):
            out[(e, "SPXW")] = "monthly" if out.get((e, "SPXW")) != "daily" else "monthly"
            if e > day:
                out[(e, "SPX")] = "monthly"
        eom = last_session_of_month(y, m)
        # End-of-month SPXW: every month out to ~6 months, quarter ends out to a year.
        horizon = 370 if m in (3, 6, 9, 12) else 190
        if day <= eom <= day + timedelta(days=horizon) and (eom, "SPXW") not in out:
            out[(eom, "SPXW")] = "eom"
    # LEAPs: the next two Decembers beyond a year (AM-settled SPX only, coarse strikes).
    for y in (day.year + 1, day.year + 2):
        e = monthly_expiry(y, 12)
        if e > day + timedelta(days=370):
            out[(e, "SPX")] = "leap"
    return sorted(((e, r, k) for (e, r), k in out.items()), key=lambda t: (t[0], t[1]))


def vix_option_expiries(day: date, n: int = 7) -> list[tuple[date, str]]:
    """VIX options settle on VX expiries: monthlies (root VIX) and weeklies (root VIXW)."""
    months = [e for e in vx_monthlies(day, n) if e >= day]
    weeks = [e for e in vx_weeklies(day, 6) if e >= day]
    rows = [(e, "VIX") for e in months] + [(e, "VIXW") for e in weeks]
    return sorted(rows)
