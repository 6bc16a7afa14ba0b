"""The only door to DuckDB: one writer per warehouse file, partition writes in one transaction.

Everything that reads or writes `warehouse.duckdb` goes through `Warehouse`; nothing else
imports duckdb. No Prefect, no parsing, no business rules here.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl
from filelock import FileLock, Timeout

WriteMode = Literal["replace", "merge"]
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
_counter = itertools.count()


class WarehouseBusy(RuntimeError):
    """Another run holds the writer lock on this warehouse."""


class SchemaMismatch(RuntimeError):
    """An existing warehouse file has a column the code no longer expects (or a changed type)."""


def ddl_statements() -> list[str]:
    """The schema, in file order (warehouse/ddl/NN_*.sql)."""
    files = sorted(p for p in resources.files("warehouse.ddl").iterdir() if p.name.endswith(".sql"))
    return [p.read_text(encoding="utf-8") for p in files]


def q(ident: str) -> str:
    """Quote a column name (several, like "right" and "last", are DuckDB keywords)."""
    return '"' + ident.replace('"', '""') + '"'


def _table(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a table name: {name!r}")
    return name


class Warehouse:
    """A DuckDB warehouse file.

    `Warehouse.open(path)` takes the writer lock (waiting up to `lock_timeout_s`) and applies the
    schema; `Warehouse.open(path, read_only=True)` opens a reader. Use as a context manager.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None, lock: FileLock | None,
                 read_only: bool):
        self.con = con
        self.path = path
        self._lock = lock
        self.read_only = read_only
        self._in_tx = False
        self._columns: dict[str, list[str]] = {}  # table -> columns; the schema changes only in
        # ensure_schema, which clears it (a backfill writes ~20 frames a session: 4 ms each saved)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False,
             lock_timeout_s: float = 0.0) -> Warehouse:
        path = Path(path)
        lock = None
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path) + ".lock")
            try:
                lock.acquire(timeout=lock_timeout_s)
            except Timeout:
                raise WarehouseBusy(
                    f"{path} is in use by another alvh run (waited {lock_timeout_s:g} s for "
                    f"{path}.lock); try again when it finishes or raise ALVH_LOCK_TIMEOUT_S"
                ) from None
        elif not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}: run `alvh demo` or `alvh ingest` first")
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as e:
            if lock is not None:
                lock.release()
            raise WarehouseBusy(f"cannot open {path}: {e}") from None
        wh = cls(con, path, lock, read_only)
        if not read_only:
            try:
                wh.ensure_schema()
            except BaseException:
                wh.close()
                raise
        return wh

    @classmethod
    def memory(cls) -> Warehouse:
        """A throwaway in-memory warehouse with the full schema (tests, quick looks)."""
        wh = cls(duckdb.connect(":memory:"), None, None, False)
        wh.ensure_schema()
        return wh

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create what is missing; add columns new code expects; refuse silent type changes."""
        expected = duckdb.connect(":memory:")
        for sql in ddl_statements():
            expected.execute(sql)
        want = expected.sql(
            "select table_schema || '.' || table_name as t, column_name, data_type "
            "from information_schema.columns order by t, ordinal_position").fetchall()
        expected.close()
        have = {(t, c): d for t, c, d in self.con.sql(
            "select table_schema || '.' || table_name, column_name, data_type "
            "from information_schema.columns").fetchall()}
        tables = {t for t, _ in have}
        self._columns.clear()
        for sql in ddl_statements():
            self.con.execute(sql)
        for t, col, dtype in want:
            if t in tables and (t, col) not in have:
                self.con.execute(f"alter table {t} add column {q(col)} {dtype}")
            elif (t, col) in have and have[(t, col)] != dtype:
                raise SchemaMismatch(
                    f"{self.path}: {t}.{col} is {have[(t, col)]} but the code expects {dtype}; "
                    "rebuild this home (delete it and run `alvh demo`) or migrate it")

    def columns(self, table: str) -> list[str]:
        cached = self._columns.get(table)
        if cached is None:
            schema, name = _table(table).split(".")
            cached = [r[0] for r in self.con.execute(
                "select column_name from information_schema.columns where table_schema = ? and "
                "table_name = ? order by ordinal_position", [schema, name]).fetchall()]
            if cached:  # never remember a table that does not exist (yet)
                self._columns[table] = cached
        return list(cached)

    # -- transactions and writes ---------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All writes inside commit together or not at all (nested calls join the outer one)."""
        if self._in_tx:
            yield self
            return
        self.con.execute("begin transaction")
        self._in_tx = True
        try:
            yield self
        except BaseException:
            self.con.execute("rollback")
            raise
        else:
            self.con.execute("commit")
        finally:
            self._in_tx = False

    @contextlib.contextmanager
    def _registered(self, frame: pl.DataFrame) -> Iterator[str]:
        name = f"_frame_{next(_counter)}"
        self.con.register(name, frame)
        try:
            yield name
        finally:
            self.con.unregister(name)

    def write(self, table: str, frame: pl.DataFrame, *, by: Sequence[str],
              mode: WriteMode = "replace") -> int:
        """Write `frame` into `table` as whole partitions.

        replace: rows whose `by` values appear in `frame` are deleted, then `frame` is inserted.
        merge:   rows keyed by `by` get the frame's non-key columns updated; new keys are inserted
                 (for vendors that deliver one column per file, like Unicorn breadth).
        Call inside `transaction()` to group several writes; alone it is its own transaction.
        """
        table = _table(table)
        if frame.is_empty():
            return 0
        cols = self.columns(table)
        unknown = [c for c in frame.columns if c not in cols]
        if unknown:
            raise ValueError(f"{table} has no column(s) {unknown}")
        with self.transaction(), self._registered(frame) as src:
            keys = " and ".join(f"t.{q(c)} is not distinct from k.{q(c)}" for c in by)
            key_list = ", ".join(q(c) for c in by)
            if mode == "replace":
                self.con.execute(
                    f"delete from {table} t using (select distinct {key_list} from {src}) k where {keys}")
                self.con.execute(f"insert into {table} by name select * from {src}")
            else:
                upd = [c for c in frame.columns if c not in by]
                if upd:
                    sets = ", ".join(f"{q(c)} = coalesce(k.{q(c)}, t.{q(c)})" for c in upd)
                    self.con.execute(
                        f"update {table} as t set {sets} from {src} as k where {keys}")
                self.con.execute(
                    f"insert into {table} by name select * from {src} k where not exists "
                    f"(select 1 from {table} t where {keys})")
        return frame.height

    def files_in_partitions(self, table: str, frame: pl.DataFrame, by: Sequence[str]) -> list[str]:
        """file_ids of the rows that a replace-write of `frame` would delete (for lineage)."""
        if frame.is_empty() or "file_id" not in self.columns(table):
            return []
        keys = " and ".join(f"t.{q(c)} is not distinct from k.{q(c)}" for c in by)
        key_list = ", ".join(q(c) for c in by)
        with self._registered(frame.select(by)) as src:
            return [r[0] for r in self.con.execute(
                f"select distinct t.file_id from {_table(table)} t semi join "
                f"(select distinct {key_list} from {src}) k on {keys} "
                f"where t.file_id is not null").fetchall()]

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(f"delete from {_table(table)} where {where}", list(params))

    def append(self, table: str, frame: pl.DataFrame) -> int:
        if frame.is_empty():
            return 0
        with self._registered(frame) as src:
            self.con.execute(f"insert into {_table(table)} by name select * from {src}")
        return frame.height

    # -- reads ---------------------------------------------------------------------------------
    def sql(self, query: str, params: Sequence[Any] | dict | None = None) -> pl.DataFrame:
        """Run a select and return a polars frame (HUGEINT sums come back as Int64)."""
        df = self.con.sql(query, params=params or None).pl()
        casts = {c: pl.Int64 for c, t in df.schema.items() if isinstance(t, pl.Decimal) and t.scale == 0}
        return df.cast(casts) if casts else df

    def one(self, query: str, params: Sequence[Any] = ()) -> tuple:
        """The single row of a query (fully drained, as DuckDB 2.0 requires)."""
        rows = self.con.execute(query, list(params)).fetchall()
        if len(rows) != 1:
            raise ValueError(f"expected one row, got {len(rows)}: {query}")
        return rows[0]

    def scalar(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = self.con.execute(query, list(params)).fetchall()  # drain: DuckDB 2.0 blocks otherwise
        return rows[0][0] if rows else None

    def table(self, table: str, where: str = "", params: Sequence[Any] = (),
              order_by: str = "") -> pl.DataFrame:
        query = f"select * from {_table(table)}"
        if where:
            query += f" where {where}"
        if order_by:
            query += f" order by {order_by}"
        return self.sql(query, list(params)) if params else self.sql(query)

    def tables(self) -> list[str]:
        return [r[0] for r in self.con.sql(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('audit', 'raw', 'core') order by 1").fetchall()]

    def checksum(self, table: str, exclude: Sequence[str] = ()) -> tuple[int, int]:
        """(rows, order-independent hash of every row) over all columns but `exclude`."""
        cols = [c for c in self.columns(table) if c not in exclude]
        struct = "{" + ", ".join(f"'{c}': {q(c)}" for c in cols) + "}"
        n, h = self.con.execute(
            f"select count(*), coalesce(sum(hash({struct})::hugeint) % 9223372036854775783, 0)"
            f"::bigint from {_table(table)}").fetchall()[0]
        return int(n), int(h)
