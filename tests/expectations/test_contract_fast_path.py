"""check_rows' fast path (`_all_pass_fast`: the whole schema as one polars query) against pandera.

It may only say "every row passes" when pandera's `validate` passes; and for the schemas it models
(every registered contract) it should say so whenever pandera does, or the fast path buys nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from expectations import contracts as ct
from expectations.contracts import RowContext, check_rows, contract_for, contracts

fast = ct._all_pass_fast

D = date(2026, 3, 2)  # a Monday
# A calendar: weekdays, less a few holidays (the real one takes seconds to build).
SESSIONS = frozenset(D + timedelta(days=i) for i in range(-800, 800)
                     if (D + timedelta(days=i)).weekday() < 5) - {date(2026, 5, 25), date(2026, 9, 7)}
CTX = RowContext(sessions=SESSIONS, not_after=date(2027, 6, 30))


def pandera_passes(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> bool:
    try:
        schema.validate(frame, lazy=True)
        return True
    except Exception:
        return False


def pandera_only(table: str, frame: pl.DataFrame, ctx=None):
    """check_rows as it was before the fast path: pandera decides every frame."""
    saved, ct._all_pass_fast = ct._all_pass_fast, lambda schema, frame: False
    try:
        return check_rows(table, frame, ctx)
    finally:
        ct._all_pass_fast = saved


# -- a plausible row for every contract, from its checks ----------------------------------------

WORDS = ["SPX", "SPXW", "binance", "NYSE", "CPI", "08:30", "iron_condor", "BTC"]
# Cross-column rules the generic row would break.
OVERRIDES = {"put_gex_usd_per_pct": -1.0, "net_gex_usd_per_pct": 0.0, "dte_days": 0}
TABLE_OVERRIDES = {"core.backtest_trades": {"status": "open"},
                   "core.recommendation_legs": {"instrument": "future"}}


def _typical(col) -> object:
    stats = {ch.name: ch.statistics for ch in col.checks}
    t = col.dtype.type
    if "isin" in stats:
        return stats["isin"]["allowed_values"][0]
    if "str_matches" in stats:
        return next(w for w in WORDS if re.match(stats["str_matches"]["pattern"], w))
    if t == pl.String:
        return "SPX"
    if t == pl.Date:
        return D
    if t == pl.Datetime:
        return datetime(2026, 3, 2, 8)
    if t == pl.Boolean:
        return False
    if isinstance(t, pl.List):
        return []
    v: float = 1
    if "in_range" in stats:
        v = (stats["in_range"]["min_value"] + stats["in_range"]["max_value"]) / 2
    for k in ("greater_than_or_equal_to", "greater_than"):
        if k in stats:
            v = stats[k]["min_value"] + 1
    if "less_than_or_equal_to" in stats:
        v = stats["less_than_or_equal_to"]["max_value"] - 1
    return int(v) if t.is_integer() else float(v)


def typical_row(table: str, make_frame) -> dict:
    if table.startswith("raw."):  # conftest's valid row
        return make_frame(table).row(0, named=True)
    cols = contract_for(table).schema.columns
    row = {n: None if col.nullable else _typical(col) for n, col in cols.items()}
    row.update({k: v for k, v in OVERRIDES.items() if k in row})
    return {**row, **TABLE_OVERRIDES.get(table, {})}


def typed(table: str, rows: list[dict]) -> pl.DataFrame:
    dtypes = {n: c.dtype.type for n, c in contract_for(table).schema.columns.items()}
    return pl.DataFrame(rows, schema={n: dtypes[n] for n in rows[0]}, orient="row")


def bad_values(dtype) -> list:
    """Values that break some check of some column of this dtype (or none: pandera decides)."""
    if dtype.is_float():
        return [None, float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e12, 1e-12]
    if dtype.is_integer():
        return [None, -1, 0, 3, 10**9]
    if dtype == pl.String:
        return [None, "", "spx", "SPX W", "X" * 40, "calm"]
    if dtype == pl.Date:
        return [None, date(1900, 1, 1), D + timedelta(days=5), D - timedelta(days=3), date(2099, 1, 1)]
    if dtype == pl.Datetime:
        return [None, datetime(2026, 3, 2, 8, 0, 17), datetime(2099, 1, 1)]
    if dtype == pl.Boolean:
        return [None, True]
    return [None, [1.0, 2.0]]


def mutations(table: str, make_frame) -> pl.DataFrame:
    """The typical row, then one row per (column, bad value) - and per nullable column its
    typical value. Dates move back a week a row, so rows keep their weekday and their grain is
    unique (a grain without a date gets a numbered string key)."""
    c = contract_for(table)
    cols = c.schema.columns
    base = typical_row(table, make_frame)
    dated = any(isinstance(base[k], date) for k in c.grain)
    key = None if dated else next(k for k in c.grain if cols[k].dtype.type == pl.String and not cols[k].checks)
    changes = [{}]
    for n in base:
        values = bad_values(cols[n].dtype.type)
        if cols[n].nullable:
            values.append(_typical(cols[n]))
        changes += [{n: v} for v in values]
    rows = []
    for i, ch in enumerate(changes):
        row = {k: v - timedelta(days=7 * i) if isinstance(v, date) else v for k, v in base.items()}
        if "line" in row:
            row["line"] = i + 1
        if key:
            row[key] = f"{row[key]}{i}"
        rows.append({**row, **ch})
    return typed(table, rows)


TABLES = sorted(contracts())


@pytest.mark.parametrize("table", TABLES)
def test_every_contract_is_compiled_so_passing_frames_skip_pandera(table, make_frame):
    f = typed(table, [typical_row(table, make_frame)])
    for ctx in (None, CTX):
        schema = ct.schema_for(contract_for(table), f.columns, ctx)
        ct._compile(schema, f.schema)  # raises when some element is not modelled
        assert pandera_passes(schema, f) and fast(schema, f)


@pytest.mark.parametrize("table", TABLES)
def test_fast_path_agrees_with_pandera_row_by_row(table, make_frame):
    """Every row pandera refuses makes the fast path refuse too; the rows it keeps pass both."""
    frame = mutations(table, make_frame)
    schema = ct.schema_for(contract_for(table), frame.columns, CTX)
    good, bad = pandera_only(table, frame, CTX)
    assert not bad.is_empty() and not fast(schema, frame)
    assert good.height > 1
    assert fast(schema, good) == pandera_passes(schema, good)
    for i in bad["row"].to_list():
        with_bad = pl.concat([good, frame[i]])
        if fast(schema, with_bad):  # never a pass pandera would refuse
            assert pandera_passes(schema, with_bad), frame.row(i, named=True)


# -- the raw-table cases of test_raw_contracts.py, pass and fail ---------------------------------

CASES = [
    ("raw.option_quotes", [{}]), ("raw.option_quotes", [{"bid": 5.0, "ask": 4.0}]),
    ("raw.option_quotes", [{"bid": 5.0, "ask": 0.0}]), ("raw.option_quotes", [{"expiry": date(2026, 2, 27)}]),
    ("raw.option_quotes", [{"expiry": date(2026, 2, 27), "expired": True}]),
    ("raw.option_quotes", [{"expired": True}]), ("raw.option_quotes", [{"open_interest": -5}]),
    ("raw.option_quotes", [{"iv": float("nan")}]), ("raw.option_quotes", [{"spot": 18.5}]),
    ("raw.option_quotes", [{"right": "P", "delta": 0.4}]), ("raw.option_quotes", [{"right": "P", "delta": -0.4}]),
    ("raw.option_quotes", [{}, {"line": 8}]), ("raw.option_quotes", [{"spot": None}]),
    ("raw.option_quotes", [{"strike": float("nan")}]), ("raw.option_quotes", [{"line": 0}]),
    ("raw.index_bars", [{"high": 16.0, "low": 17.0}]),
    ("raw.index_bars", [{"high": 16.0, "low": 17.0, "ohlc_flag": "high < low"}]),
    ("raw.index_bars", [{"date": date(2026, 3, d), "close": c, "line": d} for d, c in
                        ((2, 17.5), (3, 17.9), (4, 179.0), (5, 18.2), (6, 18.0))]),
    ("raw.index_bars", [{"date": date(2020, 1, 2), "close": 13.7}, {"date": date(2020, 3, 16), "close": 82.69}]),
    ("raw.index_bars", [{"symbol": "vix"}]), ("raw.index_bars", [{"close": float("inf")}]),
    ("raw.vx_futures", [{"high": 16.0, "low": 17.0}]), ("raw.vx_futures", [{"trade_date": date(2026, 3, 19)}]),
    ("raw.vx_futures", [{"trade_date": date(2026, 3, 7)}]),
    *[("raw.funding_rates", [{"interval_h": h}]) for h in (1, 2, 3, 8, 24)],
    ("raw.funding_rates", [{"rate": 0.031}]), ("raw.funding_rates", [{"venue": "hyperliquid", "rate": 0.031}]),
    ("raw.funding_rates", [{"funding_ts": datetime(2026, 3, 2, 8, 0, 17)}]),
    ("raw.breadth", [{"advances": 0, "declines": 0, "unchanged": 0}]),
    ("raw.breadth", [{"advances": None, "declines": None, "unchanged": 0}]),
    ("raw.breadth", [{"date": date(2026, 3, 7)}]), ("raw.breadth", [{"date": date(2026, 9, 7)}]),
    ("raw.breadth", [{"date": date(2027, 12, 1)}]), ("raw.breadth", [{"date": date(1985, 3, 2)}]),
    ("raw.macro_events", [{"time_et": "8:30am"}]), ("raw.macro_events", [{"date": date(2099, 12, 10)}]),
    ("raw.macro_series", [{"date": date(2099, 12, 10)}]), ("raw.macro_series", [{"value": None}]),
]


@pytest.mark.parametrize("table, changes", CASES)
@pytest.mark.parametrize("ctx", [None, CTX], ids=["no-context", "calendar"])
def test_fast_path_decides_like_pandera_on_the_raw_cases(make_frame, table, changes, ctx):
    f = make_frame(table, *changes)
    schema = ct.schema_for(contract_for(table), f.columns, ctx)
    assert fast(schema, f) == pandera_passes(schema, f)
    # and check_rows returns what it returned when pandera decided alone
    got, want = check_rows(table, f, ctx), pandera_only(table, f, ctx)
    assert_frame_equal(got[0], want[0]) and assert_frame_equal(got[1], want[1])


# -- random nulls, NaN, inf and out-of-range values ----------------------------------------------

def _frames(table: str, make_frame):
    cols = contract_for(table).schema.columns
    base = typical_row(table, make_frame)
    value = st.sampled_from(list(base)).flatmap(
        lambda n: st.tuples(st.just(n), st.sampled_from([*bad_values(cols[n].dtype.type), base[n]])))
    row = st.lists(value, max_size=3).map(dict)
    return st.lists(row, min_size=1, max_size=6).map(lambda rows: make_frame(table, *rows))


@pytest.mark.parametrize("table", ["raw.option_quotes", "raw.index_bars"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_path_equals_pandera_on_random_frames(table, make_frame, data):
    f = data.draw(_frames(table, make_frame))
    schema = ct.schema_for(contract_for(table), f.columns, CTX)
    assert fast(schema, f) == pandera_passes(schema, f)


# -- what the fast path does not model goes to pandera -------------------------------------------

def test_a_dtype_pandera_would_coerce_goes_to_pandera(make_frame):
    f = make_frame("raw.option_quotes").with_columns(pl.col("line").cast(pl.Int32))
    schema = ct.schema_for(contract_for("raw.option_quotes"), f.columns)
    assert pandera_passes(schema, f) and not fast(schema, f)
    good, bad = check_rows("raw.option_quotes", f)
    assert bad.is_empty() and good.schema["line"] == pl.Int32  # the frame as given, as before


def _schema(check: pa.Check) -> pa.DataFrameSchema:
    return pa.DataFrameSchema({"x": pa.Column(pl.Float64, check, nullable=True)}, coerce=True, strict=True)


@pytest.mark.parametrize("check", [
    pa.Check(lambda x: x > 0, element_wise=True),
    pa.Check.gt(0, raise_warning=True),
    pa.Check(lambda data: data.lazyframe.select(pl.col(data.key).gt(0)).collect().lazy()),  # not a plain select
    pa.Check(lambda data: True),
])
def test_checks_the_fast_path_does_not_model_go_to_pandera(check):
    f = pl.DataFrame({"x": [1.0, 2.0]})
    assert not fast(_schema(check), f)


@pytest.mark.parametrize("ignore_na", [True, False])
def test_a_null_check_result_passes_only_when_the_check_ignores_nulls(ignore_na):
    schema = _schema(pa.Check(lambda data: data.lazyframe.select(pl.col(data.key) > 0), ignore_na=ignore_na))
    f = pl.DataFrame({"x": [1.0, None]})
    assert fast(schema, f) == pandera_passes(schema, f) == ignore_na
