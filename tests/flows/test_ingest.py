"""`alvh ingest`: one line per file, bad files named with file:line, nothing lost, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.ingest import _policy
from sources.base import Parsed, rejects_frame
from warehouse.db import Warehouse


@pytest.fixture
def drop(tmp_path, quotedata) -> Path:
    HEAD, row = quotedata.head, quotedata.row
    d = tmp_path / "drop"
    d.mkdir()
    (d / "good.csv").write_text(HEAD + "".join(row(k) for k in range(4400, 4600, 5)))
    full = HEAD + "".join(row(k) for k in range(4400, 4600, 5))
    (d / "truncated.csv").write_text(full[: full.rindex(",1,0,1,2,3,0.2,-0.5")])
    (d / "notes.txt").write_text("hello, this is not market data\n")
    (d / "VIX_History.csv").write_text("DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2019,27.54,28.53,23.05,23.22\n")
    return d


def test_ingest_prints_one_line_per_file_and_fails_on_bad_files(prefect_harness, drop, tmp_path):
    home = tmp_path / "home"
    res = CliRunner().invoke(app, ["ingest", str(drop), "--home", str(home)])
    assert res.exit_code == 1, res.output
    out = res.output
    assert "Traceback" not in out
    assert "good.csv" in out and "cboe_quotedata" in out and "raw.option_quotes" in out
    assert "VIX_History.csv" in out and "cboe_index_history" in out
    assert f"{drop / 'truncated.csv'}:" in out and "file is truncated" in out
    assert f"{drop / 'notes.txt'}:1: unrecognised format" in out
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        status = dict(wh.sql("select original_path, status from audit.files").rows())
        assert status == {str(drop / "good.csv"): "loaded", str(drop / "truncated.csv"): "rejected",
                          str(drop / "notes.txt"): "unrecognised",
                          str(drop / "VIX_History.csv"): "loaded"}
        # the truncated file's cut row is quarantined; its landing copy is kept
        q = wh.sql("select q.line, q.reason from audit.quarantine q join audit.files f using (file_id) "
                   "where f.original_path like '%truncated.csv'")
        assert q.rows() == [(44, "truncated row: 13 of 22 fields")]
        for (path,) in wh.sql("select landing_path from audit.files").rows():
            assert (home / path).exists()
    again = CliRunner().invoke(app, ["ingest", str(drop / "good.csv"), "--home", str(home)])
    assert again.exit_code == 0 and "already landed" in again.output


def _parsed(n_rows: int, reasons: list[str], expected: int = 0) -> Parsed:
    import polars as pl

    return Parsed("f", "raw.vx_futures", pl.DataFrame({"x": list(range(n_rows))}),
                  rejects_frame([(i + 2, "raw", r) for i, r in enumerate(reasons)]), ("x",),
                  expected_rejects=expected)


def test_policy_refuses_a_file_with_too_many_damaged_rows():
    msg = _policy(_parsed(98, ["bad", "bad"]), "f.csv", 0.01)
    assert msg == "f.csv:2: 2 of 100 rows refused (2.0% > 1.0% allowed); first: bad"
    assert _policy(_parsed(199, ["bad"]), "f.csv", 0.01) is None


def test_policy_does_not_count_rows_refused_by_design():
    # A short legacy CFE file with two all-zero placeholder rows is not damaged.
    reasons = ["placeholder row: every price is zero (no trade, no settlement)"] * 2
    assert _policy(_parsed(60, reasons, expected=2), "f.csv", 0.01) is None
