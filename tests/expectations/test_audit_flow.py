"""The audit flow end to end inside the Prefect harness, on a small synthetic home: every result
lands in audit.validations, Data Docs are written, a broken night fails critical checks (and
`alvh audit` exits 1), and the report's data-quality section shows what audit.validations holds."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from expectations import night_is_trusted
from flows.audit import audit
from sources.calendar import sessions_between
from warehouse.db import Warehouse

pytestmark = pytest.mark.e2e

SESSIONS = sessions_between(date(2026, 1, 5), date(2026, 3, 4))
DAYS, HISTORY = SESSIONS[-6:], SESSIONS[:-6]
NIGHT = DAYS[-1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, home_builder) -> Path:
    build_home = home_builder
    home = tmp_path_factory.mktemp("audit") / "home"
    build_home(home, DAYS, HISTORY)
    return home


@pytest.fixture(scope="module")
def audited(prefect_harness, pristine, copy_home, tmp_path_factory):
    home = copy_home(pristine, tmp_path_factory.mktemp("good") / "home")
    return home, audit(as_of=NIGHT, home=home)


def test_a_clean_night_is_trusted_and_every_result_is_stored(audited):
    home, s = audited
    assert s.trusted and s.critical == []
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        res = wh.table("audit.validations", "run_id = ?", [s.run_id])
        tables = {t for t in wh.tables() if t.split(".")[0] in ("raw", "core")}
        assert res.height == s.checks and set(res["table_name"]) == tables
        assert set(res["severity"]) <= {"critical", "warning"} and res["kind"].null_count() == 0
        assert (res["as_of"] == NIGHT).all()
        fresh = res.filter(pl.col("kind") == "freshness")
        assert {"raw.option_quotes", "raw.index_bars", "core.gamma_daily"} <= set(fresh["table_name"])
        assert night_is_trusted(wh, NIGHT) == (True, [])
        run = wh.table("audit.runs", "run_id = ?", [s.run_id])
        assert run["flow"][0] == "audit" and run["status"][0] == "ok"


def test_data_docs_are_written_offline(audited):
    home, s = audited
    assert s.data_docs == "data_docs/index.html" and (home / s.data_docs).exists()
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        pages = wh.sql("select distinct data_docs from audit.validations where data_docs is not null")
    assert pages.height >= 5
    for p in pages["data_docs"]:
        assert (home / p).exists(), p
    page = (home / pages["data_docs"][0]).read_text()
    assert "ALVH: a minimal offline stand-in" in page  # our stylesheet is inlined


def test_drift_and_volume_checks_ran_on_the_chain(audited):
    home, s = audited
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        kinds = wh.sql("select kind, count(*) as n from audit.validations where run_id = ? and "
                       "table_name = 'raw.option_quotes' group by 1", [s.run_id])
    got = dict(kinds.iter_rows())
    assert got.get("volume") == 2 and got.get("drift") == 4 and got.get("jump") == 1


def test_a_broken_night_is_not_trusted_and_the_cli_exits_1(prefect_harness, pristine, copy_home,
                                                            tmp_path):
    """Tonight's SPX chain never came and the VIX close is 10x: two critical failures."""
    from typer.testing import CliRunner

    from flows.cli import app

    home = copy_home(pristine, tmp_path / "home")
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        wh.delete("raw.option_quotes", "quote_date = ?", [NIGHT])
        wh.execute("update raw.index_bars set close = close * 10 where symbol = 'VIX' and date = ?", [NIGHT])
    result = CliRunner().invoke(app, ["audit", "--as-of", NIGHT.isoformat(), "--home", str(home)])
    assert result.exit_code == 1, result.output
    assert "raw.option_quotes" in result.output and "NOT TRUSTED" in result.output
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        ok, reasons = night_is_trusted(wh, NIGHT)
        idle = wh.sql("select count(*) as n from audit.validations where expectation = 'table_idle'")
    assert not ok
    assert any(r.startswith("raw.option_quotes: freshness") for r in reasons), reasons
    assert any(r.startswith("raw.index_bars: jump") for r in reasons), reasons
    # ... and the plausibility check against the stored series names the row (issue 14)
    assert any(r.startswith("raw.index_bars: plausibility - close_step_vs_history") and
               "VIX close" in r for r in reasons), reasons
    assert idle["n"][0] > 0  # empty tables of this young home are recorded, not validated


def test_the_report_quality_section_matches_audit_validations(audited, tmp_path):
    from reports.render import render_night

    home, s = audited
    reports = home / "reports"
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        page = render_night(wh, NIGHT, reports, run={"run_id": "test"}).read_text()
        agg = wh.sql(
            "select table_name, count(*) as checks, count(*) filter (where success) as passed, "
            "count(*) filter (where not success and severity = 'critical') as crit, "
            "count(*) filter (where not success and severity = 'warning') as warn "
            "from audit.validations where run_id = ? group by 1 order by 1", [s.run_id])
    section = page.split('id="quality"', 1)[1].split("</section>", 1)[0]
    shown = {m["t"]: (int(m["c"]), int(m["p"]), int(m["fc"]), int(m["fw"])) for m in re.finditer(
        r'data-table="(?P<t>[^"]+)" data-checks="(?P<c>\d+)" data-passed="(?P<p>\d+)" '
        r'data-failed-critical="(?P<fc>\d+)" data-failed-warning="(?P<fw>\d+)"', section)}
    want = {r[0]: tuple(r[1:]) for r in agg.iter_rows()}
    assert shown == want
    assert "trusted" in section and 'href="../data_docs/index.html"' in section
    for link in re.findall(r'href="(\.\./data_docs/[^"]+)"', section):
        assert (reports / link).resolve().exists(), link


def test_an_unaudited_night_gets_the_preflight(pristine, copy_home, tmp_path):
    home = copy_home(pristine, tmp_path / "home")
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        assert night_is_trusted(wh, DAYS[-2]) == (True, [])
        wh.delete("core.gamma_daily", "date = ?", [DAYS[-2]])
        ok, reasons = night_is_trusted(wh, DAYS[-2])
        assert not ok and reasons == [f"core.gamma_daily: freshness - no rows for {DAYS[-2]} (preflight)"]
        nxt = DAYS[-1] + timedelta(days=1)
        assert not night_is_trusted(wh, nxt)[0]
