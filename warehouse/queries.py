"""Named reads for the trader's commands (`alvh show`, `export`, `quarantine`, `report`, `audit`)
and the night's notification. Reads only: each returns a value or a polars frame; no writes here.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.db import Warehouse
from warehouse.reads import date_column

# The unwind score's components: their points add up to the score (core.signals_daily).
SCORE_COMPONENTS = ("gamma", "funding", "breadth", "volatility", "events")

# `alvh export` names for the tables a trader asks for most.
EXPORT_ALIASES = {
    "recommendations": "core.recommendations",
    "legs": "core.recommendation_legs",
    "trades": "core.backtest_trades",
    "daily": "core.backtest_daily",
    "signals": "core.signals_daily",
    "gamma": "core.gamma_daily",
    "quarantine": "audit.quarantine",
}


def last_built_night(wh: Warehouse, preset: str) -> date | None:
    """The latest session with an SPX dealer-gamma row for `preset` (what `report` renders by default)."""
    if "core.gamma_daily" not in wh.tables():
        return None
    return wh.scalar("select max(date) from core.gamma_daily where underlying = 'SPX' and preset = ?",
                     [preset])


def night_built(wh: Warehouse, day: date, preset: str) -> bool:
    if "core.gamma_daily" not in wh.tables():
        return False
    return bool(wh.scalar("select count(*) from core.gamma_daily where date = ? and underlying = 'SPX' "
                          "and preset = ?", [day, preset]))


def last_loaded_night(wh: Warehouse) -> date | None:
    """The latest session with option quotes (what `audit` checks by default)."""
    if "raw.option_quotes" not in wh.tables():
        return None
    return wh.scalar("select max(quote_date) from raw.option_quotes")


def night_loaded(wh: Warehouse, day: date) -> bool:
    """Whether anything was loaded or run for `day`: its chain, its index bars, or a run of that
    night (a night whose chain is missing is still a night to audit: it fails, it is not unknown)."""
    have = set(wh.tables())
    checks = [("raw.option_quotes", "quote_date"), ("raw.index_bars", "date"), ("audit.runs", "as_of")]
    return any(bool(wh.scalar(f'select count(*) from {t} where "{c}" = ?', [day]))
               for t, c in checks if t in have)


def _row(wh: Warehouse, query: str, params: list) -> dict | None:
    f = wh.sql(query, params)
    return f.row(0, named=True) if f.height else None


def last_signal_night(wh: Warehouse) -> date | None:
    if "core.signals_daily" not in wh.tables():
        return None
    return wh.scalar("select max(date) from core.signals_daily")


def signals_row(wh: Warehouse, day: date) -> dict | None:
    """core.signals_daily for `day`, or None."""
    return _row(wh, "select * from core.signals_daily where date = ?", [day])


def previous_signals_row(wh: Warehouse, day: date) -> dict | None:
    """The latest core.signals_daily row before `day` (the previous night), or None."""
    return _row(wh, "select * from core.signals_daily where date < ? order by date desc limit 1", [day])


def recommendation_row(wh: Warehouse, day: date) -> dict | None:
    if "core.recommendations" not in wh.tables():
        return None
    return _row(wh, "select * from core.recommendations where as_of = ?", [day])


def recommendation_legs(wh: Warehouse, day: date) -> pl.DataFrame:
    """Tonight's legs in layer/leg order (condor, calendar, VX hedge, roll)."""
    return wh.sql("select layer, leg_no, underlying, root, expiry, strike, \"right\", side, quantity, "
                  "bid, ask, price, iv, delta, dte_days, multiplier from core.recommendation_legs "
                  "where as_of = ? order by case layer when 'condor' then 0 when 'calendar' then 1 "
                  "when 'vx_hedge' then 2 else 3 end, leg_no", [day])


def score_moves(today: dict, before: dict | None) -> list[dict]:
    """Per component: points tonight, points the night before and the change, largest move
    first (a pure function of two core.signals_daily rows; components absent count as 0)."""
    out = []
    for c in SCORE_COMPONENTS:
        now = today.get(f"{c}_score_pts")
        prev = None if before is None else before.get(f"{c}_score_pts")
        delta = None if now is None and prev is None else (now or 0.0) - (prev or 0.0)
        out.append({"component": c, "points": now, "previous": prev, "change": delta})
    return sorted(out, key=lambda r: -abs(r["change"] or 0.0))


def quarantined_rows(wh: Warehouse, day: date | None = None, limit: int = 200) -> pl.DataFrame:
    """Refused rows with the file they came from (as picked up), line and reason; for one night
    (the rows dated `day`, and the rows of files landed for it) or the latest `limit`."""
    base = ("select coalesce(f.original_path, q.source_path) as file, q.line, q.table_name as "
            "\"table\", q.check_name as \"check\", q.reason, q.raw, q.as_of from audit.quarantine q "
            "left join audit.files f using (file_id)")
    if day is None:
        return wh.sql(base + " order by f.landed_at desc nulls last, file, q.line limit ?", [limit])
    return wh.sql(base + " where q.as_of = ? or (q.as_of is null and q.file_id in (select file_id "
                  "from audit.files where batch_id like ?)) order by file, q.line limit ?",
                  [day, f"%{day.isoformat()}%", limit])


def export_table(wh: Warehouse, name: str, start: date | None = None,
                 end: date | None = None) -> tuple[str, pl.DataFrame]:
    """The rows of a table (an `EXPORT_ALIASES` name or schema.table) dated within [start, end];
    ValueError naming the choices for an unknown table."""
    table = EXPORT_ALIASES.get(name, name)
    known = wh.tables()
    if table not in known:
        raise ValueError(f"unknown table {name!r}; choose one of {', '.join(EXPORT_ALIASES)} or "
                         f"a table: {', '.join(known)}")
    col = "entry_date" if table == "core.backtest_trades" else date_column(wh, table)
    clauses, params = [], []
    if col and start is not None:
        clauses.append(f'"{col}"::date >= ?')
        params.append(start)
    if col and end is not None:
        clauses.append(f'"{col}"::date <= ?')
        params.append(end)
    if not col and (start or end):
        raise ValueError(f"{table} has no date column: export it without --start/--end")
    return table, wh.table(table, " and ".join(clauses), params,
                           order_by=f'"{col}"' if col else "")


def regime_change(wh: Warehouse, day: date) -> tuple[str | None, str | None]:
    """(regime tonight, regime the night before) from core.signals_daily."""
    today, before = signals_row(wh, day), previous_signals_row(wh, day)
    return (today or {}).get("regime"), (before or {}).get("regime")


def run_strategy(wh: Warehouse, run_id: str | None, day: date) -> dict | None:
    """The strategy settings a night's run recorded as changed from the defaults (audit.runs
    params.strategy): of `run_id`, else of the latest run for `day` that recorded them; None when
    no run recorded any (runs before settings were recorded)."""
    import json

    rows = wh.sql("select run_id, params from audit.runs where run_id = ? or as_of = ? "
                  "order by run_id = ? desc, started_at desc", [run_id or "", day, run_id or ""])
    for r in rows.iter_rows(named=True):
        try:
            params = json.loads(r["params"] or "{}")
        except ValueError:
            continue
        if isinstance(params, dict) and isinstance(params.get("strategy"), dict):
            return params["strategy"]
    return None
