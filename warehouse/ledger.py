"""The audit ledger as the flows use it: the quarantine of built rows, validation results, and
what the file registry says about night batches (resuming a backfill, reporting prior failures).

Named queries and writes on audit.* tables; no business rules (the contracts decide what is refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from warehouse.db import Warehouse

FAILED_STATUSES = ("rejected", "unrecognised")  # a file the registry holds but no row of


def clear_built_quarantine(wh: Warehouse, table: str, days: Sequence[date]) -> None:
    """Forget earlier refusals of built rows (no file) of `table` dated `days`: a rebuild
    re-judges them."""
    wh.execute("delete from audit.quarantine where table_name = ? and file_id is null and "
               "as_of in (select unnest(?::date[]))", [table, list(days)])


def quarantine_built(wh: Warehouse, table: str, failures: pl.DataFrame) -> int:
    """audit.quarantine rows for built rows a contract refused (`failures`: raw, reason,
    check_name, as_of; expectations.contracts.FAILURE_SCHEMA)."""
    return wh.append("audit.quarantine", failures.select(
        file_id=pl.lit(None, pl.String), source_path=pl.lit(None, pl.String),
        table_name=pl.lit(table), line=pl.lit(None, pl.Int64), raw="raw", reason="reason",
        check_name="check_name", batch_id=pl.lit(None, pl.String), as_of="as_of"))


def replace_validations(wh: Warehouse, run_id: str, as_of: date, frame: pl.DataFrame) -> int:
    """One audit's results for a night: the run's earlier rows for that night are replaced."""
    with wh.transaction():
        wh.delete("audit.validations", "run_id = ? and as_of = ?", [run_id, as_of])
        return wh.append("audit.validations", frame)


def audited_nights(wh: Warehouse, start: date, end: date) -> set[date]:
    """Nights in [start, end] with at least one stored validation."""
    return set(wh.sql("select distinct as_of from audit.validations where as_of between ? and ?",
                      [start, end])["as_of"].to_list())


def clean_night_batches(wh: Warehouse) -> list[str]:
    """The night batches (`night-YYYY-MM-DD-...`) whose every file loaded (none refused whole)."""
    return wh.sql(
        "select batch_id from audit.files where batch_id like 'night-%' group by batch_id "
        "having bool_and(status not in ('rejected', 'unrecognised'))")["batch_id"].to_list()


def known_count(wh: Warehouse, file_ids: Sequence[str]) -> int:
    """How many of `file_ids` the registry holds."""
    return wh.scalar("select count(*) from audit.files where file_id in "
                     "(select unnest(?::varchar[]))", [list(file_ids)])


def failed_file_errors(wh: Warehouse, file_ids: Sequence[str]) -> list[str]:
    """The error (or path) of each of `file_ids` registered as refused whole, sorted."""
    if not file_ids:
        return []
    df = wh.sql("select coalesce(error, original_path) as e from audit.files where file_id in "
                "(select unnest(?::varchar[])) and status in ('rejected', 'unrecognised') order by 1",
                [list(file_ids)])
    return df["e"].to_list()
