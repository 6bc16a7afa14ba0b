"""Whether a night's data may drive a recommendation: the verdict of its latest audit.

Reads audit.validations / audit.quarantine through the Warehouse handed in (its `wh.trust` queries,
warehouse/trust.py); no SQL here, imports neither DuckDB nor Great Expectations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl


def latest_run(wh, as_of: date) -> str | None:
    """run_id of the latest audit of `as_of` (None when the night was never audited)."""
    return wh.trust.latest_runs([as_of]).get(as_of)


def latest_results(wh, as_of: date) -> pl.DataFrame:
    """Every expectation result of the night's latest audit."""
    run = latest_run(wh, as_of)
    return wh.trust.results({} if run is None else {as_of: run})


def describe_failure(row: dict) -> str:
    """One line: `raw.option_quotes: freshness - expect_table_row_count_to_be_between (observed 0)`."""
    try:
        obs = json.loads(row.get("observed") or "{}")
    except ValueError:
        obs = {}
    what = row["expectation"] + (f" on {row['column_name']}" if row.get("column_name") else "")
    bits = []
    if "observed_value" in obs:
        bits.append(f"observed {_short(obs['observed_value'])}")
    if row.get("unexpected_count"):
        bits.append(f"{row['unexpected_count']:,} unexpected of {row.get('element_count') or 0:,}")
    exp = {k: v for k, v in (obs.get("expected") or {}).items() if v is not None and k != "mostly"}
    if exp:
        bits.append("expected " + ", ".join(f"{k}={_short(v)}" for k, v in exp.items()))
    if obs.get("exception"):
        bits.append(f"error: {obs['exception']}")
    return f"{row['table_name']}: {row.get('kind') or 'check'} - {what}" + (f" ({'; '.join(bits)})" if bits else "")


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list) and len(v) > 6:
        return "[" + ", ".join(map(_short, v[:6])) + ", ...]"
    return str(v)


def night_is_trusted(wh, as_of: date) -> tuple[bool, list[str]]:
    """(True, []) when the night's data may drive a recommendation; else (False, reasons).

    The verdict of the night's latest Great Expectations audit (`alvh audit`, run by `nightly` after
    the build): untrusted when any critical check failed. A night with no audit yet (the build's
    recommendation step runs before tonight's audit; demo and backfill audit only their last
    nights) gets the preflight: the critical checks that need no GE - required tables have rows
    tonight, row counts not collapsed, no 4x jump of spot or index closes (`preflight`).
    `nights_trusted` for one night.
    """
    return nights_trusted(wh, [as_of])[as_of]


def preflight(wh, as_of: date, history: int = 20) -> list[str]:
    """Critical problems found with plain SQL (milliseconds): for every required table, tonight's
    partition exists and holds at least a tenth of the trailing median row count; for every jump
    series of a required table, tonight's value is within 4x of the series' last stored value.
    `preflight_many` for one night."""
    return preflight_many(wh, [as_of], history)[as_of]


def plausibility_failures(wh, nights: Sequence[date]) -> dict[date, list[str]]:
    """Critical plausibility findings recorded at ingest (audit.findings) per night, one line each:
    a vendor file the warehouse's history says is wrong makes its night untrusted at once."""
    from warehouse.history import night_findings

    if not nights:
        return {}
    df = night_findings(wh, nights, "critical")
    out: dict[date, list[str]] = {}
    for r in df.iter_rows(named=True):
        where = f" ({r['file']}:{r['line']})" if r["file"] and r["line"] else (
            f" ({r['file']})" if r["file"] else "")
        out.setdefault(r["as_of"], []).append(
            f"{r['table_name']}: plausibility - {r['check_name']}{where}: {r['reason']}")
    return out


def nights_trusted(wh, nights: Sequence[date], history: int = 20) -> dict[date, tuple[bool, list[str]]]:
    """`night_is_trusted` for many nights at once, in a few queries (a backfill's recommendation
    step asks for hundreds): the one implementation, `night_is_trusted` asks it for one night.
    Where several jump series fail on one night their reasons are ordered by series."""
    days = sorted(set(nights))
    if not days:
        return {}
    audited = wh.trust.latest_runs(days)
    out: dict[date, tuple[bool, list[str]]] = {d: (True, []) for d in audited}
    if audited:
        bad = wh.trust.results(audited, failed_critical=True)
        for (d,), rows in bad.partition_by("as_of", as_dict=True, maintain_order=True).items():
            out[d] = (False, [describe_failure(r) for r in rows.iter_rows(named=True)])
    rest = [d for d in days if d not in audited]
    for d, problems in preflight_many(wh, rest, history).items():
        out[d] = (not problems, problems)
    return {d: out[d] for d in days}


def preflight_many(wh, nights: Sequence[date], history: int = 20) -> dict[date, list[str]]:
    """`preflight` for many nights: one row-count query and one jump query per required table."""
    from expectations.contracts import contracts
    from expectations.suites import JUMP_FACTOR, VOLUME_CRIT

    days = sorted(set(nights))
    out: dict[date, list[str]] = {d: [] for d in days}
    if not days:
        return out
    have = set(wh.tables())
    for d, lines in plausibility_failures(wh, days).items():
        out[d] += lines
    lo, hi = days[0], days[-1]
    for c in contracts().values():
        if not c.required or c.table not in have or not c.date_col or c.cadence != "session":
            continue
        # per-date row counts over every window a night looks at: (night - 2 x history days, night]
        counts = wh.trust.daily_counts(c.table, c.date_col, lo, hi, 2 * history)
        cdates = counts["d"].to_list()
        cn = counts["n"].to_list()
        jumps: dict[date, list[dict]] = {}
        if c.jump:
            keys, value = c.jump
            # tonight's mean against the series' last stored value in the 30 days before
            for r in wh.trust.jumps(c.table, c.date_col, keys, value, days, JUMP_FACTOR).iter_rows(named=True):
                jumps.setdefault(r["night"], []).append(r)
        i = 0
        for d in days:
            # the dates of the window, newest first, at most history + 1 of them (as `preflight`)
            while i < len(cdates) and cdates[i] <= d - timedelta(days=2 * history):
                i += 1
            j = i
            window = []
            while j < len(cdates) and cdates[j] <= d:
                window.append((cdates[j], cn[j]))
                j += 1
            window = window[::-1][:history + 1]
            tonight = pl.Series("n", [n for x, n in window if x == d], dtype=pl.Int64).sum()
            before = pl.Series("n", [n for x, n in window if x < d], dtype=pl.Int64)
            problems = out[d]
            if not tonight:
                problems.append(f"{c.table}: freshness - no rows for {d} (preflight)")
                continue
            if before.len() >= 3 and tonight < VOLUME_CRIT[0] * before.median():
                problems.append(f"{c.table}: volume - {tonight:,} rows for {d}, trailing median "
                                f"{before.median():,.0f} (preflight)")
            if c.jump:
                keys, value = c.jump
                for r in jumps.get(d, []):
                    series = ", ".join(str(r[x]) for x in keys)
                    problems.append(f"{c.table}: jump - {value} of {series} moved {r['r']:.2f}x since "
                                    f"its last stored value (preflight)")
    return out


def night_quarantine(wh, as_of: date) -> pl.DataFrame:
    """Quarantined rows that belong to the night: rows dated `as_of` (contract checks at the parse and
    transform boundaries) and every row refused from the files landed in the night's batch."""
    return wh.trust.night_quarantine(as_of)


def night_rejected_files(wh, as_of: date) -> pl.DataFrame:
    """Files of the night's batch refused whole (their error names file, line and reason)."""
    return wh.trust.night_rejected_files(as_of)


def suite_summary(wh, as_of: date) -> pl.DataFrame:
    """Per table of the latest audit: checks passed, failed (critical / warning), unexpected rows,
    quarantined rows, tonight's partition freshness, Data Docs page."""
    res = latest_results(wh, as_of)
    quarantined = night_quarantine(wh, as_of).group_by("table_name").agg(quarantined=pl.len())
    if res.is_empty():
        return pl.DataFrame(schema={"table_name": pl.String, "suite": pl.String, "checks": pl.Int64,
                                    "passed": pl.Int64, "failed_critical": pl.Int64,
                                    "failed_warning": pl.Int64, "unexpected": pl.Int64,
                                    "quarantined": pl.Int64, "fresh": pl.Boolean,
                                    "data_docs": pl.String})
    fail = ~pl.col("success")
    summary = res.group_by("table_name", "suite").agg(
        checks=pl.len().cast(pl.Int64),
        passed=pl.col("success").sum().cast(pl.Int64),
        failed_critical=(fail & (pl.col("severity") == "critical")).sum().cast(pl.Int64),
        failed_warning=(fail & (pl.col("severity") == "warning")).sum().cast(pl.Int64),
        unexpected=pl.col("unexpected_count").fill_null(0).sum().cast(pl.Int64),
        fresh=pl.when((pl.col("kind") == "freshness").any())
        .then(pl.col("success").filter(pl.col("kind") == "freshness").all()),
        data_docs=pl.col("data_docs").drop_nulls().first(),
    )
    return (summary.join(quarantined, on="table_name", how="left")
            .with_columns(quarantined=pl.col("quarantined").fill_null(0).cast(pl.Int64))
            .select("table_name", "suite", "checks", "passed", "failed_critical", "failed_warning",
                    "unexpected", "quarantined", "fresh", "data_docs")
            .sort("table_name"))
