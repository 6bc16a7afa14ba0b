"""Typed reads the flows and reports share. Each returns a polars frame with a stated schema.

Reads only; writes live in db.py and files.py.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.db import Warehouse

# The column that dates each table's rows, in order of preference.
_DATE_COLUMNS = ("quote_date", "date", "trade_date", "funding_ts", "as_of", "landed_at", "started_at")


def date_column(wh: Warehouse, table: str) -> str | None:
    cols = wh.columns(table)
    return next((c for c in _DATE_COLUMNS if c in cols), None)


def table_summary(wh: Warehouse) -> pl.DataFrame:
    """table, rows, first, last (as text) for every audit/raw/core table."""
    out = []
    for t in wh.tables():
        col = date_column(wh, t)
        if col:
            n, lo, hi = wh.one(f'select count(*), min("{col}")::date, max("{col}")::date from {t}')
        else:
            n, lo, hi = wh.one(f"select count(*), null, null from {t}")
        out.append({"table": t, "rows": int(n), "first": None if lo is None else str(lo),
                    "last": None if hi is None else str(hi)})
    return pl.DataFrame(out, schema={"table": pl.String, "rows": pl.Int64, "first": pl.String,
                                     "last": pl.String})


def option_quotes(wh: Warehouse, quote_dates: list[date], underlying: str = "SPX") -> pl.DataFrame:
    """raw.option_quotes for the given sessions and underlying (all roots)."""
    if not quote_dates:
        return wh.sql("select * from raw.option_quotes limit 0")
    return wh.sql(
        "select * from raw.option_quotes where underlying = ? and quote_date in "
        "(select unnest(?::date[])) order by quote_date, root, expiry, strike, \"right\"",
        [underlying, quote_dates])


QUOTE_KEYS = ("quote_date", "root", "expiry", "strike", "right")  # the grain of raw.option_quotes


def option_chains(wh: Warehouse, underlying: str = "SPX", *, dates: list[date] | None = None,
                  end: date | None = None, columns: tuple[str, ...] | None = None, where: str = "",
                  params: tuple = ()) -> pl.DataFrame:
    """raw.option_quotes of `underlying` for the sessions `dates` (or every session up to `end`),
    only `columns` (all when None), narrowed by an optional SQL condition: the rows `option_quotes`
    returns, in its order (quote_date, root, expiry, strike, right: the table's grain, so the
    order is total). Sorted in polars: a year of SPX chains (2.5M rows) reads in ~1.2 s wall
    against ~2.9 s with DuckDB's ORDER BY on the 2 busy cores here."""
    cols = "*" if columns is None else ", ".join(f'"{c}"' for c in dict.fromkeys((*QUOTE_KEYS, *columns)))
    clauses, args = ["underlying = ?"], [underlying]
    if dates is not None:
        clauses.append("quote_date in (select unnest(?::date[]))")
        args.append(list(dates))
    if end is not None:
        clauses.append("quote_date <= ?")
        args.append(end)
    if where:
        clauses.append(f"({where})")
        args.extend(params)
    df = wh.sql(f"select {cols} from raw.option_quotes where {' and '.join(clauses)}", args)
    df = df.sort(list(QUOTE_KEYS), maintain_order=True)
    return df if columns is None else df.select(columns)


def quote_dates(wh: Warehouse, underlying: str = "SPX") -> list[date]:
    df = wh.sql("select distinct quote_date from raw.option_quotes where underlying = ? order by 1",
                [underlying])
    return df["quote_date"].to_list()


def index_bars(wh: Warehouse, symbols: list[str], end: date | None = None) -> pl.DataFrame:
    """raw.index_bars for symbols, up to `end` inclusive (all history when None)."""
    q = "select * from raw.index_bars where symbol in (select unnest(?::varchar[]))"
    params: list = [symbols]
    if end is not None:
        q += " and date <= ?"
        params.append(end)
    return wh.sql(q + " order by symbol, date", params)


def history(wh: Warehouse, table: str, end: date | None = None, date_col: str = "date",
            start: date | None = None) -> pl.DataFrame:
    """All rows of a dated table within [start, end], ordered by date."""
    clauses, params = [], []
    if start is not None:
        clauses.append(f'"{date_col}" >= ?')
        params.append(start)
    if end is not None:
        clauses.append(f'"{date_col}" <= ?')
        params.append(end)
    where = " and ".join(clauses)
    return wh.table(table, where, params, order_by=f'"{date_col}"')


def recent_runs(wh: Warehouse, n: int = 5) -> pl.DataFrame:
    return wh.sql("select run_id, flow, as_of, status, started_at, finished_at from audit.runs "
                  "order by started_at desc limit ?", [n])


def files_by_status(wh: Warehouse) -> pl.DataFrame:
    return wh.sql("select source, status, count(*)::bigint as files, sum(rows_written)::bigint as rows, "
                  "sum(rows_quarantined)::bigint as quarantined from audit.files group by all order by 1, 2")


def files_for_date(wh: Warehouse, as_of: date) -> pl.DataFrame:
    """Every landed file that contributed a raw row dated `as_of` (all raw tables), with its sha256."""
    parts = []
    for t in wh.tables():
        if not t.startswith("raw.") or "file_id" not in wh.columns(t):
            continue
        col = date_column(wh, t)
        if col:
            parts.append(f'select distinct file_id, \'{t}\' as table_name from {t} where "{col}"::date = $1')
    if not parts:
        return pl.DataFrame()
    return wh.sql(
        "select f.file_id, u.table_name, f.original_path, f.landing_path, f.format, f.status, "
        "f.rows_written, f.rows_quarantined from audit.files f join (" + " union ".join(parts) +
        ") u using (file_id) order by u.table_name, f.landing_path", [as_of])
