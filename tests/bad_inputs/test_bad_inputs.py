"""Malformed vendor files through `alvh ingest` semantics (flows.ingest: land, detect, parse,
contract, load). For each file of tests/bad_inputs/files/ the outcome in EXPECTED.toml holds, the
landing copy is kept byte for byte, and nothing is lost: every refused row is in audit.quarantine
and rows_read = rows_written + rows_quarantined, or the file is refused whole with one line naming
the file, the line and the reason."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from flows.ingest import land_files, load_files
from warehouse.db import Warehouse
from warehouse.files import batch_id_for

HERE = Path(__file__).parent
FILES = HERE / "files"
CASES = tomllib.loads((HERE / "EXPECTED.toml").read_text(encoding="utf-8"))["case"]
STATUS = {"loaded": "loaded", "quarantined": "loaded_with_rejects", "rejected": "rejected",
          "unrecognised": "unrecognised"}


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    """Future-dated cases are judged against a fixed night, not the machine's clock."""
    import flows.gate

    monkeypatch.setattr(flows.gate, "_today", lambda: date(2026, 3, 31))


def test_the_corpus_is_complete_and_varied():
    assert sorted(c["file"] for c in CASES) == sorted(p.name for p in FILES.iterdir())
    assert len(CASES) >= 30
    formats = {c["format"] for c in CASES if c["format"]}
    for family in ("cboe_quotedata", "cboe_index_history", "cfe_vx_history", "binance_funding_archive",
                   "hyperliquid_funding_history", "bybit_funding_v5", "unicorn_breadth", "breadth_csv",
                   "yahoo_csv", "fred_csv", "macro_events_csv"):
        assert family in formats, family
    assert {c["outcome"] for c in CASES} == set(STATUS)


def _ingest(path: Path, home: Path):
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        landed = land_files.fn([path], home)
        summary = load_files.fn(wh, landed, home, batch_id_for([x.landed.file_id for x in landed], "bad"),
                                show=False)
        (outcome,) = summary.files
        row = wh.sql("select * from audit.files where file_id = ?", [outcome.file_id]).row(0, named=True)
        quarantine = wh.sql("select * from audit.quarantine where file_id = ? order by line", [outcome.file_id])
        table_rows = (wh.scalar(f"select count(*) from {row['table_name']} where file_id = ?", [outcome.file_id])
                      if row["table_name"] else 0)
    return landed[0], outcome, row, quarantine, table_rows


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input(case, tmp_path):
    path = FILES / case["file"]
    landed, outcome, row, quarantine, table_rows = _ingest(path, tmp_path)

    # the landing zone keeps every file as received
    copy = tmp_path / landed.landed.landing_path
    assert copy.exists() and copy.read_bytes() == path.read_bytes()

    assert row["status"] == STATUS[case["outcome"]], outcome.error
    assert (row["format"] or "") == case["format"]

    if case["outcome"] in ("rejected", "unrecognised"):
        err = outcome.error
        assert err == row["error"] and "\n" not in err
        assert err.startswith(str(path)), err                           # names the file ...
        if case["line"]:
            assert err.startswith(f"{path}:{case['line']}: "), err      # ... the line ...
        assert case["error"] in err, err                                # ... and the reason
        assert row["rows_written"] == 0 and table_rows == 0
    else:
        assert outcome.error is None
        assert row["rows_read"] == row["rows_written"] + row["rows_quarantined"]
        assert table_rows == row["rows_written"] > 0

    # nothing is lost: every refused row is in audit.quarantine, with its line and check
    assert quarantine.height == row["rows_quarantined"] == case["rows_quarantined"]
    assert quarantine["source_path"].to_list() == [landed.landed.landing_path] * quarantine.height
    for want in case.get("quarantined", []):
        hits = quarantine.filter((quarantine["line"] == want["line"]) & (quarantine["check_name"] == want["check"]))
        assert hits.height, f"no quarantined row at line {want['line']} for {want['check']}: {quarantine.to_dicts()[:3]}"
        assert any(want["reason"] in r for r in hits["reason"]), hits["reason"].to_list()
