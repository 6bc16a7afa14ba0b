"""flows/gate.py at the transform boundary: a built row the table's contract refuses is not
written, goes to audit.quarantine (file_id null, as_of = its date), and a rebuild replaces it.
Three-row core.macro_daily frames on an in-memory warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from flows import gate
from warehouse.db import Warehouse

D = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]  # XNYS sessions (Mon - Wed)
TABLE = "core.macro_daily"


def macro(days: list[date], bad: tuple[date, ...] = (), cpi: int = 3) -> pl.DataFrame:
    n = len(days)
    return pl.DataFrame({"date": days, "days_to_cpi_td": [-1 if d in bad else cpi for d in days],
                         "cpi_window": [False] * n, "ppi_window": [False] * n,
                         "fomc_window": [False] * n, "event_window": [False] * n})


def stored(wh: Warehouse) -> list[tuple[date, int]]:
    return wh.sql("select date, days_to_cpi_td from core.macro_daily order by 1").rows()


def quarantined(wh: Warehouse) -> list[tuple]:
    return wh.sql("select table_name, as_of, check_name, file_id from audit.quarantine order by 2").rows()


def test_a_refused_row_is_quarantined_not_written_and_a_rebuild_replaces_it():
    wh = Warehouse.memory()
    assert gate.write_dated(wh, TABLE, macro(D, bad=(D[1],)), D) == 2
    assert stored(wh) == [(D[0], 3), (D[2], 3)]
    assert quarantined(wh) == [(TABLE, D[1], "greater_than_or_equal_to(0)", None)]
    assert gate.write_dated(wh, TABLE, macro(D), D) == 3  # the rebuild: fixed
    assert stored(wh) == [(D[0], 3), (D[1], 3), (D[2], 3)]
    assert quarantined(wh) == []


def test_write_dated_empties_the_dates_asked_for_and_keeps_the_others():
    wh = Warehouse.memory()
    gate.write_dated(wh, TABLE, macro(D), D)
    gate.write_dated(wh, TABLE, macro(D[:1], cpi=5), D[:2])  # D[1] asked for, absent: emptied
    assert stored(wh) == [(D[0], 5), (D[2], 3)]


def test_a_partition_whose_every_row_is_refused_is_pruned_unless_asked_not_to():
    wh = Warehouse.memory()
    gate.write_partitions(wh, TABLE, macro(D), ("date",))
    gate.write_partitions(wh, TABLE, macro(D[1:2], bad=(D[1],)), ("date",), prune=False)
    assert stored(wh) == [(D[0], 3), (D[1], 3), (D[2], 3)]  # the stored row stays
    gate.write_partitions(wh, TABLE, macro(D[1:2], bad=(D[1],)), ("date",))
    assert stored(wh) == [(D[0], 3), (D[2], 3)]  # no stale row of the earlier build survives
    assert [r[1] for r in quarantined(wh)] == [D[1]]  # the second refusal replaced the first


def test_judge_writes_nothing_and_a_table_without_contract_passes_whole():
    wh = Warehouse.memory()
    v = gate.judge(TABLE, macro(D, bad=(D[0],)), D, "date")
    assert v.good["date"].to_list() == D[1:] and v.bad["as_of"].to_list() == [D[0]]
    assert quarantined(wh) == [] and stored(wh) == []
    frame = pl.DataFrame({"x": [1]})
    assert gate.judge("core.no_such_table", frame).bad is None
    assert gate.record(wh, gate.judge("core.no_such_table", frame)).equals(frame)


def test_the_row_horizon_is_an_explicit_parameter():
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert gate.row_context().not_after == tomorrow
    assert gate.row_context(date(2040, 1, 2)).not_after == date(2040, 1, 2)
    assert gate.row_context(date(2001, 1, 2)).not_after == tomorrow  # never earlier than tomorrow
