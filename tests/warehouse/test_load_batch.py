"""`load_batch` (one transaction, a few statements per table) leaves exactly what `load_file` one
file after the other leaves: rows, lineage, registry (status, counts, partitions), quarantine and
superseding, including partitions delivered twice within the batch and column-per-file merges."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
import pytest

from sources.base import rejects_frame
from warehouse.db import Warehouse
from warehouse.files import FileLoad, LandedFile, load_batch, load_file, sha256_bytes

D0 = date(2026, 3, 2)
BREADTH_COLS = ("advances", "declines", "unchanged", "new_highs")


def landed(name: str) -> LandedFile:
    sha = sha256_bytes(name.encode())
    return LandedFile(sha, len(name), f"/drop/{name}", f"landing/x/{sha[:12]}-{name}", "x")


def bars(symbol: str, days: list[int], price: float, extra: bool = False) -> pl.DataFrame:
    df = pl.DataFrame({
        "symbol": [symbol] * len(days), "date": [D0 + timedelta(days=d) for d in days],
        "open": [price] * len(days), "high": [price + 1] * len(days), "low": [price - 1] * len(days),
        "close": [price + d for d in days], "volume": [None] * len(days),
        "line": list(range(2, 2 + len(days)))}, schema_overrides={"volume": pl.Float64})
    return df.with_columns(ohlc_flag=pl.lit("x", pl.String)) if extra else df


def breadth(col: str, days: list[int], value: int | None, dup: bool = False) -> pl.DataFrame:
    days = days + days[:1] if dup else days
    return pl.DataFrame({"exchange": ["NYSE"] * len(days),
                         "date": [D0 + timedelta(days=d) for d in days],
                         col: [value] * len(days), "line": [2] * len(days)},
                        schema_overrides={col: pl.Int64})


def refused(lf: LandedFile, batch: str, n: int) -> pl.DataFrame | None:
    if not n:
        return None
    return pl.DataFrame({
        "file_id": [lf.file_id] * n, "source_path": [lf.landing_path] * n,
        "table_name": ["raw.index_bars"] * n, "line": list(range(90, 90 + n)),
        "raw": ["r"] * n, "reason": ["close <= 0"] * n, "check_name": ["close_positive"] * n,
        "batch_id": [batch] * n, "as_of": [D0] * n})


def random_loads(rng: random.Random, batch: str, n: int, tag: str) -> list[FileLoad]:
    out = []
    for i in range(n):
        lf = landed(f"{tag}-{i}.csv")
        kind = rng.choice(["bars", "bars", "bars", "breadth", "breadth", "error", "unrecognised",
                           "empty"])
        if kind == "bars":
            days = sorted(rng.sample(range(8), rng.randint(1, 4)))
            rows = bars(rng.choice(["SPX", "VIX"]), days, rng.uniform(10, 20),
                        extra=rng.random() < 0.15)
            rej = rejects_frame([(50, "bad,row", "close: x is not a number")]) \
                if rng.random() < 0.3 else rejects_frame()
            out.append(FileLoad(lf, "cboe_index_history", "raw.index_bars", rows, rej,
                                ("symbol", "date"), "replace",
                                refused=refused(lf, batch, rng.choice([0, 0, 1, 2]))))
        elif kind == "breadth":
            days = sorted(rng.sample(range(5), rng.randint(1, 3)))
            value = rng.choice([None, rng.randint(1, 500)])
            out.append(FileLoad(lf, "unicorn_breadth", "raw.breadth",
                                breadth(rng.choice(BREADTH_COLS), days, value,
                                        dup=rng.random() < 0.1),
                                rejects_frame(), ("exchange", "date"), "merge"))
        elif kind == "error":
            out.append(FileLoad(lf, "cboe_index_history", "raw.index_bars", bars("SPX", [1], 1.0),
                                rejects_frame([(3, "x", "truncated")]), ("symbol", "date"),
                                error=f"{lf.original_path}:3: too many bad rows",
                                refused=refused(lf, batch, rng.choice([0, 1]))))
        elif kind == "unrecognised":
            out.append(FileLoad(lf, None, error=f"{lf.original_path}:1: unrecognised format",
                                provenance={"source": "test", "n": i}))
        else:
            out.append(FileLoad(lf, "cboe_index_history", "raw.index_bars", bars("SPX", [], 1.0),
                                rejects_frame(), ("symbol", "date")))
    return out


def one_by_one(wh: Warehouse, loads: list[FileLoad], batch: str) -> list:
    return [load_file(wh, ld.landed, batch_id=batch, format=ld.format, table=ld.table, rows=ld.rows,
                      rejects=ld.rejects, partition_by=ld.partition_by, mode=ld.mode,
                      error=ld.error, provenance=ld.provenance, refused=ld.refused)
            for ld in loads]


def state(wh: Warehouse) -> dict:
    out = {t: wh.checksum(t, exclude=["landed_at"] if t == "audit.files" else [])
           for t in ("audit.files", "audit.quarantine", "raw.index_bars", "raw.breadth")}
    out["files"] = wh.sql("select * exclude (landed_at) from audit.files order by file_id").rows()
    return out


@pytest.mark.parametrize("seed", range(30))
def test_a_batch_leaves_what_loading_the_files_one_by_one_leaves(seed):
    rng = random.Random(seed)
    before = random_loads(rng, "b0", rng.randint(0, 6), "old")
    batch = random_loads(rng, "b1", rng.randint(1, 12), "new")
    a, b = Warehouse.memory(), Warehouse.memory()
    for wh in (a, b):
        one_by_one(wh, before, "b0")
    expected = one_by_one(a, batch, "b1")
    got = load_batch(b, batch, batch_id="b1", new=True)
    assert got == expected
    assert state(b) == state(a)


def test_superseding_within_a_batch_and_of_earlier_files():
    old = FileLoad(landed("old.csv"), "f", "raw.index_bars", bars("SPX", [0, 1], 10.0),
                   rejects_frame(), ("symbol", "date"))
    first = FileLoad(landed("first.csv"), "f", "raw.index_bars", bars("SPX", [1, 2], 11.0),
                     rejects_frame(), ("symbol", "date"))
    second = FileLoad(landed("second.csv"), "f", "raw.index_bars", bars("SPX", [0, 1, 2], 12.0),
                      rejects_frame(), ("symbol", "date"))
    wh = Warehouse.memory()
    one_by_one(wh, [old], "b0")
    load_batch(wh, [first, second], batch_id="b1", new=True)
    status = dict(wh.sql("select original_path, status from audit.files").rows())
    assert status == {"/drop/old.csv": "superseded", "/drop/first.csv": "superseded",
                      "/drop/second.csv": "loaded"}
    assert wh.sql("select distinct file_id from raw.index_bars").rows() == [(second.landed.file_id,)]


def test_known_or_repeated_bytes_go_one_at_a_time():
    ld = FileLoad(landed("q.csv"), "f", "raw.index_bars", bars("SPX", [0], 10.0), rejects_frame(),
                  ("symbol", "date"))
    a, b = Warehouse.memory(), Warehouse.memory()
    one_by_one(a, [ld, ld], "b")
    load_batch(b, [ld, ld], batch_id="b")
    assert state(a) == state(b)
    load_batch(b, [ld], batch_id="b")  # already registered: its registry row is replaced
    assert state(a) == state(b)


def test_rows_refused_by_a_contract_are_quarantined_and_counted():
    lf = landed("c.csv")
    ld = FileLoad(lf, "f", "raw.index_bars", bars("SPX", [0, 1], 10.0), rejects_frame(),
                  ("symbol", "date"), refused=refused(lf, "b", 2))
    wh = Warehouse.memory()
    (res,) = load_batch(wh, [ld], batch_id="b", new=True)
    assert (res.status, res.rows_read, res.rows_written, res.rows_quarantined) == (
        "loaded_with_rejects", 4, 2, 2)
    assert wh.one("select status, rows_read, rows_written, rows_quarantined from audit.files") == (
        "loaded_with_rejects", 4, 2, 2)
    assert wh.sql("select line, check_name from audit.quarantine order by line").rows() == [
        (90, "close_positive"), (91, "close_positive")]
