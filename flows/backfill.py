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

Results are identical to running `nightly` for each session in turn (tests/flows/test_backfill.py).
Resumable: a day whose batch (the digest of its files, `night-<day>-<sha>`) is fully registered
without failures and whose gamma is built is skipped; rerunning after a crash redoes only the rest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import polars as pl
from prefect import flow, tags, task
from prefect.cache_policies import NO_CACHE

from flows import console
from flows.build import build_sessions, gamma_conventions, gamma_partitions, write_gamma_partitions
from flows.ingest import (
    Landed,
    Prepared,
    expand_paths,
    ingest_paths,
    land_files,
    load_many,
    prepare_one,
)
from flows.nightly import _needs_history, write_sample_history
from flows.report import render_report
from flows.runs import run_info
from flows.settings import Settings, load_settings
from sources import calendar
from warehouse import reads
from warehouse.db import Warehouse
from warehouse.files import batch_id_for
from warehouse.runs import recording

RUNNERS = ("threads", "dask")
SOURCES = ("sample", "drop")
FAILED_STATUSES = ("rejected", "unrecognised")
QUOTE_ORDER = ["quote_date", "root", "expiry", "strike", "right"]
TAGS = ("alvh", "backfill")


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


# -- worker side -----------------------------------------------------------------------------------
@dataclass
class DayWork:
    """What a worker hands the writer for one session (picklable: frames, paths, dataclasses)."""

    day: date
    batch_id: str | None = None
    landed: list[Landed] = field(default_factory=list)
    prepared: list[Prepared] | None = None
    gamma: dict[str, pl.DataFrame] | None = None
    quote_rows: int = 0  # SPX chain rows for the day the gamma was computed from
    skipped: bool = False  # the batch is already built: nothing to parse
    missing: str | None = None  # why there is no drop for this session


@lru_cache(maxsize=2)
def _market(seed: int):
    """One simulated sample market per worker process (its path is computed once, then reused)."""
    from sources.sample import SampleMarket

    return SampleMarket(seed=seed)


@task(name="fetch-day", task_run_name="fetch-{day}", retries=2, retry_delay_seconds=[2, 10],
      timeout_seconds=900, cache_policy=NO_CACHE, tags=[*TAGS, "io"])
def fetch_day(day: date, source: str, folder: Path, home: Path, seed: int) -> list[Landed] | None:
    """Materialise one session's drop and land its files; None when a drop folder is absent."""
    if source == "sample":
        from sources.sample import write_drop

        shutil.rmtree(folder, ignore_errors=True)  # a killed run may have left a partial drop
        write_drop(_market(seed), day, folder)
    elif not folder.is_dir():
        return None
    return land_files.fn(expand_paths([folder]), home)


def stored_quotes(day: date, landed: list[Landed], prepared: list[Prepared],
                  batch_id: str) -> pl.DataFrame:
    """The SPX rows of `day` exactly as raw.option_quotes will hold them after the day's load
    (lineage columns added, ordered like `reads.option_quotes`), from the parsed files."""
    frames = []
    for item, prep in zip(landed, prepared, strict=True):
        p = prep.parsed
        if p is None or prep.error or p.table != "raw.option_quotes" or p.rows.is_empty():
            continue
        frames.append(p.rows.filter((pl.col("underlying") == "SPX") & (pl.col("quote_date") == day))
                      .with_columns(batch_id=pl.lit(batch_id), file_id=pl.lit(item.landed.file_id)))
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed").sort(QUOTE_ORDER)


@task(name="prepare-day", task_run_name="prepare-{day}", cache_policy=NO_CACHE, tags=[*TAGS, "cpu"])
def prepare_day(day: date, landed: list[Landed] | None, home: Path, conventions,
                max_reject_ratio: float, built: frozenset[str] = frozenset()) -> DayWork:
    """Parse the day's files and compute its gamma partitions (pure CPU, no warehouse)."""
    if landed is None:
        return DayWork(day, missing="no drop folder for this session")
    batch = batch_id_for([x.landed.file_id for x in landed], night_label(day))
    if batch in built:
        return DayWork(day, batch, landed, skipped=True)
    from flows.audit import ingest_horizon

    with ingest_horizon(day):  # a worker does not inherit the flow's context
        prepared = [prepare_one(x, home, max_reject_ratio) for x in landed]
    quotes = stored_quotes(day, landed, prepared, batch)
    gamma = gamma_partitions(quotes, conventions) if quotes.height else None
    return DayWork(day, batch, landed, prepared, gamma, quotes.height)


# -- writer side -----------------------------------------------------------------------------------
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
    df = wh.sql(
        "select batch_id from audit.files where batch_id like 'night-%' group by batch_id "
        "having bool_and(status not in ('rejected', 'unrecognised'))")
    gamma_days = set(wh.sql(
        "select distinct date from core.gamma_daily where preset = ? and date between ? and ?",
        [preset, min(days), max(days)])["date"].to_list())
    out: dict[date, set[str]] = {}
    for b in df["batch_id"].to_list():
        try:
            d = date.fromisoformat(b[6:16])
        except ValueError:
            continue
        if d in gamma_days:
            out.setdefault(d, set()).add(b)
    return {d: frozenset(v) for d, v in out.items()}


def _prior_failures(wh: Warehouse, file_ids: list[str]) -> list[str]:
    if not file_ids:
        return []
    df = wh.sql("select coalesce(error, original_path) as e from audit.files where file_id in "
                "(select unnest(?::varchar[])) and status in ('rejected', 'unrecognised') order by 1",
                [file_ids])
    return [f"{e} (landed earlier)" for e in df["e"].to_list()]


def _gamma_is_the_days_own(wh: Warehouse, work: DayWork) -> bool:
    """True when the SPX rows stored for the day are exactly the ones the worker computed from:
    same count, and every row from this day's files (not an older or foreign file)."""
    n, foreign = wh.one(
        "select count(*), count(*) filter (where file_id is null or file_id not in "
        "(select unnest(?::varchar[]))) from raw.option_quotes where underlying = 'SPX' and "
        "quote_date = ?", [[x.landed.file_id for x in work.landed], work.day])
    return n == work.quote_rows and foreign == 0


def apply_day(wh: Warehouse, settings: Settings, work: DayWork, conventions=None) -> DayOutcome:
    """The writer's half: load the day's files and write its gamma partitions in ONE transaction."""
    day = work.day
    if work.missing:
        return DayOutcome(day, "failed", errors=[f"{day}: {work.missing}"])
    ids = [x.landed.file_id for x in work.landed]
    if work.skipped:
        known = wh.scalar("select count(*) from audit.files where file_id in "
                          "(select unnest(?::varchar[]))", [ids])
        if known == len(set(ids)):
            return DayOutcome(day, "skipped", files=len(ids))
        # The ledger said built but a file is unknown (edited by hand?): redo the day here.
        work.prepared = [prepare_one(x, settings.root, settings.max_reject_ratio) for x in work.landed]
        work.gamma, work.quote_rows = None, -1
    assert work.prepared is not None and work.batch_id is not None
    with wh.transaction():
        outcomes = load_many(wh, work.landed, settings.root, work.batch_id,
                             max_reject_ratio=settings.max_reject_ratio, prepared=work.prepared)
        if work.gamma is not None and _gamma_is_the_days_own(wh, work):
            write_gamma_partitions(wh, work.gamma)
        else:  # the stored rows differ from the drop's (or no chain): the nightly path, from storage
            quotes = reads.option_quotes(wh, [day], "SPX")
            if quotes.height:
                write_gamma_partitions(wh, gamma_partitions(
                    quotes, conventions or gamma_conventions(settings)))
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


# -- the flow --------------------------------------------------------------------------------------
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


def _close_abandoned_runs(wh: Warehouse) -> None:
    """We hold the writer lock, so a run still marked `running` died without closing its record."""
    wh.con.execute("update audit.runs set status = 'abandoned', finished_at = ? where status = 'running'",
                   [datetime.now(UTC).replace(tzinfo=None)])


def _drop_folder(settings: Settings, source: str, drops: Path | None, day: date) -> Path:
    if source == "sample":
        return settings.drops / day.isoformat()
    assert drops is not None
    return Path(drops) / day.isoformat()


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
        _close_abandoned_runs(wh)
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
    clock = _Clock(summary.phases)
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


def fetch_and_prepare(day: date, source: str, folder: Path, home: Path, seed: int, conventions,
                      max_reject_ratio: float, built: frozenset[str]) -> DayWork:
    """fetch-day then prepare-day as plain functions, for a worker process outside Prefect."""
    landed = fetch_day.fn(day, source, folder, home, seed)
    return prepare_day.fn(day, landed, home, conventions, max_reject_ratio, built)


def load_days(wh: Warehouse, settings: Settings, days: list[date], source: str, drops: Path | None,
              workers: int, summary: BackfillSummary, clock: _Clock, label: str = "backfill",
              pool: Executor | None = None) -> None:
    """Land, parse and write `days` (sample history first when the home has none): workers
    fetch and prepare a bounded window of days ahead, this thread applies them in date order.
    Workers are the flow's Prefect task runner (`backfill`: one fetch-day and one prepare-day task
    run per session), or `pool`, plain worker processes with no task runs (`demo`: two cores for
    the parsers, none of the per-task API calls). Outcomes go to `summary.days`."""
    from flows.audit import set_ingest_horizon

    set_ingest_horizon(days[-1])
    if source == "sample" and _needs_history(wh, days[0]):
        console.info(f"writing sample history before {days[0]} ...")
        hist = write_sample_history(days[0], settings.seed, settings.drops)
        ing = ingest_paths(wh, settings, [hist], label=f"history-{days[0]}", show=False)
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


class _Clock:
    def __init__(self, into: dict[str, float]):
        self.into, self.t = into, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.into[name] = self.into.get(name, 0.0) + now - self.t
        self.t = now


def audit_days(wh: Warehouse, settings: Settings, days: list[date], summary: BackfillSummary,
               run: dict) -> dict:
    """Audit each night as `nightly` does after its build: every day this run loaded a file for,
    and any day without validations yet (a run killed before its audits); a day rerun with nothing
    new keeps its audit (re-auditing it would only repeat the checks). A night whose verdict differs from
    the one its recommendation was built with is re-gated, and the gated steps (recommendations,
    backtest: history-dependent) are rebuilt from that night on, as night-by-night runs would."""
    from flows.audit import GATED_STEPS, audit_night, regate
    from flows.build import steps

    audited = set(wh.sql("select distinct as_of from audit.validations where as_of between ? and ?",
                         [days[0], days[-1]])["as_of"].to_list())
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


def _first_error(fetched, err: Exception) -> str:
    try:
        fetched.result()
    except Exception as e:  # noqa: BLE001 - we only want its message
        err = e
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return msg if isinstance(err, (OSError, ValueError)) else f"{type(err).__name__}: {msg}"


# -- task runners ----------------------------------------------------------------------------------
def make_task_runner(runner: str, workers: int):
    """threads: Prefect's ThreadPoolTaskRunner. dask: a local Dask cluster of `workers` processes
    (one thread each), which needs a running Prefect server (each worker process reports its task
    runs there; without PREFECT_API_URL every worker would start its own temporary server)."""
    if runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if runner == "dask":
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            raise ValueError("--runner dask starts worker processes, which need a running Prefect "
                             "server: run `alvh server` and export PREFECT_API_URL=... it prints "
                             "(or use --runner threads)")
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ValueError("--runner dask needs the [dask] extra (prefect-dask, dask[distributed])"
                             ) from None
        import logging

        return DaskTaskRunner(cluster_kwargs={
            "n_workers": workers, "threads_per_worker": 1, "processes": True,
            "dashboard_address": ":0", "silence_logs": logging.ERROR})
    raise ValueError(f"unknown runner {runner!r}; choose one of {', '.join(RUNNERS)}")


@contextlib.contextmanager
def _api_url_in_environment() -> Iterator[None]:
    """Worker processes see os.environ only: export the API URL Prefect is using in this process
    (it may come from a profile or a test harness) for the duration of the run."""
    from prefect.settings import PREFECT_API_URL

    url, before = PREFECT_API_URL.value(), os.environ.get("PREFECT_API_URL")
    if url and before != url:
        os.environ["PREFECT_API_URL"] = str(url)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before


def run_backfill(start: date, end: date, *, runner: str = "threads", workers: int = 2,
                 source: str = "sample", drops: Path | None = None, home: Path | None = None,
                 pages: int = 1, audit: str = "all") -> BackfillSummary:
    """Run the backfill flow on the chosen task runner (what `alvh backfill` calls)."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    task_runner = make_task_runner(runner, workers)
    with _api_url_in_environment(), tags(*TAGS):
        return backfill.with_options(task_runner=task_runner)(
            start=start, end=end, source=source, drops=drops, home=home, pages=pages,
            runner=runner, workers=workers, audit=audit)
