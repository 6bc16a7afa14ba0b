"""Landing and the file registry: same bytes are a no-op, a corrected file replaces its partition."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sources.cboe_chain import parse
from warehouse.db import Warehouse
from warehouse.files import batch_id_for, known_file, land, load_file


def load(wh: Warehouse, home: Path, name: str, text: str):
    data = text.encode()
    landed = land(home, Path("/drop") / name, data, "cboe_chain")
    if known_file(wh, landed.file_id):
        return None
    p = parse(data, name)
    return load_file(wh, landed, batch_id=batch_id_for([landed.file_id]), format=p.format, table=p.table,
                     rows=p.rows, rejects=p.rejects, partition_by=p.partition_by)


def test_same_bytes_twice_is_a_no_op_and_landing_is_kept(quotedata, tmp_path):
    CHAIN, row = quotedata.head, quotedata.row
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        first = load(wh, tmp_path, "q.csv", CHAIN + row(4500) + row(4510))
        assert first.status == "loaded" and first.rows_written == 4
        before = wh.checksum("raw.option_quotes")
        assert load(wh, tmp_path, "q.csv", CHAIN + row(4500) + row(4510)) is None
        assert wh.checksum("raw.option_quotes") == before
        assert (tmp_path / "landing" / "cboe_chain" / f"{first.file_id[:12]}-q.csv").exists()


def test_corrected_file_replaces_the_partition_and_supersedes_the_old_file(quotedata, tmp_path):
    CHAIN, row = quotedata.head, quotedata.row
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        old = load(wh, tmp_path, "q.csv", CHAIN + row(4500) + row(4510))
        new = load(wh, tmp_path, "q_fixed.csv", CHAIN + row(4500, oi=250))
        assert wh.sql("select strike, open_interest, file_id from raw.option_quotes").unique().rows() == [
            (4500.0, 250, new.file_id)]
        status = dict(wh.sql("select file_id, status from audit.files").rows())
        assert status == {old.file_id: "superseded", new.file_id: "loaded"}


def test_rejected_rows_are_quarantined_with_file_line_and_raw_text(quotedata, tmp_path):
    CHAIN, row = quotedata.head, quotedata.row
    bad = row(4520).replace(",1,2,3,", ",1,x,3,", 1)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        res = load(wh, tmp_path, "q.csv", CHAIN + row(4500) + bad)
        assert res.status == "loaded_with_rejects" and res.rows_quarantined == 1
        q = wh.sql("select source_path, table_name, line, raw, reason, check_name from audit.quarantine")
        assert q.rows() == [(f"landing/cboe_chain/{res.file_id[:12]}-q.csv", "raw.option_quotes", 6,
                             bad.rstrip("\n"), "Ask (calls): x is not a number", "parse")]


def test_a_refused_file_writes_no_rows_but_keeps_its_quarantine(quotedata, tmp_path):
    CHAIN, row = quotedata.head, quotedata.row
    data = (CHAIN + row(4500) + row(4520).replace(",1,2,3,", ",1,x,3,", 1)).encode()
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        landed = land(tmp_path, Path("q.csv"), data, "cboe_chain")
        p = parse(data, "q.csv")
        res = load_file(wh, landed, batch_id="b", format=p.format, table=p.table, rows=p.rows,
                        rejects=p.rejects, partition_by=p.partition_by, error="q.csv:6: too many bad rows")
        assert res.status == "rejected" and res.rows_written == 0
        assert wh.scalar("select count(*) from raw.option_quotes") == 0
        assert wh.scalar("select count(*) from audit.quarantine") == 1
        assert wh.scalar("select error from audit.files") == "q.csv:6: too many bad rows"


def test_batch_id_depends_only_on_the_files():
    assert batch_id_for(["b", "a"], "night") == batch_id_for(["a", "b"], "night")
    assert batch_id_for(["a"]) != batch_id_for(["b"])


def test_lineage_columns_are_on_every_row(quotedata, tmp_path):
    CHAIN, row = quotedata.head, quotedata.row
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        res = load(wh, tmp_path, "q.csv", CHAIN + row(4500))
        lin = wh.sql("select distinct file_id, batch_id, line from raw.option_quotes")
        assert lin.rows() == [(res.file_id, batch_id_for([res.file_id]), 5)]
        assert isinstance(lin, pl.DataFrame)
