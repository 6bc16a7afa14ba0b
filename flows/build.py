"""The `build` flow: raw tables -> core tables for a set of sessions, step by step.

Each step reads what it needs through warehouse/, calls pure transforms, and replaces the
partitions of the sessions asked for. Rolling figures are computed over history up to the last
session asked for, so a row for day D never depends on data after D.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import console
from flows.settings import Settings, load_settings
from warehouse import reads
from warehouse.db import Warehouse


@dataclass(frozen=True)
class StepResult:
    step: str
    rows: dict[str, int]
    note: str = ""


def chunks(items: Sequence[date], n: int) -> Iterator[list[date]]:
    for i in range(0, len(items), n):
        yield list(items[i:i + n])


def write_dated(wh: Warehouse, table: str, frame: pl.DataFrame, dates: Sequence[date],
                by: Sequence[str] = ("date",), date_col: str = "date") -> int:
    """Replace the partitions of `dates` in `table` with the frame's rows for those dates.

    Dates asked for but absent from the frame are emptied too, so a rebuild never leaves a stale row.
    """
    wanted = frame.filter(pl.col(date_col).is_in(list(dates)))
    with wh.transaction():
        wh.con.execute(f'delete from {table} where "{date_col}" in (select unnest(?::date[]))',
                       [list(dates)])
        return wh.append(table, wanted)


# -- steps ---------------------------------------------------------------------------------------

GAMMA_KEYS = ("date", "underlying", "preset")


@task(name="build-gamma", cache_policy=NO_CACHE)
def build_gamma(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    from transforms.gamma import GammaConventions, add_gex_macd, gamma_tables

    conventions = GammaConventions.preset(settings.gamma_preset)
    counts: dict[str, int] = {}
    have = set(reads.quote_dates(wh, "SPX"))
    todo = [d for d in dates if d in have]
    for part in chunks(todo, 10):
        tables = gamma_tables(reads.option_quotes(wh, part, "SPX"), conventions)
        with wh.transaction():
            for table, frame in tables.items():
                counts[table] = counts.get(table, 0) + wh.write(table, frame, by=GAMMA_KEYS)
    if todo:
        # MACD over the stored daily net GEX up to the last day built (point in time).
        hist = wh.table("core.gamma_daily", "preset = ? and date <= ?",
                        [conventions.name, max(todo)], order_by="date")
        macd = add_gex_macd(hist).filter(pl.col("date").is_in(todo))
        wh.write("core.gamma_daily", macd, by=GAMMA_KEYS)
    missing = len(dates) - len(todo)
    return StepResult("gamma", counts, f"{missing} session(s) without an SPX chain" if missing else "")


@task(name="build-market", cache_policy=NO_CACHE)
def build_market(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """Breadth, funding, volatility and macro tables over the stored history up to max(dates)."""
    from sources.calendar import sessions_between
    from transforms.breadth import breadth_daily
    from transforms.funding import funding_daily
    from transforms.macro import macro_daily, macro_event_study
    from transforms.vol import vol_daily

    end = max(dates)
    first_raw = wh.scalar("select min(date) from raw.index_bars") or min(dates)
    # The calendar runs past `end`: counting sessions to the next release needs the days ahead.
    sessions = sessions_between(first_raw, date(end.year + 1, 12, 31))
    past = [d for d in sessions if d <= end]
    bars = reads.history(wh, "raw.index_bars", end=end)
    funding_raw = wh.table("raw.funding_rates", "funding_ts < ?", [end + timedelta(days=1)],
                           order_by="venue, symbol, funding_ts")
    events = wh.table("raw.macro_events", order_by="date, event")
    series = reads.history(wh, "raw.macro_series", end=end)

    funding = funding_daily(funding_raw, past)
    tables = {
        "core.breadth_daily": breadth_daily(reads.history(wh, "raw.breadth", end=end), bars),
        "core.funding_daily": funding,
        "core.vol_daily": vol_daily(bars, reads.history(wh, "raw.vx_futures", end=end,
                                                        date_col="trade_date"), funding),
        "core.macro_daily": macro_daily(events, sessions),
        "core.macro_event_study": macro_event_study(events, series, funding, sessions=sessions),
    }
    counts = {t: write_dated(wh, t, f.filter(pl.col("date") <= end), dates) for t, f in tables.items()}
    return StepResult("market", counts)


Step = Callable[..., StepResult]


def steps() -> list[tuple[str, Step]]:
    """Build steps in dependency order."""
    return [("gamma", build_gamma), ("market", build_market)]


def build_sessions(wh: Warehouse, settings: Settings, dates: list[date], *,
                   show: bool = True) -> list[StepResult]:
    """Run every step for `dates` (inside a running flow)."""
    dates = sorted(set(dates))
    results = []
    for name, step in steps():
        res = step(wh, dates, settings)
        results.append(res)
        if show:
            rows = ", ".join(f"{t} {n:,}" for t, n in res.rows.items()) or "no rows"
            console.info(f"built {name:<10} {rows}{' (' + res.note + ')' if res.note else ''}")
    return results


@flow(name="build")
def build(dates: list[date], home: Path | None = None) -> list[StepResult]:
    """Rebuild core tables for the given sessions from the raw tables."""
    settings = load_settings(home=home)
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        return build_sessions(wh, settings, dates)
