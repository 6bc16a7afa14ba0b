"""night_is_trusted: the latest audit's verdict, the preflight for nights never audited."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from expectations import night_is_trusted
from expectations.trust import describe_failure, latest_run, suite_summary
from warehouse.db import Warehouse

D = date(2026, 3, 4)


def _row(run: str, at: datetime, table: str, success: bool, severity: str = "critical", **kw) -> dict:
    return {"run_id": run, "as_of": D, "table_name": table, "suite": table.replace(".", "_"),
            "expectation": kw.get("expectation", "expect_table_row_count_to_be_between"),
            "column_name": kw.get("column"), "severity": severity, "success": success,
            "element_count": kw.get("n"), "unexpected_count": kw.get("bad"),
            "observed": kw.get("observed", '{"observed_value": 0, "expected": {"min_value": 1}}'),
            "validated_at": at, "kind": kw.get("kind", "freshness"), "data_docs": None}


def _warehouse(rows: list[dict]) -> Warehouse:
    wh = Warehouse.memory()
    wh.append("audit.validations", pl.DataFrame(rows).with_columns(
        pl.col("element_count").cast(pl.Int64), pl.col("unexpected_count").cast(pl.Int64),
        pl.col("column_name").cast(pl.String)))
    return wh


def test_the_latest_audit_decides():
    wh = _warehouse([
        _row("run-1", datetime(2026, 3, 4, 22), "raw.option_quotes", False),
        _row("run-2", datetime(2026, 3, 4, 23), "raw.option_quotes", True),
    ])
    assert latest_run(wh, D) == "run-2"
    assert night_is_trusted(wh, D) == (True, [])


def test_only_critical_failures_untrust_a_night():
    wh = _warehouse([
        _row("r", datetime(2026, 3, 4, 22), "raw.option_quotes", False, "warning", kind="volume"),
        _row("r", datetime(2026, 3, 4, 22), "raw.index_bars", False, kind="jump",
             expectation="expect_column_values_to_be_between", column="close_vs_prev", n=4, bad=1,
             observed='{"expected": {"min_value": 0.25, "max_value": 4.0}}'),
    ])
    ok, reasons = night_is_trusted(wh, D)
    assert not ok
    assert reasons == ["raw.index_bars: jump - expect_column_values_to_be_between on close_vs_prev "
                       "(1 unexpected of 4; expected min_value=0.25, max_value=4)"]


def test_describe_failure_shows_observed_and_expected():
    r = _row("r", datetime(2026, 3, 4), "raw.option_quotes", False)
    assert describe_failure(r) == ("raw.option_quotes: freshness - expect_table_row_count_to_be_between "
                                   "(observed 0; expected min_value=1)")


def test_suite_summary_counts_per_table():
    wh = _warehouse([
        _row("r", datetime(2026, 3, 4), "raw.option_quotes", True),
        _row("r", datetime(2026, 3, 4), "raw.option_quotes", False, "warning", kind="drift", bad=3),
    ])
    s = suite_summary(wh, D).row(0, named=True)
    assert (s["checks"], s["passed"], s["failed_critical"], s["failed_warning"], s["unexpected"]) == (2, 1, 0, 1, 3)
    assert s["fresh"] is True and s["quarantined"] == 0


def test_a_night_never_audited_on_an_empty_home_is_not_trusted():
    ok, reasons = night_is_trusted(Warehouse.memory(), D)
    assert not ok and "raw.option_quotes: freshness - no rows for 2026-03-04 (preflight)" in reasons


def test_nights_trusted_gives_each_nights_verdict_in_a_few_queries(tmp_path, home_builder):
    """The batch the recommendation step uses: audited nights, preflight nights (a missing gamma
    partition, a jump, a collapsed chain) and a night with no data at all, as night by night."""
    from datetime import timedelta

    from expectations.trust import nights_trusted
    from sources.calendar import sessions_between

    sessions = sessions_between(date(2026, 1, 5), date(2026, 3, 4))
    days, history = sessions[-12:], sessions[:-12]
    home_builder(tmp_path, days, history)
    with Warehouse.open(tmp_path / "warehouse.duckdb") as wh:
        wh.delete("core.gamma_daily", "date = ?", [days[3]])
        wh.execute("update raw.index_bars set close = close * 5 where symbol = 'VIX' and date = ?", [days[6]])
        wh.delete("raw.option_quotes", "quote_date = ? and strike > (select min(strike) from "
                  "raw.option_quotes where quote_date = ?)", [days[8], days[8]])  # 4 rows of 60
        audit = [_row("r1", datetime(2026, 3, 1, 22), "raw.option_quotes", False),
                 _row("r2", datetime(2026, 3, 1, 23), "raw.index_bars", False, kind="jump"),
                 _row("r2", datetime(2026, 3, 1, 23), "raw.option_quotes", True)]
        wh.append("audit.validations", pl.DataFrame([{**r, "as_of": days[-3]} for r in audit]).with_columns(
            pl.col("element_count").cast(pl.Int64), pl.col("unexpected_count").cast(pl.Int64),
            pl.col("column_name").cast(pl.String)))
        nights = [*days, days[-1] + timedelta(days=1)]
        want = {d: night_is_trusted(wh, d) for d in nights}
        assert nights_trusted(wh, list(reversed(nights))) == want
        assert list(nights_trusted(wh, nights)) == nights
        assert [d for d in nights if not want[d][0]] == [days[3], days[6], days[7], days[8], days[-3],
                                                           nights[-1]]
