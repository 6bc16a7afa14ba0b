"""The warehouse door: schema, partition replace in one transaction, merge, one writer, checksums."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import polars as pl
import pytest

from warehouse.db import SchemaMismatch, Warehouse, WarehouseBusy

D1, D2, D3 = date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)


def bars(rows: list[tuple[str, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"symbol": pl.String, "date": pl.Date, "close": pl.Float64},
                        orient="row")


@pytest.fixture
def wh(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as w:
        yield w


def test_schema_has_every_layer(wh):
    tables = wh.tables()
    for t in ("audit.files", "audit.runs", "audit.quarantine", "raw.option_quotes",
              "raw.index_bars", "core.gamma_daily"):
        assert t in tables


def test_replace_swaps_whole_partitions_and_leaves_others(wh):
    wh.write("raw.index_bars", bars([("VIX", D1, 20.0), ("VIX", D2, 21.0), ("SPX", D1, 4700.0)]),
             by=("symbol", "date"))
    wh.write("raw.index_bars", bars([("VIX", D2, 22.0), ("VIX", D3, 23.0)]), by=("symbol", "date"))
    got = wh.sql("select symbol, date, close from raw.index_bars order by symbol, date").rows()
    assert got == [("SPX", D1, 4700.0), ("VIX", D1, 20.0), ("VIX", D2, 22.0), ("VIX", D3, 23.0)]


def test_partition_by_coarser_key_drops_rows_absent_from_the_new_file(wh):
    f = bars([("VIX", D1, 20.0), ("VIX", D2, 21.0)])
    wh.write("raw.index_bars", f, by=("symbol",))
    wh.write("raw.index_bars", bars([("VIX", D3, 23.0)]), by=("symbol",))
    assert wh.sql("select date from raw.index_bars").rows() == [(D3,)]


def test_replace_deletes_the_frames_keys_not_every_combination_of_their_values(wh):
    wh.write("raw.index_bars", bars([("SPX", D1, 1.0), ("SPX", D2, 2.0), ("VIX", D1, 3.0),
                                     ("VIX", D2, 4.0), ("VIX", D3, 5.0)]), by=("symbol", "date"))
    wh.write("raw.index_bars", bars([("SPX", D1, 10.0), ("VIX", D2, 40.0)]), by=("symbol", "date"))
    got = wh.sql("select symbol, date, close from raw.index_bars order by symbol, date").rows()
    assert got == [("SPX", D1, 10.0), ("SPX", D2, 2.0), ("VIX", D1, 3.0), ("VIX", D2, 40.0),
                   ("VIX", D3, 5.0)]
    wh.write("raw.index_bars", bars([("SPX", D2, 20.0), ("SPX", D3, 30.0), ("VIX", D2, 41.0),
                                     ("VIX", D3, 50.0)]), by=("symbol", "date"))  # 2 x 2: all
    got = wh.sql("select symbol, date, close from raw.index_bars order by symbol, date").rows()
    assert got == [("SPX", D1, 10.0), ("SPX", D2, 20.0), ("SPX", D3, 30.0), ("VIX", D1, 3.0),
                   ("VIX", D2, 41.0), ("VIX", D3, 50.0)]


def test_key_filter_only_where_exact():
    from warehouse.db import _key_filter

    assert _key_filter(bars([("SPX", D1, 1.0)]), ("symbol", "date")) == (
        't."symbol" = ? and t."date" = ?', ["SPX", D1])
    assert _key_filter(bars([("SPX", D1, 1.0), ("VIX", D2, 1.0)]), ("symbol", "date")) is None
    both = bars([("SPX", D1, 1.0), ("VIX", D2, 1.0), ("SPX", D2, 1.0), ("VIX", D1, 1.0)])
    assert _key_filter(both, ("symbol", "date")) == (
        't."symbol" in (?, ?) and t."date" in (?, ?)', ["SPX", "VIX", D1, D2])
    assert _key_filter(bars([("SPX", D1, 1.0)]), ("close",)) is None  # floats: NaN, -0.0
    utc = pl.DataFrame({"ts": [datetime(2024, 1, 2, tzinfo=UTC)]})
    assert _key_filter(utc, ("ts",)) is None  # a TIMESTAMPTZ parameter would shift by the zone
    assert _key_filter(pl.DataFrame({"s": ["a", None]}), ("s",)) is None


def test_a_null_partition_key_matches_null(wh):
    flagged = pl.col("symbol").replace({"SPX": "odd"}).alias("ohlc_flag")
    wh.write("raw.index_bars", bars([("VIX", D1, 20.0), ("SPX", D1, 4700.0)]).with_columns(
        pl.lit(None, pl.String).alias("ohlc_flag")), by=("ohlc_flag",))
    wh.write("raw.index_bars", bars([("VIX", D2, 21.0)]).with_columns(
        pl.lit(None, pl.String).alias("ohlc_flag")), by=("ohlc_flag",))
    wh.write("raw.index_bars", bars([("SPX", D3, 4800.0)]).with_columns(flagged), by=("ohlc_flag",))
    assert wh.sql("select symbol, date from raw.index_bars order by date").rows() == [
        ("VIX", D2), ("SPX", D3)]
    # a frame with a null and a non-null key: both partitions replaced, the others kept
    mixed = bars([("VIX", D3, 1.0), ("SPX", D3, 2.0)]).with_columns(
        pl.when(pl.col("symbol") == "SPX").then(pl.lit("odd")).alias("ohlc_flag"))
    assert wh.replace("raw.index_bars", mixed, by=("ohlc_flag",)) == []
    assert wh.sql("select symbol, date, close from raw.index_bars order by symbol").rows() == [
        ("SPX", D3, 2.0), ("VIX", D3, 1.0)]


def test_failed_transaction_leaves_nothing_behind(wh):
    wh.write("raw.index_bars", bars([("VIX", D1, 20.0)]), by=("symbol", "date"))
    with pytest.raises(RuntimeError), wh.transaction():
        wh.write("raw.index_bars", bars([("VIX", D1, 99.0)]), by=("symbol", "date"))
        raise RuntimeError("crash between the delete/insert and the commit")
    assert wh.sql("select close from raw.index_bars").rows() == [(20.0,)]


def test_merge_updates_only_the_columns_a_file_carries(wh):
    adv = pl.DataFrame({"exchange": ["NYSE", "NYSE"], "date": [D1, D2], "advances": [1500, 1600]})
    dec = pl.DataFrame({"exchange": ["NYSE", "NYSE"], "date": [D2, D3], "declines": [1400, 1300]})
    wh.write("raw.breadth", adv, by=("exchange", "date"), mode="merge")
    wh.write("raw.breadth", dec, by=("exchange", "date"), mode="merge")
    got = wh.sql("select date, advances, declines from raw.breadth order by date").rows()
    assert got == [(D1, 1500, None), (D2, 1600, 1400), (D3, None, 1300)]


@pytest.mark.parametrize("seed", range(8))
def test_a_merge_with_unique_keys_is_the_update_and_insert(seed):
    import random

    rng = random.Random(seed)

    def frame(n: int, cols: list[str]) -> pl.DataFrame:
        days = rng.sample(range(10), n)
        return pl.DataFrame({"exchange": [rng.choice(["NYSE", "NASDAQ"]) for _ in days],
                             "date": [date(2024, 1, 2 + d) for d in days],
                             **{c: [rng.choice([None, rng.randint(0, 99)]) for _ in days]
                                for c in cols}},
                            schema_overrides={c: pl.Int64 for c in cols}).unique(
                                ["exchange", "date"], keep="first", maintain_order=True)

    frames = [frame(rng.randint(1, 6), rng.sample(["advances", "declines", "new_highs"],
                                                   rng.randint(0, 2))) for _ in range(5)]
    whs = [Warehouse.memory(), Warehouse.memory()]
    for w, unique in zip(whs, (False, True), strict=True):
        w.write("raw.breadth", pl.DataFrame({"exchange": ["NYSE"] * 2, "date": [D1, D1],
                                             "advances": [1, 2]}), by=("exchange", "date"),
                mode="merge")  # a key held twice: both rows are updated
        for f in frames:
            w.write("raw.breadth", f, by=("exchange", "date"), mode="merge", unique_keys=unique)
    assert whs[0].checksum("raw.breadth") == whs[1].checksum("raw.breadth")


def test_unknown_column_is_refused(wh):
    with pytest.raises(ValueError, match="no column"):
        wh.write("raw.index_bars", bars([("VIX", D1, 1.0)]).with_columns(x=pl.lit(1)), by=("symbol",))


def test_second_writer_waits_then_gives_a_clear_message(tmp_path, wh):
    with pytest.raises(WarehouseBusy, match="in use by another alvh run"):
        Warehouse.open(wh.path, lock_timeout_s=0.2)


def test_reader_opens_read_only_after_the_writer_closed(tmp_path):
    path = tmp_path / "r.duckdb"
    with Warehouse.open(path) as w:
        w.write("raw.index_bars", bars([("VIX", D1, 20.0)]), by=("symbol", "date"))
    with Warehouse.open(path, read_only=True) as r:
        assert r.scalar("select count(*) from raw.index_bars") == 1
        with pytest.raises(duckdb.Error):
            r.execute("delete from raw.index_bars")


def test_checksum_ignores_row_order_and_sees_any_change(wh):
    wh.write("raw.index_bars", bars([("VIX", D1, 20.0), ("VIX", D2, 21.0)]), by=("symbol", "date"))
    a = wh.checksum("raw.index_bars")
    wh.write("raw.index_bars", bars([("VIX", D2, 21.0), ("VIX", D1, 20.0)]), by=("symbol", "date"))
    assert wh.checksum("raw.index_bars") == a
    wh.write("raw.index_bars", bars([("VIX", D2, 21.5)]), by=("symbol", "date"))
    assert wh.checksum("raw.index_bars") != a


def test_new_columns_are_added_to_an_old_home_and_type_changes_refused(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create table raw.macro_series (series_id varchar, date date)")
    con.close()
    with Warehouse.open(path) as w:
        assert "value" in w.columns("raw.macro_series")
    con = duckdb.connect(str(path))
    con.execute("alter table raw.macro_series alter value type varchar")
    con.close()
    with pytest.raises(SchemaMismatch, match="raw.macro_series.value"):
        Warehouse.open(path)
