"""Data quality: the night's audit per table (audit.validations), refused rows (audit.quarantine),
rejected files (audit.files), freshness, and links to the Great Expectations Data Docs.

Reads the latest audit of the night only; computes nothing beyond counting its rows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from reports.sections import Context

# The night's quarantine: rows dated that night (contract checks) and every row refused from the
# files of the night's batch (flows/nightly.py labels it night-<date>).
NIGHT_QUARANTINE = (
    "select * from audit.quarantine q where q.as_of = $1 or (q.as_of is null and q.file_id in "
    "(select file_id from audit.files where batch_id like 'night-' || strftime($1, '%Y-%m-%d') || '-%'))")


def _link(ctx: Context, rel: str | None) -> str | None:
    """A home-relative path (data_docs/...) as a link relative to the report page."""
    if not rel:
        return None
    return Path(os.path.relpath(ctx.reports_dir.parent / rel, ctx.reports_dir)).as_posix()


def _observed(text: str | None) -> dict:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v[:6]) + (", ..." if len(v) > 6 else "") + "]"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_short(x)}" for k, x in list(v.items())[:4])
    return str(v)


def build(ctx: Context) -> dict | None:
    wh = ctx.wh
    run = wh.sql("select run_id, max(validated_at) as validated_at from audit.validations "
                 "where as_of = ? group by 1 order by 2 desc, 1 desc limit 1", [ctx.as_of])
    quarantine = wh.sql(NIGHT_QUARANTINE, [ctx.as_of])
    q_by_table = {
        r["table_name"]: r["n"] for r in
        quarantine.group_by("table_name").len("n").iter_rows(named=True)}
    reasons = (quarantine.group_by("table_name", "check_name")
               .agg(n=pl.len(), example=pl.col("reason").first(), line=pl.col("line").first(),
                    source=pl.col("source_path").first())
               .sort(["table_name", "n"], descending=[False, True]).to_dicts()) if quarantine.height else []
    rejected = wh.sql(
        "select landing_path, table_name, error from audit.files where batch_id like "
        "'night-' || strftime($1, '%Y-%m-%d') || '-%' and status in ('rejected', 'unrecognised') "
        "order by landing_path", [ctx.as_of]).to_dicts()
    docs_index = ctx.reports_dir.parent / "data_docs" / "index.html"
    if run.is_empty():
        return {"audited": False, "trusted": None, "tables": [], "failures": [], "reasons": reasons,
                "quarantined": quarantine.height, "rejected": rejected, "run_id": None,
                "validated_at": None,
                "docs_index": _link(ctx, "data_docs/index.html") if docs_index.exists() else None}
    run_id = run["run_id"][0]
    res = wh.sql("select * from audit.validations where as_of = ? and run_id = ? "
                 "order by table_name, severity, kind, expectation, column_name", [ctx.as_of, run_id])
    tables: dict[str, dict] = {}
    failures = []
    for r in res.iter_rows(named=True):
        t = tables.setdefault(r["table_name"], {
            "table": r["table_name"], "suite": r["suite"], "checks": 0, "passed": 0,
            "failed_critical": 0, "failed_warning": 0, "unexpected": 0, "fresh": None,
            "docs": _link(ctx, r["data_docs"]), "quarantined": q_by_table.get(r["table_name"], 0)})
        t["checks"] += 1
        t["passed"] += int(r["success"])
        if not r["success"]:
            t["failed_critical" if r["severity"] == "critical" else "failed_warning"] += 1
        t["unexpected"] += r["unexpected_count"] or 0
        if r["kind"] == "freshness":
            t["fresh"] = r["success"] if t["fresh"] is None else (t["fresh"] and r["success"])
        if not r["success"]:
            obs = _observed(r["observed"])
            failures.append({
                "table": r["table_name"], "severity": r["severity"], "kind": r["kind"] or "",
                "expectation": r["expectation"], "column": r["column_name"] or "",
                "observed": _short(obs["observed_value"]) if "observed_value" in obs else "",
                "expected": _short({k: v for k, v in (obs.get("expected") or {}).items() if v is not None}),
                "unexpected": r["unexpected_count"], "note": obs.get("note") or obs.get("exception") or "",
                "docs": _link(ctx, r["data_docs"])})
    for name, n in q_by_table.items():
        tables.setdefault(name, {"table": name, "suite": "", "checks": 0, "passed": 0,
                                 "failed_critical": 0, "failed_warning": 0, "unexpected": 0,
                                 "fresh": None, "docs": None, "quarantined": n})
    failures.sort(key=lambda f: (f["severity"] != "critical", f["table"], f["kind"]))
    n_crit = sum(t["failed_critical"] for t in tables.values())
    return {
        "audited": True, "trusted": n_crit == 0, "run_id": run_id,
        "validated_at": run["validated_at"][0], "tables": sorted(tables.values(), key=lambda t: t["table"]),
        "failures": failures, "reasons": reasons, "quarantined": quarantine.height,
        "rejected": rejected, "checks": res.height, "failed_critical": n_crit,
        "failed_warning": sum(t["failed_warning"] for t in tables.values()),
        "docs_index": _link(ctx, "data_docs/index.html") if docs_index.exists() else None,
    }

