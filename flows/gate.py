"""The contract gate, in one place: every row bound for a raw or core table passes its pandera
contract here - parsed rows at the ingest boundary, built frames at the transform boundary.

Refused rows go to audit.quarantine (check_name = the pandera check). Contracts live in
expectations/, storage in warehouse/; flows/build.py writes core tables only through this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

from flows import console

if TYPE_CHECKING:  # `alvh gex` checks files without a warehouse: no DuckDB import on that path
    from warehouse.db import Warehouse


def _today() -> date:
    return datetime.now(UTC).date()


@lru_cache(maxsize=1)
def _sessions() -> frozenset[date]:
    from sources.calendar import sessions

    return frozenset(sessions())


def row_context(not_after: date | None = None):
    """What incoming rows are checked against: the XNYS calendar, and no row dated after
    max(tomorrow UTC, `not_after`) - a vendor cannot send a later close; a run for a later night
    (a simulated future session of the sample market) passes that night as `not_after`."""
    from expectations.contracts import RowContext

    horizon = _today() + timedelta(days=1)
    return RowContext(sessions=_sessions(),
                      not_after=horizon if not_after is None else max(horizon, not_after))


# -- the ingest boundary (flows/ingest.py) --------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    rows: pl.DataFrame
    failures: pl.DataFrame  # expectations.contracts.FAILURE_SCHEMA, one row per refused row
    error: str | None = None  # the frame as a whole breaks its contract


def check_parsed(parsed, file: str, not_after: date | None = None) -> Checked:
    """A reader's rows against the table's contract (a table without one passes unchecked).
    `not_after`: the night being loaded (see `row_context`)."""
    from expectations.contracts import FAILURE_SCHEMA, ContractError, NoContract, check_rows

    empty = pl.DataFrame(schema=FAILURE_SCHEMA)
    try:
        good, bad = check_rows(parsed.table, parsed.rows, row_context(not_after))
    except NoContract:
        return Checked(parsed.rows, empty)
    except ContractError as e:
        return Checked(parsed.rows.clear(), empty, f"{file}: {e}")
    return Checked(good, bad)


def with_contract_rejects(parsed, checked: Checked):
    """The Parsed as the reject policy must see it: contract failures count as refused rows."""
    if checked.failures.is_empty():
        return replace(parsed, rows=checked.rows)
    extra = checked.failures.select("line", "raw", "reason")
    rejects = pl.concat([parsed.rejects, extra.cast(parsed.rejects.schema)]).sort("line", nulls_last=True)
    return replace(parsed, rows=checked.rows, rejects=rejects)


def contract_quarantine(landed, *, batch_id: str, table: str | None,
                        failures: pl.DataFrame | None) -> pl.DataFrame | None:
    """audit.quarantine rows for the rows a file's contract refused (check_name = the pandera
    check), or None. `warehouse.files.load_file`/`load_batch` (`refused=`) quarantine them and
    count them in the file's audit.files row as read and quarantined."""
    if failures is None or not failures.height:
        return None
    return failures.select(
        file_id=pl.lit(landed.file_id), source_path=pl.lit(landed.landing_path),
        table_name=pl.lit(table), line="line", raw="raw", reason="reason", check_name="check_name",
        batch_id=pl.lit(batch_id), as_of="as_of")


# -- the transform boundary (flows/build.py) ------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A built frame judged by its table's contract (`judge`); `record` stores it."""

    table: str
    good: pl.DataFrame
    bad: pl.DataFrame | None = None  # FAILURE_SCHEMA; None: the table has no contract
    days: tuple[date, ...] = ()  # the dates whose earlier refusals this verdict replaces
    gone: tuple[tuple, ...] = ()  # `by` partitions whose every row was refused
    by: tuple[str, ...] = ()


def judge(table: str, frame: pl.DataFrame, dates: Sequence[date] | None = None,
          date_col: str | None = None, *, by: Sequence[str] = ()) -> Verdict:
    """The rows of a built frame that honour the table's contract, and the others (pure: nothing
    is written). `dates`: the sessions the write replaces (default: the frame's dates). With `by`
    (the write's partition keys), the partitions whose every row was refused. A frame that breaks
    the contract as a whole raises ContractError."""
    from expectations.contracts import NoContract, check_rows, contract_for

    try:
        c = contract_for(table)
    except NoContract:
        return Verdict(table, frame)
    col = date_col or c.date_col
    if dates is not None:
        days = sorted(set(dates))
    elif col and col in frame.columns:
        days = sorted(set(frame[col].drop_nulls().to_list()))
    else:
        days = []
    good, bad = check_rows(table, frame, row_context(max(days) if days else None))
    gone: tuple[tuple, ...] = ()
    if by and not bad.is_empty():
        keys = list(by)
        gone = tuple(frame.select(keys).unique().join(good.select(keys).unique(), on=keys, how="anti",
                                                      nulls_equal=True).iter_rows())
    return Verdict(table, good, bad, tuple(days), gone, tuple(by))


def record(wh: Warehouse, v: Verdict, *, replace_quarantine: bool = True) -> pl.DataFrame:
    """Store a verdict: its refused rows go to audit.quarantine (file_id null, as_of = the row's
    date), replacing earlier refusals for its dates (`replace_quarantine`: a rebuild never leaves
    a stale quarantine row); a partition whose every row was refused is deleted (no stale row of
    an earlier build survives). The rows to write. Call inside the write's transaction."""
    from warehouse import ledger

    if v.bad is None:
        return v.good
    if replace_quarantine and v.days:
        ledger.clear_built_quarantine(wh, v.table, v.days)
    if v.bad.is_empty():
        return v.good
    ledger.quarantine_built(wh, v.table, v.bad)
    if v.gone:
        wh.delete_partitions(v.table, v.by, v.gone)
    console.error(f"contract {v.table}: {v.bad.height:,} built row(s) quarantined, first: "
                  f"{v.bad['reason'][0]}")
    return v.good


# The writes of built tables. Each judges its frame, records the verdict and writes the good rows
# in one transaction; nothing in flows/ writes a core table any other way (tests/test_architecture.py).


def write_dated(wh: Warehouse, table: str, frame: pl.DataFrame, dates: Sequence[date],
                date_col: str = "date") -> int:
    """Replace the partitions of `dates` in `table` with the frame's rows for those dates.
    Dates asked for but absent from the frame are emptied too, so a rebuild never leaves a stale row."""
    wanted = frame.filter(pl.col(date_col).is_in(list(dates)))
    with wh.transaction():
        return write_judged(wh, judge(table, wanted, dates, date_col), dates, date_col)


def write_judged(wh: Warehouse, verdict: Verdict, dates: Sequence[date], date_col: str = "date") -> int:
    """`write_dated` of a verdict already reached (the recommendation step judges its nights
    before it writes them): record it, replace the partitions of `dates` with its good rows."""
    with wh.transaction():
        return wh.replace_dates(verdict.table, record(wh, verdict), dates, date_col)


def write_partitions(wh: Warehouse, table: str, frame: pl.DataFrame, by: Sequence[str], *,
                     replace_quarantine: bool = True, prune: bool = True) -> int:
    """Replace the `by` partitions the frame holds (Warehouse.write). `prune=False` keeps the
    stored row of a partition whose every row was refused (the GEX MACD pass: the row stored
    without MACD passed when its day was built), and keeps earlier refusals (replace_quarantine)."""
    with wh.transaction():
        verdict = judge(table, frame, by=by if prune else ())
        return wh.write(table, record(wh, verdict, replace_quarantine=replace_quarantine), by=by)


def replace_through(wh: Warehouse, table: str, frame: pl.DataFrame, end: date,
                    date_col: str = "date") -> int:
    """Replace every row dated up to `end` with the frame's good rows."""
    with wh.transaction():
        return wh.replace_through(table, record(wh, judge(table, frame)), end, date_col)


def replace_all(wh: Warehouse, table: str, frame: pl.DataFrame) -> int:
    """Replace the whole table with the frame's good rows."""
    with wh.transaction():
        return wh.replace_all(table, record(wh, judge(table, frame)))
