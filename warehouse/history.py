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
# A chain's previous session is a few calendar days back (a long weekend plus a holiday): looking
# there first lets DuckDB skip every older row group (zone maps on quote_date); a root with no row
# in that window is looked up over the whole table, so the answer is the same.
PREV_SESSION_DAYS = 14

CHAIN_COLUMNS = ('root, expiry, strike, "right", quote_date, spot, bid, ask, volume, open_interest, '
                 'expired')


def _has(wh: Warehouse, table: str, tables: frozenset[str] | None = None) -> bool:
    """`tables`: the warehouse's tables when the caller already listed them (a batch lists them
    once; information_schema costs ~10 ms a query)."""
    return table in (tables if tables is not None else wh.tables())


def latest_chain_dates(wh: Warehouse, roots: Sequence[str], day: date,
                       tables: frozenset[str] | None = None) -> dict[str, date]:
    """Per root: its latest stored quote_date before `day` (roots never stored are absent)."""
    if not _has(wh, "raw.option_quotes", tables) or not roots:
        return {}
    q = ("select root, max(quote_date) from raw.option_quotes where quote_date < ? {} and root in "
         "(select unnest(?::varchar[])) group by root")
    out = dict(wh.execute(q.format("and quote_date >= ?"),
                          [day, day - timedelta(days=PREV_SESSION_DAYS), list(roots)]))
    rest = [r for r in roots if r not in out]
    if rest:
        out.update(wh.execute(q.format(""), [day, rest]))
    return {r: d for r, d in out.items() if d is not None}


def option_chains_on(wh: Warehouse, roots: Sequence[str], days: Sequence[date],
                     tables: frozenset[str] | None = None) -> pl.DataFrame | None:
    """The stored chains of `roots` on `days`."""
    if not _has(wh, "raw.option_quotes", tables):
        return None
    return wh.sql(f"select {CHAIN_COLUMNS} from raw.option_quotes where quote_date in "
                  "(select unnest(?::date[])) and root in (select unnest(?::varchar[]))",
                  [list(days), list(roots)])


def option_chain_before(wh: Warehouse, roots: Sequence[str], day: date,
                        tables: frozenset[str] | None = None) -> pl.DataFrame | None:
    """The latest stored session before `day` of the given roots (yesterday's chain)."""
    if not _has(wh, "raw.option_quotes", tables):
        return None
    latest = latest_chain_dates(wh, list(roots), day, tables)
    if not latest:
        return None
    return option_chains_on(wh, list(roots), [max(latest.values())], tables)


def index_bars_around(wh: Warehouse, symbols: Sequence[str], first: date, last: date,
                      tables: frozenset[str] | None = None) -> pl.DataFrame | None:
    """Stored bars of `symbols` from HISTORY_DAYS before `first` to `last`."""
    if not _has(wh, "raw.index_bars", tables):
        return None
    return wh.sql("select symbol, date, open, high, low, close from raw.index_bars where symbol in "
                  "(select unnest(?::varchar[])) and date between ? and ? order by symbol, date",
                  [list(symbols), first - timedelta(days=HISTORY_DAYS), last])


def index_closes_on(wh: Warehouse, symbols: Sequence[str], days: Sequence[date],
                    tables: frozenset[str] | None = None) -> pl.DataFrame | None:
    if not _has(wh, "raw.index_bars", tables):
        return None
    return wh.sql("select symbol, date, close from raw.index_bars where symbol in "
                  "(select unnest(?::varchar[])) and date in (select unnest(?::date[]))",
                  [list(symbols), list(days)])


def vx_around(wh: Warehouse, first: date, last: date,
              tables: frozenset[str] | None = None) -> pl.DataFrame | None:
    if not _has(wh, "raw.vx_futures", tables):
        return None
    return wh.sql("select trade_date, expiry, settle from raw.vx_futures where trade_date between ? "
                  "and ?", [first - timedelta(days=HISTORY_DAYS), last])


def funding_around(wh: Warehouse, keys: pl.DataFrame, first: datetime, last: datetime,
                   tables: frozenset[str] | None = None) -> pl.DataFrame | None:
    """Stored funding of the venues and symbols in `keys` (each venue with each symbol),
    HISTORY_DAYS before `first` to `last`."""
    if not _has(wh, "raw.funding_rates", tables):
        return None
    return wh.sql("select venue, symbol, funding_ts, interval_h, rate, premium from raw.funding_rates "
                  "where venue in (select unnest(?::varchar[])) and symbol in (select unnest(?::varchar[])) "
                  "and funding_ts between ? and ?",
                  [keys["venue"].unique().to_list(), keys["symbol"].unique().to_list(),
                   first - timedelta(days=HISTORY_DAYS), last])


def breadth_around(wh: Warehouse, exchanges: Sequence[str], first: date, last: date,
                   tables: frozenset[str] | None = None) -> pl.DataFrame | None:
    if not _has(wh, "raw.breadth", tables):
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
    return wh.append("audit.findings", _findings_frame(
        [{**r, "file_id": file_id, "found_at": now, "stage": stage} for r in rows]))


def record_file_findings(wh: Warehouse, by_file: dict[str, list[dict]], *, stage: str,
                         tables: frozenset[str] | None = None) -> int:
    """`record_findings` for many files at once (a batch's): one delete, one insert."""
    if not by_file or not _has(wh, "audit.findings", tables):
        return 0
    wh.delete("audit.findings", "file_id in (select unnest(?::varchar[])) and stage = ?",
              [list(by_file), stage])
    rows = [{**r, "file_id": fid} for fid, found in by_file.items() for r in found]
    if not rows:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    return wh.append("audit.findings", _findings_frame([{**r, "found_at": now, "stage": stage}
                                                        for r in rows]))


def _findings_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"as_of": pl.Date, "table_name": pl.String,
                                      "check_name": pl.String, "severity": pl.String,
                                      "file_id": pl.String, "file": pl.String, "line": pl.Int64,
                                      "reason": pl.String, "rows": pl.String,
                                      "row_count": pl.Int64, "found_at": pl.Datetime("us"),
                                      "stage": pl.String})


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
