"""The queries behind a night's trust verdict (expectations/trust.py): audit.validations runs and
failures, per-date row counts, jumps of a series, the night's quarantine and refused files.

Reads only, each returning a polars frame or plain values; the verdict itself is expectations/'.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # frames come from Warehouse.sql; `alvh status` opens a warehouse without polars
    import polars as pl


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


class TrustReads:
    """`wh.trust`: the trust queries of one Warehouse (any object with `.sql(query, params)`)."""

    def __init__(self, wh: Any):
        self._wh = wh

    def latest_runs(self, nights: Sequence[date]) -> dict[date, str]:
        """The run_id of each night's latest audit (nights never audited are absent)."""
        latest = self._wh.sql(
            "select as_of, run_id from audit.validations where as_of in (select unnest(?::date[])) "
            "qualify row_number() over (partition by as_of order by validated_at desc, run_id desc) = 1",
            [list(nights)])
        return dict(latest.iter_rows())

    def results(self, runs: dict[date, str], *, failed_critical: bool = False) -> pl.DataFrame:
        """The audit.validations rows of the given (night, run) pairs, ordered by night, table,
        severity, kind, expectation, column; only the failed critical ones with `failed_critical`."""
        if not runs:
            return self._wh.sql("select * from audit.validations limit 0")
        only = " where not v.success and v.severity = 'critical'" if failed_critical else ""
        return self._wh.sql(
            "select v.* from audit.validations v join (select unnest(?::date[]) as as_of, "
            f"unnest(?::varchar[]) as run_id) l using (as_of, run_id){only} order by v.as_of, "
            "v.table_name, v.severity, v.kind, v.expectation, v.column_name",
            [list(runs), list(runs.values())])

    def daily_counts(self, table: str, date_col: str, lo: date, hi: date, days_back: int) -> pl.DataFrame:
        """d, n: rows per date of `table` in (lo - days_back days, hi], ordered by date."""
        col = _q(date_col)
        return self._wh.sql(f"select {col}::date as d, count(*) as n from {table} where {col} <= ? and "
                            f"{col} > ? - interval {int(days_back)} day group by 1 order by 1", [hi, lo])

    def jumps(self, table: str, date_col: str, keys: Sequence[str], value: str,
              nights: Sequence[date], factor: float) -> pl.DataFrame:
        """night, keys..., r: each night's mean of `value` per series against the series' last
        stored value in the 30 days before, where the ratio is beyond `factor` either way."""
        col, k, v = _q(date_col), ", ".join(_q(x) for x in keys), _q(value)
        days = sorted(set(nights))
        return self._wh.sql(
            f"with n as (select unnest(?::date[]) as night), "
            f"t as (select {col}::date as night, {k}, avg({v}) as v from {table} "
            f"where {col} in (select night from n) group by all), "
            f"s as (select {col}::date as d, {k}, any_value({v}) as v from {table} "
            f"where {col} < ? and {col} >= ? - interval 30 day and {v} is not null "
            f"group by all), "
            f"p as (select n.night, {k}, arg_max(s.v, s.d) as v from n join s on s.d < n.night "
            f"and s.d >= n.night - interval 30 day group by all) "
            f"select night, {k}, t.v / p.v as r from t join p using (night, {k}) "
            f"where t.v / p.v > ? or t.v / p.v < ? order by night, {k}",
            [days, days[-1], days[0], factor, 1 / factor])

    def night_quarantine(self, as_of: date) -> pl.DataFrame:
        """Quarantined rows dated `as_of`, and every row refused from the night's batch files."""
        return self._wh.sql(
            "select q.* from audit.quarantine q where q.as_of = $1 or (q.as_of is null and q.file_id in "
            "(select file_id from audit.files where batch_id like 'night-' || strftime($1, '%Y-%m-%d') || '-%'))",
            [as_of])

    def night_rejected_files(self, as_of: date) -> pl.DataFrame:
        """Files of the night's batch refused whole."""
        return self._wh.sql(
            "select landing_path, format, table_name, status, rows_read, rows_quarantined, error "
            "from audit.files where batch_id like 'night-' || strftime($1, '%Y-%m-%d') || '-%' "
            "and status in ('rejected', 'unrecognised') order by landing_path", [as_of])
