"""Backfill: parallel per-day work, one writer, identical tables to nightly runs one by one, resumable.

Every home here is a copy of one base home (the sample history plus the night of 2026-03-05) and
the reference is `nightly` run for each session in turn on another copy; both are built once per
test session (fixtures in tests/conftest.py, shared with test_reliability.py), so each test pays
only for what it adds.
The Dask process runner is exercised in tests/soak and bench/ (worker start-up is slow).
"""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from flows.backfill import run_backfill
from flows.runners import make_task_runner
from flows.workers import fetch_day, prepare_day
from warehouse.db import Warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_heartbeat_wait")]

START, END = date(2026, 3, 6), date(2026, 3, 9)  # Friday, (weekend), Monday
DAYS = [date(2026, 3, 6), date(2026, 3, 9)]


def audit_rows(home: Path) -> pl.DataFrame:
    """audit.validations without run ids and times. The audit checks static reference tables (FRED
    series, the macro calendar) whole, as they stand when it runs, so night D's element counts there
    include rows dated before D that arrived later: not point in time, and a backfill audits after
    the whole range is loaded. For those tables the verdicts must match, the counts may not."""
    from expectations.contracts import contracts

    static = [t for t, c in contracts().items() if c.cadence == "static"]
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        df = wh.sql("select * exclude (run_id, validated_at) from audit.validations")
    counts = ("element_count", "unexpected_count", "observed")
    return df.with_columns(
        pl.when(pl.col("table_name").is_in(static)).then(None).otherwise(pl.col(c)).alias(c)
        for c in counts).sort(df.columns, nulls_last=True)


def assert_same_warehouse(home: Path, ref: Path, checksums) -> None:
    want, got = checksums(ref), checksums(home)
    assert want.keys() == got.keys()
    assert [t for t in want if t != "audit.validations" and want[t] != got[t]] == []
    assert audit_rows(home).equals(audit_rows(ref))


# -- tests -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def threaded(prefect_harness, base_home, copy_home, tmp_path_factory):
    home = copy_home(base_home, tmp_path_factory.mktemp("bf") / "home")
    return home, run_backfill(START, END, runner="threads", workers=2, home=home, pages=1)


def test_backfill_builds_every_session_and_skips_the_weekend(threaded):
    home, s = threaded
    assert [(d.day, d.status) for d in s.days] == [(DAYS[0], "built"), (DAYS[1], "built")]
    assert s.exit_code == 0 and set(s.phases) >= {"days", "of which writer", "audits"}
    assert s.report == home / "reports" / f"{END}.html" and s.report.exists()
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        assert wh.sql("select date from core.gamma_daily where date >= ? and underlying = 'SPX' "
                      "order by 1", [START])["date"].to_list() == DAYS
        # the sample drop's SPY chain gets its own rows, computed in the workers like SPX's
        assert wh.sql("select date from core.gamma_daily where date >= ? and underlying = 'SPY' "
                      "order by 1", [START])["date"].to_list() == DAYS
        assert wh.scalar("select status from audit.runs where flow = 'backfill'") == "ok"


def test_backfill_tables_are_identical_to_nightly_runs_one_by_one(threaded, reference_home,
                                                                  checksums):
    home, _ = threaded
    ref = reference_home(DAYS)
    assert checksums(home)["raw.option_quotes"][0] > 0
    assert_same_warehouse(home, ref, checksums)
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as a, \
            Warehouse.open(ref / "warehouse.duckdb", read_only=True) as b:
        # the one column left out of the checksums: where each file was picked up, per home
        where = "select file_id, replace(original_path, ?, '') from audit.files order by 1"
        assert a.sql(where, [str(home)]).rows() == b.sql(where, [str(ref)]).rows()


def test_rerun_skips_every_built_day_and_changes_nothing(threaded, checksums):
    """Resuming: days already built from the same files are not parsed or written again (the
    SIGKILL soak in tests/soak covers runs interrupted at any point)."""
    home, _ = threaded
    before = checksums(home)
    again = run_backfill(START, END, runner="threads", workers=2, home=home, pages=0)
    assert [d.status for d in again.days] == ["skipped", "skipped"] and again.rows == 0
    assert checksums(home) == before
    assert not any((home / "drops").glob("*/*"))  # the simulated outbox is emptied once landed


def test_a_days_work_crosses_a_process_boundary_intact(tmp_path):
    """What a Dask worker hands back (parsed frames, gamma partitions) survives pickling."""
    from flows.build import gamma_conventions
    from flows.settings import load_settings

    settings = load_settings(home=tmp_path)
    landed = fetch_day.fn(DAYS[0], "sample", tmp_path / "drops" / "d", tmp_path, 7)
    work = prepare_day.fn(DAYS[0], landed, tmp_path, gamma_conventions(settings), 0.01)
    assert work.quote_rows > 0 and work.gamma and work.batch_id.startswith(f"night-{DAYS[0]}-")
    clone = pickle.loads(pickle.dumps(work))
    assert clone.landed == work.landed and clone.batch_id == work.batch_id
    for a, b in zip(work.prepared, clone.prepared, strict=True):
        assert (a.error, a.format) == (b.error, b.format)
        assert a.parsed is None or a.parsed.rows.equals(b.parsed.rows)
    assert all(work.gamma[t].equals(clone.gamma[t]) for t in work.gamma)
    skipped = prepare_day.fn(DAYS[0], landed, tmp_path, None, 0.01, frozenset({work.batch_id}))
    assert skipped.skipped and skipped.prepared is None  # a built batch is not parsed again


def test_dask_without_a_prefect_server_is_refused_in_one_line(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}), \
            pytest.raises(ValueError, match="need a running Prefect server: run `alvh server`"):
        make_task_runner("dask", 2)
    with pytest.raises(ValueError, match="unknown runner 'ray'"):
        make_task_runner("ray", 2)
