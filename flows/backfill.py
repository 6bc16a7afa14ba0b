"""The `backfill` flow: many sessions at once, CPU work in parallel, one writer applying days in order.

The split (DuckDB has one writer; docs/scaling.md):

  workers (any Prefect task runner: threads, or Dask processes)
      fetch-day    I/O, retried: materialise the session's vendor drop (the sample simulator, or a
                   folder <drops>/<YYYY-MM-DD>/) and land its files (content-addressed atomic copies).
      prepare-day  CPU: detect + parse every file (`flows.ingest.prepare_one`) and compute the day's
                   gamma partitions from its parsed SPX chain (`flows.build.gamma_partitions`).
                   Workers never open the warehouse.
  writer (the flow's own thread, holding the writer lock), strictly in date order
      one transaction per day: the day's files through `flows.ingest.load_many` (same registry,
      lineage, quarantine and superseding as a nightly run) plus its gamma partitions.
  once, at the end
      the history-dependent steps (GEX MACD, breadth, funding, vol, ...) over the whole range with
      `build_sessions(..., prebuilt={"gamma"})`, then the last night's report.

Modules: the workers' tasks are flows/workers.py, the writer flows/writer.py, the task runners
flows/runners.py; this module is the flow.

Results are identical to running `nightly` for each session in turn (tests/flows/test_backfill.py).
Resumable: a day whose batch (the digest of its files, `night-<day>-<sha>`) is fully registered
without failures and whose gamma is built is skipped; rerunning after a crash redoes only the rest.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from prefect import flow, tags

from flows import console
from flows.build import build_sessions
from flows.report import render_report
from flows.runners import api_url_in_environment, make_task_runner
from flows.runs import run_info
from flows.settings import Settings, load_settings
from flows.workers import TAGS
from flows.writer import BackfillSummary, Clock, load_days
from sources import calendar
from warehouse import ledger, reads
from warehouse.db import Warehouse
from warehouse.runs import close_abandoned, recording

SOURCES = ("sample", "drop")


# What differs between two runs over the same inputs by design: when and by which run a row was
# written, and where the file was picked up (the home's path). Everything else must be identical.
RUN_COLUMNS = ("landed_at", "validated_at", "started_at", "finished_at", "run_id", "flow_run_id",
               "code_version", "original_path")
RUN_TABLES = ("audit.runs",)


def table_checksums(wh: Warehouse) -> dict[str, tuple[int, int]]:
    """(rows, content hash) of every audit/raw/core table without the run-specific columns:
    two warehouses built from the same inputs must give equal dicts."""
    return {t: wh.checksum(t, exclude=[c for c in RUN_COLUMNS if c in wh.columns(t)])
            for t in wh.tables() if t not in RUN_TABLES}


def night_label(day: date) -> str:
    """The batch label of one session's drop: the same in `nightly`, `demo` and `backfill`."""
    return f"night-{day.isoformat()}"


AUDITS = ("all", "last")


@flow(name="backfill", flow_run_name="backfill-{start}-to-{end}")
def backfill(start: date, end: date, source: str = "sample", drops: Path | None = None,
             home: Path | None = None, pages: int = 1, runner: str = "threads",
             workers: int = 2, audit: str = "all") -> BackfillSummary:
    """Build every session in [start, end]: parallel per-day work, one writer, then the rolling
    steps once. `runner`/`workers` only label the run: the task runner is set by `run_backfill`.
    audit="all" audits every night as `nightly` would (identical tables); "last" only the last
    night, as `demo` does (faster: the audit is ~2-4 s a night; audit.validations then holds the
    last night only and earlier recommendations keep their build-time verdict)."""
    t0 = time.perf_counter()
    settings = load_settings(home=home)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if audit not in AUDITS:
        raise ValueError(f"unknown --audit {audit!r}; choose one of {', '.join(AUDITS)}")
    if source == "drop" and drops is None:
        raise ValueError("--source drop needs --drops FOLDER (one sub-folder per session, YYYY-MM-DD)")
    if source == "drop" and not Path(drops).is_dir():
        raise FileNotFoundError(f"{drops}: no such folder of drops")
    days = calendar.sessions_between(start, end)
    if not days:
        raise ValueError(f"no XNYS session between {start} and {end}")
    summary = BackfillSummary(days[0], days[-1], runner, workers)
    run = run_info("backfill")
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        close_abandoned(wh)
        params = {"start": days[0], "end": days[-1], "source": source, "drops": drops,
                  "runner": runner, "workers": workers, "audit": audit}
        with recording(wh, run, "backfill", days[-1], params) as rec:
            _backfill(wh, settings, days, source, drops, pages, workers, run, summary, audit)
            summary.seconds = time.perf_counter() - t0
            status = "failed" if summary.failed else ("warning" if summary.quarantined else "ok")
            rec.finish(status, {"line": summary.line(), "phases": summary.phases,
                                "failed": {str(d.day): d.errors for d in summary.failed}})
    return summary


def _backfill(wh: Warehouse, settings: Settings, days: list[date], source: str, drops: Path | None,
              pages: int, workers: int, run: dict, summary: BackfillSummary,
              audit: str = "all") -> None:
    clock = Clock(summary.phases)
    load_days(wh, settings, days, source, drops, workers, summary, clock)
    results = build_sessions(wh, settings, days, prebuilt=frozenset({"gamma"}), show=False)
    notes = [f"{r.step}: {r.note}" for r in results if r.note]
    if notes:
        console.info("built history steps (" + "; ".join(notes) + ")")
    clock.lap("history steps")
    verdicts = audit_days(wh, settings, days if audit == "all" else days[-1:], summary, run)
    clock.lap("audits")
    if pages:
        have = set(reads.quote_dates(wh, "SPX"))
        shown = [d for d in days if d in have][-pages:]
        for day in shown:
            banners = verdicts[day].banners() if day in verdicts else None
            # the quantstats tearsheet (~3 s) is drawn for the last page only, as in `demo`
            summary.report = render_report.fn(wh, day, settings, run, banners=banners or None,
                                              tearsheet=day == shown[-1])
        clock.lap("reports")


def audit_days(wh: Warehouse, settings: Settings, days: list[date], summary: BackfillSummary,
               run: dict) -> dict:
    """Audit each night as `nightly` does after its build: every day this run loaded a file for,
    and any day without validations yet (a run killed before its audits); a day rerun with nothing
    new keeps its audit (re-auditing it would only repeat the checks). A night whose verdict differs from
    the one its recommendation was built with is re-gated, and the gated steps (recommendations,
    backtest: history-dependent) are rebuilt from that night on, as night-by-night runs would."""
    from flows.audit import GATED_STEPS, audit_night, regate
    from flows.build import steps

    audited = ledger.audited_nights(wh, days[0], days[-1])
    changed = {d.day for d in summary.days if d.loaded}
    todo = [d for d in days if d in changed or d not in audited]
    by_day = {d.day: d for d in summary.days}
    first_changed: date | None = None
    verdicts = {}
    for day in console.progress(todo, "audit"):
        quality = verdicts[day] = audit_night(wh, day, settings, run, show=False)
        if regate(wh, settings, quality) and first_changed is None:
            first_changed = day
        if quality.critical and day in by_day:
            by_day[day].errors += [f"{day}: audit: {r}" for r in quality.critical]
            by_day[day].status = "failed"
            for r in quality.critical:
                console.error(f"{day}: audit: {r}")
    later = [d for d in days if first_changed is not None and d > first_changed]
    if later:
        for name, step in steps():
            if name in GATED_STEPS:
                step(wh, later, settings)
    return verdicts


def run_backfill(start: date, end: date, *, runner: str = "threads", workers: int = 2,
                 source: str = "sample", drops: Path | None = None, home: Path | None = None,
                 pages: int = 1, audit: str = "all") -> BackfillSummary:
    """Run the backfill flow on the chosen task runner (what `alvh backfill` calls)."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    task_runner = make_task_runner(runner, workers)
    with api_url_in_environment(), tags(*TAGS):
        return backfill.with_options(task_runner=task_runner)(
            start=start, end=end, source=source, drops=drops, home=home, pages=pages,
            runner=runner, workers=workers, audit=audit)
