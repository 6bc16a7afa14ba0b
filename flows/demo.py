"""The `demo` flow: simulate N sessions of the sample market, build them all, report the last.

It is a backfill of the sample source (flows/writer.py `load_days`: two worker processes
simulate, land, parse and compute each day's gamma ahead of one writer applying days in date
order; plain processes, not Prefect task runs, to spare ~500 task runs' API calls) followed by
the history steps once, the audit of the last night and the last pages. Only the sessions the
home does not hold yet are simulated, so extending a demo home to a later as-of adds the new days.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from prefect import flow

from flows import console
from flows.audit import audit_and_regate
from flows.build import build_sessions
from flows.nightly import NightSummary, _publish
from flows.report import render_report
from flows.runs import run_info
from flows.settings import Settings, load_settings
from flows.writer import BackfillSummary, Clock, load_days
from sources import calendar
from warehouse import reads
from warehouse.db import Warehouse
from warehouse.runs import last_status, recording

WORKERS = 2  # simulate + parse processes ahead of the writer


@dataclass
class DemoSummary:
    as_of: date
    sessions: int
    added: int
    night: NightSummary


@flow(name="demo", flow_run_name="demo-{as_of}")
def demo(as_of: date, days: int = 260, seed: int | None = None, pages: int = 20,
         home: Path | None = None) -> DemoSummary:
    """Simulate `days` sessions of the sample market up to `as_of`, build them all, report the last.

    Extending an existing demo home to a later as-of adds only the sessions it does not have.
    """
    settings = load_settings(home=home, seed=seed)
    sessions = calendar.sessions_between(calendar.FIRST, as_of)[-days:]
    if not sessions:
        raise ValueError(f"no XNYS session on or before {as_of}")
    as_of = sessions[-1]
    run = run_info("demo")
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        resume = _last_run_unfinished(wh, "demo")
        with recording(wh, run, "demo", as_of, {"days": days, "seed": settings.seed}) as rec:
            night = _demo(wh, settings, sessions, run, pages, resume=resume)
            rec.finish(night.status, night.__dict__)
        _publish(wh, night, f"ALVH demo night {as_of}: {night.status}")
    return DemoSummary(as_of, len(sessions), night.files, night)


def _last_run_unfinished(wh: Warehouse, flow_name: str) -> bool:
    """Did the previous run of this flow die (killed, interrupted, crashed) before finishing?"""
    return last_status(wh, flow_name) in ("running", "abandoned", "failed")


def _demo(wh: Warehouse, settings: Settings, sessions: list[date], run: dict,
          pages: int, resume: bool = False) -> NightSummary:
    have = set(reads.quote_dates(wh, "SPX"))
    todo = [d for d in sessions if d not in have]
    console.info(f"{len(sessions)} sessions {sessions[0]} .. {sessions[-1]}: "
                 f"{len(todo)} to simulate and load, {len(sessions) - len(todo)} already here")
    night = NightSummary(sessions[-1])
    loaded = BackfillSummary(sessions[0], sessions[-1], "processes", WORKERS)
    clock = Clock(loaded.phases)
    if todo:
        # Worker processes (spawned: this one holds a DuckDB connection and threads) simulate,
        # land, parse and compute gamma; this process writes, so both cores are busy.
        with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            load_days(wh, settings, todo, "sample", None, WORKERS, loaded, clock,
                      label="simulate + load", pool=pool)
    # Days are written one transaction each, so a killed run leaves whole days; its history steps
    # may be missing though, so after an unfinished run every session is rebuilt.
    if todo or resume:
        build_sessions(wh, settings, sessions if resume else todo, prebuilt=frozenset({"gamma"}))
        clock.lap("history steps")
    night.files = loaded.history_files + sum(d.files for d in loaded.days)
    night.rows = loaded.rows
    night.quarantined = loaded.quarantined
    night.failed += [e for d in loaded.failed for e in d.errors]
    # The demo audits its last night (`alvh audit --as-of D` audits any other).
    quality = audit_and_regate(wh, settings, sessions[-1], run)
    night.failed += [f"audit: {r}" for r in quality.critical]
    clock.lap("audit")
    for day in console.progress(sessions[-pages:], "render reports"):
        # quantstats takes seconds a page: the demo draws the tearsheet of its last night only
        last = day == sessions[-1]
        night.report = render_report.fn(wh, day, settings, run, tearsheet=last,
                                        banners=quality.banners() if last else None)
    clock.lap("reports")
    console.info(loaded.timing())
    if night.failed:
        night.status = "failed"
    elif night.quarantined:
        night.status = "warning"
    return night
