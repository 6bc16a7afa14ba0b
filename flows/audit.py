"""The `audit` flow: Great Expectations on tonight's warehouse partitions, results into
audit.validations, and the re-gate of the recommendation when the verdict changes.

Wiring only: suites live in expectations/, storage in warehouse/; the pandera gate is flows/gate.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from flows import console
from flows.engine import NO_CACHE, flow, task
from flows.settings import Settings, load_settings
from warehouse import ledger, reads
from warehouse.db import Warehouse

# -- the nightly audit ---------------------------------------------------------------------------


def audit_sessions(as_of: date) -> list[date]:
    """Sessions up to and including `as_of`, enough for the trailing history the suites use."""
    from expectations.suites import HISTORY_NIGHTS
    from sources.calendar import sessions_between

    days = sessions_between(as_of - timedelta(days=3 * HISTORY_NIGHTS), as_of)
    return [*days[-(HISTORY_NIGHTS + 10):]] if days and days[-1] == as_of else [*days, as_of]


@dataclass
class AuditSummary:
    as_of: date
    run_id: str
    trusted: bool
    critical: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tables: int = 0
    checks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    data_docs: str | None = None  # index page, relative to the home

    def banners(self) -> list[dict]:
        """What the night's report says at the top."""
        if not self.trusted:
            head = (f"Data quality: {len(self.critical)} critical check(s) failed for {self.as_of}. "
                    "This night's data is not trusted and no recommendation is made from it.")
            return [{"level": "bad", "text": head}] + [{"level": "bad", "text": r}
                                                       for r in self.critical[:5]]
        if self.warnings:
            return [{"level": "warn", "text": f"Data quality: {len(self.warnings)} warning(s) for "
                                              f"{self.as_of}; see the data-quality section."}]
        return []


def write_validations(wh: Warehouse, rows: list[dict]) -> int:
    if not rows:
        return 0
    cols = wh.columns("audit.validations")
    frame = pl.DataFrame(rows).select([c for c in cols if c in rows[0]])
    frame = frame.with_columns(
        pl.col("as_of").cast(pl.Date), pl.col("validated_at").cast(pl.Datetime("us")),
        pl.col("element_count").cast(pl.Int64), pl.col("unexpected_count").cast(pl.Int64))
    return ledger.replace_validations(wh, rows[0]["run_id"], rows[0]["as_of"], frame)


@task(name="audit-night", cache_policy=NO_CACHE)
def audit_night(wh: Warehouse, as_of: date, settings: Settings, run: dict, *,
                show: bool = True) -> AuditSummary:
    """Validate tonight's partitions with Great Expectations; store every result; build Data Docs."""
    from expectations.audit import run_audit
    from expectations.trust import describe_failure

    res = run_audit(wh, as_of, audit_sessions(as_of), home=settings.root,
                    docs_dir=settings.data_docs, run_id=run["run_id"],
                    keep_nights=settings.gx_keep_nights)
    # Plausibility vs the warehouse's history (flows/plausibility.py): same table, same verdict.
    from flows.plausibility import audit_rows

    plaus = audit_rows(wh, as_of, run["run_id"])
    write_validations(wh, res.rows() + plaus)
    p_crit = [r for r in plaus if not r["success"] and r["severity"] == "critical"]
    p_warn = [r for r in plaus if not r["success"] and r["severity"] != "critical"]
    summary = AuditSummary(
        as_of, run["run_id"], res.trusted and not p_crit,
        critical=[describe_failure(r) for r in res.critical + p_crit],
        warnings=[describe_failure(r) for r in res.warnings + p_warn],
        tables=len(res.tables), checks=len(res.rows()) + len(plaus),
        seconds={k: round(v, 3) for k, v in res.seconds.items()}, data_docs=res.docs_index)
    if show:
        verdict = "trusted" if summary.trusted else "NOT TRUSTED"
        console.info(f"audit {as_of}: {summary.tables} tables, {summary.checks} checks, "
                     f"{len(summary.critical)} critical, {len(summary.warnings)} warning(s) -> "
                     f"{verdict} ({res.seconds['total']:.1f} s)")
        for line in summary.critical:
            console.error(f"critical  {line}")
    return summary


@flow(name="audit", flow_run_name="audit-{as_of}")
def audit(as_of: date, home: Path | None = None) -> AuditSummary:
    """Audit one night that is already in the warehouse (`alvh audit`)."""
    from flows.runs import run_info
    from warehouse.runs import recording

    settings = load_settings(home=home)
    run = run_info("audit")
    with (Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh,
          recording(wh, run, "audit", as_of, {}) as rec):
        summary = audit_night(wh, as_of, settings, run, show=False)
        rec.finish("ok" if summary.trusted else "failed", summary.__dict__)
    return summary


# Build steps that read the night's trust verdict (flows/build.py): rerun after the audit when
# the verdict they used (the preflight, or an earlier audit) differs from tonight's audit.
GATED_STEPS = ("alvh", "backtest")


def regate(wh: Warehouse, settings: Settings, summary: AuditSummary) -> bool:
    """Rebuild the gated steps for the audited night if its recommendation disagrees with the
    audit (emitted from a night the audit rejects, or withheld from one it trusts)."""
    if "core.recommendations" not in wh.tables():
        return False
    status = reads.recommendation_status(wh, summary.as_of)
    if status is None or (status == "untrusted") == (not summary.trusted):
        return False
    from flows.build import steps

    for name, step in steps():
        if name in GATED_STEPS:
            step(wh, [summary.as_of], settings)
    console.info(f"audit {summary.as_of}: recommendation rebuilt "
                 f"({'trusted' if summary.trusted else 'untrusted'} night)")
    return True


def audit_and_regate(wh: Warehouse, settings: Settings, as_of: date, run: dict) -> AuditSummary:
    """Tonight's audit (after the build, before the report), then the gated steps if needed."""
    summary = audit_night(wh, as_of, settings, run)
    regate(wh, settings, summary)
    return summary


def print_audit(wh: Warehouse, summary: AuditSummary) -> None:
    """`alvh audit`: one line per suite - checks passed/failed, unexpected and quarantined rows."""
    from rich.table import Table

    from expectations.trust import night_rejected_files, suite_summary

    t = Table(title=f"Audit {summary.as_of} (run {summary.run_id[:8]})", title_justify="left",
              show_edge=False, pad_edge=False)
    t.add_column("suite", no_wrap=True, min_width=26)
    for name in ("checks", "passed", "crit", "warn", "unexp.", "quar."):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("fresh", no_wrap=True)
    for r in suite_summary(wh, summary.as_of).iter_rows(named=True):
        fresh = "-" if r["fresh"] is None else ("yes" if r["fresh"] else "NO")
        t.add_row(r["table_name"], str(r["checks"]), str(r["passed"]), str(r["failed_critical"]),
                  str(r["failed_warning"]), f"{r['unexpected']:,}", f"{r['quarantined']:,}", fresh)
    console.out.print(t)
    for f in night_rejected_files(wh, summary.as_of).iter_rows(named=True):
        console.error(f"rejected file: {f['error']}")
    for line in summary.critical:
        console.error(f"critical  {line}")
    for line in summary.warnings:
        console.warn(line)
    verdict = "trusted" if summary.trusted else "NOT TRUSTED (no recommendation from this night)"
    console.info(f"night {summary.as_of}: {verdict}; {summary.checks} checks in "
                 f"{summary.seconds.get('total', 0):.1f} s")
    if summary.data_docs:
        console.info(f"data docs: {wh.path.parent / summary.data_docs if wh.path else summary.data_docs}")
