"""The backfill's writer side: the one thread holding the warehouse applies each session's prepared
work in date order, one transaction a day (`apply_day`), with workers running ahead (`load_days`).
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flows import console
from flows.build import gamma_conventions, write_gamma_partitions, write_stored_gamma
from flows.ingest import ingest_paths, load_many, prepare_one
from flows.nightly import _needs_history, write_sample_history
from flows.settings import Settings
from flows.workers import DayWork, fetch_and_prepare, fetch_day, prepare_day
from warehouse import ledger, reads
from warehouse.db import Warehouse


@dataclass
class DayOutcome:
    day: date
    status: str  # built | warning | skipped | failed
    files: int = 0
    rows: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    loaded: int = 0  # files registered by this run (not already known)


def built_batches(wh: Warehouse, preset: str, days: list[date]) -> dict[date, frozenset[str]]:
    """Per session: the night batches already loaded without a failed file, for days whose gamma
    is built. A worker whose drop hashes to one of these has nothing to do."""
    if not days:
        return {}
    gamma_days = reads.built_gamma_dates(wh, preset, min(days), max(days))
    out: dict[date, set[str]] = {}
    for b in ledger.clean_night_batches(wh):
        try:
            d = date.fromisoformat(b[6:16])
        except ValueError:
            continue
        if d in gamma_days:
            out.setdefault(d, set()).add(b)
    return {d: frozenset(v) for d, v in out.items()}


def _prior_failures(wh: Warehouse, file_ids: list[str]) -> list[str]:
    return [f"{e} (landed earlier)" for e in ledger.failed_file_errors(wh, file_ids)]


def _gamma_is_the_days_own(wh: Warehouse, work: DayWork) -> bool:
    """True when the option rows of the gamma roots stored for the day are exactly the ones the
    worker computed from: same count, and every row from this day's files (not an older or foreign file)."""
    from transforms.conventions import GAMMA_ROOTS

    n, foreign = reads.rows_of_files(wh, work.day, [x.landed.file_id for x in work.landed],
                                     sorted(GAMMA_ROOTS))
    return n == work.quote_rows and foreign == 0


def apply_day(wh: Warehouse, settings: Settings, work: DayWork, conventions=None) -> DayOutcome:
    """The writer's half: load the day's files and write its gamma partitions in ONE transaction."""
    day = work.day
    if work.missing:
        return DayOutcome(day, "failed", errors=[f"{day}: {work.missing}"])
    ids = [x.landed.file_id for x in work.landed]
    if work.skipped:
        if ledger.known_count(wh, ids) == len(set(ids)):
            return DayOutcome(day, "skipped", files=len(ids))
        # The ledger said built but a file is unknown (edited by hand?): redo the day here.
        work.prepared = [prepare_one(x, settings.root, settings.max_reject_ratio, not_after=day)
                         for x in work.landed]
        work.gamma, work.quote_rows = None, -1
    assert work.prepared is not None and work.batch_id is not None
    with wh.transaction():
        outcomes = load_many(wh, work.landed, settings.root, work.batch_id,
                             max_reject_ratio=settings.max_reject_ratio, prepared=work.prepared)
        if work.gamma is not None and _gamma_is_the_days_own(wh, work):
            write_gamma_partitions(wh, work.gamma)
        else:  # the stored rows differ from the drop's (or no chain): the nightly path, from storage
            write_stored_gamma(wh, [day], conventions or gamma_conventions(settings))
    errors = [o.error or o.path for o in outcomes if o.failed]
    errors += _prior_failures(wh, [o.file_id for o in outcomes if o.status == "known" and o.file_id])
    out = DayOutcome(day, "built", files=len(outcomes), rows=sum(o.rows for o in outcomes),
                     quarantined=sum(o.quarantined for o in outcomes), errors=errors,
                     loaded=sum(o.status != "known" for o in outcomes))
    if errors:
        out.status = "failed"
    elif out.quarantined:
        out.status = "warning"
    return out


@dataclass
class BackfillSummary:
    start: date
    end: date
    runner: str
    workers: int
    days: list[DayOutcome] = field(default_factory=list)
    history_files: int = 0
    report: Path | None = None
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per phase

    def count(self, *status: str) -> int:
        return sum(d.status in status for d in self.days)

    @property
    def failed(self) -> list[DayOutcome]:
        return [d for d in self.days if d.status == "failed"]

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.days)

    @property
    def quarantined(self) -> int:
        return sum(d.quarantined for d in self.days)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def line(self) -> str:
        return (f"backfill {self.start} .. {self.end}: {len(self.days)} sessions "
                f"({self.count('built', 'warning')} built, {self.count('skipped')} already built, "
                f"{len(self.failed)} failed), {self.rows:,} rows, {self.quarantined:,} quarantined; "
                f"{self.runner} x{self.workers}, {self.seconds:,.1f} s")

    def timing(self) -> str:
        return "time: " + ", ".join(f"{k} {v:,.1f} s" for k, v in self.phases.items())


class Clock:
    """Wall seconds per phase, added into a dict (`BackfillSummary.phases`)."""

    def __init__(self, into: dict[str, float]):
        self.into, self.t = into, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.into[name] = self.into.get(name, 0.0) + now - self.t
        self.t = now


def _drop_folder(settings: Settings, source: str, drops: Path | None, day: date) -> Path:
    if source == "sample":
        return settings.drops / day.isoformat()
    assert drops is not None
    return Path(drops) / day.isoformat()


def load_days(wh: Warehouse, settings: Settings, days: list[date], source: str, drops: Path | None,
              workers: int, summary: BackfillSummary, clock: Clock, label: str = "backfill",
              pool: Executor | None = None) -> None:
    """Land, parse and write `days` (sample history first when the home has none): workers
    fetch and prepare a bounded window of days ahead, this thread applies them in date order.
    Workers are the flow's Prefect task runner (`backfill`: one fetch-day and one prepare-day task
    run per session), or `pool`, plain worker processes with no task runs (`demo`: two cores for
    the parsers, none of the per-task API calls). Outcomes go to `summary.days`."""
    if source == "sample" and _needs_history(wh, days[0]):
        console.info(f"writing sample history before {days[0]} ...")
        hist = write_sample_history(days[0], settings.seed, settings.drops)
        ing = ingest_paths(wh, settings, [hist], label=f"history-{days[0]}", show=False,
                           not_after=days[-1])
        summary.history_files = len(ing.files)
        for f in ing.failed:
            console.error(f.line())
        if not ing.failed:
            shutil.rmtree(hist, ignore_errors=True)
    clock.lap("history")
    built = built_batches(wh, settings.gamma_preset, days)
    conventions = gamma_conventions(settings)  # the nightly's: preset + r, q and half-days
    console.info(f"{len(days)} sessions {days[0]} .. {days[-1]} ({source}), "
                 f"{sum(d in built for d in days)} possibly built already")

    def submit(day: date):
        folder = _drop_folder(settings, source, drops, day)
        if pool is not None:
            work = pool.submit(fetch_and_prepare, day, source, folder, settings.root, settings.seed,
                               conventions, settings.max_reject_ratio, built.get(day, frozenset()))
            return day, folder, work, work
        fetched = fetch_day.submit(day, source, folder, settings.root, settings.seed)
        prepared = prepare_day.submit(day, fetched, settings.root, conventions,
                                      settings.max_reject_ratio, built.get(day, frozenset()))
        return day, folder, fetched, prepared

    # A bounded window of days in flight: workers run ahead, the writer consumes in date order.
    window = max(2, 3 * workers)
    queue: deque = deque(submit(d) for d in days[:window])
    rest: Iterator[date] = iter(days[window:])
    writing = 0.0
    for _ in console.progress(range(len(days)), label):
        day, folder, fetched, prepared = queue.popleft()
        nxt = next(rest, None)
        if nxt is not None:
            queue.append(submit(nxt))
        try:
            work = prepared.result()
        except Exception as e:  # the worker failed: name the first cause (fetch before prepare)
            outcome = DayOutcome(day, "failed", errors=[f"{day}: {_first_error(fetched, e)}"])
        else:
            t = time.perf_counter()
            try:
                outcome = apply_day(wh, settings, work, conventions)
            except Exception as e:  # the day's transaction rolled back; the others go on
                outcome = DayOutcome(day, "failed", errors=[f"{day}: {type(e).__name__}: {e}"])
            writing += time.perf_counter() - t
        summary.days.append(outcome)
        for msg in outcome.errors:
            console.error(msg)
        if source == "sample" and outcome.status != "failed":
            shutil.rmtree(folder, ignore_errors=True)  # the simulated vendor's outbox, now landed
    clock.lap("days")
    summary.phases["of which writer"] = summary.phases.get("of which writer", 0.0) + writing


def _first_error(fetched, err: Exception) -> str:
    try:
        fetched.result()
    except Exception as e:  # noqa: BLE001 - we only want its message
        err = e
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return msg if isinstance(err, (OSError, ValueError)) else f"{type(err).__name__}: {msg}"
