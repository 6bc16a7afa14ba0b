"""The `alvh` command line. Each command sets up settings, then calls one flow.

Prefect is imported only after `apply_prefect_env`, so every run stays inside $ALVH_HOME.
Errors users can act on print one line and exit non-zero; tracebacks only with ALVH_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from flows import console
from flows.settings import Settings, apply_prefect_env, load_settings

app = typer.Typer(
    name="alvh",
    help="ALVH nightly pipeline: land vendor files, build dealer-gamma/breadth/funding/vol tables, "
         "audit them, and render the nightly report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")

HomeOpt = Annotated[Path | None, typer.Option("--home", help="ALVH_HOME (default ./var)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Session date YYYY-MM-DD")]


def _settings(home: Path | None = None, **kw) -> Settings:
    try:
        s = load_settings(home=home, **kw)
        if s.root.exists() and not s.root.is_dir():
            raise NotADirectoryError(20, "ALVH_HOME is a file, not a folder", str(s.root))
        apply_prefect_env(s)
    except OSError as e:
        console.error(_os_error(e))
        raise typer.Exit(1) from None
    return s


def _os_error(e: OSError) -> str:
    """One line for a home the pipeline cannot write: a file, read-only, or a full disk."""
    import errno

    hint = {errno.ENOSPC: "the disk is full: free space and run again (landed files are kept)",
            errno.EDQUOT: "the disk quota is exhausted: free space and run again",
            errno.EROFS: "read-only file system: point ALVH_HOME at a writable folder",
            errno.EACCES: "permission denied: ALVH_HOME must be writable by you",
            errno.ENOTDIR: "not a folder: ALVH_HOME must be a folder",
            errno.EEXIST: "exists and is not a folder: ALVH_HOME must be a folder"}.get(e.errno)
    where = e.filename or ""
    return f"{where}: {hint or e.strerror or e}" if where else f"{hint or e.strerror or e}"


def _date(text: str | None, name: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _guard(fn: Callable[[], T]) -> T:
    """Run a command body; known failures become one line and an exit code, never a traceback."""
    from sources.base import SourceError
    from sources.live.net import LiveFetchError
    from warehouse.db import SchemaMismatch, WarehouseBusy

    try:
        return fn()
    except (SourceError, WarehouseBusy, SchemaMismatch, FileNotFoundError, ValueError,
            LiveFetchError) as e:
        if os.environ.get("ALVH_DEBUG"):
            raise
        _release(e)
        console.error(str(e))
        raise typer.Exit(2 if isinstance(e, WarehouseBusy) else 1) from None
    except OSError as e:  # the home's disk or permissions, not a bug: one line
        if os.environ.get("ALVH_DEBUG"):
            raise
        _release(e)
        console.error(_os_error(e))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.error("interrupted")
        raise typer.Exit(130) from None
    except Exception as e:  # a bug: say so in one line and how to see more
        if os.environ.get("ALVH_DEBUG"):
            raise
        _release(e)
        console.error(f"{type(e).__name__}: {e} (run with ALVH_DEBUG=1 for the traceback)")
        raise typer.Exit(3) from None


def _release(exc: BaseException) -> None:
    """Drop the locals of the frames a failure passed through: Prefect keeps a failed flow's
    exception (and so its traceback's frames, a closed warehouse among them) until exit, where
    DuckDB's bindings then print dozens of 'leaked instance' lines under the one-line error."""
    import traceback

    traceback.clear_frames(exc.__traceback__)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and/or folders of vendor files")],
    force: Annotated[bool, typer.Option(help="Reload files already landed")] = False,
    home: HomeOpt = None,
) -> None:
    """Land any mix of vendor files and folders; one line per file: format, rows, quarantined."""
    settings = _settings(home)

    def body() -> int:
        from flows.ingest import ingest as ingest_flow

        summary = ingest_flow(paths=paths, force=force, home=settings.root)
        n_fail = len(summary.failed)
        console.info(f"batch {summary.batch_id}: {len(summary.files)} files, {summary.rows:,} rows, "
                     f"{summary.quarantined:,} quarantined, {n_fail} failed")
        return 1 if n_fail else 0

    raise typer.Exit(_guard(body))


@app.command()
def demo(
    as_of: AsOfOpt = None,
    days: Annotated[int, typer.Option(min=1, help="Sessions to simulate up to --as-of")] = 260,
    seed: Annotated[int | None, typer.Option(help="Sample market seed (default ALVH_SEED or 7)")] = None,
    pages: Annotated[int, typer.Option(min=1, help="Render pages for the last N nights")] = 20,
    home: HomeOpt = None,
) -> None:
    """Simulate the sample market, build every night, report the last (default: the last
    completed session). Extending an existing home to a later --as-of adds only the new days."""
    settings = _settings(home, seed=seed)

    def body() -> int:
        from datetime import UTC, datetime

        from flows.demo import demo as demo_flow
        from sources.calendar import last_completed_session

        day = _date(as_of) or last_completed_session(datetime.now(UTC))
        res = demo_flow(as_of=day, days=days, seed=settings.seed, pages=pages, home=settings.root)
        n = res.night
        console.info(f"demo: {res.sessions} sessions up to {res.as_of} ({n.files} files, "
                     f"{n.rows:,} rows, {n.quarantined:,} quarantined) -> {n.status}")
        console.info(f"report: {n.report}")
        console.info(f"index:  {settings.reports / 'index.html'}")
        return n.exit_code

    raise typer.Exit(_guard(body))


@app.command()
def nightly(
    as_of: AsOfOpt = None,
    source: Annotated[str, typer.Option(
        help="sample (simulated vendor drop), drop (a folder) or live (fetch from public APIs: "
             "docs/live.md)")] = "sample",
    drop: Annotated[Path | None, typer.Option(help="Folder of tonight's vendor files (--source drop)")] = None,
    home: HomeOpt = None,
) -> None:
    """Run one night: land tonight's files, build the core tables, render the report."""
    settings = _settings(home)

    def body() -> int:
        from datetime import UTC, datetime

        from flows.nightly import nightly as nightly_flow
        from sources.calendar import last_completed_session

        day = _date(as_of) or last_completed_session(datetime.now(UTC))
        res = nightly_flow(as_of=day, source=source, drop=drop, home=settings.root)
        if res.status == "skipped":
            return 0
        console.info(f"night {res.as_of}: {res.status} ({res.files} files, {res.rows:,} rows, "
                     f"{res.quarantined:,} quarantined)")
        for m in res.failed:
            console.error(m)
        console.info(f"report: {res.report}")
        return res.exit_code

    raise typer.Exit(_guard(body))


@app.command()
def fetch(
    as_of: AsOfOpt = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Fetch only these: cboe, yahoo, funding, chains, history, a venue (bybit), "
                       "a symbol (SPX, ^VIX, BTC) or an item key (funding:okx:ETH); repeat or comma-separate")] = None,
    home: HomeOpt = None,
) -> None:
    """Fetch a night's files from public APIs into $ALVH_HOME/drops/<D>-live/ (no ingest): one line
    per file. Needs the optional live extra and the network (docs/live.md)."""
    settings = _settings(home)

    def body() -> int:
        from datetime import UTC, datetime

        from flows.fetch import fetch as fetch_flow
        from sources.calendar import last_completed_session

        day = _date(as_of) or last_completed_session(datetime.now(UTC))
        res = fetch_flow(as_of=day, only=only, home=settings.root)
        console.info(res.summary())
        return 0 if res.ok else 1

    raise typer.Exit(_guard(body))


@app.command()
def build(
    start: Annotated[str, typer.Option("--start", help="First session YYYY-MM-DD")],
    end: Annotated[str | None, typer.Option("--end", help="Last session (default: --start)")] = None,
    home: HomeOpt = None,
) -> None:
    """Rebuild the core tables for sessions in [start, end] from the raw tables."""
    settings = _settings(home)

    def body() -> int:
        from flows.build import build as build_flow
        from sources.calendar import sessions_between

        first = _date(start, "--start")
        days = sessions_between(first, _date(end, "--end") or first)
        if not days:
            raise ValueError(f"no XNYS session between {start} and {end or start}")
        build_flow(dates=days, home=settings.root)
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First session YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="Last session YYYY-MM-DD")],
    runner: Annotated[str, typer.Option(
        help="threads (default) or dask (worker processes; needs `alvh server`)")] = "threads",
    workers: Annotated[int | None, typer.Option(
        min=1, help="Parallel workers (default ALVH_BACKFILL_WORKERS or 2)")] = None,
    source: Annotated[str, typer.Option(help="sample (simulated drops) or drop (--drops)")] = "sample",
    drops: Annotated[Path | None, typer.Option(
        help="Folder with one sub-folder of vendor files per session, named YYYY-MM-DD")] = None,
    pages: Annotated[int, typer.Option(min=0, help="Render reports for the last N sessions")] = 1,
    audit: Annotated[str, typer.Option(
        help="all: audit every night, as nightly would (default); last: the last night only")] = "all",
    home: HomeOpt = None,
) -> None:
    """Build every session from --start to --end in parallel (one writer, resumable, as nightly would)."""
    settings = _settings(home)

    def body() -> int:
        from flows.backfill import run_backfill

        res = run_backfill(_date(start, "--start"), _date(end, "--end"), runner=runner,
                           workers=workers or settings.backfill_workers, source=source,
                           drops=drops, home=settings.root, pages=pages, audit=audit)
        console.info(res.line())
        console.info(res.timing())
        if res.report:
            console.info(f"report: {res.report}")
        return res.exit_code

    raise typer.Exit(_guard(body))


@app.command()
def server(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 4200,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Serve Prefect's web UI too")] = False,
    home: HomeOpt = None,
) -> None:
    """Run a local Prefect server (state in $ALVH_HOME/prefect); prints the PREFECT_API_URL to export."""
    settings = _settings(home)

    def body() -> int:
        from flows.deploy import run_server

        return run_server(settings, host, port, ui)

    raise typer.Exit(_guard(body))


@app.command()
def serve(
    cron: Annotated[str | None, typer.Option(
        help="When to run (default ALVH_SCHEDULE_CRON: '30 17 * * 1-5')")] = None,
    timezone: Annotated[str | None, typer.Option(
        help="Time zone of the cron (default ALVH_SCHEDULE_TIMEZONE: America/New_York)")] = None,
    source: Annotated[str, typer.Option(help="sample or drop")] = "sample",
    drop: Annotated[str | None, typer.Option(
        help="Drop folder for --source drop; {as_of} is replaced by the night")] = None,
    home: HomeOpt = None,
) -> None:
    """Serve the nightly deployment on a cron (default 17:30 New York, Mon-Fri); needs `alvh server`."""
    settings = _settings(home)

    def body() -> int:
        from flows.deploy import ServerUnavailable, serve_nightly

        try:
            serve_nightly(settings, cron=cron or settings.schedule_cron,
                          timezone=timezone or settings.schedule_timezone, source=source, drop=drop)
        except ServerUnavailable as e:
            console.error(str(e))
            return 1
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def report(as_of: AsOfOpt = None, home: HomeOpt = None) -> None:
    """Re-render a night's report (default: the last built night) and the index."""
    settings = _settings(home)

    def body() -> int:
        from flows.report import report as report_flow
        from warehouse.db import Warehouse

        day = _date(as_of)
        if day is None:
            with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
                day = wh.scalar("select max(date) from core.gamma_daily where preset = ?",
                                [settings.gamma_preset])
            if day is None:
                raise ValueError("nothing built yet: run `alvh demo` or `alvh nightly` first")
        console.info(f"report: {report_flow(as_of=day, home=settings.root)}")
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def audit(as_of: AsOfOpt = None, home: HomeOpt = None) -> None:
    """Audit a night already in the warehouse (default: the last built): Great Expectations suites
    per table, results in audit.validations, Data Docs; exit code 1 on a critical failure."""
    settings = _settings(home)

    def body() -> int:
        from flows.audit import audit as audit_flow
        from flows.audit import print_audit
        from warehouse.db import Warehouse

        day = _date(as_of)
        if day is None:
            with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
                day = wh.scalar("select max(quote_date) from raw.option_quotes")
            if day is None:
                raise ValueError("nothing loaded yet: run `alvh demo` or `alvh nightly` first")
        res = audit_flow(as_of=day, home=settings.root)
        with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
            print_audit(wh, res)
        return 0 if res.trusted else 1

    raise typer.Exit(_guard(body))


@app.command()
def status(home: HomeOpt = None) -> None:
    """Tables with row counts and date ranges, files by status, and the last runs."""
    settings = _settings(home)

    def body() -> int:
        from flows.status import print_status

        print_status(settings)
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def gex(
    files: Annotated[list[Path], typer.Argument(help="CBOE quotedata chain files")],
    preset: Annotated[str | None, typer.Option(
        "--preset", help="Gamma convention preset: default | perfiliev (default: ALVH_GAMMA_PRESET)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file per line")] = False,
) -> None:
    """Quick look at chain files without a warehouse: spot GEX, zero gamma, walls (docs/gamma.md)."""

    def body() -> int:
        from flows.gex import gex_command

        return gex_command(files, preset or load_settings().gamma_preset, as_json)

    raise typer.Exit(_guard(body))


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
