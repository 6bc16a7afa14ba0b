"""The NYSE (XNYS) trading calendar, from exchange_calendars, as plain dates.

Readers and the sample market use it; transforms receive session lists as parameters instead.
"""

from __future__ import annotations

import bisect
import contextlib
import os
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path

from sources.dates import NEW_YORK

FIRST = date(1965, 1, 4)  # Unicorn breadth history starts in 1965
OPEN_NY = time(9, 30)

# Where `sessions()` keeps its list between processes (None: computed in each process). The CLI
# sets $ALVH_HOME/cache: building the calendar runs pandas' holiday rules over 60 years (~1 s of
# CPU, with the exchange_calendars import) in every `alvh ingest`; reading the list takes ~10 ms.
_cache_dir: Path | None = None
_CACHE_PREFIX = "xnys-sessions-"


def keep_sessions_in(folder: Path | None) -> None:
    """Keep the session list in `folder` (one small text file a day); None: compute it each time."""
    global _cache_dir
    _cache_dir = folder
    sessions.cache_clear()
    _session_set.cache_clear()


def _cache_file(folder: Path) -> Path:
    from importlib.metadata import version

    # exchange_calendars' default end is one year after its import day (local time), so a list
    # computed today is the list of every process started today with the same release.
    return folder / f"{_CACHE_PREFIX}{FIRST}-{date.today()}-xc{version('exchange_calendars')}.txt"


def _read_cached(path: Path) -> tuple[date, ...] | None:
    """The list in `path`, or None when it is absent or not whole (then it is computed again)."""
    try:
        head, *lines = path.read_text(encoding="ascii").split()
        days = tuple(date.fromisoformat(x) for x in lines)
    except (OSError, ValueError, UnicodeError):
        return None
    ok = (head == f"n={len(days)}" and days and days[0] >= FIRST
          and all(a < b for a, b in zip(days, days[1:], strict=False)))
    return days if ok else None


def _write_cached(path: Path, days: tuple[date, ...]) -> None:
    """Write atomically (another process may read it meanwhile); drop other days' lists. A home
    that cannot be written only costs the next process the computation again."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(f"n={len(days)}\n" + "\n".join(d.isoformat() for d in days) + "\n",
                       encoding="ascii")
        os.replace(tmp, path)
        for old in path.parent.glob(f"{_CACHE_PREFIX}*"):
            if old != path:
                old.unlink(missing_ok=True)


@lru_cache(maxsize=1)
def _calendar():
    import exchange_calendars as xc  # 2 s import: only when a calendar is really needed

    return xc.get_calendar("XNYS", start=FIRST.isoformat())


@lru_cache(maxsize=1)
def sessions() -> tuple[date, ...]:
    """Every XNYS session from 1965 to about a year ahead, ascending."""
    path = None if _cache_dir is None else _cache_file(_cache_dir)
    cached = None if path is None else _read_cached(path)
    if cached is not None:
        return cached
    days = tuple(d.date() for d in _calendar().sessions)
    if path is not None:
        _write_cached(path, days)
    return days


@lru_cache(maxsize=1)
def _session_set() -> frozenset[date]:
    return frozenset(sessions())


def last_session_date() -> date:
    return sessions()[-1]


def is_session(d: date) -> bool:
    if d > last_session_date():
        raise ValueError(f"{d} is beyond the XNYS calendar (ends {last_session_date()})")
    return d in _session_set()


def sessions_between(start: date, end: date) -> list[date]:
    """Sessions in [start, end]."""
    s = sessions()
    return list(s[bisect.bisect_left(s, start): bisect.bisect_right(s, end)])


def previous_session(d: date) -> date:
    """The last session strictly before d."""
    s = sessions()
    i = bisect.bisect_left(s, d)
    if i == 0:
        raise ValueError(f"no XNYS session before {d}")
    return s[i - 1]


def next_session(d: date) -> date:
    """The first session strictly after d."""
    s = sessions()
    i = bisect.bisect_right(s, d)
    if i >= len(s):
        raise ValueError(f"no XNYS session after {d} in the calendar")
    return s[i]


def session_on_or_before(d: date) -> date:
    return d if is_session(d) else previous_session(d)


def session_of_snapshot(ts: datetime) -> date:
    """The session a quote snapshot belongs to: today's once the market has opened (09:30 New York
    time) on a session day, else the previous session (a Saturday file holds Friday's close)."""
    local = ts.astimezone(NEW_YORK)
    d = local.date()
    if is_session(d) and local.time() >= OPEN_NY:
        return d
    return previous_session(d)


def session_close(d: date) -> datetime:
    """The session's close as an aware UTC datetime (13:00 New York on early-close days)."""
    import pandas as pd

    return _calendar().session_close(pd.Timestamp(d)).to_pydatetime()


def last_completed_session(now: datetime) -> date:
    """The most recent session whose close is at or before `now`."""
    d = now.astimezone(NEW_YORK).date()
    if is_session(d) and now >= session_close(d):
        return d
    return previous_session(d)


@lru_cache(maxsize=1)
def early_closes() -> frozenset[date]:
    """Half-day sessions (13:00 New York close) in the calendar's range."""
    return frozenset(d.date() for d in _calendar().early_closes)
