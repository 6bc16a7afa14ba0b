"""Trailing history for the plausibility checks, and the audit.findings store: named reads and
writes over DuckDB, each taking a Warehouse.

Holds SQL only; judging lives in expectations/plausibility.py, wiring in flows/plausibility.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import polars as pl

from warehouse.db import Warehouse

HISTORY_DAYS = 45  # calendar days of a series' history (about 30 sessions)


def _has(wh: Warehouse, table: str) -> bool:
    return table in wh.tables()


def option_chain_before(wh: Warehouse, roots: Sequence[str], day: date) -> pl.DataFrame | None:
    """The latest stored session before `day` of the given roots (yesterday's chain)."""
    if not _has(wh, "raw.option_quotes"):
        return None
    prev = wh.scalar("select max(quote_date) from raw.option_quotes where quote_date < ? and root in "
                     "(select unnest(?::varchar[]))", [day, list(roots)])
    if prev is None:
        return None
    return wh.sql("select root, expiry, strike, \"right\", quote_date, spot, bid, ask, volume, "
                  "open_interest, expired from raw.option_quotes where quote_date = ? and root in "
                  "(select unnest(?::varchar[]))", [prev, list(roots)])


def index_bars_around(wh: Warehouse, symbols: Sequence[str], first: date, last: date) -> pl.DataFrame | None:
    """Stored bars of `symbols` from HISTORY_DAYS before `first` to `last`."""
    if not _has(wh, "raw.index_bars"):
        return None
    return wh.sql("select symbol, date, open, high, low, close from raw.index_bars where symbol in "
                  "(select unnest(?::varchar[])) and date between ? and ? order by symbol, date",
                  [list(symbols), first - timedelta(days=HISTORY_DAYS), last])


def index_closes_on(wh: Warehouse, symbols: Sequence[str], days: Sequence[date]) -> pl.DataFrame | None:
    if not _has(wh, "raw.index_bars"):
        return None
    return wh.sql("select symbol, date, close from raw.index_bars where symbol in "
                  "(select unnest(?::varchar[])) and date in (select unnest(?::date[]))",
                  [list(symbols), list(days)])


def vx_around(wh: Warehouse, first: date, last: date) -> pl.DataFrame | None:
    if not _has(wh, "raw.vx_futures"):
        return None
    return wh.sql("select trade_date, expiry, settle from raw.vx_futures where trade_date between ? "
                  "and ?", [first - timedelta(days=HISTORY_DAYS), last])


def funding_around(wh: Warehouse, keys: pl.DataFrame, first: datetime, last: datetime) -> pl.DataFrame | None:
    """Stored funding of the (venue, symbol) pairs in `keys`, HISTORY_DAYS before `first` to `last`."""
    if not _has(wh, "raw.funding_rates"):
        return None
    return wh.sql("select venue, symbol, funding_ts, interval_h, rate, premium from raw.funding_rates "
                  "where venue in (select unnest(?::varchar[])) and symbol in (select unnest(?::varchar[])) "
                  "and funding_ts between ? and ?",
                  [keys["venue"].unique().to_list(), keys["symbol"].unique().to_list(),
                   first - timedelta(days=HISTORY_DAYS), last])


def breadth_around(wh: Warehouse, exchanges: Sequence[str], first: date, last: date) -> pl.DataFrame | None:
    if not _has(wh, "raw.breadth"):
        return None
    return wh.sql("select * exclude (batch_id, file_id, line) from raw.breadth where exchange in "
                  "(select unnest(?::varchar[])) and date between ? and ?",
                  [list(exchanges), first - timedelta(days=HISTORY_DAYS), last])


def night_partition(wh: Warehouse, table: str, date_col: str, day: date) -> pl.DataFrame | None:
    """Tonight's stored rows of a raw table (the nightly audit re-judges them)."""
    if not _has(wh, table):
        return None
    return wh.sql(f'select * from {table} where "{date_col}"::date = ?', [day])


def record_findings(wh: Warehouse, rows: list[dict], *, stage: str, file_id: str | None = None,
                    as_of: date | None = None) -> int:
    """Replace the findings of `file_id` (ingest) or of the night `as_of` (audit) with `rows`."""
    if not _has(wh, "audit.findings"):
        return 0
    if file_id is not None:
        wh.delete("audit.findings", "file_id = ? and stage = ?", [file_id, stage])
    elif as_of is not None:
        wh.delete("audit.findings", "as_of = ? and stage = ? and file_id is null", [as_of, stage])
    if not rows:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    frame = pl.DataFrame([{**r, "file_id": file_id, "found_at": now, "stage": stage} for r in rows],
                         schema={"as_of": pl.Date, "table_name": pl.String, "check_name": pl.String,
                                 "severity": pl.String, "file_id": pl.String, "file": pl.String,
                                 "line": pl.Int64, "reason": pl.String, "rows": pl.String,
                                 "row_count": pl.Int64, "found_at": pl.Datetime("us"),
                                 "stage": pl.String})
    return wh.append("audit.findings", frame)


def night_findings(wh: Warehouse, nights: Sequence[date], severity: str | None = None) -> pl.DataFrame:
    """Findings about the given nights (ingest and audit), optionally of one severity."""
    if not _has(wh, "audit.findings"):
        return pl.DataFrame(schema={"as_of": pl.Date, "table_name": pl.String, "check_name": pl.String,
                                    "severity": pl.String, "file": pl.String, "line": pl.Int64,
                                    "reason": pl.String, "row_count": pl.Int64})
    q = ("select as_of, table_name, check_name, severity, file, line, reason, row_count, rows "
         "from audit.findings where as_of in (select unnest(?::date[]))")
    params: list = [list(nights)]
    if severity:
        q += " and severity = ?"
        params.append(severity)
    return wh.sql(q + " order by as_of, severity, table_name, check_name, line", params)


def forget_failed_load(wh: Warehouse, file_id: str) -> None:
    """Before bytes whose earlier landing failed are read again: drop that attempt's quarantine
    rows and findings (the new attempt records its own)."""
    wh.delete("audit.quarantine", "file_id = ?", [file_id])
    if _has(wh, "audit.findings"):
        wh.delete("audit.findings", "file_id = ?", [file_id])
