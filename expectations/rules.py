"""Building blocks for row contracts: null-safe cross-column rules and per-column number checks.

Each helper returns a pandera check to assign in a model body. A rule's name is what lands in
audit.quarantine.check_name; its description (DESCRIPTIONS) is the readable reason.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandera.polars as pa
import polars as pl

# check name -> what a failing row did wrong (used in quarantine reasons and docs).
DESCRIPTIONS: dict[str, str] = {
    "finite": "not a finite number (NaN or infinite)",
    "xnys_session": "not an XNYS session",
    "not_in_future": "dated after the night being loaded",
    "multiple_fields_uniqueness": "duplicate on the table's grain",
    "not_nullable": "is null",
}


# rule name -> the columns it reads (shown with their values in a quarantine reason).
RULE_COLUMNS: dict[str, tuple[str, ...]] = {}


def _describe(name: str, text: str, columns: Iterable[str] = ()) -> None:
    if DESCRIPTIONS.get(name, text) != text:
        raise ValueError(f"check name {name!r} already describes {DESCRIPTIONS[name]!r}")
    DESCRIPTIONS[name] = text
    RULE_COLUMNS[name] = tuple(dict.fromkeys([*RULE_COLUMNS.get(name, ()), *columns]))


def row_rule(name: str, description: str, expr: pl.Expr, columns: Iterable[str]):
    """A cross-column rule: rows where `expr` is False fail; a null operand passes (nullability is
    checked per column). When the frame lacks one of `columns` (one-column-per-file vendors), the
    rule does not apply."""
    cols = tuple(columns)
    _describe(name, description, cols)

    @pa.dataframe_check(name=name)
    def _rule(cls, data) -> pl.LazyFrame:
        have = set(data.lazyframe.collect_schema().names())
        if not set(cols) <= have:
            return data.lazyframe.select(pl.repeat(True, pl.len()).alias(name))
        return data.lazyframe.select(expr.fill_null(True).alias(name))

    _rule.__doc__ = description
    return _rule


def finite(*columns: str):
    """Float columns must hold finite numbers (NaN passes `ge`/`le` checks in polars: it sorts last)."""

    @pa.check(*columns, name="finite")
    def _finite(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_finite().fill_null(True))

    return _finite


def whole_hour(column: str):
    _describe("whole_hour", "timestamp is not on a whole UTC hour")

    @pa.check(column, name="whole_hour")
    def _hour(cls, data) -> pl.LazyFrame:
        c = pl.col(data.key)
        return data.lazyframe.select(
            ((c.dt.minute() == 0) & (c.dt.second() == 0) & (c.dt.microsecond() == 0)).fill_null(True))

    return _hour


def no_jump(name: str, series: Iterable[str], order: str, value: str, factor: float, days: int = 7):
    """A value more than `factor` times away from the median of its series' values over the
    previous `days` calendar days (in the same frame) is a unit or scale error - a 10x price, a VIX
    level in an SPX file. Rows with no neighbour in that window are not judged (sparse files)."""
    keys = list(series)
    _describe(name, f"{value} is more than {factor:g}x away from the median of its series over "
                    f"the previous {days} days", [*keys, order, value])

    @pa.dataframe_check(name=name)
    def _jump(cls, data) -> pl.LazyFrame:
        have = set(data.lazyframe.collect_schema().names())
        if not {*keys, order, value} <= have:
            return data.lazyframe.select(pl.repeat(True, pl.len()).alias(name))
        v = pl.col(value)
        ref = v.rolling_median_by(order, window_size=f"{days}d", closed="left").over(keys)
        ratio = v / ref
        ok = ref.is_null() | (ref <= 0) | v.is_null() | ((ratio <= factor) & (ratio >= 1 / factor))
        return data.lazyframe.select(ok.alias(name))

    return _jump
