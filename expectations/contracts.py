"""Row contracts: one pandera (polars) model per warehouse table, and the mapping of its failures
to quarantine rows. Pure: frames in, frames out - no DuckDB, no Prefect, no calendar lookups.

A contract is a `pandera.polars.DataFrameModel` registered with `@contract(table, ...)`. Its
`Config.unique` is the table's grain. `check_rows(table, frame)` validates a COLLECTED frame
(a LazyFrame would only get schema checks) and splits it into good rows and failures.

Fast path: pandera collects once per column per check (15-40 ms a file whatever its size, and
most files hold 1-10 rows). So check_rows first asks `_all_pass_fast`: the same schema - pandera's
own check functions, nullability, dtypes - evaluated as ONE polars query, plus pandera's own grain
test. It may only ever answer "every row passes" (pandera would then return the frame unchanged,
and so do we); on any failure, or anything it does not model (a dtype pandera would coerce,
element-wise or grouped checks, warnings, a check that errors), pandera runs exactly as before and
stays the authority on what failed and why.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, reduce

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.backends.polars.checks import PolarsCheckBackend
from pandera.backends.polars.container import DataFrameSchemaBackend
from pandera.errors import SchemaError, SchemaErrors

# The model modules register their contracts on import; this module only reads the registry.
import expectations.alvh  # noqa: F401
import expectations.core  # noqa: F401
import expectations.raw  # noqa: F401
from expectations.registry import CONTRACTS, Cadence, Contract, NoContract, contract  # noqa: F401
from expectations.rules import DESCRIPTIONS, RULE_COLUMNS

# Failure frame returned by check_rows: one row per refused input row.
FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),         # 0-based row number in the frame checked
    "line": pl.Int64(),        # the row's source line (lineage column `line`), when it has one
    "check_name": pl.String(), # the first pandera check the row failed
    "reason": pl.String(),     # every failed check of the row, readable
    "raw": pl.String(),        # the row as JSON
    "as_of": pl.Date(),        # the row's partition date, when the table has a date column
}


class ContractError(ValueError):
    """The frame as a whole breaks its contract (missing column, wrong dtype): no row can be trusted."""

    def __init__(self, table: str, problems: list[str]):
        self.table = table
        self.problems = problems
        super().__init__(f"contract {table}: " + "; ".join(problems))


def contract_for(table: str) -> Contract:
    try:
        return CONTRACTS[table]
    except KeyError:
        raise NoContract(f"no contract for {table}: add a model in expectations/") from None


def contracts() -> dict[str, Contract]:
    return dict(sorted(CONTRACTS.items()))


@dataclass(frozen=True)
class RowContext:
    """Facts the rows are checked against that the frame cannot know itself.

    sessions:  XNYS session dates; date columns in `session_cols` must be one of them when they
               fall inside [min(sessions), max(sessions)] (the calendar's range).
    not_after: no row may be dated later than this (a vendor cannot send tomorrow's close).
    """

    sessions: frozenset[date] | None = None
    not_after: date | None = None
    _range: tuple[date, date] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.sessions:
            object.__setattr__(self, "_range", (min(self.sessions), max(self.sessions)))


def _session_check(ctx: RowContext) -> pa.Check:
    lo, hi = ctx._range  # type: ignore[misc]
    sessions = pl.Series(sorted(ctx.sessions or ()), dtype=pl.Date)

    def fn(data) -> pl.LazyFrame:
        c = pl.col(data.key)
        outside = (c < lo) | (c > hi)
        return data.lazyframe.select((c.is_null() | outside | c.is_in(sessions.implode())).alias(data.key))

    return pa.Check(fn, name="xnys_session")


def _future_check(not_after: date, is_ts: bool) -> pa.Check:
    def fn(data) -> pl.LazyFrame:
        c = pl.col(data.key)
        d = c.dt.date() if is_ts else c
        return data.lazyframe.select((c.is_null() | (d <= not_after)).alias(data.key))

    return pa.Check(fn, name="not_in_future")


def schema_for(c: Contract, columns: Iterable[str], ctx: RowContext | None = None) -> pa.DataFrameSchema:
    """`_schema_for`, memoised: building a schema deep-copies pandera objects (~12 ms), and a
    night checks the same few (table, columns, context) combinations file after file."""
    return _cached_schema(c, frozenset(columns), ctx)


@lru_cache(maxsize=256)
def _cached_schema(c: Contract, columns: frozenset[str], ctx: RowContext | None) -> pa.DataFrameSchema:
    return _schema_for(c, columns, ctx)


def _schema_for(c: Contract, columns: Iterable[str], ctx: RowContext | None = None) -> pa.DataFrameSchema:
    """The model's schema for a frame with `columns`, plus the context checks.

    A nullable column the frame does not carry is dropped from the schema: writes insert by name,
    so it lands as NULL, which the contract allows (one-column-per-file vendors, the gamma step's
    MACD columns filled in a second pass). An absent NOT NULL column raises ContractError.
    """
    schema = c.schema
    cols = set(columns)
    absent = [n for n in schema.columns if n not in cols]
    missing = [n for n in absent if not schema.columns[n].nullable and schema.columns[n].required]
    if missing:
        raise ContractError(c.table, [f"{n}: column missing (NOT NULL)" for n in missing])
    if absent:
        schema = schema.remove_columns(absent)
    ctx = ctx or RowContext()
    for name in c.session_cols:
        if ctx.sessions and name in schema.columns:
            schema = schema.update_column(name, checks=[*schema.columns[name].checks,
                                                        _session_check(ctx)])
    if ctx.not_after is not None and not c.scheduled and c.date_col and c.date_col in schema.columns:
        is_ts = isinstance(schema.columns[c.date_col].dtype.type, pl.Datetime)
        schema = schema.update_column(c.date_col, checks=[*schema.columns[c.date_col].checks,
                                                          _future_check(ctx.not_after, is_ts)])
    return schema


def _descriptions(schema: pa.DataFrameSchema, ctx: RowContext | None) -> dict[str, str]:
    out = dict(DESCRIPTIONS)
    out["multiple_fields_uniqueness"] = ("duplicate of another row on the grain ("
                                         + ", ".join(schema.unique or ()) + ")")
    if ctx is not None and ctx.not_after is not None:
        out["not_in_future"] = f"dated after {ctx.not_after}"
    return out


def _reason(col: str | None, check: str, case: str | None, table_level: bool, desc: dict) -> str:
    if table_level:
        text = f"{check}: {desc.get(check, 'row check failed')}"
        try:
            row = json.loads(case or "{}")
        except ValueError:
            row = {}
        shown = [f"{c}={row[c]}" for c in RULE_COLUMNS.get(check, ()) if c in row]
        return text + (f" ({', '.join(shown)})" if shown else "")
    if check == "not_nullable":
        return f"{col} is null"
    text = desc.get(check)
    shown = "NaN" if case is None else case
    return f"{col}={shown}: {text}" if text else f"{col}={shown} fails {check}"


def check_rows(table: str, frame: pl.DataFrame,
               ctx: RowContext | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate `frame` against the table's contract: (rows that pass, one failure row per refused row).

    A failure that concerns the frame rather than rows (a missing column, a dtype that cannot be
    coerced) raises ContractError. Failures carry the source `line` when the frame has lineage.
    """
    c = contract_for(table)
    if isinstance(frame, pl.LazyFrame):  # a LazyFrame would get schema checks only
        frame = frame.collect()
    empty = pl.DataFrame(schema=FAILURE_SCHEMA)
    if frame.is_empty():
        return frame, empty
    schema = schema_for(c, frame.columns, ctx)
    if _all_pass_fast(schema, frame):
        return frame, empty
    try:
        schema.validate(frame, lazy=True)
        return frame, empty
    except SchemaErrors as e:
        cases = e.failure_cases
    except SchemaError as e:  # raised eagerly for some frame-level problems
        raise ContractError(table, [str(e).splitlines()[0]]) from None
    except pl.exceptions.PolarsError as e:  # e.g. a dtype pandera cannot coerce
        raise ContractError(table, [f"{type(e).__name__}: {str(e).splitlines()[0]}"]) from None
    cases = cases.with_columns(pl.col("index").cast(pl.Int64))
    frame_level = cases.filter(pl.col("index").is_null())
    if frame_level.height:
        problems = [f"{r['column']}: {r['check']}" + (f" ({r['failure_case']})" if r["failure_case"] else "")
                    for r in frame_level.unique(["column", "check"], maintain_order=True).iter_rows(named=True)]
        raise ContractError(table, problems)
    desc = _descriptions(schema, ctx)
    cases = cases.with_columns(
        table_level=pl.col("schema_context") == "DataFrameSchema",
        order=pl.int_range(pl.len()),
    )
    per_row: dict[int, list[tuple[str, str]]] = {}
    for r in cases.sort("index", "order").iter_rows(named=True):
        reason = _reason(r["column"], r["check"], r["failure_case"], r["table_level"], desc)
        items = per_row.setdefault(r["index"], [])
        if all(reason != x[1] for x in items):
            items.append((r["check"], reason))
    rows = sorted(per_row)
    bad = frame[rows]
    raw = bad.select(pl.struct(pl.all()).struct.json_encode().alias("raw"))["raw"]
    line = bad["line"].cast(pl.Int64) if "line" in bad.columns else pl.Series([None] * len(rows), dtype=pl.Int64)
    as_of = _dates(bad, c)
    failures = pl.DataFrame({
        "row": rows,
        "line": line,
        "check_name": [per_row[i][0][0] for i in rows],
        "reason": ["; ".join(x[1] for x in per_row[i]) for i in rows],
        "raw": raw,
        "as_of": as_of,
    }, schema=FAILURE_SCHEMA)
    good = frame.with_row_index("_row").filter(~pl.col("_row").is_in(rows)).drop("_row")
    return good, failures


# -- the fast path: the whole schema as one polars query (see the module docstring) ---------------


class _Selection:
    """Stands in for the LazyFrame a pandera check function receives: it records the expressions
    the function selects, so the check becomes part of one query instead of a collect of its own.
    A function that does anything else with its frame fails here, and the schema goes to pandera."""

    def __init__(self, schema: pl.Schema):
        self._schema = schema
        self.exprs: list[pl.Expr] | None = None

    def collect_schema(self) -> pl.Schema:
        return self._schema

    def select(self, *exprs: pl.Expr) -> _Selection:
        if self.exprs is not None or not exprs or not all(isinstance(e, pl.Expr) for e in exprs):
            raise TypeError("not a single select of expressions")
        self.exprs = list(exprs)
        return self


def _check_passes(check: pa.Check, frame_schema: pl.Schema, key: str) -> pl.Expr:
    """True when every row passes `check`, as pandera's polars backend judges it
    (backends/polars/checks.py: a multi-column result is and-ed; a null result passes when
    `ignore_na`, fails otherwise)."""
    if (check.element_wise or check.groupby is not None or check.raise_warning
            or check.get_backend(pl.LazyFrame()) is not PolarsCheckBackend):
        raise TypeError(f"{check.name}: not modelled")
    fn = check._check_fn  # a builtin is looked up again by name, as Check.__call__ does
    if check.is_builtin_check(getattr(fn, "__name__", None)):
        fn = check.get_builtin_check_fn(fn.__name__)
    sel = _Selection(frame_schema)
    if fn(PolarsData(sel, key), **check._check_kwargs) is not sel:  # e.g. a bool
        raise TypeError(f"{check.name}: not a frame of booleans")
    # the result as pandera would compute it, minus the data: unique names, boolean columns
    if set(pl.LazyFrame(schema=frame_schema).select(sel.exprs).collect_schema().dtypes()) != {pl.Boolean}:
        raise TypeError(f"{check.name}: not boolean")
    # (pandera's `ok | ok.is_null()` for ignore_na, as fill_null: the same on booleans, half the work)
    return reduce(operator.and_, sel.exprs).fill_null(bool(check.ignore_na)).all()


def _compile(schema: pa.DataFrameSchema, frame_schema: pl.Schema) -> tuple[list[pl.Expr], list[str]]:
    """(one `all` expression per element pandera checks, the grain columns) for frames of
    `frame_schema`; raises when the fast path cannot answer for such frames."""
    # pandera's native polars backend (looking it up registers the builtin checks for polars)
    if type(schema.get_backend(check_type=pl.DataFrame)) is not DataFrameSchemaBackend:
        raise TypeError("not pandera's native polars backend")
    cols = schema.columns
    if (schema.dtype is not None or schema.add_missing_columns or schema.ordered or schema.parsers
            or schema.drop_invalid_rows or set(cols) != set(frame_schema)):
        raise TypeError("schema features or columns not modelled")  # incl. strict / absent columns
    exprs: list[pl.Expr] = []
    for name, col in cols.items():
        if col.regex or col.unique or col.default is not None or col.parsers or col.drop_invalid_rows:
            raise TypeError(f"{name}: column features not modelled")
        if col.dtype is not None and not col.dtype.check(frame_schema[name]):
            raise TypeError(f"{name}: dtype differs")
        if not col.nullable:  # pandera counts NaN as null in float columns
            present = pl.col(name).is_not_null()
            if frame_schema[name] in {pl.Float32, pl.Float64}:
                present &= pl.col(name).is_not_nan()
            exprs.append(present.all())
        exprs += [_check_passes(ch, frame_schema, name) for ch in col.checks]
    exprs += [_check_passes(ch, frame_schema, "*") for ch in schema.checks]
    # Coercion must be a no-op, so the checks above see the frame pandera's checks would see.
    casts = {n: c.dtype.type for n, c in cols.items() if c.dtype is not None and (schema.coerce or c.coerce)}
    if pl.LazyFrame(schema=frame_schema).cast(casts, strict=True).collect_schema() != frame_schema:
        raise TypeError("coercion would change dtypes")
    unique = schema.unique or []
    if unique and not all(isinstance(u, str) for u in unique):
        raise TypeError("several unique groups not modelled")
    grain = [u for u in unique if u in frame_schema]
    if unique and not grain:
        raise TypeError("grain absent from the frame")
    return exprs, grain


_PLANS: dict[tuple, tuple[pa.DataFrameSchema, tuple | None]] = {}


def _all_pass_fast(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> bool:
    """True only when pandera's `schema.validate(frame)` would pass; False means "ask pandera"
    (some row fails, or this frame's schema is one the fast path does not model)."""
    key = (id(schema), tuple(frame.schema.items()))
    hit = _PLANS.get(key)
    if hit is None or hit[0] is not schema:  # compiled once per (schema, frame dtypes)
        if len(_PLANS) > 512:
            _PLANS.clear()
        try:
            plan = _compile(schema, frame.schema)
        except Exception:
            plan = None
        hit = _PLANS[key] = (schema, plan)
    if hit[1] is None:
        return False
    exprs, grain = hit[1]
    try:
        # the grain as pandera checks it (DataFrame.is_duplicated), then every check at once
        if grain and frame.select(grain).is_duplicated().any():
            return False
        return not exprs or frame.lazy().select(pl.all_horizontal(exprs)).collect().item() is True
    except Exception:  # a check that errors is a failure for pandera to report
        return False


def _dates(frame: pl.DataFrame, c: Contract) -> pl.Series:
    col = c.date_col
    if not col or col not in frame.columns:
        return pl.Series([None] * frame.height, dtype=pl.Date)
    s = frame[col]
    return s.dt.date() if s.dtype == pl.Datetime else s.cast(pl.Date)


def describe(table: str) -> list[dict]:
    """The contract as rows (column, dtype, nullable, checks) - for docs and the report."""
    c = contract_for(table)
    out = []
    for name, col in c.schema.columns.items():
        out.append({"column": name, "dtype": str(col.dtype), "nullable": col.nullable,
                    "checks": [ch.name for ch in col.checks]})
    for chk in c.schema.checks:
        out.append({"column": None, "dtype": None, "nullable": None, "checks": [chk.name]})
    return out


def row_json(row: dict) -> str:
    return json.dumps(row, default=str, sort_keys=False)


# DuckDB column types -> the annotation a model declares (see `scaffold`).
DUCKDB_TYPES = {
    "VARCHAR": "str", "DATE": "pl.Date", "TIMESTAMP": "pl.Datetime", "DOUBLE": "pl.Float64",
    "BIGINT": "pl.Int64", "INTEGER": "pl.Int32", "BOOLEAN": "bool", "DOUBLE[]": "pl.List(pl.Float64)",
}


def scaffold(table: str, columns: list[tuple[str, str, bool]], grain: Iterable[str] = ()) -> str:
    """A model skeleton for a table from its DDL columns (name, DuckDB type, NOT NULL): paste it into
    expectations/core.py (or raw.py), then add ranges and the rules a trader would check by eye."""
    name = "".join(p.title() for p in table.split(".", 1)[1].split("_"))
    date_col = next((c for c, t, _ in columns if t in ("DATE", "TIMESTAMP")), None)
    lines = [f'@contract("{table}", date_col={date_col!r})', f"class {name}(Core):"]
    for col, typ, not_null in columns:
        ann = DUCKDB_TYPES.get(typ, "str")
        lines.append(f"    {col}: {ann}" + ("" if not_null else " = pa.Field(nullable=True)"))
    keys = list(grain) or [c for c, _, nn in columns if nn]
    lines += ["", "    class Config:", f"        unique = {keys!r}"]
    return "\n".join(lines)
