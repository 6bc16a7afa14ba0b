"""The only door to DuckDB: one writer per warehouse file, partition writes in one transaction.

Everything that reads or writes `warehouse.duckdb` goes through `Warehouse`; nothing else
imports duckdb. No Prefect, no parsing, no business rules here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
from filelock import FileLock, Timeout

from warehouse import migrations
from warehouse.trust import TrustReads

if TYPE_CHECKING:  # polars loads with the first frame read or written: `alvh status` needs none
    import polars as pl

WriteMode = Literal["replace", "merge"]
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
_FRAME = "_alvh_frame"  # the name a write's statements read its frame by (Warehouse._with_frame)


@dataclass(frozen=True)
class Rows:
    """A small read as plain Python values (`Warehouse.rows`): its column names and row tuples."""

    columns: list[str]
    rows: list[tuple]


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


def _key_match(frame: pl.DataFrame, by: Sequence[str]) -> str:
    """`t` and `k` agree on `by`, nulls matching nulls. A plain `=` where the frame's column has no
    null (the same rows): DuckDB prunes the table scan by the frame's keys only for `=`; `is not
    distinct from` reads the whole table (~70 ms on a year of option quotes, per write)."""
    return " and ".join(
        f"t.{q(c)} {'=' if frame.get_column(c).null_count() == 0 else 'is not distinct from'} "
        f"k.{q(c)}" for c in by)


def plain_dtype(dt: pl.DataType) -> bool:
    """Python values of this dtype are equal, hash and sort exactly as polars and DuckDB compare
    them (not floats: NaN, -0.0; not nanoseconds: Python datetimes stop at microseconds)."""
    import polars as pl

    return (dt.is_integer() or dt in (pl.String, pl.Date, pl.Boolean)
            or (isinstance(dt, pl.Datetime) and dt.time_unit in ("us", "ms")))


def _key_filter(frame: pl.DataFrame, by: Sequence[str],
                max_values: int = 64) -> tuple[str, list] | None:
    """`t` has one of the frame's `by` keys, as a WHERE clause and its parameters: `c = ?` or
    `c in (?, ...)` per column, exact when the keys are every combination of the columns' values
    (one date of one symbol; a few symbols times a few dates). None when they are not, or are
    many, or could be null, or their Python values would not compare as DuckDB compares them."""
    if not by:
        return None
    small = frame.height <= 4096  # plain Python is cheaper than polars calls on small frames
    values: list[list] = []
    for c in by:
        col = frame.get_column(c)
        dt = col.dtype
        if col.null_count() or not plain_dtype(dt) or getattr(dt, "time_zone", None):
            return None
        values.append(list(dict.fromkeys(col.to_list())) if small
                      else col.unique(maintain_order=True).to_list())
        if sum(map(len, values)) > max_values:
            return None
    if len(by) > 1:
        combos = 1
        for v in values:
            combos *= len(v)
        keys = (len(set(zip(*(frame.get_column(c).to_list() for c in by), strict=True))) if small
                else frame.n_unique(subset=list(by)))
        if keys != combos:
            return None
    clause = " and ".join(f"t.{q(c)} = ?" if len(v) == 1 else
                          f"t.{q(c)} in ({', '.join('?' * len(v))})"
                          for c, v in zip(by, values, strict=True))
    return clause, [x for v in values for x in v]


# Every column of this database's tables: duckdb_columns() holds the rows information_schema.columns
# shows (same names and types) and answers ~10x faster (0.15 s less on every writer's open).
_COLUMNS = ("select schema_name || '.' || table_name as t, column_name, data_type from duckdb_columns() "
            "where database_name = current_database() and not internal")


@lru_cache(maxsize=4)
def _expected_columns(statements: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(table, column, type) the DDL creates, in order: run on an empty in-memory database once
    per process (a backfill or a test opens its writer many times)."""
    expected = duckdb.connect(":memory:")
    try:
        for sql in statements:
            expected.execute(sql)
        return tuple(expected.sql(_COLUMNS + " order by t, column_index").fetchall())
    finally:
        expected.close()


def _table(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a table name: {name!r}")
    return name


class Warehouse:
    """A DuckDB warehouse file.

    `Warehouse.open(path)` takes the writer lock (waiting up to `lock_timeout_s`) and applies the
    schema; `Warehouse.open(path, read_only=True)` opens a reader. Use as a context manager.
    """

    # A long writer (a backfill: ~2.5 MB of WAL a session) checkpoints when the WAL reaches this.
    # DuckDB's 16 MB meant a checkpoint every ~6 sessions, each rewriting the tables' last row
    # groups: 64 MB does the same work in a quarter of the checkpoints (-40 % checkpoint time).
    # A run that closes its connection checkpoints then anyway (nightly: one night, ~2.5 MB).
    CHECKPOINT_WAL = "64MB"

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None, lock: FileLock | None,
                 read_only: bool):
        self._con = con  # private: every query and write goes through a named method
        self.path = path
        self._lock = lock
        self.read_only = read_only
        self._in_tx = False
        self._columns: dict[str, list[str]] = {}  # table -> columns; the schema changes only in
        # ensure_schema, which clears it (a backfill writes ~20 frames a session: 4 ms each saved)
        self._defaults: dict[str, bool] = {}  # table -> a column has a DEFAULT (same lifetime)
        self.trust = TrustReads(self)  # the audit verdict's queries (expectations/trust.py)

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
                con.execute(f"set checkpoint_threshold = '{cls.CHECKPOINT_WAL}'")
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
            self._con.close()
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create what is missing; add columns new code expects; refuse silent type changes."""
        statements = tuple(ddl_statements())
        want = _expected_columns(statements)
        have = {(t, c): d for t, c, d in self._con.sql(_COLUMNS).fetchall()}
        tables = {t for t, _ in have}
        self._columns.clear()
        self._defaults.clear()
        renames = migrations.pending(set(have))
        if not renames and all(have.get((t, c)) == d for t, c, d in want):
            return  # every table and column of the DDL, same types (it holds schemas and tables
            # only): its statements would change nothing (~0.2 s on every writer's open)
        if renames:  # a home built by an earlier version: its columns take today's names first
            with self.transaction():
                for r in renames:
                    for sql in migrations.statements(r):
                        self._con.execute(sql)
                    have[(r.table, r.new)] = have.pop((r.table, r.old))
        for sql in statements:
            self._con.execute(sql)
        for t, col, dtype in want:
            if t in tables and (t, col) not in have:
                self._con.execute(f"alter table {t} add column {q(col)} {dtype}")
            elif (t, col) in have and have[(t, col)] != dtype:
                raise SchemaMismatch(
                    f"{self.path}: {t}.{col} is {have[(t, col)]} but the code expects {dtype}; "
                    "rebuild this home (delete it and run `alvh demo`) or migrate it")

    def columns(self, table: str) -> list[str]:
        cached = self._columns.get(table)
        if cached is None:
            schema, name = _table(table).split(".")
            rows = self._con.execute(
                "select column_name, column_default from information_schema.columns where "
                "table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name]).fetchall()
            cached = [r[0] for r in rows]
            if cached:  # never remember a table that does not exist (yet)
                self._columns[table] = cached
                self._defaults[table] = any(r[1] is not None for r in rows)
        return list(cached)

    def has_defaults(self, table: str) -> bool:
        """Whether a column of `table` has a DEFAULT (an omitted column is then not NULL)."""
        self.columns(table)
        return self._defaults.get(table, False)

    # -- transactions and writes ---------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All writes inside commit together or not at all (nested calls join the outer one)."""
        if self._in_tx:
            yield self
            return
        self._con.execute("begin transaction")
        self._in_tx = True
        try:
            yield self
        except BaseException:
            self._con.execute("rollback")
            raise
        else:
            self._con.execute("commit")
        finally:
            self._in_tx = False

    def _with_frame(self, frame: pl.DataFrame, statements: Sequence[str]) -> list[list[tuple]]:
        """Run `statements` in turn, each reading `frame` as `_alvh_frame`; their rows (drained).

        The frame is converted to Arrow once and found by DuckDB's replacement scan of this
        function's local variable: unlike register/unregister, no catalog change per write
        (~1.5 ms a frame, a dozen frames per backfill session)."""
        import polars as pl

        # Arrow string views: zero-copy from polars (3x cheaper than the default large strings)
        _alvh_frame = frame.to_arrow(compat_level=pl.CompatLevel.newest())  # noqa: F841 - read by name
        out = []
        for sql in statements:  # not a comprehension: DuckDB looks in this very frame's locals
            out.append(self._con.execute(sql).fetchall())
        return out

    def _check_columns(self, table: str, frame: pl.DataFrame) -> None:
        cols = self.columns(table)
        unknown = [c for c in frame.columns if c not in cols]
        if unknown:
            raise ValueError(f"{table} has no column(s) {unknown}")

    def write(self, table: str, frame: pl.DataFrame, *, by: Sequence[str],
              mode: WriteMode = "replace", unique_keys: bool = False) -> int:
        """Write `frame` into `table` as whole partitions.

        replace: rows whose `by` values appear in `frame` are deleted, then `frame` is inserted.
        merge:   rows keyed by `by` get the frame's non-key columns updated; new keys are inserted
                 (for vendors that deliver one column per file, like Unicorn breadth).
                 `unique_keys`: the caller knows no key repeats in `frame`, so one MERGE
                 statement does what the UPDATE and the INSERT do.
        Call inside `transaction()` to group several writes; alone it is its own transaction.
        """
        table = _table(table)
        if frame.is_empty():
            return 0
        if mode == "replace":
            self._replace(table, frame, by, lineage=False)
            return frame.height
        self._check_columns(table, frame)
        keys = _key_match(frame, by)
        upd = [c for c in frame.columns if c not in by]
        sets = ", ".join(f"{q(c)} = coalesce(k.{q(c)}, t.{q(c)})" for c in upd)
        if unique_keys:
            matched = f" when matched then update set {sets}" if upd else ""
            statements = [f"merge into {table} t using {_FRAME} k on {keys}{matched} "
                          "when not matched then insert by name"]
        else:
            statements = [f"update {table} as t set {sets} from {_FRAME} as k where {keys}"] if upd else []
            statements.append(f"insert into {table} by name select * from {_FRAME} k where not "
                              f"exists (select 1 from {table} t where {keys})")
        with self.transaction():
            self._with_frame(frame, statements)
        return frame.height

    def replace(self, table: str, frame: pl.DataFrame, *, by: Sequence[str]) -> list[str]:
        """`write(mode="replace")`, returning the file_ids of the rows it deleted (for lineage)."""
        table = _table(table)
        return [] if frame.is_empty() else self._replace(table, frame, by, lineage=True)

    def _replace(self, table: str, frame: pl.DataFrame, by: Sequence[str], *,
                 lineage: bool) -> list[str]:
        self._check_columns(table, frame)
        lineage = lineage and "file_id" in self.columns(table)
        returning = " returning t.file_id" if lineage else ""
        where = _key_filter(frame, by)
        with self.transaction():
            if where is not None:  # a few keys: a plain filter (no join, no scan of the frame)
                deleted = self._con.execute(
                    f"delete from {table} t where {where[0]}{returning}", where[1]).fetchall()
                self._with_frame(frame, [f"insert into {table} by name select * from {_FRAME}"])
            else:
                key_list = ", ".join(q(c) for c in by)
                deleted, _ = self._with_frame(frame, [
                    f"delete from {table} t using (select distinct {key_list} from {_FRAME}) k "
                    f"where {_key_match(frame, by)}{returning}",
                    f"insert into {table} by name select * from {_FRAME}"])
        return list(dict.fromkeys(r[0] for r in deleted if r[0] is not None)) if lineage else []

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(f"delete from {_table(table)} where {where}", list(params))

    def replace_dates(self, table: str, frame: pl.DataFrame, dates: Sequence[date],
                      date_col: str = "date") -> int:
        """Empty the partitions `date_col in dates`, then insert `frame` (its rows for those dates:
        the caller filtered it), in one transaction. A date absent from the frame stays empty."""
        table = _table(table)
        with self.transaction():
            self._con.execute(f"delete from {table} where {q(date_col)} in (select unnest(?::date[]))",
                              [list(dates)])
            return self.append(table, frame)

    def replace_through(self, table: str, frame: pl.DataFrame, end: date,
                        date_col: str = "date") -> int:
        """Delete every row dated up to `end`, then insert `frame`, in one transaction."""
        table = _table(table)
        with self.transaction():
            self._con.execute(f"delete from {table} where {q(date_col)} <= ?", [end])
            return self.append(table, frame)

    def replace_all(self, table: str, frame: pl.DataFrame) -> int:
        """Delete every row of `table`, then insert `frame`, in one transaction."""
        table = _table(table)
        with self.transaction():
            self._con.execute(f"delete from {table}")
            return self.append(table, frame)

    def delete_partitions(self, table: str, keys: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Delete the rows whose `keys` equal one of `rows` (nulls matching nulls)."""
        where = " and ".join(f"{q(k)} is not distinct from ?" for k in keys)
        for row in rows:
            self._con.execute(f"delete from {_table(table)} where {where}", list(row))

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one SQL statement inside warehouse/ (or a test's setup); its rows, drained."""
        return self._con.execute(statement, list(params)).fetchall()

    def append(self, table: str, frame: pl.DataFrame) -> int:
        if frame.is_empty():
            return 0
        self._with_frame(frame, [f"insert into {_table(table)} by name select * from {_FRAME}"])
        return frame.height

    # -- reads ---------------------------------------------------------------------------------
    def sql(self, query: str, params: Sequence[Any] | dict | None = None) -> pl.DataFrame:
        """Run a select and return a polars frame (HUGEINT sums come back as Int64)."""
        import polars as pl

        df = self._con.sql(query, params=params or None).pl()
        casts = {c: pl.Int64 for c, t in df.schema.items() if isinstance(t, pl.Decimal) and t.scale == 0}
        return df.cast(casts) if casts else df

    def rows(self, query: str, params: Sequence[Any] = ()) -> Rows:
        """A select's rows as Python values, without polars (the few rows `alvh status` prints)."""
        cur = self._con.execute(query, list(params))
        columns = [d[0] for d in cur.description]
        return Rows(columns, cur.fetchall())

    def one(self, query: str, params: Sequence[Any] = ()) -> tuple:
        """The single row of a query (fully drained, as DuckDB 2.0 requires)."""
        rows = self._con.execute(query, list(params)).fetchall()
        if len(rows) != 1:
            raise ValueError(f"expected one row, got {len(rows)}: {query}")
        return rows[0]

    def scalar(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = self._con.execute(query, list(params)).fetchall()  # drain: DuckDB 2.0 blocks otherwise
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
        return [r[0] for r in self._con.sql(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('audit', 'raw', 'core') order by 1").fetchall()]

    def checksum(self, table: str, exclude: Sequence[str] = ()) -> tuple[int, int]:
        """(rows, order-independent hash of every row) over all columns but `exclude`."""
        cols = [c for c in self.columns(table) if c not in exclude]
        struct = "{" + ", ".join(f"'{c}': {q(c)}" for c in cols) + "}"
        n, h = self._con.execute(
            f"select count(*), coalesce(sum(hash({struct})::hugeint) % 9223372036854775783, 0)"
            f"::bigint from {_table(table)}").fetchall()[0]
        return int(n), int(h)
